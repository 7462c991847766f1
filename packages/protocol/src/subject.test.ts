import { describe, expect, it } from 'vitest';
import { type SubjectIdentifier, subjectIdentifierSchema, subjectMatches } from './subject.js';

const alice: SubjectIdentifier = { format: 'email', email: 'alice@example.com' };
const aliceSub: SubjectIdentifier = { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'alice' };
const bob: SubjectIdentifier = { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'bob' };
const tenant: SubjectIdentifier = { format: 'opaque', id: 'tenant-1' };
const session: SubjectIdentifier = { format: 'opaque', id: 'session-9' };

describe('subjectIdentifierSchema', () => {
  it.each([
    { format: 'account', uri: 'acct:alice@example.com' },
    { format: 'email', email: 'alice@example.com' },
    { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'alice' },
    { format: 'opaque', id: '11112222333344445555' },
    { format: 'phone_number', phone_number: '+12065550100' },
    { format: 'did', url: 'did:example:123456/did/url/path?versionId=1' },
    { format: 'uri', uri: 'https://user.example.com/' },
    { format: 'jwt_id', iss: 'https://idp.example.com', jti: 'B70BA622-9515-4353-A866-823539EECBC8' },
    {
      format: 'saml_assertion_id',
      issuer: 'https://idp.example.com',
      assertion_id: '_8e8dc5f69a98cc4c1ff3427e5ce34606fd672f91e6',
    },
    {
      format: 'aliases',
      identifiers: [
        { format: 'email', email: 'a@example.com' },
        { format: 'opaque', id: 'x' },
      ],
    },
    {
      format: 'complex',
      user: { format: 'email', email: 'a@example.com' },
      tenant: { format: 'opaque', id: 't' },
    },
    {
      format: 'complex',
      session: { format: 'opaque', id: 's' },
      device: { format: 'aliases', identifiers: [{ format: 'opaque', id: 'd' }] },
    },
  ])('accepts $format', (subject) => {
    expect(subjectIdentifierSchema.parse(subject)).toEqual(subject);
  });

  it('keeps unknown members', () => {
    expect(subjectIdentifierSchema.parse({ format: 'email', email: 'a@b', x_vendor: 1 })).toEqual({
      format: 'email',
      email: 'a@b',
      x_vendor: 1,
    });
  });

  it.each([
    ['an unknown format', { format: 'nickname', name: 'al' }],
    ['a missing member', { format: 'iss_sub', iss: 'https://idp.example.com' }],
    ['an empty value', { format: 'email', email: '' }],
    ['nested aliases', { format: 'aliases', identifiers: [{ format: 'aliases', identifiers: [alice] }] }],
    ['empty aliases', { format: 'aliases', identifiers: [] }],
    ['a complex subject without members', { format: 'complex' }],
    [
      'a complex subject nesting a complex subject',
      { format: 'complex', user: { format: 'complex', user: alice } },
    ],
    ['no format', { email: 'a@b' }],
    ['a string', 'alice'],
  ])('rejects %s', (_name, subject) => {
    expect(subjectIdentifierSchema.safeParse(subject).success).toBe(false);
  });
});

describe('subjectMatches', () => {
  it('matches simple subjects of the same format and value', () => {
    expect(subjectMatches(aliceSub, { ...aliceSub })).toBe(true);
    expect(subjectMatches(aliceSub, bob)).toBe(false);
    expect(subjectMatches(alice, aliceSub)).toBe(false);
    expect(subjectMatches(aliceSub, { ...aliceSub, iss: 'https://other.example.com' })).toBe(false);
  });

  it('compares email addresses case-insensitively and ignores extension members', () => {
    expect(
      subjectMatches(alice, { format: 'email', email: 'Alice@Example.COM', x: 1 } as SubjectIdentifier),
    ).toBe(true);
  });

  it('matches aliases when any alias matches, on either side', () => {
    const aliases: SubjectIdentifier = { format: 'aliases', identifiers: [alice, aliceSub] };
    expect(subjectMatches(aliases, aliceSub)).toBe(true);
    expect(subjectMatches(aliceSub, aliases)).toBe(true);
    expect(subjectMatches(aliases, bob)).toBe(false);
  });

  it('treats an undefined complex member as a wildcard', () => {
    const userOnly: SubjectIdentifier = { format: 'complex', user: aliceSub };
    const userInTenant: SubjectIdentifier = { format: 'complex', user: aliceSub, tenant };
    const userSession: SubjectIdentifier = { format: 'complex', user: aliceSub, tenant, session };
    expect(subjectMatches(userOnly, userSession)).toBe(true);
    expect(subjectMatches(userInTenant, userSession)).toBe(true);
    expect(subjectMatches(userSession, userOnly)).toBe(true);
    expect(
      subjectMatches(userInTenant, {
        format: 'complex',
        user: aliceSub,
        tenant: { format: 'opaque', id: 't2' },
      }),
    ).toBe(false);
    expect(subjectMatches(userOnly, { format: 'complex', user: bob, session })).toBe(false);
  });

  it('does not match complex subjects that share no member', () => {
    expect(subjectMatches({ format: 'complex', user: aliceSub }, { format: 'complex', device: tenant })).toBe(
      false,
    );
  });

  it('matches a simple subject against any member of a complex one', () => {
    const complex: SubjectIdentifier = {
      format: 'complex',
      user: { format: 'aliases', identifiers: [alice, aliceSub] },
      session,
    };
    expect(subjectMatches(aliceSub, complex)).toBe(true);
    expect(subjectMatches(complex, session)).toBe(true);
    expect(subjectMatches(bob, complex)).toBe(false);
  });
});
