import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import fixtures from '../test/fixtures/challenges.json' with { type: 'json' };
import {
  buildBearerChallenge,
  buildClaimsChallenge,
  decodeClaims,
  diagnoseClaimsChallenge,
  encodeClaims,
  parseClaimsChallenge,
  parseWwwAuthenticate,
  quoteString,
  revocationClaims,
} from './challenge.js';
import { CLAIMS_MAX_LENGTH, mergeClaims, withCapabilities } from './claims-request.js';
import { ChallengeBuildError, ClaimsRequestError } from './errors.js';

// Independent reference encoding (node:crypto Buffer), to check encodeClaims against.
const b64 = (json: string) => Buffer.from(json, 'utf8').toString('base64');
const b64url = (json: string) => Buffer.from(json, 'utf8').toString('base64url');

// Characters a header field value can carry (HTAB, SP, VCHAR, obs-text).
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x09),
);
const headerSafeString = fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)) });
const claimsArbitrary = fc.record(
  {
    access_token: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
    id_token: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
  },
  { requiredKeys: ['access_token'] },
);
// Structural characters of the grammar, so random inputs hit the interesting paths often.
const headerPieces = fc.string({
  unit: fc.constantFrom(
    'Bearer',
    'Basic',
    ' ',
    '\t',
    ',',
    '=',
    '"',
    '\\',
    'claims',
    'error',
    'realm',
    'eyJ',
    'fQ==',
    'a',
    '/',
    '+',
    '-',
    '_',
    'é',
    '\n',
  ),
  maxLength: 60,
});

describe('challenges.json fixtures', () => {
  for (const testCase of fixtures.cases) {
    it(`${testCase.name} (${testCase.source})`, () => {
      const challenge = parseClaimsChallenge(testCase.headers);
      const expected = testCase.expect as { isCaeChallenge: boolean; claims?: object; error?: string };
      if (expected.isCaeChallenge) {
        expect(challenge?.claims).toEqual(expected.claims);
        expect(JSON.parse(challenge!.claimsJson)).toEqual(expected.claims);
      } else {
        expect(challenge).toBeUndefined();
      }
      if (expected.error !== undefined) {
        expect(diagnoseClaimsChallenge(testCase.headers).problem).toBe(expected.error);
      }
    });
  }

  it('reads the other parameters of the Graph challenge, unquoted URL and errorDescription included', () => {
    const graph = fixtures.cases.find((c) => c.name === 'graph-unquoted-authorization-uri')!;
    const challenge = parseClaimsChallenge(graph.headers);
    expect(challenge).toMatchObject({
      realm: '',
      authorizationUri: 'https://login.microsoftonline.com/common/oauth2/authorize',
      error: 'insufficient_claims',
      errorDescription:
        'Continuous access evaluation resulted in claims challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp',
    });
    expect(parseWwwAuthenticate(graph.headers)[0]?.params.client_id).toBe(
      '00000003-0000-0000-c000-000000000000',
    );
  });

  it('reads error and error_description of an ARM invalid_token challenge', () => {
    const arm = fixtures.cases.find((c) => c.name === 'arm-revocation-invalid-token')!;
    expect(parseClaimsChallenge(arm.headers)).toMatchObject({
      error: 'invalid_token',
      errorDescription: 'User session has been revoked',
      authorizationUri: 'https://login.windows.net/',
    });
  });
});

