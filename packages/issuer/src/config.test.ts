import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIssuerConfig } from './config.js';

const issuerUrl = 'https://issuer.opencae.test';

describe('parseIssuerConfig dataDir', () => {
  it('keeps memory:// as it is (the in-memory embedded store)', () => {
    expect(parseIssuerConfig({ issuerUrl, dataDir: 'memory://' }).dataDir).toBe('memory://');
    expect(parseIssuerConfig({ issuerUrl, dataDir: 'memory://tests' }).dataDir).toBe('memory://tests');
  });

  it('resolves a folder to an absolute path', () => {
    expect(parseIssuerConfig({ issuerUrl, dataDir: 'data/opencae' }).dataDir).toBe(resolve('data/opencae'));
    expect(parseIssuerConfig({ issuerUrl }).dataDir).toBe(resolve('.opencae'));
  });

  it('does not mistake a folder whose name merely contains memory for the memory store', () => {
    expect(parseIssuerConfig({ issuerUrl, dataDir: 'memory' }).dataDir).toBe(resolve('memory'));
  });
});

describe('an issuer started with dataDir memory://', () => {
  it('keeps its embedded store in memory, not in a folder named after the URL', async () => {
    const { existsSync } = await import('node:fs');
    const { randomUUID } = await import('node:crypto');
    const { createIssuer } = await import('./server.js');
    const name = `opencae-config-test-${randomUUID()}`;
    const issuer = await createIssuer({ issuerUrl, dataDir: `memory://${name}`, port: 0 }, { modules: [] });
    try {
      expect(issuer.context.config.dataDir).toBe(`memory://${name}`);
      expect(issuer.context.storage.engine).toBe('pglite');
      // What path.resolve made of it before: <cwd>/memory:/<name>, with the store in pgdata/.
      expect(existsSync(resolve(`memory://${name}`))).toBe(false);
    } finally {
      await issuer.close();
    }
  });
});
