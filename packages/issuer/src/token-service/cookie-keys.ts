/**
 * Keys that sign oidc-provider's cookies. Every replica must use the same ones (a sign-in started
 * on one replica may finish on another), so they live in the settings table, created once.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../storage/database.js';

const SETTING = 'token_service.cookie_keys';

export async function loadCookieKeys(db: Db): Promise<string[]> {
  const fresh = [randomBytes(32).toString('base64url')];
  await db
    .insertInto('settings')
    .values({ key: SETTING, value: JSON.stringify({ keys: fresh }) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', SETTING)
    .executeTakeFirstOrThrow();
  const value = (typeof row.value === 'string' ? JSON.parse(row.value) : row.value) as { keys?: unknown };
  const keys = Array.isArray(value.keys)
    ? value.keys.filter((key): key is string => typeof key === 'string')
    : [];
  if (keys.length === 0) throw new Error(`setting ${SETTING} holds no cookie keys`);
  return keys;
}
