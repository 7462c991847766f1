import { describe, expect, it } from 'vitest';
import type { AccessTokenClaims } from '../claims.js';
import type { LocationPolicyDocument } from './document.js';
import { createLocationEnforcer } from './location-enforcer.js';
import { LocationRules } from './location-rules.js';

const OFFICE = 'loc-office';
const PARTNER = 'loc-partner';
const none = { include: [], exclude: [] };

const document: LocationPolicyDocument = {
  audience: 'https://api.example',
  policyVersion: 12,
  audienceVersion: 10,
  policies: [
    {
      id: 'p-trusted-only',
      name: 'Trusted networks only',
      assignments: {
        users: { include: ['All'], exclude: ['u-exempt'] },
        groups: none,
        servicePrincipals: none,
      },
      locations: { include: ['All'], exclude: ['AllTrusted'] },
      caeMode: 'default',
    },
    {
      id: 'p-no-partner',
      name: 'Not from the partner network',
      assignments: { users: none, groups: none, servicePrincipals: { include: ['sp-daemon'], exclude: [] } },
      locations: { include: [PARTNER], exclude: [] },
      caeMode: 'strictLocation',
    },
  ],
  namedLocations: [
    { id: OFFICE, name: 'Office', trusted: true, ranges: ['192.0.2.0/24', '2001:db8:1::/48'] },
    { id: PARTNER, name: 'Partner', trusted: false, ranges: ['198.51.100.0/24'] },
  ],
};

const source = (requiredVersion = 10) => ({ rules: new LocationRules(document), requiredVersion });
const claims = (extra: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
  iss: 'https://issuer.test',
  exp: 2_000_000_000,
  iat: 1_700_000_000,
  oid: 'u-alice',
  idtyp: 'user',
  xms_cc: ['cp1'],
  xms_pv: 12,
  xms_lp: ['p-trusted-only'],
  ...extra,
});

describe('ConditionalAccessLocationEnforcer', () => {
  it('allows addresses the listed policies do not block, IPv4 and IPv6', () => {
    const enforcer = createLocationEnforcer(source());
    expect(enforcer.check(claims(), '192.0.2.44')).toEqual({ allowed: true });
    expect(enforcer.check(claims(), '2001:db8:1::9')).toEqual({ allowed: true });
    expect(enforcer.check(claims(), '::ffff:192.0.2.44')).toEqual({ allowed: true });
  });

  it('blocks addresses outside, and an unknown address', () => {
    const enforcer = createLocationEnforcer(source());
    expect(enforcer.check(claims(), '203.0.113.5')).toEqual({
      allowed: false,
      code: 'location_blocked',
      reason: 'policy "Trusted networks only" does not allow access from 203.0.113.5',
    });
    expect(enforcer.check(claims(), '2001:db8:2::1')).toMatchObject({ code: 'location_blocked' });
    expect(enforcer.check(claims(), undefined)).toMatchObject({ code: 'location_blocked' });
  });

  it('applies exactly the policies the token lists', () => {
    const enforcer = createLocationEnforcer(source());
    expect(enforcer.check(claims({ xms_lp: [] }), '203.0.113.5')).toEqual({ allowed: true });
    expect(enforcer.check(claims({ xms_lp: ['p-no-partner'] }), '198.51.100.1').allowed).toBe(false);
    expect(enforcer.check(claims({ xms_lp: ['p-no-partner'] }), '203.0.113.5').allowed).toBe(true);
    // A policy deleted since issuance is simply absent.
    expect(enforcer.check(claims({ xms_lp: ['p-gone'] }), '203.0.113.5').allowed).toBe(true);
  });

  it('suspends IP checks for split-tunnel tokens', () => {
    const enforcer = createLocationEnforcer(source());
    expect(enforcer.check(claims({ xms_ipchk: 'suspended' }), '203.0.113.5')).toEqual({ allowed: true });
  });

  it('challenges CAE-capable tokens issued under an older policy version', () => {
    const enforcer = createLocationEnforcer(source(13));
    expect(enforcer.check(claims({ xms_pv: 12 }), '192.0.2.44')).toMatchObject({
      allowed: false,
      code: 'policy_changed',
    });
    expect(enforcer.check(claims({ xms_pv: 13 }), '192.0.2.44')).toEqual({ allowed: true });
    // Non-CAE tokens are short-lived: they keep their listed policies until they expire.
    expect(enforcer.check(claims({ xms_pv: 12, xms_cc: undefined }), '192.0.2.44')).toEqual({
      allowed: true,
    });
    // Even a suspended token is re-evaluated once the policies change.
    expect(enforcer.check(claims({ xms_pv: 12, xms_ipchk: 'suspended' }), '203.0.113.5')).toMatchObject({
      code: 'policy_changed',
    });
  });

  it('falls back to id and All assignments for tokens without xms_lp', () => {
    const enforcer = createLocationEnforcer(source());
    const foreign = (extra: Partial<AccessTokenClaims>) =>
      claims({ xms_lp: undefined, xms_pv: undefined, ...extra });
    expect(enforcer.check(foreign({}), '203.0.113.5').allowed).toBe(false);
    expect(enforcer.check(foreign({ oid: 'u-exempt' }), '203.0.113.5').allowed).toBe(true);
    expect(enforcer.check(foreign({ oid: 'sp-daemon', idtyp: 'app' }), '198.51.100.1').allowed).toBe(false);
    expect(enforcer.check(foreign({ oid: 'sp-daemon', idtyp: 'app' }), '203.0.113.5').allowed).toBe(true);
  });

  it('refuses requests until policies are loaded, unless configured otherwise', () => {
    const empty = { rules: undefined, requiredVersion: 0 };
    expect(createLocationEnforcer(empty).check(claims(), '192.0.2.1')).toMatchObject({
      allowed: false,
      code: 'location_policy_unavailable',
    });
    expect(
      createLocationEnforcer(empty, { allowWithoutPolicies: true }).check(claims(), '192.0.2.1'),
    ).toEqual({
      allowed: true,
    });
  });

  it('refuses a document with an invalid range', () => {
    expect(
      () =>
        new LocationRules({
          ...document,
          namedLocations: [{ id: 'x', name: 'x', trusted: false, ranges: ['10.0.0.1/8'] }],
        }),
    ).toThrow(/did you mean 10.0.0.0\/8/);
  });
});
