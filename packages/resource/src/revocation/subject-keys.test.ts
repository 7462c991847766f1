import { describe, expect, it } from 'vitest';
import type { AccessTokenClaims } from '../claims.js';
import { setSubjectKeys, tokenSubjectKeys } from './subject-keys.js';

const ISS = 'https://id.example';
const base = { iss: ISS, exp: 2, iat: 1 };

describe('subject keys', () => {
  it('names a user token by sub, oid, session, email and tenant, but not by its client', () => {
    const claims: AccessTokenClaims = {
      ...base,
      sub: 'u1',
      oid: 'o1',
      azp: 'app',
      idtyp: 'user',
      sid: 's1',
      email: 'A@Example.com',
      tid: 't1',
    };
    expect(tokenSubjectKeys(claims)).toEqual(['p:u1', 'p:o1', 's:s1', 'e:a@example.com', 't:t1']);
  });

  it('names an app token by its client id too', () => {
    expect(tokenSubjectKeys({ ...base, sub: 'sp1', azp: 'client1', idtyp: 'app' })).toEqual([
      'p:sp1',
      'p:client1',
    ]);
    expect(tokenSubjectKeys({ ...base, sub: 'client1', appid: 'client1' })).toEqual(['p:client1']);
  });

  it('maps SET subjects to the same keys', () => {
    expect(setSubjectKeys({ format: 'opaque', id: 'u1' }, ISS)).toEqual(['p:u1']);
    expect(setSubjectKeys({ format: 'iss_sub', iss: `${ISS}/`, sub: 'u1' }, ISS)).toEqual(['p:u1']);
    expect(setSubjectKeys({ format: 'iss_sub', iss: 'https://other', sub: 'u1' }, ISS)).toEqual([]);
    expect(setSubjectKeys({ format: 'email', email: 'A@example.com' }, ISS)).toEqual(['e:a@example.com']);
    expect(setSubjectKeys({ format: 'account', uri: 'acct:a@example.com' }, ISS)).toEqual([
      'e:a@example.com',
    ]);
    expect(
      setSubjectKeys(
        {
          format: 'aliases',
          identifiers: [
            { format: 'opaque', id: 'u1' },
            { format: 'email', email: 'x@y' },
          ],
        },
        ISS,
      ),
    ).toEqual(['p:u1', 'e:x@y']);
  });

  it('maps a complex subject to its most specific member', () => {
    expect(
      setSubjectKeys({ user: { format: 'opaque', id: 'u1' }, session: { format: 'opaque', id: 's1' } }, ISS),
    ).toEqual(['s:s1']);
    expect(setSubjectKeys({ format: 'complex', user: { format: 'opaque', id: 'u1' } }, ISS)).toEqual([
      'p:u1',
    ]);
    expect(setSubjectKeys({ tenant: { format: 'opaque', id: 't1' } }, ISS)).toEqual(['t:t1']);
  });

  it('designates nothing for garbage', () => {
    for (const garbage of [
      null,
      'x',
      42,
      [],
      { format: 'opaque' },
      { format: 'phone_number', phone_number: '+1' },
    ]) {
      expect(setSubjectKeys(garbage, ISS)).toEqual([]);
    }
  });
});
