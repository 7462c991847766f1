import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAEP, RISC } from '@opencae/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintAccessToken, mintAdminToken } from '../../test/support/admin-token.js';
import { storageEngines } from '../../test/support/storage-engines.js';
import { verifyClientSecret } from '../crypto/secrets.js';
import { createIssuer, type Issuer } from '../server.js';
import { directoryAdminModule } from './module.js';
import { adminRoutes } from './routes/index.js';

const hostile = `Robert'); DROP TABLE users;-- "<script>alert(1)</script>" \\ ' OR '1'='1 ☃ 𝄞 %00 \${x}`;

describe.each(storageEngines)('admin API on $name', ({ open }) => {
  let issuer: Issuer;
  let dataDir: string;
  let token: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'opencae-admin-'));
    // Only the storage's URL is used: the issuer opens its own connection.
    const engine = await open();
    await engine.storage.close();
    issuer = await createIssuer(
      {
        issuerUrl: 'http://127.0.0.1:8080',
        dataDir: engine.databaseUrl ? dataDir : join(dataDir, 'store'),
        ...(engine.databaseUrl ? { databaseUrl: engine.databaseUrl } : {}),
        port: 0,
      },
      { modules: [directoryAdminModule()] },
    );
    token = await mintAdminToken(issuer.context.keys, issuer.context.config.issuerUrl, 'cli-admin');
    cleanup = engine.drop;
  });
  afterAll(async () => {
    await issuer?.close();
    await cleanup?.();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await issuer.app.inject({
      method: method as 'GET',
      url: `/admin/v1${url}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const json = response.body ? JSON.parse(response.body) : undefined;
    return { status: response.statusCode, json, raw: response.body };
  }

  describe('authorization', () => {
    it('needs a Bearer token with audience urn:opencae:admin and the admin role', async () => {
      const none = await issuer.app.inject({ method: 'GET', url: '/admin/v1/users' });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      const keys = issuer.context.keys;
      const iss = issuer.context.config.issuerUrl;
      const noRole = await mintAccessToken(keys, { issuer: iss, roles: ['reader'] });
      expect((await call('GET', '/users', undefined, { authorization: `Bearer ${noRole}` })).status).toBe(
        403,
      );
      const otherAudience = await mintAccessToken(keys, {
        issuer: iss,
        audience: 'urn:opencae:ssf',
        roles: ['admin'],
      });
      expect(
        (await call('GET', '/users', undefined, { authorization: `Bearer ${otherAudience}` })).status,
      ).toBe(401);
      const otherIssuer = await mintAccessToken(keys, { issuer: 'https://evil.example', roles: ['admin'] });
      expect(
        (await call('GET', '/users', undefined, { authorization: `Bearer ${otherIssuer}` })).status,
      ).toBe(401);
      const delegated = await mintAccessToken(keys, {
        issuer: iss,
        scp: 'admin',
        userId: '11111111-2222-4333-8444-555555555555',
      });
      expect((await call('GET', '/users', undefined, { authorization: `Bearer ${delegated}` })).status).toBe(
        200,
      );
    });

    it('checks the token before reading the body', async () => {
      const response = await issuer.app.inject({
        method: 'POST',
        url: '/admin/v1/users',
        headers: { 'content-type': 'application/json' },
        payload: '{not json',
      });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('OpenAPI', () => {
    it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
      const response = await issuer.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' });
      expect(response.statusCode).toBe(200);
      const document = response.json();
      expect(document.openapi).toBe('3.1.0');
      for (const definition of adminRoutes) {
        const path = definition.path.replace(/:([A-Za-z_]+)/g, '{$1}');
        expect(document.paths[path]?.[definition.method.toLowerCase()]?.operationId).toBe(
          definition.operationId,
        );
      }
      expect(
        document.paths['/users'].post.requestBody.content['application/json'].schema.properties.username,
      ).toBeTruthy();
      expect(document.components.schemas.User.properties.risk_level.enum).toEqual([
        'none',
        'low',
        'medium',
        'high',
      ]);
      expect(JSON.stringify(document)).not.toContain('#/$defs/');
      const refs = [...JSON.stringify(document).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map(
        (match) => match[1]!,
      );
      for (const ref of refs) expect(document.components.schemas[ref], ref).toBeTruthy();
    });
  });

  describe('directory resources', () => {
    it('creates an API, an application granted to it (secret shown once), and an SSF receiver', async () => {
      const api = await call('POST', '/apis', {
        audience: 'api://orders',
        cae_enabled: true,
        scopes: ['read'],
        app_roles: ['Orders.Read'],
      });
      expect(api.status).toBe(201);
      expect(api.json).toMatchObject({ audience: 'api://orders', cae_enabled: true, built_in: false });
      expect((await call('GET', `/apis/${encodeURIComponent('api://orders')}`)).json.id).toBe(api.json.id);
      expect((await call('PATCH', `/apis/${api.json.id}`, { cae_enabled: false })).json.cae_enabled).toBe(
        false,
      );
      expect((await call('POST', '/apis', { audience: 'api://orders' })).status).toBe(409);
      expect((await call('DELETE', `/apis/${encodeURIComponent('urn:opencae:admin')}`)).status).toBe(409);

      const created = await call('POST', '/applications', {
        name: 'billing-daemon',
        grants: [{ api: 'api://orders', roles: ['Orders.Read'] }],
      });
      expect(created.status).toBe(201);
      const { application, client_secret, grants } = created.json;
      expect(grants).toMatchObject([{ audience: 'api://orders', roles: ['Orders.Read'] }]);
      const stored = await issuer.context.db
        .selectFrom('client_secrets')
        .select('secret_hash')
        .where('id', '=', client_secret.id)
        .executeTakeFirstOrThrow();
      expect(verifyClientSecret(client_secret.value, stored.secret_hash)).toBe(true);
      const secrets = await call('GET', `/applications/${application.client_id}/secrets`);
      expect(secrets.json.items).toEqual([expect.objectContaining({ hint: client_secret.value.slice(-4) })]);
      expect(secrets.raw).not.toContain(client_secret.value);

      const receiver = await call('POST', '/applications', { name: 'receiver', ssf_receiver: true });
      expect(receiver.json.grants).toMatchObject([
        { audience: 'urn:opencae:ssf', roles: ['ssf.manage', 'ssf.read'] },
      ]);

      // A grant naming an unknown role fails the whole creation.
      const before = (await call('GET', '/applications?limit=200')).json.items.length;
      const bad = await call('POST', '/applications', {
        name: 'x',
        grants: [{ api: 'api://orders', roles: ['Nope'] }],
      });
      expect(bad.status).toBe(400);
      expect((await call('GET', '/applications?limit=200')).json.items.length).toBe(before);
    });

    it('runs the critical actions on users and records events and audit under one txn', async () => {
      const created = await call('POST', '/users', {
        username: 'alice',
        password: 'correct horse',
        email: 'alice@example.com',
      });
      expect(created.status).toBe(201);
      const alice = created.json;
      const disabled = await call('POST', '/users/alice/disable', { reason: 'left the company' });
      expect(disabled.json).toMatchObject({ user: { enabled: false }, changed: true, events: 1 });
      const events = await issuer.context.db
        .selectFrom('security_events')
        .selectAll()
        .where('txn', '=', disabled.json.txn)
        .execute();
      expect(events).toMatchObject([
        {
          event_type: RISC.accountDisabled,
          principal_id: alice.id,
          event: { reason_admin: { en: 'left the company' } },
        },
      ]);
      expect((await call('POST', `/users/${alice.id}/enable`)).json.changed).toBe(true);
      const reset = await call('POST', '/users/alice/reset-password', {});
      expect(reset.json.temporary_password).toEqual(expect.any(String));
      expect((await call('POST', '/users/alice/require-mfa')).json.user.mfa_required).toBe(true);
      const revoked = await call('POST', '/users/alice/revoke-sessions');
      expect(revoked.json.user.sessions_revoked_at).toEqual(expect.any(String));
      const risk = await call('PUT', '/users/alice/risk', { level: 'high', reason: 'leaked' });
      expect(risk.json).toMatchObject({ user: { risk_level: 'high' }, events: 1 });
      const riskEvents = await issuer.context.db
        .selectFrom('security_events')
        .select(['event_type', 'event'])
        .where('txn', '=', risk.json.txn)
        .execute();
      expect(riskEvents).toMatchObject([
        { event_type: CAEP.riskLevelChange, event: { current_level: 'HIGH' } },
      ]);
      const signal = await call('POST', '/risk-signals', {
        subject: { type: 'user', id: 'alice' },
        level: 'medium',
        reason: 'impossible travel',
        source: 'identity-protection',
      });
      expect(signal.json).toMatchObject({
        subject: { type: 'user', id: alice.id },
        risk_level: 'medium',
        changed: true,
      });

      const audit = await call('GET', `/audit-log?target_id=${alice.id}&limit=3`);
      expect(audit.json.items).toHaveLength(3);
      expect(audit.json.items.map((entry: { action: string }) => entry.action)).toEqual([
        'user.risk.signal',
        'user.risk.set',
        'user.sessions.revoke',
      ]);
      expect(audit.json.items[0]).toMatchObject({
        actor: 'cli-admin',
        after: { risk_source: 'identity-protection' },
      });
      const rest = await call(
        'GET',
        `/audit-log?target_id=${alice.id}&limit=50&cursor=${audit.json.next_cursor}`,
      );
      expect(rest.json.items.map((entry: { action: string }) => entry.action)).toEqual([
        'user.mfa.require',
        'user.password.reset',
        'user.enable',
        'user.disable',
        'user.create',
      ]);
      expect(JSON.stringify(rest.json)).not.toContain(reset.json.temporary_password);
      expect(JSON.stringify(rest.json)).not.toContain('scrypt$');
      expect((await call('DELETE', '/users/alice')).json.user.deleted_at).toEqual(expect.any(String));
      expect((await call('GET', '/users/alice')).status).toBe(404);
    });

    it('runs the critical actions on service principals and application credentials', async () => {
      const { application } = (await call('POST', '/applications', { name: 'worker' })).json;
      expect(
        (await call('POST', `/service-principals/${application.client_id}/disable`)).json.application
          .service_principal.enabled,
      ).toBe(false);
      expect(
        (await call('POST', `/service-principals/${application.service_principal.id}/enable`)).json.changed,
      ).toBe(true);
      const reset = await call('POST', `/applications/${application.client_id}/reset-secret`);
      expect(reset.json.client_secret.value).toEqual(expect.any(String));
      const jwk = {
        kty: 'EC',
        crv: 'P-256',
        x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        kid: 'key-1',
      };
      const added = await call('POST', `/applications/${application.client_id}/certificates`, { jwk });
      expect(added.status).toBe(201);
      expect(added.json.application.certificates).toEqual([{ kid: 'key-1', kty: 'EC', crv: 'P-256' }]);
      expect(
        (
          await call('POST', `/applications/${application.client_id}/certificates`, {
            jwk: { ...jwk, d: 'secret' },
          })
        ).status,
      ).toBe(400);
      expect(
        (await call('DELETE', `/applications/${application.client_id}/certificates/key-1`)).json.events,
      ).toBe(1);
      expect(
        (await call('PUT', `/service-principals/${application.client_id}/risk`, { level: 'high' })).json
          .events,
      ).toBe(1);
      expect((await call('DELETE', `/service-principals/${application.client_id}`)).status).toBe(200);
      expect((await call('GET', `/applications/${application.client_id}`)).status).toBe(404);
    });

    it('manages groups and grants', async () => {
      await call('POST', '/users', { username: 'bob' });
      expect((await call('POST', '/groups', { name: 'ops', description: 'operators' })).status).toBe(201);
      expect((await call('PUT', '/groups/ops/members/bob')).status).toBe(204);
      expect(
        (await call('GET', '/groups/ops/members')).json.items.map((u: { username: string }) => u.username),
      ).toEqual(['bob']);
      expect((await call('GET', '/users/bob')).json.groups).toMatchObject([{ name: 'ops' }]);
      expect((await call('DELETE', '/groups/ops/members/bob')).status).toBe(204);
      expect((await call('DELETE', '/groups/ops')).status).toBe(204);

      await call('POST', '/apis', { audience: 'urn:example:grants', scopes: ['x'] });
      const { application } = (await call('POST', '/applications', { name: 'g' })).json;
      const grant = await call('PUT', '/grants', {
        application: application.client_id,
        api: 'urn:example:grants',
        scopes: ['x'],
      });
      expect(grant.json).toMatchObject({ audience: 'urn:example:grants', scopes: ['x'] });
      expect((await call('GET', `/grants?application=${application.client_id}`)).json.items).toHaveLength(1);
      expect(
        (
          await call(
            'DELETE',
            `/grants?application=${application.client_id}&api=${encodeURIComponent('urn:example:grants')}`,
          )
        ).status,
      ).toBe(204);
    });

    it('pages lists with cursors', async () => {
      for (const name of ['p1', 'p2', 'p3']) await call('POST', '/users', { username: name });
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await call('GET', `/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        names.push(...page.json.items.map((u: { username: string }) => u.username));
        cursor = page.json.next_cursor;
      } while (cursor);
      expect(names).toEqual(expect.arrayContaining(['p1', 'p2', 'p3']));
      expect(new Set(names).size).toBe(names.length);
    });
  });

  describe('bad input', () => {
    it('stores and returns SQL-ish and hostile strings verbatim in every field', async () => {
      const user = await call('POST', '/users', {
        username: hostile,
        display_name: hostile,
        email: `${hostile.replace(/\s/g, '')}@x`,
      });
      expect(user.status).toBe(201);
      expect(user.json).toMatchObject({ username: hostile, display_name: hostile });
      expect((await call('GET', `/users/${encodeURIComponent(hostile)}`)).json.username).toBe(hostile);
      expect(
        (await call('POST', `/users/${encodeURIComponent(hostile)}/disable`, { reason: hostile })).json
          .changed,
      ).toBe(true);
      const group = await call('POST', '/groups', { name: hostile, description: hostile });
      expect(group.json).toMatchObject({ name: hostile, description: hostile });
      const api = await call('POST', '/apis', { audience: "api://x'--", name: hostile });
      expect(api.json).toMatchObject({ audience: "api://x'--", name: hostile });
      const app = await call('POST', '/applications', { name: hostile });
      expect(app.json.application.name).toBe(hostile);
      const audit = await call('GET', `/audit-log?action=${encodeURIComponent(hostile)}`);
      expect(audit.json.items).toEqual([]);
      expect(await issuer.context.db.selectFrom('users').select('id').execute()).not.toHaveLength(0);
    });

    it('answers malformed JSON with 400, oversized bodies with 413, unknown ids with 404', async () => {
      const malformed = await call('POST', '/users', '{"username": ');
      expect(malformed.status).toBe(400);
      expect(malformed.json.error_description).toBe('the request body is not valid JSON');
      const huge = await call('POST', '/users', { username: 'x'.repeat(100 * 1024) });
      expect(huge.status).toBe(413);
      expect((await call('GET', '/users/nobody')).status).toBe(404);
      expect((await call('GET', '/users/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await call('POST', '/users/nobody/disable')).status).toBe(404);
      expect((await call('GET', '/applications/nope')).status).toBe(404);
      expect((await call('DELETE', '/applications/nope/secrets/also-nope')).status).toBe(404);
      expect((await call('GET', '/apis/nope')).status).toBe(404);
      expect((await call('GET', '/no-such-route')).status).toBe(404);
    });

    it('answers wrong shapes with 400 and a message naming the field', async () => {
      const wrongType = await call('POST', '/users', { username: 42 });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json.issues[0].path).toBe('username');
      expect((await call('POST', '/users', { username: 'x', admin: true })).status).toBe(400);
      expect((await call('POST', '/users', { username: 'nul\u0000byte' })).status).toBe(400);
      expect((await call('GET', '/users/%00')).status).toBe(400);
      expect((await call('GET', '/users?limit=0')).status).toBe(400);
      expect((await call('GET', '/users?cursor=garbage')).status).toBe(400);
      expect((await call('GET', '/audit-log?since=yesterday')).status).toBe(400);
      expect((await call('PUT', '/users/bob/risk', { level: 'extreme' })).status).toBe(400);
      const audience = await call('POST', '/apis', { audience: 'orders' });
      expect(audience).toMatchObject({ status: 400, json: { error: 'invalid_request', field: 'audience' } });
      expect((await call('POST', '/users', [])).status).toBe(400);
      expect((await call('POST', '/users', 'null')).status).toBe(400);
    });

    it('never answers 500 or a stack trace, whatever the body', async () => {
      const paths = [
        '/users',
        '/apis',
        '/applications',
        '/groups',
        '/risk-signals',
        '/users/bob/reset-password',
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), async (path, body) => {
          const response = await call('POST', path, JSON.stringify(body));
          expect(response.status).toBeLessThan(500);
          expect(response.raw).not.toMatch(/\bat .+\.(ts|js):\d+/);
        }),
        { numRuns: 60 },
      );
    });
  });
});
