/**
 * Seeds the demo tenant through the admin API: a CAE-enabled API, a member and a guest, a daemon, the
 * API's SSF receiver, a web app for user sign-in, a trusted loopback named location and a Conditional
 * Access policy that blocks the API outside trusted locations. Idempotent: what exists (found by name,
 * username, audience or the ids in demo.json) is kept as it is; only what is missing is created.
 * Credentials the file lost are re-issued (password reset, secret reset) because they cannot be read back.
 */
import { randomBytes } from 'node:crypto';
import { ADMINISTRATORS_GROUP } from '@opencae/issuer/built-in-apis';
import type { AdminClient } from '../admin-client.js';
import { AdminApiError } from '../errors.js';
import {
  type DemoApplication,
  type DemoTenant,
  type DemoUser,
  readDemoFile,
  writeDemoFile,
} from './demo-file.js';

export const DEMO_API_AUDIENCE = 'api://opencae-sample';
export const DEMO_SCOPE = 'Sample.Read';
export const DEMO_ROLE = 'Sample.Read.All';
/** Nobody listens there: scripted sign-ins stop at the redirect and read the code from its URL. */
export const DEMO_REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const DEMO_LOCATION_NAME = 'Demo office (this machine)';
/** Only the first loopback address: 127.0.0.2 plays the attacker in `opencae demo`. */
export const DEMO_LOCATION_RANGES = ['127.0.0.1/32', '::1/128'];
export const DEMO_POLICY_NAME = 'Sample API only from trusted locations';

export interface SeedResult {
  tenant: DemoTenant;
  /** What this run created (empty on a restart with everything in place). */
  created: string[];
  /** Passwords set by this run, to print once. */
  newPasswords: DemoUser[];
}

interface Application {
  client_id: string;
  name: string;
  service_principal: { id: string };
}

/** Whether the saved secret is one the issuer still accepts (`opencae apps reset-secret` replaces it). */
async function secretStillActive(admin: AdminClient, known: DemoApplication): Promise<boolean> {
  const { items } = await admin.request<{
    items: { hint: string; revoked_at: string | null; expires_at: string | null }[];
  }>('GET', `/applications/${encodeURIComponent(known.client_id)}/secrets`);
  const now = Date.now();
  return items.some(
    (secret) =>
      secret.revoked_at === null &&
      (secret.expires_at === null || Date.parse(secret.expires_at) > now) &&
      secret.hint.length > 0 &&
      known.client_secret.endsWith(secret.hint),
  );
}

const newPassword = () => `demo-${randomBytes(12).toString('base64url')}`;

async function find<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof AdminApiError && error.status === 404) return undefined;
    throw error;
  }
}

