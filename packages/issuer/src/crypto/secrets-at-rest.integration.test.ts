/**
 * Secrets at rest on both engines: plaintext rows (a store written before encryption) re-encrypted at
 * start, key rotation, idempotence, concurrent starts, and the fail-fast check of the key ring.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSecretsKey } from '../../test/support/secrets-keys.js';
import { storageEngines } from '../../test/support/storage-engines.js';
import { SigningKeyStore } from '../keys/signing-keys.js';
import type { Db, Storage } from '../storage/database.js';
import { loadCookieKeys } from '../token-service/cookie-keys.js';
import { DirectoryReader } from '../token-service/directory-reader.js';
import { seedUser } from '../token-service/test-fixtures.js';
import { parseSecretKeyRing, SecretBox } from './secret-box.js';
import { prepareSecretsAtRest, SECRETS_KEY_SETTING, SecretsKeyMismatchError } from './secrets-at-rest.js';

const ring = (...ids: string[]) => new SecretBox(parseSecretKeyRing(ids.map(testSecretsKey).join(',')));
const TOTP = 'JBSWY3DPEHPK3PXP';
const HEADER = 'Bearer receiver-secret-0123456789';

interface RawRows {
  privateJwk: unknown;
  totpSecret: string | null;
  authorizationHeader: string | null;
  cookieKeys: unknown;
}

async function rawRows(db: Db, userId: string, streamId: string): Promise<RawRows> {
  const key = await db.selectFrom('signing_keys').select('private_jwk').executeTakeFirstOrThrow();
  const user = await db
    .selectFrom('users')
    .select('totp_secret')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  const stream = await db
    .selectFrom('ssf_streams')
    .select('authorization_header')
    .where('id', '=', streamId)
    .executeTakeFirstOrThrow();
  const cookies = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'token_service.cookie_keys')
    .executeTakeFirstOrThrow();
  return {
    privateJwk: key.private_jwk,
    totpSecret: user.totp_secret,
    authorizationHeader: stream.authorization_header,
    cookieKeys: cookies.value,
  };
}

function expectEncryptedWith(rows: RawRows, keyId: string, plaintext: { d: string; cookieKey: string }) {
  const prefix = `enc:v1:${keyId}:`;
  for (const value of Object.values(rows)) {
    expect(typeof value).toBe('string');
    expect((value as string).startsWith(prefix)).toBe(true);
  }
  const all = JSON.stringify(rows);
  for (const secret of [TOTP, HEADER, plaintext.d, plaintext.cookieKey]) expect(all).not.toContain(secret);
}

async function mismatch(run: Promise<unknown>): Promise<SecretsKeyMismatchError> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SecretsKeyMismatchError);
  expect((error as SecretsKeyMismatchError).code).toBe('ERR_SECRETS_KEY_MISMATCH');
  return error as SecretsKeyMismatchError;
}

describe.each(storageEngines)('secrets at rest ($name)', (engine) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  let userId: string;
  let streamId: string;
  let d: string;
  let cookieKey: string;

  beforeEach(async () => {
    const opened = await engine.open();
    storage = opened.storage;
    drop = opened.drop;
    // A store written before encryption: every secret in plaintext.
    const key = await new SigningKeyStore(storage.db).ensureActiveKey();
    d = String(key.privateJwk.d);
    [cookieKey = ''] = await loadCookieKeys(storage.db);
    userId = (await seedUser(storage.db, { username: `u${randomUUID()}`, password: 'pw' })).id;
    await storage.db
      .updateTable('users')
      .set({ totp_secret: TOTP, totp_enrolled_at: new Date() })
      .where('id', '=', userId)
      .execute();
    streamId = randomUUID();
    await storage.db
      .insertInto('ssf_streams')
      .values({
        id: streamId,
        owner_client_id: 'receiver',
        aud: 'receiver',
        events_delivered: JSON.stringify([]),
        delivery_method: 'urn:ietf:rfc:8935',
        endpoint_url: 'https://receiver.example/events',
        authorization_header: HEADER,
        min_verification_interval: 0,
      })
      .execute();
  });
  afterEach(async () => {
    await storage.close();
    await drop();
  });

  it('re-encrypts a plaintext store once, and the owners of the columns read it back', async () => {
    const box = ring('a');
    const first = await prepareSecretsAtRest(storage.db, box);
    // Two signing keys: the active one and the pre-published next one.
    expect(Object.values(first.reencrypted)).toEqual([2, 1, 1, 1]);
    expectEncryptedWith(await rawRows(storage.db, userId, streamId), 'a', { d, cookieKey });

    expect((await new SigningKeyStore(storage.db, box).activeKey())?.privateJwk.d).toBe(d);
    expect(await loadCookieKeys(storage.db, box)).toEqual([cookieKey]);
    expect((await new DirectoryReader(storage.db, box).userById(userId))?.totpSecret).toBe(TOTP);

    // Idempotent: a second start has nothing to do.
    const second = await prepareSecretsAtRest(storage.db, box);
    expect(Object.values(second.reencrypted)).toEqual([0, 0, 0, 0]);
  });

  it('rotates: an old-key store is re-encrypted under the new key by two replicas starting together', async () => {
    await prepareSecretsAtRest(storage.db, ring('a'));
    const rotated = ring('b', 'a');
    const reports = await Promise.all([
      prepareSecretsAtRest(storage.db, rotated),
      prepareSecretsAtRest(storage.db, rotated),
    ]);
    // Each row was re-encrypted exactly once, by one of the two.
    const totals = Object.keys(reports[0].reencrypted).map((column) =>
      reports.reduce((sum, report) => sum + (report.reencrypted[column] ?? 0), 0),
    );
    expect(totals).toEqual([2, 1, 1, 1]);
    expectEncryptedWith(await rawRows(storage.db, userId, streamId), 'b', { d, cookieKey });
    // The new key alone reads everything now.
    expect((await new SigningKeyStore(storage.db, ring('b')).activeKey())?.privateJwk.d).toBe(d);
    const setting = await storage.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SECRETS_KEY_SETTING)
      .executeTakeFirstOrThrow();
    expect(setting.value).toMatchObject({ key_id: 'b', retired_key_ids: ['a'] });
    expect(JSON.stringify(setting.value)).not.toContain(testSecretsKey('b').split(':')[1]);
  });

  it('refuses a key ring that cannot read the store, naming the key it needs', async () => {
    await prepareSecretsAtRest(storage.db, ring('a'));
    const missing = await mismatch(prepareSecretsAtRest(storage.db, ring('x')));
    expect(missing.expectedKeyId).toBe('a');
    expect(missing.message).toContain('secrets key a (fingerprint ');

    const none = await mismatch(prepareSecretsAtRest(storage.db, SecretBox.plaintext()));
    expect(none.message).toMatch(/no secrets key is configured/);

    // Same id, other bytes: caught by the fingerprint, before any row fails to decrypt.
    const impostor = new SecretBox([{ id: 'a', key: Buffer.alloc(32, 7) }]);
    expect((await mismatch(prepareSecretsAtRest(storage.db, impostor))).message).toMatch(/is not the one/);

    // After a rotation, a replica still configured with the old key first must not start.
    await prepareSecretsAtRest(storage.db, ring('b', 'a'));
    const retired = await mismatch(prepareSecretsAtRest(storage.db, ring('a', 'b')));
    expect(retired.message).toMatch(/was retired/);
    expect(retired.expectedKeyId).toBe('b');
    // The store was left as it was.
    expectEncryptedWith(await rawRows(storage.db, userId, streamId), 'b', { d, cookieKey });
  });

  it('without a key leaves a plaintext store as it is', async () => {
    const report = await prepareSecretsAtRest(storage.db, SecretBox.plaintext());
    expect(report.reencrypted).toEqual({});
    const rows = await rawRows(storage.db, userId, streamId);
    expect(rows.totpSecret).toBe(TOTP);
    expect(rows.authorizationHeader).toBe(HEADER);
  });
});
