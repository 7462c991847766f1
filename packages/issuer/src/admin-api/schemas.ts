/**
 * The admin API's request and response schemas: the one source of truth for validation, TypeScript
 * types and the OpenAPI document.
 */
import { z } from 'zod';

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Any text PostgreSQL stores verbatim: everything but NUL and unpaired surrogates. */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value), {
      message: 'must not contain NUL characters or unpaired surrogates',
    });

export const reference = text(1000).min(1).meta({ description: 'An id, or the unique name of the object' });
export const reasonBody = z
  .strictObject({
    reason: text(1000).optional().meta({ description: 'Why; recorded in the audit log and the events' }),
  })
  .optional();

const limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(200)
  .optional()
  .meta({ description: 'Page size (default 50)' });
const cursor = text(2000).optional().meta({ description: 'next_cursor of the previous page' });
const flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => value === 'true');
export const pageQuery = z.strictObject({ limit, cursor });

export const riskLevel = z.enum(['none', 'low', 'medium', 'high']);
export const userKind = z.enum(['member', 'guest']);
const timestamp = z.string().meta({ format: 'date-time' });
const nullableTimestamp = timestamp.nullable();

export const errorResponse = z
  .object({
    error: z.string().meta({ description: 'Machine-readable error' }),
    error_description: z.string(),
    field: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Error' });

const page = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item), next_cursor: z.string().optional() }).meta({ id });

const action = { changed: z.boolean(), txn: z.string(), events: z.number().int() };

// Users
export const user = z
  .object({
    id: z.string(),
    username: z.string(),
    display_name: z.string(),
    email: z.string().nullable(),
    kind: userKind,
    enabled: z.boolean(),
    deleted_at: nullableTimestamp,
    mfa_required: z.boolean(),
    mfa_enrolled: z.boolean(),
    risk_level: riskLevel,
    credentials_changed_at: nullableTimestamp,
    sessions_revoked_at: nullableTimestamp,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'User' });
export const userPage = page(user, 'UserPage');
export const userWithGroups = user
  .extend({ groups: z.array(z.object({ id: z.string(), name: z.string() })) })
  .meta({ id: 'UserWithGroups' });
export const userQuery = pageQuery.extend({ include_deleted: flag, kind: userKind.optional() });
export const createUserBody = z.strictObject({
  username: text(256).min(1),
  password: text(256).min(8).optional(),
  display_name: text(256).optional(),
  email: text(254).nullable().optional(),
  kind: userKind.optional(),
});
export const updateUserBody = z.strictObject({
  display_name: text(256).optional(),
  email: text(254).nullable().optional(),
  kind: userKind.optional(),
});
export const userAction = z.object({ user, ...action }).meta({ id: 'UserActionResult' });
export const resetPasswordBody = z
  .strictObject({
    password: text(256).min(8).optional().meta({ description: 'Omit to have the issuer generate one' }),
    reason: text(1000).optional(),
  })
  .optional();
export const resetPasswordResult = z
  .object({ user, temporary_password: z.string().optional(), ...action })
  .meta({ id: 'ResetPasswordResult' });
export const riskBody = z.strictObject({ level: riskLevel, reason: text(1000).optional() });

// Groups
export const group = z
  .object({ id: z.string(), name: z.string(), description: z.string(), created_at: timestamp })
  .meta({ id: 'Group' });
export const groupPage = page(group, 'GroupPage');
export const createGroupBody = z.strictObject({ name: text(256).min(1), description: text(2000).optional() });

// Applications and service principals
export const servicePrincipal = z
  .object({
    id: z.string(),
    enabled: z.boolean(),
    deleted_at: nullableTimestamp,
    risk_level: riskLevel,
    credentials_changed_at: nullableTimestamp,
    sessions_revoked_at: nullableTimestamp,
  })
  .meta({ id: 'ServicePrincipal' });
export const application = z
  .object({
    id: z.string(),
    client_id: z.string(),
    name: z.string(),
    redirect_uris: z.array(z.string()),
    grant_types: z.array(z.string()),
    token_endpoint_auth_method: z.string(),
    certificates: z.array(
      z.object({ kid: z.string(), kty: z.string(), alg: z.string().optional(), crv: z.string().optional() }),
    ),
    service_principal: servicePrincipal,
    created_at: timestamp,
  })
  .meta({ id: 'Application' });
export const applicationPage = page(application, 'ApplicationPage');
export const applicationQuery = pageQuery.extend({ include_deleted: flag });
export const secretInfo = z
  .object({
    id: z.string(),
    hint: z.string().meta({ description: 'Last characters of the secret' }),
    created_at: timestamp,
    expires_at: nullableTimestamp,
    revoked_at: nullableTimestamp,
  })
  .meta({ id: 'ClientSecretInfo' });
export const issuedSecret = secretInfo
  .extend({ value: z.string().meta({ description: 'The secret: shown once, never again' }) })
  .meta({ id: 'IssuedClientSecret' });
const jwk = z
  .record(z.string(), z.unknown())
  .meta({ description: 'A public JWK (RSA ≥ 2048 bits or EC P-256)' });
export const grantInput = z.strictObject({
  api: text(512).min(1).meta({ description: 'Audience or id of the API' }),
  roles: z.array(text(120)).max(100).optional(),
  scopes: z.array(text(120)).max(100).optional(),
});
export const createApplicationBody = z.strictObject({
  name: text(256).min(1),
  credential: z.enum(['client_secret', 'private_key_jwt', 'none']).optional(),
  jwks: z.union([z.strictObject({ keys: z.array(jwk).max(10) }), z.array(jwk).max(10)]).optional(),
  redirect_uris: z.array(text(2000)).max(20).optional(),
  secret_expires_at: z.iso.datetime({ offset: true }).optional(),
  grants: z.array(grantInput).max(50).optional().meta({ description: 'APIs the application may call' }),
  ssf_receiver: z
    .boolean()
    .optional()
    .meta({ description: 'Grant ssf.manage and ssf.read on urn:opencae:ssf (a Shared Signals receiver)' }),
});
export const grant = z
  .object({
    application_id: z.string(),
    client_id: z.string(),
    api_id: z.string(),
    audience: z.string(),
    scopes: z.array(z.string()),
    roles: z.array(z.string()),
  })
  .meta({ id: 'Grant' });
