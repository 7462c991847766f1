/** Signs SETs RS256 with the issuer's active signing key (the one published at jwks_uri). */
import { type SetPayload, signSet } from '@opencae/protocol';
import { importJWK } from 'jose';
import type { SigningKeyStore } from '../keys/signing-keys.js';

export interface SetSigningContext {
  sign(payload: SetPayload): Promise<string>;
}

/**
 * The active key is re-read at most every `refreshMs`: after a rotation by any replica, SETs may be
 * signed with the previous key for that long, which is harmless as retired keys stay published.
 */
export class SetSigner {
  private cached: { kid: string; key: CryptoKey; readAt: number } | undefined;

  constructor(
    private readonly keys: SigningKeyStore,
    private readonly refreshMs = 10_000,
  ) {}

  async forBatch(): Promise<SetSigningContext> {
    if (!this.cached || Date.now() - this.cached.readAt > this.refreshMs) {
      const active = await this.keys.ensureActiveKey();
      const key =
        this.cached?.kid === active.kid
          ? this.cached.key
          : ((await importJWK(active.privateJwk, 'RS256')) as CryptoKey);
      this.cached = { kid: active.kid, key, readAt: Date.now() };
    }
    const { kid, key } = this.cached;
    return { sign: (payload) => signSet(payload, key, { alg: 'RS256', kid }) };
  }
}
