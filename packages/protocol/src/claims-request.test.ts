import { describe, expect, it } from 'vitest';
import {
  CLAIMS_MAX_LENGTH,
  CP1,
  essentialNbf,
  hasCapability,
  mergeClaims,
  parseClaimsRequest,
  tokenHasCapability,
  withCapabilities,
} from './claims-request.js';
import { ClaimsRequestError, OpenCaeError } from './errors.js';

// What MSAL sends on every token request: upper-case capability, extra id_token members.
const MSAL_CAPABILITY_CLAIMS =
  '{"id_token":{"auth_time":{"essential":true},"acr":{"values":["urn:mace:incommon:iap:silver"]}},"access_token":{"xms_cc":{"values":["CP1"]}}}';
// A resource's revocation challenge, decoded.
const CHALLENGE_CLAIMS = { access_token: { nbf: { essential: true, value: '1604106651' } } };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ClaimsRequestError);
    expect(error).toBeInstanceOf(OpenCaeError);
    return (error as ClaimsRequestError).code;
  }
  return undefined;
}

describe('parseClaimsRequest', () => {
  it('returns undefined for an absent or empty parameter', () => {
    expect(parseClaimsRequest(undefined)).toBeUndefined();
    expect(parseClaimsRequest(null)).toBeUndefined();
    expect(parseClaimsRequest('')).toBeUndefined();
  });

  it("parses MSAL's capability claims with id_token members", () => {
    const claims = parseClaimsRequest(MSAL_CAPABILITY_CLAIMS);
    expect(claims?.access_token).toEqual({ xms_cc: { values: ['CP1'] } });
    expect(claims?.id_token).toEqual({
      auth_time: { essential: true },
      acr: { values: ['urn:mace:incommon:iap:silver'] },
    });
    expect(hasCapability(claims, CP1)).toBe(true);
  });

  it.each([
    ['not JSON', '{"access_token":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"cp1"'],
    ['a number', '42'],
    ['access_token not an object', '{"access_token":["xms_cc"]}'],
    ['id_token null', '{"id_token":null}'],
    ['userinfo a string', '{"userinfo":"email"}'],
  ])('rejects %s with ERR_CLAIMS_MALFORMED', (_name, value) => {
    expect(codeOf(() => parseClaimsRequest(value))).toBe('ERR_CLAIMS_MALFORMED');
  });

  it('accepts exactly CLAIMS_MAX_LENGTH characters and rejects one more with ERR_CLAIMS_TOO_LARGE', () => {
    const prefix = '{"access_token":{"x":"';
    const suffix = '"}}';
    const atLimit = prefix + 'a'.repeat(CLAIMS_MAX_LENGTH - prefix.length - suffix.length) + suffix;
    expect(atLimit.length).toBe(CLAIMS_MAX_LENGTH);
    expect(parseClaimsRequest(atLimit)?.access_token?.x).toHaveLength(
      CLAIMS_MAX_LENGTH - prefix.length - suffix.length,
    );
    const overLimit = prefix + 'a'.repeat(CLAIMS_MAX_LENGTH - prefix.length - suffix.length + 1) + suffix;
    expect(codeOf(() => parseClaimsRequest(overLimit))).toBe('ERR_CLAIMS_TOO_LARGE');
  });

  it('keeps a __proto__ member as data without polluting prototypes when merged', () => {
    const claims = parseClaimsRequest('{"__proto__":{"polluted":true},"access_token":{}}');
    const merged = mergeClaims(claims, { access_token: { xms_cc: { values: ['cp1'] } } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(JSON.stringify(merged)).toBe(
      '{"__proto__":{"polluted":true},"access_token":{"xms_cc":{"values":["cp1"]}}}',
    );
  });
});

describe('mergeClaims', () => {
  it("merges a challenge's claims with MSAL's capability claims, keeping every member", () => {
    const merged = mergeClaims(CHALLENGE_CLAIMS, parseClaimsRequest(MSAL_CAPABILITY_CLAIMS));
    expect(merged).toEqual({
      access_token: { nbf: { essential: true, value: '1604106651' }, xms_cc: { values: ['CP1'] } },
      id_token: { auth_time: { essential: true }, acr: { values: ['urn:mace:incommon:iap:silver'] } },
    });
    expect(essentialNbf(merged)).toBe(1604106651);
    expect(hasCapability(merged, 'cp1')).toBe(true);
  });

  it('produces the documented wire shape for capability + revocation challenge', () => {
    const merged = mergeClaims(CHALLENGE_CLAIMS, { access_token: { xms_cc: { values: [CP1] } } });
    expect(JSON.stringify(merged)).toBe(
      '{"access_token":{"nbf":{"essential":true,"value":"1604106651"},"xms_cc":{"values":["cp1"]}}}',
    );
  });

  it('lets the later part win, replaces arrays, skips undefined parts and leaves inputs untouched', () => {
    const first = { access_token: { xms_cc: { values: ['a', 'b'] }, nbf: { essential: true, value: '1' } } };
    const second = { access_token: { xms_cc: { values: ['c'] }, nbf: { value: '2' } } };
    const snapshot = structuredClone(first);
    const merged = mergeClaims(first, undefined, second);
    expect(merged).toEqual({
      access_token: { xms_cc: { values: ['c'] }, nbf: { essential: true, value: '2' } },
    });
    expect(first).toEqual(snapshot);
    (merged.access_token!.xms_cc as { values: string[] }).values.push('d');
    expect(second.access_token.xms_cc.values).toEqual(['c']);
  });

  it('returns an empty object for no parts', () => {
    expect(mergeClaims()).toEqual({});
    expect(mergeClaims(undefined)).toEqual({});
  });
});

describe('withCapabilities', () => {
  it('adds xms_cc to claims that have none, keeping the challenge claims', () => {
    expect(withCapabilities(CHALLENGE_CLAIMS, [CP1])).toEqual({
      access_token: { nbf: { essential: true, value: '1604106651' }, xms_cc: { values: ['cp1'] } },
    });
    expect(withCapabilities(undefined, ['CP1'])).toEqual({ access_token: { xms_cc: { values: ['CP1'] } } });
  });

  it('deduplicates case-insensitively, keeping the first spelling and other xms_cc members', () => {
    const claims = parseClaimsRequest(
      '{"id_token":{"auth_time":{"essential":true}},"access_token":{"xms_cc":{"essential":false,"values":["CP1"]}}}',
    );
    expect(withCapabilities(claims, ['cp1', 'cp2', 'CP2'])).toEqual({
      id_token: { auth_time: { essential: true } },
      access_token: { xms_cc: { essential: false, values: ['CP1', 'cp2'] } },
    });
  });

  it('does not modify its input and returns a copy for no capabilities', () => {
    const claims = { access_token: { xms_cc: { values: ['CP1'] } } };
    const result = withCapabilities(claims, []);
    expect(result).toEqual(claims);
    expect(result).not.toBe(claims);
    withCapabilities(claims, ['cp2']);
    expect(claims.access_token.xms_cc.values).toEqual(['CP1']);
  });
});

describe('hasCapability', () => {
  it('matches case-insensitively in access_token.xms_cc', () => {
    expect(hasCapability({ access_token: { xms_cc: { values: ['CP1'] } } }, 'cp1')).toBe(true);
    expect(hasCapability({ access_token: { xms_cc: { value: 'cp1' } } }, 'CP1')).toBe(true);
    expect(hasCapability({ access_token: { xms_cc: { values: ['cp2'] } } }, 'cp1')).toBe(false);
    expect(hasCapability({ id_token: { xms_cc: { values: ['cp1'] } } }, 'cp1')).toBe(false);
    expect(hasCapability({ access_token: { xms_cc: { values: 'cp1' } } }, 'cp1')).toBe(false);
    expect(hasCapability(undefined, 'cp1')).toBe(false);
  });
});

describe('tokenHasCapability', () => {
  it('reads an array or a single string, case-insensitively', () => {
    expect(tokenHasCapability(['CP1'], CP1)).toBe(true);
    expect(tokenHasCapability(['cp2', 'cp1'], 'CP1')).toBe(true);
    expect(tokenHasCapability('Cp1', CP1)).toBe(true);
    expect(tokenHasCapability([1, 'cp1'], CP1)).toBe(true);
  });

  it('is false for anything else', () => {
    expect(tokenHasCapability(['cp2'], CP1)).toBe(false);
    expect(tokenHasCapability([], CP1)).toBe(false);
    expect(tokenHasCapability(undefined, CP1)).toBe(false);
    expect(tokenHasCapability(null, CP1)).toBe(false);
    expect(tokenHasCapability({ values: ['cp1'] }, CP1)).toBe(false);
    expect(tokenHasCapability('cp1 cp2', CP1)).toBe(false);
  });
});

describe('essentialNbf', () => {
  it('reads an essential nbf given as a string or a number', () => {
    expect(essentialNbf(CHALLENGE_CLAIMS)).toBe(1604106651);
    expect(essentialNbf({ access_token: { nbf: { essential: true, value: 1604106651 } } })).toBe(1604106651);
  });

  it('ignores a non-essential or malformed nbf', () => {
    expect(essentialNbf({ access_token: { nbf: { value: '1604106651' } } })).toBeUndefined();
    expect(essentialNbf({ access_token: { nbf: { essential: 'true', value: '1' } } })).toBeUndefined();
    expect(essentialNbf({ access_token: { nbf: { essential: true, value: '16041x' } } })).toBeUndefined();
    expect(essentialNbf({ access_token: { nbf: { essential: true, value: -5 } } })).toBeUndefined();
    expect(essentialNbf({ access_token: { nbf: { essential: true, value: 1.5 } } })).toBeUndefined();
    expect(essentialNbf({ id_token: { nbf: { essential: true, value: '1' } } })).toBeUndefined();
    expect(essentialNbf(undefined)).toBeUndefined();
  });
});
