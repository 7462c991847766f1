/**
 * Subject Identifiers for Security Event Tokens (RFC 9493) plus the formats SSF 1.0 adds
 * (`jwt_id`, `saml_assertion_id`, `complex`). Unknown members are kept (looseObject).
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1);

export const accountSubjectSchema = z.looseObject({ format: z.literal('account'), uri: nonEmpty });
export const emailSubjectSchema = z.looseObject({ format: z.literal('email'), email: nonEmpty });
export const issSubSubjectSchema = z.looseObject({
  format: z.literal('iss_sub'),
  iss: nonEmpty,
  sub: nonEmpty,
});
export const opaqueSubjectSchema = z.looseObject({ format: z.literal('opaque'), id: nonEmpty });
export const phoneNumberSubjectSchema = z.looseObject({
  format: z.literal('phone_number'),
  phone_number: nonEmpty,
});
export const didSubjectSchema = z.looseObject({ format: z.literal('did'), url: nonEmpty });
export const uriSubjectSchema = z.looseObject({ format: z.literal('uri'), uri: nonEmpty });
export const jwtIdSubjectSchema = z.looseObject({
  format: z.literal('jwt_id'),
  iss: nonEmpty,
  jti: nonEmpty,
});
export const samlAssertionIdSubjectSchema = z.looseObject({
  format: z.literal('saml_assertion_id'),
  issuer: nonEmpty,
  assertion_id: nonEmpty,
});

/** Every format that identifies one thing directly. */
export const simpleSubjectSchema = z.discriminatedUnion('format', [
  accountSubjectSchema,
  emailSubjectSchema,
  issSubSubjectSchema,
  opaqueSubjectSchema,
  phoneNumberSubjectSchema,
  didSubjectSchema,
  uriSubjectSchema,
  jwtIdSubjectSchema,
  samlAssertionIdSubjectSchema,
]);

/** RFC 9493 §3.2.8: several identifiers of the same subject; nested aliases are not allowed. */
export const aliasesSubjectSchema = z.looseObject({
  format: z.literal('aliases'),
  identifiers: z.array(simpleSubjectSchema).min(1),
});

const complexMemberSchema = z.union([simpleSubjectSchema, aliasesSubjectSchema]);

export const COMPLEX_SUBJECT_MEMBERS = [
  'user',
  'device',
  'session',
  'application',
  'tenant',
  'org_unit',
  'group',
] as const;
export type ComplexSubjectMember = (typeof COMPLEX_SUBJECT_MEMBERS)[number];

/** SSF 1.0 §3.2 complex subject: the event concerns the combination of its members. */
export const complexSubjectSchema = z
  .looseObject({
    format: z.literal('complex'),
    user: complexMemberSchema.optional(),
    device: complexMemberSchema.optional(),
    session: complexMemberSchema.optional(),
    application: complexMemberSchema.optional(),
    tenant: complexMemberSchema.optional(),
    org_unit: complexMemberSchema.optional(),
    group: complexMemberSchema.optional(),
  })
  .refine((s) => COMPLEX_SUBJECT_MEMBERS.some((m) => s[m] !== undefined), {
    message: 'a complex subject needs at least one member',
  });

export const subjectIdentifierSchema = z.union([
  simpleSubjectSchema,
  aliasesSubjectSchema,
  complexSubjectSchema,
]);

export type SimpleSubjectIdentifier = z.infer<typeof simpleSubjectSchema>;
export type AliasesSubjectIdentifier = z.infer<typeof aliasesSubjectSchema>;
export type ComplexSubjectIdentifier = z.infer<typeof complexSubjectSchema>;
export type SubjectIdentifier = z.infer<typeof subjectIdentifierSchema>;

/** Identifying members per simple format (the rest, e.g. extensions, do not take part in matching). */
const IDENTIFYING_MEMBERS: Record<SimpleSubjectIdentifier['format'], readonly string[]> = {
  account: ['uri'],
  email: ['email'],
  iss_sub: ['iss', 'sub'],
  opaque: ['id'],
  phone_number: ['phone_number'],
  did: ['url'],
  uri: ['uri'],
  jwt_id: ['iss', 'jti'],
  saml_assertion_id: ['issuer', 'assertion_id'],
};

function simpleMatches(a: SimpleSubjectIdentifier, b: SimpleSubjectIdentifier): boolean {
  if (a.format !== b.format) return false;
  const members = IDENTIFYING_MEMBERS[a.format];
  if (!members) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  // Email addresses compare case-insensitively: a false match revokes too much, a miss revokes too little.
  if (a.format === 'email') return String(left.email).toLowerCase() === String(right.email).toLowerCase();
  return members.every((m) => typeof left[m] === 'string' && left[m] === right[m]);
}

/** Simple or aliases: does any identifier of one equal any identifier of the other? */
function identifiersOf(s: SimpleSubjectIdentifier | AliasesSubjectIdentifier): SimpleSubjectIdentifier[] {
  return s.format === 'aliases' ? s.identifiers : [s];
}

function sameSubject(
  a: SimpleSubjectIdentifier | AliasesSubjectIdentifier,
  b: SimpleSubjectIdentifier | AliasesSubjectIdentifier,
): boolean {
  const right = identifiersOf(b);
  return identifiersOf(a).some((x) => right.some((y) => simpleMatches(x, y)));
}

/**
 * Does an event's subject fall under `pattern` (e.g. a subject added to a stream, or a revocation
 * entry)?
 * - simple / aliases: the same subject (aliases match if any alias matches);
 * - complex vs complex: every member present in both matches, and at least one is present in both —
 *   a member left undefined is a wildcard;
 * - simple vs complex (either way): the simple subject matches one of the complex subject's members.
 */
export function subjectMatches(pattern: SubjectIdentifier, subject: SubjectIdentifier): boolean {
  if (pattern.format === 'complex' && subject.format === 'complex') {
    let common = 0;
    for (const member of COMPLEX_SUBJECT_MEMBERS) {
      const p = pattern[member];
      const s = subject[member];
      if (p === undefined || s === undefined) continue;
      if (!sameSubject(p, s)) return false;
      common++;
    }
    return common > 0;
  }
  if (pattern.format === 'complex') return complexContains(pattern, subject as SimpleSubjectIdentifier);
  if (subject.format === 'complex') return complexContains(subject, pattern);
  return sameSubject(pattern, subject);
}

function complexContains(
  complex: ComplexSubjectIdentifier,
  other: SimpleSubjectIdentifier | AliasesSubjectIdentifier,
): boolean {
  return COMPLEX_SUBJECT_MEMBERS.some((m) => {
    const member = complex[m];
    return member !== undefined && sameSubject(member, other);
  });
}
