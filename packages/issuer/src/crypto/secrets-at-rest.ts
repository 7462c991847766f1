/**
 * Start-up work for encrypted secrets: check that the configured key ring can read the store, then
 * re-encrypt what is not under the current key yet (rows written before encryption, or under an old
 * key after a rotation). The store remembers the current key's id and fingerprint in `settings`, so a
 * replica started with the wrong key fails here with a clear error instead of failing later, per row.
 * Serialized across replicas with an advisory lock; each update is also conditional on the value it
 * replaces, so a row written meanwhile by a running replica is never overwritten.
 */
import { OpenCaeError } from '@opencae/protocol';
import { sql } from 'kysely';
import { inTransaction } from '../directory/transaction.js';
import type { Db } from '../storage/database.js';
import { COOKIE_KEYS_SETTING } from '../token-service/cookie-keys.js';
import { isSealed, keyFingerprint, type SecretBox } from './secret-box.js';
import { SECRET_COLUMNS } from './secret-columns.js';

const SECRETS_LOCK = 7368240011;
export const SECRETS_KEY_SETTING = 'secrets_key';
const BATCH = 500;

/** What `settings.secrets_key` holds: nothing secret, only which key the store is encrypted with. */
interface StoredKeyRecord {
  key_id: string;
  fingerprint: string;
  /** Keys a rotation replaced: a replica still encrypting with one of them must not start. */
  retired_key_ids: string[];
}

/** The configured key ring does not fit the store (wrong key, missing key, or a retired key first). */
export class SecretsKeyMismatchError extends OpenCaeError {
  declare readonly code: 'ERR_SECRETS_KEY_MISMATCH';

  constructor(
    message: string,
    /** The key id the store expects. */
    readonly expectedKeyId: string,
  ) {
    super('ERR_SECRETS_KEY_MISMATCH', message);
  }
}

export interface SecretsAtRestReport {
  /** Rows re-encrypted by this start, per column. */
  reencrypted: Record<string, number>;
}

export async function prepareSecretsAtRest(db: Db, box: SecretBox): Promise<SecretsAtRestReport> {
  return inTransaction(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${SECRETS_LOCK})`.execute(trx);
    const recorded = await readKeyRecord(trx);
    checkKeyRing(box, recorded);
    const current = box.current;
    if (!current) return { reencrypted: {} };
    const reencrypted = {
      [SECRET_COLUMNS.signingKey]: await reencryptSigningKeys(trx, box),
      [SECRET_COLUMNS.totpSecret]: await reencryptTextColumn(trx, box, 'users', 'totp_secret'),
      [SECRET_COLUMNS.pushAuthorization]: await reencryptTextColumn(
        trx,
        box,
        'ssf_streams',
        'authorization_header',
      ),
      [SECRET_COLUMNS.cookieKeys]: await reencryptCookieKeys(trx, box),
    };
    const fingerprint = keyFingerprint(current.key);
    if (recorded?.key_id !== current.id || recorded.fingerprint !== fingerprint) {
      const retired = new Set(recorded?.retired_key_ids ?? []);
      if (recorded && recorded.key_id !== current.id) retired.add(recorded.key_id);
      const record: StoredKeyRecord = { key_id: current.id, fingerprint, retired_key_ids: [...retired] };
      await trx
        .insertInto('settings')
        .values({ key: SECRETS_KEY_SETTING, value: JSON.stringify(record) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(record) }))
        .execute();
    }
    return { reencrypted };
  });
}

async function readKeyRecord(db: Db): Promise<StoredKeyRecord | undefined> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', SECRETS_KEY_SETTING)
    .executeTakeFirst();
  if (!row) return undefined;
  const value = (typeof row.value === 'string' ? JSON.parse(row.value) : row.value) as StoredKeyRecord;
  return { ...value, retired_key_ids: value.retired_key_ids ?? [] };
}

/** Fails fast, naming the key the store needs; never prints key material. */
function checkKeyRing(box: SecretBox, recorded: StoredKeyRecord | undefined): void {
  if (!recorded) return;
  const expected = `secrets key ${recorded.key_id} (fingerprint ${recorded.fingerprint})`;
  const current = box.current;
  if (!current)
    throw new SecretsKeyMismatchError(
      `the store's secrets are encrypted with ${expected}, but no secrets key is configured: set OPENCAE_SECRETS_KEY or --secrets-key-file`,
      recorded.key_id,
    );
  if (recorded.retired_key_ids.includes(current.id))
    throw new SecretsKeyMismatchError(
      `the configured current secrets key ${current.id} was retired by a rotation; the store is encrypted with ${expected}: put that key first in the ring`,
      recorded.key_id,
    );
  const match = box.keys.find((key) => key.id === recorded.key_id);
  if (!match)
    throw new SecretsKeyMismatchError(
      `the store's secrets are encrypted with ${expected}, which is not in the configured key ring (${box.keys.map((key) => key.id).join(', ')})`,
      recorded.key_id,
    );
  if (keyFingerprint(match.key) !== recorded.fingerprint)
    throw new SecretsKeyMismatchError(
      `the configured secrets key ${recorded.key_id} is not the one the store was encrypted with (fingerprint ${keyFingerprint(match.key)}, expected ${recorded.fingerprint})`,
      recorded.key_id,
    );
}

