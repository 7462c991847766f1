/**
 * The client over real HTTP (node:http on a loopback port, the global fetch): discovery, a token over
 * plain http to a loopback issuer, and a challenge sent as two WWW-Authenticate header lines.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildClaimsChallenge, revocationClaims } from '@opencae/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenCaeClient } from '../src/index.js';
import { fakeJwt } from './fake-issuer.js';

let server: Server;
let base: string;
const tokenForms: URLSearchParams[] = [];
let serial = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const send = (status: number, payload: unknown, headers: Record<string, string | string[]> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, { issuer: base, token_endpoint: `${base}/token` });
      }
      if (req.url === '/token') {
        const form = new URLSearchParams(body);
        tokenForms.push(form);
        const cae = /cp1/i.test(form.get('claims') ?? '');
        serial += 1;
        return send(200, {
          access_token: fakeJwt({ jti: `t${serial}`, ...(cae && { xms_cc: ['cp1'] }) }),
          token_type: 'Bearer',
          expires_in: 3600,
        });
      }
      if (req.url === '/api') {
        if (req.headers.authorization?.includes(fakeJwt({ jti: 't1', xms_cc: ['cp1'] }))) {
          return send(
            401,
            { error: 'revoked' },
            {
              'www-authenticate': [
                'Basic realm="legacy"',
                buildClaimsChallenge({ authorizationUri: `${base}/authorize`, claims: revocationClaims(1) }),
              ],
            },
          );
        }
        return send(200, { ok: true, echo: body });
      }
      send(404, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('over real loopback HTTP', () => {
  it('discovers, gets a cp1 token, answers a challenge spread over two header lines, replays the body', async () => {
    const client = new OpenCaeClient({
      issuer: base,
      clientId: 'd',
      clientSecret: 's',
      scopes: 'api://x/.default',
    });
    const response = await client.fetch(`${base}/api`, { method: 'POST', body: 'payload' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, echo: 'payload' });
    expect(tokenForms).toHaveLength(2);
    expect(JSON.parse(tokenForms[1]!.get('claims')!)).toEqual({
      access_token: { nbf: { essential: true, value: '1' }, xms_cc: { values: ['cp1'] } },
    });
  });
});
