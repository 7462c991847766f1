import { afterEach, describe, expect, it } from 'vitest';
import { createIssuer, type Issuer } from '../src/index.js';

const ISSUER = 'https://id.example.test';

async function discovery(trustProxy: string[] | false): Promise<Record<string, string>> {
  issuer = await createIssuer({ issuerUrl: ISSUER, port: 0, dataDir: 'memory://', trustProxy });
  const address = await issuer.listen();
  const response = await fetch(`${address}/.well-known/openid-configuration`, {
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

let issuer: Issuer | undefined;
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
});

describe('behind a TLS-terminating proxy', () => {
  it('advertises https endpoints when the proxy is trusted', async () => {
    const metadata = await discovery(['127.0.0.1']);
    expect(metadata.issuer).toBe(ISSUER);
    expect(metadata.token_endpoint).toBe(`${ISSUER}/token`);
    expect(metadata.authorization_endpoint?.startsWith(`${ISSUER}/`)).toBe(true);
  });

  it('ignores forwarded headers from a peer that is not a configured proxy', async () => {
    const metadata = await discovery(['10.0.0.1']);
    expect(metadata.token_endpoint?.startsWith('https://')).toBe(false);
  });

  it('ignores forwarded headers when no proxy is configured', async () => {
    const metadata = await discovery(false);
    expect(metadata.token_endpoint?.startsWith('https://')).toBe(false);
  });
});