type TextSecretTable = 'users' | 'ssf_streams';
type TextSecretColumn = 'totp_secret' | 'authorization_header';

/** Re-encrypts a text column in id order, a batch at a time (a directory may have many users). */
async function reencryptTextColumn(
  db: Db,
  box: SecretBox,
  table: TextSecretTable,
  column: TextSecretColumn,
): Promise<number> {
  const aad = `${table}.${column}`;
  let after = '';
  let count = 0;
  for (;;) {
    const result = await sql<{ id: string; value: string }>`
      SELECT id::text AS id, ${sql.ref(column)} AS value FROM ${sql.table(table)}
       WHERE ${sql.ref(column)} IS NOT NULL AND id::text > ${after}
       ORDER BY id::text LIMIT ${BATCH}`.execute(db);
    if (result.rows.length === 0) return count;
    for (const row of result.rows) {
      after = row.id;
      if (box.isCurrent(row.value)) continue;
      const sealed = box.seal(aad, box.open(aad, row.value));
      const updated = await sql`
        UPDATE ${sql.table(table)} SET ${sql.ref(column)} = ${sealed}
         WHERE id::text = ${row.id} AND ${sql.ref(column)} = ${row.value}`.execute(db);
      count += Number(updated.numAffectedRows ?? 0);
    }
  }
}

async function reencryptSigningKeys(db: Db, box: SecretBox): Promise<number> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
  let count = 0;
  for (const row of rows) {
    const stored = row.private_jwk as unknown;
    if (typeof stored === 'string' && box.isCurrent(stored)) continue;
    const plaintext =
      typeof stored === 'string' ? box.open(SECRET_COLUMNS.signingKey, stored) : JSON.stringify(stored);
    const updated = await db
      .updateTable('signing_keys')
      .set({ private_jwk: JSON.stringify(box.seal(SECRET_COLUMNS.signingKey, plaintext)) })
      .where('kid', '=', row.kid)
      .where(sql<boolean>`private_jwk = ${JSON.stringify(stored)}::jsonb`)
      .executeTakeFirst();
    count += Number(updated.numUpdatedRows);
  }
  return count;
}

async function reencryptCookieKeys(db: Db, box: SecretBox): Promise<number> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', COOKIE_KEYS_SETTING)
    .executeTakeFirst();
  if (!row) return 0;
  const stored = row.value as unknown;
  if (typeof stored === 'string' && box.isCurrent(stored)) return 0;
  const plaintext =
    typeof stored === 'string' ? box.open(SECRET_COLUMNS.cookieKeys, stored) : JSON.stringify(stored);
  const updated = await db
    .updateTable('settings')
    .set({ value: JSON.stringify(box.seal(SECRET_COLUMNS.cookieKeys, plaintext)) })
    .where('key', '=', COOKIE_KEYS_SETTING)
    .where(sql<boolean>`value = ${JSON.stringify(stored)}::jsonb`)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows);
}

/** True when a jsonb value read back is a SecretBox string (the column held an encrypted value). */
export function isSealedJson(value: unknown): value is string {
  return typeof value === 'string' && isSealed(value);
}
