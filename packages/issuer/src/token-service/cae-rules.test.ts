import type { ClaimsRequest } from '@opencae/protocol';
import { describe, expect, it } from 'vitest';
import { parseIssuerConfig } from '../config.js';
import { decideLifetime, evaluateEssentialClaims, isCaeCapable, refreshIn } from './cae-rules.js';
import { TokenServiceError } from './errors.js';

const { lifetimes } = parseIssuerConfig({ issuerUrl: 'https://issuer.example' });

describe('CAE token rules', () => {
  it('is CAE-capable only with cp1 in access_token.xms_cc, in any case', () => {
    expect(isCaeCapable({ access_token: { xms_cc: { values: ['CP1'] } } })).toBe(true);
    expect(isCaeCapable({ access_token: { xms_cc: { values: ['cp2'] } } })).toBe(false);
    expect(isCaeCapable({ id_token: { xms_cc: { values: ['cp1'] } } })).toBe(false);
    expect(isCaeCapable(undefined)).toBe(false);
  });

  it('gives 20–28 h only to a CAE-capable client of a CAE-enabled API, else 60–90 min', () => {
    for (let i = 0; i < 200; i++) {
      const cae = decideLifetime(lifetimes, true, true);
      expect(cae.cae).toBe(true);
      expect(cae.lifetimeSeconds).toBeGreaterThanOrEqual(20 * 3600);
      expect(cae.lifetimeSeconds).toBeLessThanOrEqual(28 * 3600);
      for (const [capable, enabled] of [
        [true, false],
        [false, true],
        [false, false],
      ] as const) {
        const standard = decideLifetime(lifetimes, capable, enabled);
        expect(standard.cae).toBe(false);
        expect(standard.lifetimeSeconds).toBeGreaterThanOrEqual(3600);
        expect(standard.lifetimeSeconds).toBeLessThanOrEqual(5400);
      }
    }
  });

  it('randomizes lifetimes per token', () => {
    const seen = new Set(
      Array.from({ length: 50 }, () => decideLifetime(lifetimes, true, true).lifetimeSeconds),
    );
    expect(seen.size).toBeGreaterThan(1);
  });

  it('adds refresh_in, half the lifetime, only above 2 h', () => {
    expect(refreshIn(7200)).toBeUndefined();
    expect(refreshIn(7201)).toBe(3600);
    expect(refreshIn(86_401)).toBe(43_200);
    expect(refreshIn(3600)).toBeUndefined();
  });

  describe('essential claims', () => {
    const now = 1_700_000_000;
    const unsatisfiable = (claims: ClaimsRequest) => {
      try {
        evaluateEssentialClaims(claims, now);
      } catch (error) {
        expect(error).toBeInstanceOf(TokenServiceError);
        return (error as TokenServiceError).message;
      }
      throw new Error('expected a refusal');
    };

    it('honours nbf (string or number) within the skew', () => {
      expect(
        evaluateEssentialClaims({ access_token: { nbf: { essential: true, value: String(now - 5) } } }, now),
      ).toEqual({
        notBefore: now - 5,
      });
      expect(
        evaluateEssentialClaims({ access_token: { nbf: { essential: true, value: now + 30 } } }, now),
      ).toEqual({
        notBefore: now + 30,
      });
      expect(evaluateEssentialClaims({ access_token: { nbf: { value: 'x' } } }, now)).toEqual({});
    });

    it('refuses nbf far in the future or without a usable value', () => {
      expect(
        unsatisfiable({ access_token: { nbf: { essential: true, value: String(now + 3600) } } }),
      ).toMatch(/future/);
      expect(unsatisfiable({ access_token: { nbf: { essential: true, value: 'soon' } } })).toMatch(
        /unix seconds/,
      );
    });

    it('accepts the capability, the resource IP and claims it always issues', () => {
      expect(
        evaluateEssentialClaims(
          {
            access_token: {
              xms_cc: { essential: true, values: ['cp1'] },
              xms_rp_ipaddr: { essential: true, value: '203.0.113.9' },
              oid: { essential: true },
            },
          },
          now,
        ),
      ).toEqual({});
    });

    it('refuses unknown essential claims and required values it cannot promise', () => {
      expect(unsatisfiable({ access_token: { acrs: { essential: true, value: 'c1' } } })).toMatch(/acrs/);
      expect(unsatisfiable({ access_token: { deviceid: { essential: true } } })).toMatch(/not issued/);
      expect(unsatisfiable({ access_token: { oid: { essential: true, value: 'someone' } } })).toMatch(
        /required value/,
      );
    });
  });
});
