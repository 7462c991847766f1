/**
 * Keeps docs/protocol.md honest: its challenge headers are what the builders produce and parse back
 * to the JSON shown beside them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildBearerChallenge,
  buildClaimsChallenge,
  parseClaimsChallenge,
  parseWwwAuthenticate,
  revocationClaims,
} from '../src/index.js';

const docs = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
const headers = [...docs.matchAll(/^WWW-Authenticate: (.+)$/gm)].map((m) => m[1]!);

describe('docs/protocol.md examples', () => {
  it('shows the claims challenge buildClaimsChallenge produces, decoding to the JSON shown', () => {
    const expected = buildClaimsChallenge({
      authorizationUri: 'https://issuer.example.com/authorize',
      claims: revocationClaims(1700000000),
      errorDescription: 'Token was issued before the user session was revoked',
    });
    expect(headers).toContain(expected);
    const challenge = parseClaimsChallenge(expected);
    expect(docs).toContain(challenge!.claimsJson);
  });

  it('shows the plain RFC 6750 challenge buildBearerChallenge produces', () => {
    const expected = buildBearerChallenge({
      realm: 'api',
      error: 'invalid_token',
      errorDescription: 'The access token was revoked',
    });
    expect(headers).toContain(expected);
    expect(parseClaimsChallenge(expected)).toBeUndefined();
  });

  it('documents the location-policy claims exactly as revocationClaims builds them', () => {
    expect(docs).toContain(JSON.stringify(revocationClaims(1700000000, '203.0.113.7')));
    expect(headers.every((h) => parseWwwAuthenticate(h).length === 1)).toBe(true);
  });
});
