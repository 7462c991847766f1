/**
 * Signing key rotation as an operator runs it (admin API, `opencae keys rotate`): the pre-published
 * next key becomes active, a new next key is published, the previous active one is retired but stays published until every token it signed has expired,
 * the audit log records who rotated, and every replica is told to re-read the keys. All of it commits
 * in one transaction, or none of it does.
 */
import { type ActionResult, runCriticalAction } from '../directory/critical-action.js';
import { assertStorable, type DirectoryContext } from '../directory/directory-context.js';
import { notify } from '../storage/database.js';
import { SIGNING_KEYS_CHANNEL } from '../token-service/signing-key-sync.js';
import {
  generateSigningKey,
  type SigningKey,
  type SigningKeyState,
  type SigningKeyStore,
} from './signing-keys.js';

/** What an administrator may see of a key: never its private (or public) key material. */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  state: SigningKeyState;
  created_at: string;
  /** When the key entered the JWKS (the same as created_at). */
  published_at: string;
  /** When the key started signing; null while next. */
  activated_at: string | null;
  retired_at: string | null;
  /** When a retired key leaves the JWKS: retired_at + the longest token lifetime; null while active. */
  published_until: string | null;
}

export interface SigningKeyRotation {
  /** The previous next key, signing from now on. */
  active: SigningKeyInfo;
  /** The new next key, published from now on. */
  next: SigningKeyInfo;
  /** The key this rotation retired (null only if there was no active key). */
  retired: SigningKeyInfo | null;
}

export interface RotationOptions {
  /** How long a retired key stays published: the longest lifetime of a token it may have signed. */
  publishForSeconds: number;
  /** Why, for the audit log. */
  reason?: string | undefined;
  /** Rotate even if the next key was published less than NEXT_KEY_SAFETY_SECONDS ago. */
  force?: boolean | undefined;
}

export function signingKeyInfo(key: SigningKey): SigningKeyInfo {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: key.createdAt.toISOString(),
    published_at: key.createdAt.toISOString(),
    activated_at: key.activatedAt?.toISOString() ?? null,
    retired_at: key.retiredAt?.toISOString() ?? null,
    published_until: key.publishedUntil?.toISOString() ?? null,
  };
}

/** Every key, published or not: the active one first, then the next one, then the newest. */
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
    const rotation = await keys.rotateWithin(trx, next, {
      publishForSeconds: options.publishForSeconds,
      force: options.force ?? false,
    });
    // Sent on commit, so no replica reloads before the new key is visible to it.
    await notify(trx, SIGNING_KEYS_CHANNEL, rotation.active.kid);
    const active = signingKeyInfo(rotation.active);
    const published = signingKeyInfo(rotation.next);
    // Normally exactly one; several only if the store ever held more than one active key.
    const retired = rotation.retired.map(signingKeyInfo);
    return {
      targetType: 'signing_key',
      targetId: active.kid,
      before: { active_kids: retired.map((key) => key.kid) },
      after: {
        active_kid: active.kid,
        next_kid: published.kid,
        forced: options.force ?? false,
        retired: retired.map(({ kid, published_until }) => ({ kid, published_until })),
        reason: options.reason ?? null,
      },
      events: [],
      result: { active, next: published, retired: retired[0] ?? null },
    };
  });
}
