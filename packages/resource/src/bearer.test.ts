import { describe, expect, it } from 'vitest';
import { extractBearerToken } from './bearer.js';

describe('extractBearerToken (RFC 6750 §2.1)', () => {
  it('takes the b64token after a case-insensitive Bearer scheme', () => {
    expect(extractBearerToken({ authorization: 'Bearer abc.def-_~+/==' }, 100)).toEqual({
      token: 'abc.def-_~+/==',
    });
    expect(extractBearerToken({ authorization: 'bearer   a.b.c' }, 100)).toEqual({ token: 'a.b.c' });
    expect(extractBearerToken(new Headers({ authorization: 'BEARER a.b.c' }), 100)).toEqual({
      token: 'a.b.c',
    });
  });

  it('treats no header, an empty header or another scheme as a missing token', () => {
    for (const headers of [{}, { authorization: '' }, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      expect(extractBearerToken(headers, 100)).toMatchObject({ failure: { reason: 'missing_token' } });
    }
  });

  it('refuses malformed credentials and several Authorization headers as invalid_request', () => {
    for (const authorization of ['Bearer', 'Bearer a b', 'Bearer a=b', 'Bearer "a"', 'Bearer a,b']) {
      expect(extractBearerToken({ authorization }, 100)).toMatchObject({
        failure: { reason: 'invalid_request' },
      });
    }
    expect(extractBearerToken({ authorization: ['Bearer a', 'Bearer b'] }, 100)).toMatchObject({
      failure: { reason: 'invalid_request' },
    });
  });

  it('refuses a token longer than the limit before parsing it', () => {
    expect(extractBearerToken({ authorization: `Bearer ${'a'.repeat(101)}` }, 100)).toMatchObject({
      failure: { reason: 'token_too_large' },
    });
    expect(extractBearerToken({ authorization: `Bearer ${'a'.repeat(1_000_000)}` }, 100)).toMatchObject({
      failure: { reason: 'token_too_large' },
    });
  });
});