export async function seedDemoTenant(
  admin: AdminClient,
  dataDir: string,
  issuer: string,
): Promise<SeedResult> {
  const saved = await readDemoFile(dataDir);
  const created: string[] = [];
  const newPasswords: DemoUser[] = [];

  if (!(await find(admin.request('GET', `/apis/${encodeURIComponent(DEMO_API_AUDIENCE)}`)))) {
    await admin.request('POST', '/apis', {
      audience: DEMO_API_AUDIENCE,
      name: 'Sample API',
      cae_enabled: true,
      scopes: [DEMO_SCOPE],
      app_roles: [DEMO_ROLE],
    });
    created.push(`API ${DEMO_API_AUDIENCE}`);
  }

  const ensureUser = async (
    username: string,
    kind: 'member' | 'guest',
    email: string,
    displayName: string,
    known: DemoUser | undefined,
  ): Promise<DemoUser> => {
    const existing = await find(
      admin.request<{ id: string }>('GET', `/users/${encodeURIComponent(username)}`),
    );
    if (existing && known?.password && known.id === existing.id) return known;
    const password = newPassword();
    let id: string;
    if (existing) {
      await admin.request('POST', `/users/${encodeURIComponent(username)}/reset-password`, {
        password,
        reason: 'demo seed: demo.json had no password for this user',
      });
      id = existing.id;
    } else {
      const user = await admin.request<{ id: string }>('POST', '/users', {
        username,
        password,
        email,
        display_name: displayName,
        kind,
      });
      id = user.id;
      created.push(`${kind} ${username}`);
    }
    const user: DemoUser = { id, username, password, kind };
    newPasswords.push(user);
    return user;
  };
  const member = await ensureUser('alice', 'member', 'alice@example.test', 'Alice (member)', saved.member);
  const guest = await ensureUser('gary', 'guest', 'gary@partner.example', 'Gary (guest)', saved.guest);
  // The console's administrator: only members of the built-in group get the admin scope.
  const administrator = await ensureUser(
    'ada',
    'member',
    'ada@example.test',
    'Ada (administrator)',
    saved.administrator,
  );
  await admin.request(
    'PUT',
    `/groups/${encodeURIComponent(ADMINISTRATORS_GROUP)}/members/${encodeURIComponent(administrator.username)}`,
  );

  const applications = await admin.list<Application>('/applications');
  const ensureApplication = async (
    name: string,
    body: Record<string, unknown>,
    known: DemoApplication | undefined,
  ): Promise<DemoApplication> => {
    const existing =
      applications.find((app) => known && app.client_id === known.client_id) ??
      applications.find((app) => app.name === name);
    if (
      existing &&
      known?.client_secret &&
      known.client_id === existing.client_id &&
      (await secretStillActive(admin, known))
    )
      return known;
    if (existing) {
      const reset = await admin.request<{ client_secret: { value: string } }>(
        'POST',
        `/applications/${encodeURIComponent(existing.client_id)}/reset-secret`,
        { reason: 'demo seed: demo.json had no secret for this application' },
      );
      return { client_id: existing.client_id, client_secret: reset.client_secret.value };
    }
    const made = await admin.request<{ application: Application; client_secret: { value: string } }>(
      'POST',
      '/applications',
      { name, ...body },
    );
    created.push(`application ${name}`);
    return { client_id: made.application.client_id, client_secret: made.client_secret.value };
  };
  const daemon = await ensureApplication(
    'Sample daemon',
    { grants: [{ api: DEMO_API_AUDIENCE, roles: [DEMO_ROLE] }] },
    saved.daemon,
  );
  const receiver = await ensureApplication('Sample API receiver', { ssf_receiver: true }, saved.receiver);
  const webApp = await ensureApplication(
    'Sample web app',
    { redirect_uris: [DEMO_REDIRECT_URI], grants: [{ api: DEMO_API_AUDIENCE, scopes: [DEMO_SCOPE] }] },
    saved.web_app,
  );

  const locations = await admin.request<{ items: { id: string; name: string }[] }>('GET', '/named-locations');
  let location = locations.items.find((item) => item.name === DEMO_LOCATION_NAME);
  if (!location) {
    location = await admin.request<{ id: string; name: string }>('POST', '/named-locations', {
      name: DEMO_LOCATION_NAME,
      trusted: true,
      ranges: DEMO_LOCATION_RANGES,
    });
    created.push(`named location ${DEMO_LOCATION_NAME}`);
  }

  const policies = await admin.request<{ items: { id: string; name: string }[] }>(
    'GET',
    '/conditional-access/policies',
  );
  let policy = policies.items.find((item) => item.name === DEMO_POLICY_NAME);
  if (!policy) {
    policy = await admin.request<{ id: string; name: string }>('POST', '/conditional-access/policies', {
      name: DEMO_POLICY_NAME,
      description: 'Users reach the sample API only from a trusted named location (opencae demo).',
      // Enabled, not report-only: the demo shows a replayed token refused from another address.
      state: 'enabled',
      assignments: { users: { include: ['All'] } },
      targetApis: { include: [DEMO_API_AUDIENCE] },
      conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
      grantControls: { block: true },
    });
    created.push(`Conditional Access policy ${DEMO_POLICY_NAME}`);
  }

  const tenant: DemoTenant = {
    issuer,
    api: { audience: DEMO_API_AUDIENCE, scope: DEMO_SCOPE, role: DEMO_ROLE },
    member,
    guest,
    administrator,
    daemon,
    receiver,
    web_app: { ...webApp, redirect_uri: DEMO_REDIRECT_URI },
    named_location: { id: location.id, name: location.name },
    policy: { id: policy.id, name: policy.name },
  };
  await writeDemoFile(dataDir, tenant);
  return { tenant, created, newPasswords };
}
