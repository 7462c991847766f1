import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageEngines } from '../../test/support/storage-engines.js';
import { verifyClientSecret, verifyPassword } from '../crypto/secrets.js';
import type { Storage } from '../storage/database.js';
import { createApi, getApi, updateApi } from './apis.js';
import { createApplication, getApplication, listApplications } from './applications.js';
import { listAudit } from './audit-log.js';
import type { DirectoryContext } from './directory-context.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { grantApiAccess, listGrants } from './grants.js';
import { addGroupMember, createGroup, listGroupMembers } from './groups.js';
import { createUser, getUser, listUsers } from './users.js';

const issuer = 'https://issuer.test';
const hostile = `Robert'); DROP TABLE users;-- "<script>alert(1)</script>" \\ ' OR 1=1 -- ☃ 𝄞`;

describe.each(storageEngines)('directory services on $name', ({ open }) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  let context: DirectoryContext;
  beforeAll(async () => {
    ({ storage, drop } = await open());
    context = { db: storage.db, issuer, actor: 'test-admin' };
  });
  afterAll(async () => {
    await storage?.close();
    await drop?.();
  });

  describe('users', () => {
    it('creates a user with an scrypt password, finds it by id or username, refuses a taken username', async () => {
      const user = await createUser(context, {
        username: 'alice',
        password: 'correct horse',
        email: 'alice@example.com',
      });
      expect(user).toMatchObject({
        username: 'alice',
        kind: 'member',
        enabled: true,
        email: 'alice@example.com',
      });
      const row = await storage.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$/);
      expect(await verifyPassword('correct horse', row.password_hash)).toBe(true);
      expect((await getUser(storage.db, user.id)).username).toBe('alice');
      expect((await getUser(storage.db, 'alice')).id).toBe(user.id);
      await expect(createUser(context, { username: 'alice' })).rejects.toBeInstanceOf(ConflictError);
      await expect(getUser(storage.db, 'nobody')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('stores SQL-ish and hostile strings verbatim', async () => {
      const user = await createUser(context, { username: hostile, displayName: hostile, kind: 'guest' });
      const again = await getUser(storage.db, hostile);
      expect(again).toMatchObject({ id: user.id, username: hostile, display_name: hostile, kind: 'guest' });
      expect(await storage.db.selectFrom('users').select('id').execute()).not.toHaveLength(0);
    });

    it('rejects what cannot be stored or is ambiguous', async () => {
      await expect(createUser(context, { username: 'a\u0000b' })).rejects.toBeInstanceOf(ValidationError);
      await expect(createUser(context, { username: 'bad\uD800' })).rejects.toBeInstanceOf(ValidationError);
      await expect(
        createUser(context, { username: '0b7c1a2e-1111-4222-8333-944455556666' }),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(createUser(context, { username: 'short', password: 'short' })).rejects.toThrow(/password/);
    });

    it('pages users by username with an opaque cursor', async () => {
      for (const name of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'])
        await createUser(context, { username: name });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listUsers(storage.db, { limit: 2, cursor });
        seen.push(...page.items.map((user) => user.username));
        cursor = page.next_cursor;
      } while (cursor);
      const all = (await listUsers(storage.db, { limit: 200 })).items.map((user) => user.username);
      expect(seen).toEqual(all);
      expect(seen).toEqual([...seen].sort());
      await expect(listUsers(storage.db, { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
      await expect(listUsers(storage.db, { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('groups', () => {
    it('adds members and lists them', async () => {
      const group = await createGroup(context, { name: 'finance' });
      await createUser(context, { username: 'bob' });
      await addGroupMember(context, 'finance', 'bob');
      await addGroupMember(context, group.id, 'bob');
      expect((await listGroupMembers(storage.db, 'finance')).items.map((user) => user.username)).toEqual([
        'bob',
      ]);
      await expect(createGroup(context, { name: 'finance' })).rejects.toBeInstanceOf(ConflictError);
      await expect(addGroupMember(context, 'finance', 'ghost')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('APIs', () => {
    it('accepts absolute URIs and urns as audiences, once each', async () => {
      const api = await createApi(context, {
        audience: 'api://orders',
        caeEnabled: true,
        scopes: ['read'],
        appRoles: ['Orders.Read'],
      });
      expect(api).toMatchObject({
        audience: 'api://orders',
        cae_enabled: true,
        scopes: ['read'],
        app_roles: ['Orders.Read'],
      });
      await createApi(context, { audience: 'urn:example:payments' });
      await createApi(context, { audience: 'https://api.example.com/v1' });
      expect((await getApi(storage.db, 'api://orders')).id).toBe(api.id);
      await expect(createApi(context, { audience: 'api://orders' })).rejects.toBeInstanceOf(ConflictError);
    });

    it.each([
      'orders',
      '/relative',
      'api://orders#frag',
      'api://has space',
      'api://x/',
      'https://a/.default',
      '',
    ])('refuses the audience %j', async (audience) => {
      await expect(createApi(context, { audience })).rejects.toBeInstanceOf(ValidationError);
    });

    it('refuses scope names that break scope strings', async () => {
      await expect(createApi(context, { audience: 'api://s1', scopes: ['a b'] })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(createApi(context, { audience: 'api://s2', appRoles: ['a/b'] })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('toggles CAE and keeps granted scopes from being removed', async () => {
      await createApi(context, { audience: 'api://inventory', scopes: ['read', 'write'] });
      const { application } = await createApplication(context, { name: 'inventory-app' });
      await grantApiAccess(context, {
        application: application.client_id,
        api: 'api://inventory',
        scopes: ['read'],
      });
      expect((await updateApi(context, 'api://inventory', { caeEnabled: true })).cae_enabled).toBe(true);
      await expect(updateApi(context, 'api://inventory', { scopes: ['write'] })).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect((await updateApi(context, 'api://inventory', { scopes: ['read'] })).scopes).toEqual(['read']);
    });
  });

  describe('applications', () => {
    it('creates a client-secret application whose secret is stored hashed with a hint', async () => {
      const created = await createApplication(context, { name: 'billing-daemon' });
      const secret = created.client_secret!;
      expect(secret.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(secret.hint).toBe(secret.value.slice(-4));
      const row = await storage.db
        .selectFrom('client_secrets')
        .selectAll()
        .where('id', '=', secret.id)
        .executeTakeFirstOrThrow();
      expect(row.secret_hash).not.toContain(secret.value);
      expect(verifyClientSecret(secret.value, row.secret_hash)).toBe(true);
      expect(created.application).toMatchObject({
        name: 'billing-daemon',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        service_principal: { enabled: true, risk_level: 'none' },
      });
      // The audit entry never holds the secret.
      const audit = await listAudit(storage.db, { targetId: created.application.id });
      expect(JSON.stringify(audit)).not.toContain(secret.value);
      const byClientId = await getApplication(storage.db, created.application.client_id);
      const bySp = await getApplication(storage.db, created.application.service_principal.id);
      expect(byClientId.id).toBe(created.application.id);
      expect(bySp.id).toBe(created.application.id);
    });

    it('accepts RSA ≥ 2048 and EC P-256 public keys for private_key_jwt', async () => {
      const rsa = await exportJWK(
        (await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })).publicKey,
      );
      const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
      const created = await createApplication(context, {
        name: 'jwt-client',
        jwks: { keys: [rsa, { ...ec, kid: 'ec-1' }] },
      });
      expect(created.client_secret).toBeUndefined();
      expect(created.application.token_endpoint_auth_method).toBe('private_key_jwt');
      expect(created.application.certificates.map((c) => c.kty)).toEqual(['RSA', 'EC']);
      expect(created.application.certificates[1]?.kid).toBe('ec-1');
      const stored = await storage.db
        .selectFrom('applications')
        .select('jwks')
        .where('id', '=', created.application.id)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(stored.jwks)).not.toMatch(/"d"/);
    });

    it('refuses private keys, weak RSA, other curves and garbage', async () => {
      const rsaPair = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      // jose refuses to generate a weak key, node:crypto does not.
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      const p384 = await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey);
      for (const jwks of [
        { keys: [await exportJWK(rsaPair.privateKey)] },
        { keys: [weak] },
        { keys: [p384] },
        { keys: [{ kty: 'oct', k: 'AAAA' }] },
        { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] },
        { keys: [] },
        'not a jwks',
      ]) {
        await expect(
          createApplication(context, { name: 'bad', credential: 'private_key_jwt', jwks }),
        ).rejects.toBeInstanceOf(ValidationError);
      }
    });

    it('lists applications by client_id', async () => {
      const page = await listApplications(storage.db, { limit: 200 });
      const ids = page.items.map((app) => app.client_id);
      expect(ids).toEqual([...ids].sort());
      expect(page.items.every((app) => app.service_principal.id)).toBe(true);
    });
  });

  describe('grants', () => {
    it('grants only roles and scopes the API defines', async () => {
      await createApi(context, { audience: 'api://ledger', scopes: ['read'], appRoles: ['Ledger.Read'] });
      const { application } = await createApplication(context, { name: 'ledger-daemon' });
      const grant = await grantApiAccess(context, {
        application: application.client_id,
        api: 'api://ledger',
        roles: ['Ledger.Read'],
      });
      expect(grant).toMatchObject({ audience: 'api://ledger', roles: ['Ledger.Read'], scopes: [] });
      await expect(
        grantApiAccess(context, {
          application: application.client_id,
          api: 'api://ledger',
          roles: ['Ledger.Write'],
        }),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(
        grantApiAccess(context, {
          application: application.client_id,
          api: 'api://ledger',
          scopes: ['write'],
        }),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await listGrants(storage.db, { application: application.client_id })).toHaveLength(1);
    });
  });
});
