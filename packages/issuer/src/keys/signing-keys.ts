/**
 * Token signing keys, generated on first start and persisted. One key is active and signs; after a
 * rotation the previous key stays in the published JWKS until every token it signed has expired.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { sql } from 'kysely';
import { isSealed, SecretBox } from '../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../crypto/secret-columns.js';
import { inTransaction } from '../directory/transaction.js';
import type { Db } from '../storage/database.js';

export const SIGNING_ALG = 'RS256';

export interface SigningKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
  /** When a retired key leaves the published JWKS; null while the key is active. */
  publishedUntil: Date | null;
}

/** A generated key pair not stored yet (see generateSigningKey). */
export type NewSigningKey = Awaited<ReturnType<typeof newKeyRow>>;

export interface KeyRotation {
  active: SigningKey;
  /** The keys this rotation retired: the previous active key (none only on an empty store). */
  retired: SigningKey[];
}

/** Serializes first-key creation and rotations across replicas sharing one database. */
const SIGNING_KEYS_LOCK = 7368240001;

/**
 * Generates the next key pair. RSA generation takes tens of milliseconds, so it is done before the
 * rotation's transaction, not while holding its lock.
 */
export function generateSigningKey(): Promise<NewSigningKey> {
  return newKeyRow();
}

export class SigningKeyStore {
  /** `secrets` encrypts the private JWKs at rest (none: stored as plaintext, as before encryption). */
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox = SecretBox.plaintext(),
  ) {}

  /** Creates the first key when there is none; safe when several replicas start at once. */
  async ensureActiveKey(): Promise<SigningKey> {
    const existing = await this.activeKey();
    if (existing) return existing;
    await this.db.transaction().execute(async (trx) => {
      // Serialize first-start key creation across replicas.
      await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`.execute(trx);
      const active = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      if (!active)
        await trx
          .insertInto('signing_keys')
          .values(this.sealed(await newKeyRow()))
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
    return row ? this.toSigningKey(row) : undefined;
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
    return rows.map((row) => this.toSigningKey(row));
  }

  /** The public JWKS document. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.publishedKeys()).map((key) => key.publicJwk) };
  }

  /** Every stored key, published or not: the active one first, then the newest. */
  async allKeys(): Promise<SigningKey[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy(sql`retired_at is not null`)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((row) => this.toSigningKey(row));
  }

  /**
   * Makes a new key active. The old one keeps being published for `maxTokenLifetimeSeconds`, so tokens
   * it signed stay verifiable until they expire.
   */
  async rotate(maxTokenLifetimeSeconds: number): Promise<SigningKey> {
    const next = await generateSigningKey();
    const { active } = await this.rotateWithin(this.db, next, { publishForSeconds: maxTokenLifetimeSeconds });
    return active;
  }

  /**
   * Retires the active key and stores `next` as the active one, in `db`'s transaction when it is one
   * (so the caller's audit entry commits with it). The lock makes concurrent rotations queue: without
   * it, two replicas could each retire the key they saw and each insert a new active key.
   */
  async rotateWithin(
    db: Db,
    next: NewSigningKey,
    options: { publishForSeconds: number },
  ): Promise<KeyRotation> {
    return inTransaction(db, async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`.execute(trx);
      // Read after the lock: a rotation that waited behind another must not date its retirement
      // before the key it retires was created (nor shorten that key's publication).
      const at = new Date();
      const retired = await trx
        .updateTable('signing_keys')
        .set({ retired_at: at, unpublish_after: new Date(at.getTime() + options.publishForSeconds * 1000) })
        .where('retired_at', 'is', null)
        .returningAll()
        .execute();
      const active = await trx
        .insertInto('signing_keys')
        .values({ ...this.sealed(next), created_at: at })
        .returningAll()
        .executeTakeFirstOrThrow();
      return {
        active: this.toSigningKey(active),
        retired: retired.map((row) => this.toSigningKey(row)),
      };
    });
  }

  /** The row as stored: the private JWK encrypted (a jsonb string) when a key ring is configured. */
  private sealed(row: NewSigningKey): NewSigningKey {
    if (!this.secrets.enabled) return row;
    return {
      ...row,
      private_jwk: JSON.stringify(this.secrets.seal(SECRET_COLUMNS.signingKey, row.private_jwk)),
    };
  }

  private toSigningKey(row: SigningKeyRow): SigningKey {
    const stored = row.private_jwk;
    // jsonb comes back decoded: an encrypted JWK is a string, one written before encryption an object.
    const privateJwk =
      typeof stored === 'string' && isSealed(stored)
        ? this.secrets.open(SECRET_COLUMNS.signingKey, stored)
        : stored;
    return toSigningKey({ ...row, private_jwk: privateJwk });
  }
}

type SigningKeyRow = Parameters<typeof toSigningKey>[0];

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
  unpublish_after: Date | null;
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
    publishedUntil: row.unpublish_after,
  };
}
