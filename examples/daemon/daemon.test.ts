import { buildClaimsChallenge, revocationClaims } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import {
  API,
  bearerOf,
  FakeClock,
  FakeIssuer,
  ISSUER,
  oauthError,
} from '../../packages/client/test/fake-issuer.js';
import { runDaemon } from './daemon.js';

const env = {
  OPENCAE_ISSUER_URL: ISSUER,
  CLIENT_ID: 'daemon-1',
  CLIENT_SECRET: 's3cret',
  API_URL: `${API}/orders`,
  SCOPE: 'api://orders/.default',
  INTERVAL_MS: '0',
};

describe('example daemon', () => {
  it('keeps calling; after the secret is reset the challenge is answered once and refused, no retry storm', async () => {
    const clock = new FakeClock();
    const issuer = new FakeIssuer(clock);
    const revoked = new Set<string>();
    let call = 0;
    issuer.apiResponder = (request) => {
      call += 1;
      const token = bearerOf(request)!;
      if (call === 3) revoked.add(token); // the admin resets the daemon's secret
      if (revoked.has(token)) {
        const header = buildClaimsChallenge({
          authorizationUri: `${ISSUER}/authorize`,
          claims: revocationClaims(Math.floor(clock.now() / 1000)),
          errorDescription: 'credential changed',
        });
        return new Response('', { status: 401, headers: { 'www-authenticate': header } });
      }
      return new Response('{"orders":[]}');
    };
    const lines: string[] = [];
    const run = runDaemon({
      env,
      log: (line) => {
        lines.push(line);
        if (line.startsWith('call 2  '))
          issuer.tokenResponder = () => oauthError('invalid_client', 'secret reset', 401);
      },
      iterations: 4,
      client: { fetch: issuer.fetch, clock },
    });
    await run;
    const calls = lines.filter((l) => l.startsWith('call'));
    expect(calls[0]).toMatch(/HTTP 200/);
    expect(calls[1]).toMatch(/HTTP 200/);
    expect(lines.some((l) => l.startsWith('challenge') && l.includes('credential changed'))).toBe(true);
    expect(calls[2]).toMatch(/failed: ERR_CHALLENGE_REFUSED .*invalid_client/);
    expect(calls[3]).toMatch(/failed: ERR_TOKEN_REQUEST_REJECTED/);
    // one API call and one token request per failing iteration
    expect(issuer.apiRequests).toHaveLength(3);
    expect(issuer.tokenRequests).toHaveLength(3);
  });

  it('says which environment variables are missing', async () => {
    await expect(runDaemon({ env: { CLIENT_ID: 'x' }, log: () => {} })).rejects.toThrow(
      'OPENCAE_ISSUER_URL, CLIENT_SECRET, API_URL, SCOPE',
    );
  });
});