describe('parseWwwAuthenticate', () => {
  it('splits several challenges in one field value', () => {
    expect(parseWwwAuthenticate('Basic realm="legacy", Bearer realm="", error="invalid_token"')).toEqual([
      { scheme: 'Basic', params: { realm: 'legacy' } },
      { scheme: 'Bearer', params: { realm: '', error: 'invalid_token' } },
    ]);
  });

  it('reads several field values in order', () => {
    expect(
      parseWwwAuthenticate(['Basic realm="a"', 'Bearer error="invalid_token"', 'DPoP algs="ES256"']),
    ).toEqual([
      { scheme: 'Basic', params: { realm: 'a' } },
      { scheme: 'Bearer', params: { error: 'invalid_token' } },
      { scheme: 'DPoP', params: { algs: 'ES256' } },
    ]);
  });

  it('reads token68 credentials, alone and followed by other challenges', () => {
    expect(parseWwwAuthenticate('Negotiate a87421000492aa874209af8bc028')).toEqual([
      { scheme: 'Negotiate', params: {}, token68: 'a87421000492aa874209af8bc028' },
    ]);
    expect(parseWwwAuthenticate('Custom dXNl+cjpw/YXNz==, Bearer realm="x", Newauth')).toEqual([
      { scheme: 'Custom', params: {}, token68: 'dXNl+cjpw/YXNz==' },
      { scheme: 'Bearer', params: { realm: 'x' } },
      { scheme: 'Newauth', params: {} },
    ]);
  });

  it('unescapes quoted-pairs in quoted strings', () => {
    const [challenge] = parseWwwAuthenticate(
      String.raw`Bearer error_description="say \"hi\" \\ \back, now", realm="r"`,
    );
    expect(challenge?.params).toEqual({ error_description: 'say "hi" \\ back, now', realm: 'r' });
  });

  it('lower-cases parameter names, keeps the first of duplicates and tolerates whitespace around =', () => {
    const [challenge] = parseWwwAuthenticate('bearer Error = "invalid_token", ERROR="second", Realm=api');
    expect(challenge).toEqual({ scheme: 'bearer', params: { error: 'invalid_token', realm: 'api' } });
  });

  it('tolerates a missing comma between parameters and skips garbage', () => {
    expect(parseWwwAuthenticate('Bearer realm="a" error="invalid_token", @@@, scope="x"')).toEqual([
      { scheme: 'Bearer', params: { realm: 'a', error: 'invalid_token', scope: 'x' } },
    ]);
  });

  it('keeps a __proto__ parameter as data', () => {
    const [challenge] = parseWwwAuthenticate('Bearer __proto__="x", realm="r"');
    expect(Object.getPrototypeOf(challenge!.params)).toBe(Object.prototype);
    expect(Object.hasOwn(challenge!.params, '__proto__')).toBe(true);
    expect(challenge!.params.realm).toBe('r');
  });

  it('takes an unterminated quoted string to the end', () => {
    expect(parseWwwAuthenticate('Bearer realm="abc, error=x')).toEqual([
      { scheme: 'Bearer', params: { realm: 'abc, error=x' } },
    ]);
  });

  it('returns [] for absent, empty or non-string input', () => {
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate(' , ,')).toEqual([]);
    expect(parseWwwAuthenticate([42, {}] as unknown as string[])).toEqual([]);
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), headerPieces), (header) => {
        expect(Array.isArray(parseWwwAuthenticate(header))).toBe(true);
        parseClaimsChallenge(header);
        diagnoseClaimsChallenge(header);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary header arrays, even with non-strings in them', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), headerPieces, fc.anything())), (headers) => {
        parseWwwAuthenticate(headers as string[]);
        parseClaimsChallenge(headers as string[]);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        parseClaimsChallenge(value as string);
        decodeClaims(value as string);
      }),
    );
  });
});