export const createdApplication = z
  .object({ application, client_secret: issuedSecret.optional(), grants: z.array(grant) })
  .meta({ id: 'CreatedApplication' });
export const updateApplicationBody = z.strictObject({
  name: text(256).min(1).optional(),
  redirect_uris: z.array(text(2000)).max(20).optional(),
});
export const applicationAction = z.object({ application, ...action }).meta({ id: 'ApplicationActionResult' });
export const newSecretBody = z
  .strictObject({ expires_at: z.iso.datetime({ offset: true }).optional(), reason: text(1000).optional() })
  .optional();
export const resetSecretResult = z
  .object({ application, client_secret: issuedSecret, ...action })
  .meta({ id: 'ResetSecretResult' });
export const addSecretResult = z
  .object({ client_secret: issuedSecret, ...action })
  .meta({ id: 'AddSecretResult' });
export const secretAction = z
  .object({ client_secret: secretInfo, ...action })
  .meta({ id: 'SecretActionResult' });
export const addCertificateBody = z.strictObject({ jwk, reason: text(1000).optional() });

// APIs and grants
export const api = z
  .object({
    id: z.string(),
    audience: z.string(),
    name: z.string(),
    cae_enabled: z.boolean(),
    scopes: z.array(z.string()),
    app_roles: z.array(z.string()),
    built_in: z.boolean(),
    created_at: timestamp,
  })
  .meta({ id: 'Api' });
export const apiPage = page(api, 'ApiPage');
export const createApiBody = z.strictObject({
  audience: text(512).min(1),
  name: text(256).optional(),
  cae_enabled: z.boolean().optional(),
  scopes: z.array(text(120)).max(100).optional(),
  app_roles: z.array(text(120)).max(100).optional(),
});
export const updateApiBody = z.strictObject({
  name: text(256).optional(),
  cae_enabled: z.boolean().optional(),
  scopes: z.array(text(120)).max(100).optional(),
  app_roles: z.array(text(120)).max(100).optional(),
});
export const setGrantBody = grantInput.extend({ application: text(1000).min(1) });
export const grantQuery = z.strictObject({ application: text(1000).optional(), api: text(1000).optional() });
export const grantKeyQuery = z.strictObject({ application: text(1000).min(1), api: text(1000).min(1) });
export const grantList = z.object({ items: z.array(grant) }).meta({ id: 'GrantList' });

// Risk signals
export const riskSignalBody = z.strictObject({
  subject: z.strictObject({
    type: z.enum(['user', 'service_principal']),
    id: text(1000).min(1).meta({ description: 'Id or username / client_id' }),
  }),
  level: riskLevel,
  reason: text(1000).min(1),
  source: text(200).min(1).meta({ description: 'The system that detected the risk' }),
});
export const riskSignalResult = z
  .object({ subject: z.object({ type: z.string(), id: z.string() }), risk_level: riskLevel, ...action })
  .meta({ id: 'RiskSignalResult' });

// Audit log
export const auditEntry = z
  .object({
    id: z.string(),
    at: timestamp,
    actor: z.string(),
    action: z.string(),
    target_type: z.string(),
    target_id: z.string(),
    before: z.record(z.string(), z.unknown()).nullable(),
    after: z.record(z.string(), z.unknown()).nullable(),
    txn: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
export const auditPage = page(auditEntry, 'AuditPage');
export const auditQuery = pageQuery.extend({
  action: text(200).optional(),
  actor: text(1000).optional(),
  target_type: text(200).optional(),
  target_id: text(1000).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

// Signing keys: public facts only, never key material
export const signingKey = z
  .object({
    kid: z.string(),
    alg: z.string(),
    state: z.enum(['active', 'next', 'retired']).meta({
      description: 'active signs; next is published in the JWKS and becomes active at the next rotation',
    }),
    created_at: timestamp,
    published_at: timestamp.meta({ description: 'When the key entered the JWKS' }),
    activated_at: nullableTimestamp.meta({ description: 'When the key started signing; null while next' }),
    retired_at: nullableTimestamp,
    published_until: nullableTimestamp.meta({
      description:
        'When a retired key leaves the JWKS: retired_at + the longest token lifetime of the issuer; null while active',
    }),
  })
  .meta({ id: 'SigningKey' });
export const rotateSigningKeyBody = z
  .strictObject({
    reason: text(1000).optional().meta({ description: 'Why; recorded in the audit log' }),
    force: z.boolean().optional().meta({
      description:
        'Rotate even if the next key was published less than 5 minutes ago (verifiers may refuse its tokens until they refetch the JWKS)',
    }),
  })
  .optional();
export const signingKeyList = z.object({ items: z.array(signingKey) }).meta({ id: 'SigningKeyList' });
export const signingKeyRotation = z
  .object({
    active_kid: z
      .string()
      .meta({ description: 'The previous next key (already in the JWKS), signing from now on' }),
    next_kid: z.string().meta({ description: 'The new next key, published from now on' }),
    retired_kid: z.string().nullable().meta({ description: 'The previous key, still published' }),
    retired_published_until: nullableTimestamp,
    txn: z.string().meta({ description: 'The txn of the audit log entry' }),
  })
  .meta({ id: 'SigningKeyRotation' });
