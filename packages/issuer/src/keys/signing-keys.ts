/**
 * Token signing keys, generated on first start and persisted. One key is active and signs; after a
 * rotation the previous key stays in the published JWKS until every token it signed has expired.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { sql } from 'kysely';
import type { Db } from '../storage/database.js';

export const SIGNING_ALG = 'RS256';

export interface SigningKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
}

export class SigningKeyStore {
  constructor(private readonly db: Db) {}

  /** Creates the first key when there is none; safe when several replicas start at once. */
  async ensureActiveKey(): Promise<SigningKey> {
    const existing = await this.activeKey();
    if (existing) return existing;
    await this.db.transaction().execute(async (trx) => {
      // Serialize first-start key creation across replicas.
      await sql`SELECT pg_advisory_xact_lock(7368240001)`.execute(trx);
      const active = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      if (!active)
        await trx
          .insertInto('signing_keys')
          .values(await newKeyRow())
          .execute();
    });
    const created = await this.activeKey();
    if (!created) throw new Error('signing key creation failed');
    return created;
  }

  async activeKey(): Promise<SigningKey | undefined> {
    const row = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return row ? toSigningKey(row) : undefined;
  }

  /** Every key whose tokens may still be valid: the active one first, then retired ones still published. */
  async publishedKeys(now = new Date()): Promise<SigningKey[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('unpublish_after', 'is', null), eb('unpublish_after', '>', now)]))
      .orderBy(sql`retired_at is not null`)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toSigningKey);
  }

  /** The public JWKS document. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.publishedKeys()).map((key) => key.publicJwk) };
  }

  /**
   * Makes a new key active. The old one keeps being published for `maxTokenLifetimeSeconds`, so tokens
   * it signed stay verifiable until they expire.
   */
  async rotate(maxTokenLifetimeSeconds: number): Promise<SigningKey> {
    const row = await newKeyRow();
    await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(7368240001)`.execute(trx);
      const now = new Date();
      await trx
        .updateTable('signing_keys')
        .set({ retired_at: now, unpublish_after: new Date(now.getTime() + maxTokenLifetimeSeconds * 1000) })
        .where('retired_at', 'is', null)
        .execute();
      await trx.insertInto('signing_keys').values(row).execute();
    });
    return toSigningKey({ ...row, created_at: new Date(), retired_at: null });
  }
}

async function newKeyRow() {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, {
    modulusLength: 2048,
    extractable: true,
  });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  return {
    kid,
    alg: SIGNING_ALG,
    private_jwk: JSON.stringify(privateJwk),
    public_jwk: JSON.stringify(publicJwk),
  };
}

function toSigningKey(row: {
  kid: string;
  alg: string;
  private_jwk: Record<string, unknown> | string;
  public_jwk: Record<string, unknown> | string;
  created_at: Date;
  retired_at: Date | null;
}): SigningKey {
  const parse = (value: Record<string, unknown> | string) =>
    (typeof value === 'string' ? JSON.parse(value) : value) as JWK;
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk: parse(row.private_jwk),
    publicJwk: parse(row.public_jwk),
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}
