/**
 * oidc-provider holds its signing keys in memory, fixed when it is built. When any replica rotates
 * the keys, every replica must rebuild its provider: the rotating replica sends a NOTIFY, and each
 * replica also re-reads the key set periodically, in case a notification was missed (a listener
 * connection that dropped, or a rotation done by a tool that does not notify).
 */
import type { JWK } from 'jose';
import type { SigningKeyStore } from '../keys/signing-keys.js';
import { type Db, notify } from '../storage/database.js';

export const SIGNING_KEYS_CHANNEL = 'opencae_signing_keys';

/**
 * Private JWKs of the published keys the provider may sign or verify with, the active key first, and a
 * fingerprint of the set. The next key is left out: it must not sign before a rotation makes it active.
 */
export async function loadSigningKeys(keys: SigningKeyStore): Promise<{ jwks: JWK[]; fingerprint: string }> {
  const published = (await keys.publishedKeys()).filter((key) => key.state !== 'next');
  const jwks = published.map((key) => key.privateJwk);
  return { jwks, fingerprint: published.map((key) => `${key.kid}:${key.retiredAt ? 'r' : 'a'}`).join(',') };
}

/**
 * Rotates the signing key (see SigningKeyStore.rotate, `force` included) and tells every replica (in
 * the same database) to pick it up.
 */
export async function rotateSigningKey(
  keys: SigningKeyStore,
  db: Db,
  maxTokenLifetimeSeconds: number,
  options: { force?: boolean } = {},
): Promise<string> {
  const key = await keys.rotate(maxTokenLifetimeSeconds, options);
  await notify(db, SIGNING_KEYS_CHANNEL, key.kid);
  return key.kid;
}
