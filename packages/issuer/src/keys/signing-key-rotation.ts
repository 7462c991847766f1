/**
 * Signing key rotation as an operator runs it (admin API, `opencae keys rotate`): a new key becomes
 * active, the previous one is retired but stays published until every token it signed has expired,
 * the audit log records who rotated, and every replica is told to re-read the keys. All of it commits
 * in one transaction, or none of it does.
 */
import { type ActionResult, runCriticalAction } from '../directory/critical-action.js';
import { assertStorable, type DirectoryContext } from '../directory/directory-context.js';
import { notify } from '../storage/database.js';
import { SIGNING_KEYS_CHANNEL } from '../token-service/signing-key-sync.js';
import { generateSigningKey, type SigningKey, type SigningKeyStore } from './signing-keys.js';

/** What an administrator may see of a key: never its private (or public) key material. */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  state: 'active' | 'retired';
  created_at: string;
  retired_at: string | null;
  /** When a retired key leaves the JWKS: retired_at + the longest token lifetime; null while active. */
  published_until: string | null;
}

export interface SigningKeyRotation {
  active: SigningKeyInfo;
  /** The key this rotation retired (null only if there was no active key). */
  retired: SigningKeyInfo | null;
}

export interface RotationOptions {
  /** How long a retired key stays published: the longest lifetime of a token it may have signed. */
  publishForSeconds: number;
  /** Why, for the audit log. */
  reason?: string | undefined;
}

export function signingKeyInfo(key: SigningKey): SigningKeyInfo {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.retiredAt ? 'retired' : 'active',
    created_at: key.createdAt.toISOString(),
    retired_at: key.retiredAt?.toISOString() ?? null,
    published_until: key.publishedUntil?.toISOString() ?? null,
  };
}

/** Every key, published or not: the active one first, then the newest. */
export async function listSigningKeys(keys: SigningKeyStore): Promise<SigningKeyInfo[]> {
  return (await keys.allKeys()).map(signingKeyInfo);
}

export async function rotateSigningKeyAudited(
  context: DirectoryContext,
  keys: SigningKeyStore,
  options: RotationOptions,
): Promise<ActionResult<SigningKeyRotation>> {
  if (options.reason !== undefined) assertStorable(options.reason, 'reason', 1000);
  const next = await generateSigningKey();
  return runCriticalAction(context, 'signing_key.rotate', async (trx) => {
    const rotation = await keys.rotateWithin(trx, next, { publishForSeconds: options.publishForSeconds });
    // Sent on commit, so no replica reloads before the new key is visible to it.
    await notify(trx, SIGNING_KEYS_CHANNEL, rotation.active.kid);
    const active = signingKeyInfo(rotation.active);
    // Normally exactly one; several only if the store ever held more than one active key.
    const retired = rotation.retired.map(signingKeyInfo);
    return {
      targetType: 'signing_key',
      targetId: active.kid,
      before: { active_kids: retired.map((key) => key.kid) },
      after: {
        active_kid: active.kid,
        retired: retired.map(({ kid, published_until }) => ({ kid, published_until })),
        reason: options.reason ?? null,
      },
      events: [],
      result: { active, retired: retired[0] ?? null },
    };
  });
}
