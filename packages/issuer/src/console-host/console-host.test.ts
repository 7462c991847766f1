import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryAdminModule } from '../admin-api/module.js';
import { createIssuer, type Issuer } from '../server.js';
import { CONSOLE_CLIENT_NAME } from './console-client.js';
import { type ConsoleHostModule, consoleHostModule } from './module.js';
import { CONSOLE_CSP } from './security-headers.js';

const ISSUER = 'https://issuer.console.test';

describe('console host', () => {
  let dataDir: string;
  let distDir: string;
  let issuer: Issuer;
  let host: ConsoleHostModule;

  const start = async (dist: string) => {
    host = consoleHostModule({ distDir: dist, recheckMs: 0 });
    return createIssuer({ issuerUrl: ISSUER, port: 0, dataDir }, { modules: [directoryAdminModule(), host] });
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-console-host-'));
    distDir = join(dataDir, 'dist');
    issuer = await start(distDir);
  });
  afterAll(async () => {
    await issuer.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with the build command while the console is not built, then serves the build', async () => {
    const missing = await issuer.app.inject({ method: 'GET', url: '/console/' });
    expect(missing.statusCode).toBe(503);
    expect(missing.headers['content-type']).toMatch(/text\/html/);
    expect(missing.body).toContain('npm run build -w packages/console');
    expect(missing.headers['content-security-policy']).toBe(CONSOLE_CSP);

    await mkdir(join(distDir, 'assets'), { recursive: true });
    await writeFile(
      join(distDir, 'index.html'),
      '<!doctype html><script type="module" src="./assets/app-abc.js"></script>',
    );
    await writeFile(join(distDir, 'assets', 'app-abc.js'), 'console.log(1)');
    const page = await issuer.app.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const asset = await issuer.app.inject({ method: 'GET', url: '/console/assets/app-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/text\/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const again = await issuer.app.inject({
      method: 'GET',
      url: '/console/assets/app-abc.js',
      headers: { 'if-none-match': String(asset.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('redirects /console to /console/ keeping the query, and never serves a file outside the build', async () => {
    const redirect = await issuer.app.inject({ method: 'GET', url: '/console?code=1&state=2' });
    expect(redirect.statusCode).toBe(308);
    expect(redirect.headers.location).toBe('/console/?code=1&state=2');
    for (const url of [
      '/console/../package.json',
      '/console/%2e%2e/%2e%2e/package.json',
      '/console/assets/missing.js',
      '/console/nope',
    ]) {
      const response = await issuer.app.inject({ method: 'GET', url });
      expect([404, 400], url).toContain(response.statusCode);
    }
  });

  it('registers the console as a public client once, with its redirect URI and the admin scope', async () => {
    const config = await issuer.app.inject({ method: 'GET', url: '/console/config.json' });
    expect(config.statusCode).toBe(200);
    expect(config.headers['cache-control']).toBe('no-store');
    const body = config.json() as { client_id: string; redirect_uri: string; scope: string; issuer: string };
    expect(body).toMatchObject({ issuer: ISSUER, redirect_uri: `${ISSUER}/console/` });
    expect(body.scope.split(' ')).toContain('urn:opencae:admin/admin');
    const app = await issuer.context.db
      .selectFrom('applications')
      .selectAll()
      .where('client_id', '=', body.client_id)
      .executeTakeFirstOrThrow();
    expect(app).toMatchObject({
      name: CONSOLE_CLIENT_NAME,
      token_endpoint_auth_method: 'none',
      redirect_uris: [`${ISSUER}/console/`],
    });
    expect(app.grant_types).toContain('authorization_code');
    const grant = await issuer.context.db
      .selectFrom('api_grants')
      .selectAll()
      .where('application_id', '=', app.id)
      .executeTakeFirstOrThrow();
    expect(grant.scopes).toEqual(['admin']);
    expect(grant.roles).toEqual([]);

    // A restart on the same store registers nothing new.
    await issuer.close();
    issuer = await start(distDir);
    expect(host.client()).toMatchObject({ clientId: body.client_id, created: false });
    const consoles = await issuer.context.db
      .selectFrom('applications')
      .select('id')
      .where('name', '=', CONSOLE_CLIENT_NAME)
      .execute();
    expect(consoles).toHaveLength(1);
  });
});
