/**
 * Directory rows for the token service's tests and benchmark, inserted directly (the directory
 * module's services are not needed to exercise the token service). Not exported from the package.
 */
import { randomUUID } from 'node:crypto';
import { generateClientSecret, hashClientSecret, hashPassword, secretHint } from '../crypto/secrets.js';
import type { Db } from '../storage/database.js';

export interface SeededApi {
  id: string;
  audience: string;
}

export async function seedApi(
  db: Db,
  o: { audience: string; caeEnabled: boolean; scopes?: string[]; appRoles?: string[] },
): Promise<SeededApi> {
  const id = randomUUID();
  await db
    .insertInto('apis')
    .values({
      id,
      audience: o.audience,
      name: o.audience,
      cae_enabled: o.caeEnabled,
      scopes: JSON.stringify(o.scopes ?? []),
      app_roles: JSON.stringify(o.appRoles ?? []),
    })
    .execute();
  return { id, audience: o.audience };
}

export interface SeededApp {
  applicationId: string;
  servicePrincipalId: string;
  clientId: string;
  clientSecret: string | undefined;
  secretId: string | undefined;
}

export async function seedApplication(
  db: Db,
  o: {
    name?: string;
    grantTypes?: string[];
    redirectUris?: string[];
    authMethod?: string;
    jwks?: { keys: Record<string, unknown>[] };
    grants?: { api: SeededApi; scopes?: string[]; roles?: string[] }[];
  } = {},
): Promise<SeededApp> {
  const applicationId = randomUUID();
  const servicePrincipalId = randomUUID();
  const clientId = randomUUID();
  const authMethod = o.authMethod ?? 'client_secret_basic';
  await db
    .insertInto('applications')
    .values({
      id: applicationId,
      client_id: clientId,
      name: o.name ?? 'test app',
      redirect_uris: JSON.stringify(o.redirectUris ?? []),
      grant_types: JSON.stringify(o.grantTypes ?? ['client_credentials']),
      token_endpoint_auth_method: authMethod,
      jwks: o.jwks ? JSON.stringify(o.jwks) : null,
    })
    .execute();
  await db
    .insertInto('service_principals')
    .values({ id: servicePrincipalId, application_id: applicationId })
    .execute();
  let clientSecret: string | undefined;
  let secretId: string | undefined;
  if (authMethod.startsWith('client_secret')) {
    clientSecret = generateClientSecret();
    secretId = randomUUID();
    await db
      .insertInto('client_secrets')
      .values({
        id: secretId,
        application_id: applicationId,
        secret_hash: hashClientSecret(clientSecret),
        hint: secretHint(clientSecret),
      })
      .execute();
  }
  for (const grant of o.grants ?? []) {
    await db
      .insertInto('api_grants')
      .values({
        application_id: applicationId,
        api_id: grant.api.id,
        scopes: JSON.stringify(grant.scopes ?? []),
        roles: JSON.stringify(grant.roles ?? []),
      })
      .execute();
  }
  return { applicationId, servicePrincipalId, clientId, clientSecret, secretId };
}

export async function seedUser(
  db: Db,
  o: { username: string; password: string; mfaRequired?: boolean; email?: string },
): Promise<{ id: string }> {
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({
      id,
      username: o.username,
      display_name: o.username,
      email: o.email ?? null,
      kind: 'member',
      password_hash: await hashPassword(o.password),
      mfa_required: o.mfaRequired ?? false,
    })
    .execute();
  return { id };
}
