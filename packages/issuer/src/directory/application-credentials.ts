/**
 * Credentials of applications: client secrets and private_key_jwt public keys ("certificates").
 * Adding, revoking or resetting one is a critical action (CAEP credential-change); revoking or resetting
 * also sets the service principal's credentials_changed_at, so tokens from before are refused.
 */
import {
  type Application,
  type ClientSecretInfo,
  findApplication,
  type IssuedClientSecret,
  insertClientSecret,
  toApplication,
  toSecretInfo,
} from './applications.js';
import { assertUniqueKids, type ClientKey, MAX_CLIENT_KEYS, validateClientKey } from './client-keys.js';
import { type ActionResult, runCriticalAction } from './critical-action.js';
import type { DirectoryContext } from './directory-context.js';
import { NotFoundError, ValidationError } from './errors.js';
import { isUuid } from './references.js';
import { credentialChangeEvent } from './security-events.js';
import { servicePrincipalOf, setServicePrincipalColumns } from './service-principal-actions.js';
import type { ActionOptions } from './user-actions.js';

export interface ResetSecretResult {
  application: Application;
  client_secret: IssuedClientSecret;
}

/** Revokes every active secret and issues a new one (shown once). */
export function resetClientSecret(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions & { expiresAt?: Date | undefined } = {},
): Promise<ActionResult<ResetSecretResult>> {
  return runCriticalAction(context, 'application.secret.reset', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    if (app.token_endpoint_auth_method === 'none')
      throw new ValidationError('a public client has no secret', 'client_id');
    const before = toApplication(app, sp);
    const revoked = await trx
      .updateTable('client_secrets')
      .set({ revoked_at: cause.at })
      .where('application_id', '=', app.id)
      .where('revoked_at', 'is', null)
      .returning('hint')
      .execute();
    const secret = await insertClientSecret(trx, app.id, cause.at, options.expiresAt);
    const spRow = await setServicePrincipalColumns(trx, sp.id, {
      credentials_changed_at: cause.at,
      updated_at: cause.at,
    });
    const after = toApplication(app, spRow);
    const reason = options.reason ?? 'client secret reset by an administrator';
    return {
      targetType: 'application',
      targetId: app.id,
      before: { ...before, active_secret_hints: revoked.map((row) => row.hint) },
      after: { ...after, active_secret_hints: [secret.hint] },
      result: { application: after, client_secret: secret },
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: servicePrincipalOf(sp.id), at: cause.at, reason },
          { credentialType: 'client_secret', changeType: 'update' },
        ),
      ],
    };
  });
}

/** Adds a secret beside the existing ones (rotation without downtime). */
export function addClientSecret(
  context: DirectoryContext,
  reference: string,
  options: ActionOptions & { expiresAt?: Date | undefined } = {},
): Promise<ActionResult<IssuedClientSecret>> {
  return runCriticalAction(context, 'application.secret.add', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    if (app.token_endpoint_auth_method === 'none')
      throw new ValidationError('a public client has no secret', 'client_id');
    const secret = await insertClientSecret(trx, app.id, cause.at, options.expiresAt);
    const { value: _value, ...info } = secret;
    const reason = options.reason ?? 'client secret added by an administrator';
    return {
      targetType: 'application',
      targetId: app.id,
      before: null,
      after: { client_secret: info },
      result: secret,
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: servicePrincipalOf(sp.id), at: cause.at, reason },
          { credentialType: 'client_secret', changeType: 'create' },
        ),
      ],
    };
  });
}

export function revokeClientSecret(
  context: DirectoryContext,
  reference: string,
  secretId: string,
  options: ActionOptions = {},
): Promise<ActionResult<ClientSecretInfo>> {
  return runCriticalAction(context, 'application.secret.revoke', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const existing = await trx
      .selectFrom('client_secrets')
      .selectAll()
      .where('application_id', '=', app.id)
      .where('id', '=', isUuid(secretId) ? secretId : '00000000-0000-0000-0000-000000000000')
      .executeTakeFirst();
    if (!existing) throw new NotFoundError(`no secret "${secretId}" on application ${app.client_id}`);
    const before = toSecretInfo(existing);
    if (existing.revoked_at)
      return {
        targetType: 'client_secret',
        targetId: existing.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const row = await trx
      .updateTable('client_secrets')
      .set({ revoked_at: cause.at })
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await setServicePrincipalColumns(trx, sp.id, { credentials_changed_at: cause.at, updated_at: cause.at });
    const after = toSecretInfo(row);
    const reason = options.reason ?? 'client secret revoked by an administrator';
    return {
      targetType: 'client_secret',
      targetId: existing.id,
      before,
      after,
      result: after,
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: servicePrincipalOf(sp.id), at: cause.at, reason },
          { credentialType: 'client_secret', changeType: 'revoke' },
        ),
      ],
    };
  });
}

/** Adds a public key for private_key_jwt client authentication. */
export async function addCertificate(
  context: DirectoryContext,
  reference: string,
  jwk: unknown,
  options: ActionOptions = {},
): Promise<ActionResult<Application>> {
  const key = await validateClientKey(jwk);
  return runCriticalAction(context, 'application.certificate.add', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    if (app.token_endpoint_auth_method === 'none')
      throw new ValidationError('a public client cannot have keys', 'client_id');
    const keys = [...((app.jwks?.keys ?? []) as unknown as ClientKey[]), key];
    if (keys.length > MAX_CLIENT_KEYS)
      throw new ValidationError(`at most ${MAX_CLIENT_KEYS} keys are accepted`, 'jwks');
    assertUniqueKids(keys);
    const before = toApplication(app, sp);
    const updated = await trx
      .updateTable('applications')
      .set({ jwks: JSON.stringify({ keys }) })
      .where('id', '=', app.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = toApplication(updated, sp);
    const reason = options.reason ?? 'certificate added by an administrator';
    return {
      targetType: 'application',
      targetId: app.id,
      before,
      after,
      result: after,
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: servicePrincipalOf(sp.id), at: cause.at, reason },
          { credentialType: 'x509', changeType: 'create', friendlyName: key.kid },
        ),
      ],
    };
  });
}

export function removeCertificate(
  context: DirectoryContext,
  reference: string,
  kid: string,
  options: ActionOptions = {},
): Promise<ActionResult<Application>> {
  return runCriticalAction(context, 'application.certificate.remove', async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const keys = (app.jwks?.keys ?? []) as unknown as ClientKey[];
    const remaining = keys.filter((key) => key.kid !== kid);
    if (remaining.length === keys.length)
      throw new NotFoundError(`no key "${kid}" on application ${app.client_id}`);
    const before = toApplication(app, sp);
    const updated = await trx
      .updateTable('applications')
      .set({ jwks: JSON.stringify({ keys: remaining }) })
      .where('id', '=', app.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const spRow = await setServicePrincipalColumns(trx, sp.id, {
      credentials_changed_at: cause.at,
      updated_at: cause.at,
    });
    const after = toApplication(updated, spRow);
    const reason = options.reason ?? 'certificate removed by an administrator';
    return {
      targetType: 'application',
      targetId: app.id,
      before,
      after,
      result: after,
      events: [
        credentialChangeEvent(
          { issuer: context.issuer, principal: servicePrincipalOf(sp.id), at: cause.at, reason },
          { credentialType: 'x509', changeType: 'revoke', friendlyName: kid },
        ),
      ],
    };
  });
}