describe('parseClaimsChallenge', () => {
  const json = '{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}';

  it('accepts padded base64, unpadded base64 and base64url', () => {
    // "?>" and "~~" make the standard alphabet use "/" and "+", so base64url differs.
    const tricky = '{"access_token":{"x":{"value":"?>?>~~~"}}}';
    expect(b64(tricky)).toMatch(/[+/]/);
    for (const encoded of [b64(tricky), b64(tricky).replace(/=+$/, ''), b64url(tricky)]) {
      const challenge = parseClaimsChallenge(`Bearer error="insufficient_claims", claims="${encoded}"`);
      expect(challenge?.claims).toEqual(JSON.parse(tricky));
      expect(challenge?.claimsJson).toBe(tricky);
    }
  });

  it('accepts an unquoted claims value and a raw JSON claims value', () => {
    expect(parseClaimsChallenge(`Bearer error=insufficient_claims, claims=${b64(json)}`)?.claimsJson).toBe(
      json,
    );
    const raw = `Bearer error="insufficient_claims", claims="${json.replaceAll('"', '\\"')}"`;
    expect(parseClaimsChallenge(raw)?.claims).toEqual(JSON.parse(json));
  });

  it('accepts a claims challenge without an error parameter', () => {
    expect(parseClaimsChallenge(`Bearer claims="${b64(json)}"`)?.claims).toEqual(JSON.parse(json));
  });

  it('ignores claims on errors that are not claims challenges, and non-Bearer schemes', () => {
    const scope = `Bearer error="insufficient_scope", claims="${b64(json)}"`;
    expect(parseClaimsChallenge(scope)).toBeUndefined();
    expect(diagnoseClaimsChallenge(scope).problem).toBe(
      'error "insufficient_scope" does not carry a claims challenge',
    );
    expect(parseClaimsChallenge(`PoP error="insufficient_claims", claims="${b64(json)}"`)).toBeUndefined();
    expect(diagnoseClaimsChallenge('Basic realm="x"').problem).toBe(
      'no Bearer challenge with a claims parameter',
    );
  });

  it('takes the first Bearer challenge whose claims decode', () => {
    const other = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const header = [
      `Bearer error="insufficient_claims", claims="!!"`,
      `Bearer claims="${b64(json)}", Bearer claims="${b64(other)}"`,
    ];
    expect(parseClaimsChallenge(header)?.claimsJson).toBe(json);
  });

  it('rejects claims that are not a JSON object, invalid UTF-8 or oversized', () => {
    for (const bad of [
      b64('[1,2]'),
      b64('null'),
      b64('"x"'),
      'gA',
      'abcde',
      '',
      '   ',
      b64('{"a":'),
      '=====',
    ]) {
      expect(parseClaimsChallenge(`Bearer claims="${bad}"`)).toBeUndefined();
    }
    const huge = `{"access_token":{"x":"${'a'.repeat(20000)}"}}`;
    expect(parseClaimsChallenge(`Bearer claims="${b64(huge)}"`)).toBeUndefined();
  });
});

