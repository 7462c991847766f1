/** Signs SETs RS256 with the issuer's active signing key (the one published at jwks_uri). */
import { type SetPayload, signSet } from '@opencae/protocol';
import { importJWK } from 'jose';
import type { SigningKeyStore } from '../keys/signing-keys.js';

export interface SetSigningContext {
  sign(payload: SetPayload): Promise<string>;
}

export class SetSigner {
  private cached: { kid: string; key: CryptoKey } | undefined;

  constructor(private readonly keys: SigningKeyStore) {}

  /** Reads the active key once per batch, so a rotation by any replica is picked up at the next batch. */
  async forBatch(): Promise<SetSigningContext> {
    const active = await this.keys.ensureActiveKey();
    if (this.cached?.kid !== active.kid) {
      const key = (await importJWK(active.privateJwk, 'RS256')) as CryptoKey;
      this.cached = { kid: active.kid, key };
    }
    const { kid, key } = this.cached;
    return { sign: (payload) => signSet(payload, key, { alg: 'RS256', kid }) };
  }
}
