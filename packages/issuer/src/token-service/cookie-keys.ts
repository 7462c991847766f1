/**
 * Keys that sign oidc-provider's cookies. Every replica must use the same ones (a sign-in started
 * on one replica may finish on another), so they live in the settings table, created once, and
 * encrypted there (whoever holds them can forge a sign-in session cookie).
 */
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import type { Db } from '../storage/database.js';

export const COOKIE_KEYS_SETTING = 'token_service.cookie_keys';

export async function loadCookieKeys(db: Db, secrets: SecretBox = SecretBox.plaintext()): Promise<string[]> {
  const fresh = JSON.stringify({ keys: [randomBytes(32).toString('base64url')] });
  // Encrypted, the setting is a JSON string; before encryption it was the object itself.
  const stored = secrets.enabled ? JSON.stringify(secrets.seal(SECRET_COLUMNS.cookieKeys, fresh)) : fresh;
  await db
    .insertInto('settings')
    .values({ key: COOKIE_KEYS_SETTING, value: stored })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', COOKIE_KEYS_SETTING)
    .executeTakeFirstOrThrow();
  const raw = row.value as unknown;
  const value = (
    typeof raw === 'string' ? JSON.parse(secrets.open(SECRET_COLUMNS.cookieKeys, raw)) : raw
  ) as { keys?: unknown };
  const keys = Array.isArray(value.keys)
    ? value.keys.filter((key): key is string => typeof key === 'string')
    : [];
  if (keys.length === 0) throw new Error(`setting ${COOKIE_KEYS_SETTING} holds no cookie keys`);
  return keys;
}