describe('decodeClaims / encodeClaims', () => {
  it('encodes minified JSON as padded standard base64', () => {
    const claims = { access_token: { nbf: { essential: true, value: '1604106651' } } };
    expect(encodeClaims(claims)).toBe(b64(JSON.stringify(claims)));
    expect(encodeClaims({ a: 'é€' })).toBe(b64('{"a":"é€"}'));
  });

  it('round-trips any claims object through every base64 variant', () => {
    fc.assert(
      fc.property(claimsArbitrary, (claims) => {
        const expected = JSON.parse(JSON.stringify(claims));
        const encoded = encodeClaims(claims);
        expect(encoded.length % 4).toBe(0);
        expect(decodeClaims(encoded)).toEqual(expected);
        expect(decodeClaims(encoded.replace(/=+$/, ''))).toEqual(expected);
        expect(decodeClaims(b64url(JSON.stringify(claims)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to encode claims longer than CLAIMS_MAX_LENGTH, which no parser would accept back', () => {
    expect(() => encodeClaims({ access_token: { x: 'a'.repeat(CLAIMS_MAX_LENGTH) } })).toThrow(
      expect.objectContaining({ code: 'ERR_CLAIMS_TOO_LARGE' }),
    );
    expect(() => encodeClaims(undefined as unknown as object)).toThrow(ClaimsRequestError);
  });

  it('returns undefined for garbage', () => {
    expect(decodeClaims('%%%not-base64%%%')).toBeUndefined();
    expect(decodeClaims('e30=x')).toBeUndefined();
    expect(decodeClaims('e30=')).toEqual({});
  });
});

describe('buildClaimsChallenge', () => {
  it("produces Entra's exact header value", () => {
    const claims = revocationClaims(1604106651);
    expect(
      buildClaimsChallenge({
        authorizationUri: 'https://login.example.com/oauth2/authorize',
        claims,
        errorDescription: 'Token was issued before the user session was revoked',
      }),
    ).toBe(
      'Bearer realm="", authorization_uri="https://login.example.com/oauth2/authorize", error="insufficient_claims", ' +
        'error_description="Token was issued before the user session was revoked", ' +
        `claims="${b64('{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}')}"`,
    );
  });

  it('omits error_description when not given and honours realm and error', () => {
    expect(
      buildClaimsChallenge({ authorizationUri: 'u', claims: {}, realm: 'api', error: 'invalid_token' }),
    ).toBe(`Bearer realm="api", authorization_uri="u", error="invalid_token", claims="e30="`);
  });

  it('escapes quotes and backslashes, and refuses control characters', () => {
    const header = buildClaimsChallenge({ authorizationUri: 'u', claims: {}, errorDescription: 'a "b" \\c' });
    expect(header).toContain(String.raw`error_description="a \"b\" \\c"`);
    expect(parseClaimsChallenge(header)?.errorDescription).toBe('a "b" \\c');
    expect(() =>
      buildClaimsChallenge({ authorizationUri: 'u', claims: {}, errorDescription: 'a\r\nSet-Cookie: x' }),
    ).toThrow(ChallengeBuildError);
    expect(() => quoteString('\u0100')).toThrow(ChallengeBuildError);
  });

  it('round-trips build → parse for any values a header can carry', () => {
    fc.assert(
      fc.property(
        claimsArbitrary,
        headerSafeString,
        fc.option(headerSafeString, { nil: undefined }),
        fc.option(headerSafeString, { nil: undefined }),
        fc.constantFrom(undefined, 'insufficient_claims', 'invalid_token'),
        (claims, authorizationUri, errorDescription, realm, error) => {
          const header = buildClaimsChallenge({ authorizationUri, claims, errorDescription, realm, error });
          const parsed = parseClaimsChallenge(header);
          expect(parsed).toEqual({
            claims: JSON.parse(JSON.stringify(claims)),
            claimsJson: JSON.stringify(claims),
            error: error ?? 'insufficient_claims',
            authorizationUri,
            realm: realm ?? '',
            ...(errorDescription === undefined ? {} : { errorDescription }),
          });
          // Another challenge before it and a second field do not change the result.
          expect(parseClaimsChallenge(['Basic realm="x"', `Negotiate abc==, ${header}`])).toEqual(parsed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('carries the merged MSAL shape (nbf essential + xms_cc + id_token) intact', () => {
    const claims = withCapabilities(
      mergeClaims(
        { id_token: { auth_time: { essential: true } } },
        revocationClaims(1604106651, '2001:db8::1'),
      ),
      ['CP1'],
    );
    const parsed = parseClaimsChallenge(buildClaimsChallenge({ authorizationUri: 'u', claims }));
    expect(parsed?.claimsJson).toBe(
      '{"id_token":{"auth_time":{"essential":true}},"access_token":{"nbf":{"essential":true,"value":"1604106651"},' +
        '"xms_rp_ipaddr":{"value":"2001:db8::1"},"xms_cc":{"values":["CP1"]}}}',
    );
  });
});

describe('buildBearerChallenge', () => {
  it('builds a plain RFC 6750 challenge', () => {
    expect(
      buildBearerChallenge({
        realm: 'api',
        error: 'invalid_token',
        errorDescription: 'The access token expired',
      }),
    ).toBe('Bearer realm="api", error="invalid_token", error_description="The access token expired"');
    expect(buildBearerChallenge({ scope: 'read write' })).toBe('Bearer scope="read write"');
    expect(buildBearerChallenge({})).toBe('Bearer');
  });

  it('round-trips any parameter values a header can carry', () => {
    fc.assert(
      fc.property(headerSafeString, headerSafeString, headerSafeString, (realm, errorDescription, scope) => {
        const [challenge, ...rest] = parseWwwAuthenticate(
          buildBearerChallenge({ realm, error: 'invalid_token', errorDescription, scope }),
        );
        expect(rest).toEqual([]);
        expect(challenge).toEqual({
          scheme: 'Bearer',
          params: { realm, error: 'invalid_token', error_description: errorDescription, scope },
        });
        expect(parseClaimsChallenge(buildBearerChallenge({ realm, errorDescription }))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe('revocationClaims', () => {
  it("has Entra's shape, with the resource's IP when given", () => {
    expect(revocationClaims(1604106651)).toEqual({
      access_token: { nbf: { essential: true, value: '1604106651' } },
    });
    expect(JSON.stringify(revocationClaims(1610563006.9, '1.2.3.4'))).toBe(
      '{"access_token":{"nbf":{"essential":true,"value":"1610563006"},"xms_rp_ipaddr":{"value":"1.2.3.4"}}}',
    );
    expect(() => revocationClaims(Number.NaN)).toThrow(/nbf/);
  });
});
