/**
 * Encryption of the issuer's secrets at rest (signing keys, TOTP secrets, cookie keys, push
 * authorization headers): AES-256-GCM with a random 96-bit IV and the column as additional data, so a
 * ciphertext copied into another column does not decrypt. A stored value describes itself:
 * `enc:v1:<keyId>:<iv>:<ciphertext+tag>` (base64url), which lets a key ring of several keys decrypt
 * values written before a rotation, and lets values written before encryption be read as they are.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { OpenCaeError } from '@opencae/protocol';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;
/** Key ids appear inside stored values and in error messages: no separators, nothing secret. */
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SecretKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A stored secret cannot be decrypted: the key is not in the ring, or the value was altered. */
export class SecretUnreadableError extends OpenCaeError {
  declare readonly code: 'ERR_SECRET_UNREADABLE';

  constructor(
    readonly column: string,
    /** The id of the key the value was encrypted with (what the ring must hold). */
    readonly keyId: string,
    reason: string,
  ) {
    // Never the value itself: the message may end up in a log.
    super('ERR_SECRET_UNREADABLE', `the secret in ${column} cannot be decrypted: ${reason}`);
  }
}

/** A key ring given in configuration is malformed (the message never quotes key material). */
export class SecretsKeyConfigError extends OpenCaeError {
  declare readonly code: 'ERR_SECRETS_KEY_INVALID';

  constructor(message: string) {
    super('ERR_SECRETS_KEY_INVALID', message);
  }
}

/** True when the value was written by a SecretBox (any key). */
export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** SHA-256 of the key, truncated: identifies a key (in settings, in errors) without revealing it. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export class SecretBox {
  private readonly byId: ReadonlyMap<string, Buffer>;

  /** `keys[0]` encrypts; every key decrypts. No keys: values are stored and read as plaintext. */
  constructor(readonly keys: readonly SecretKey[]) {
    const byId = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new SecretsKeyConfigError(`secrets key id "${id}" must match ${KEY_ID}`);
      if (key.length !== SECRET_KEY_BYTES)
        throw new SecretsKeyConfigError(`secrets key ${id} must be ${SECRET_KEY_BYTES} bytes`);
      if (byId.has(id)) throw new SecretsKeyConfigError(`secrets key id ${id} appears twice`);
      byId.set(id, key);
    }
    this.byId = byId;
  }

  /** A box without keys (PostgreSQL without a configured key, unit tests of other modules). */
  static plaintext(): SecretBox {
    return new SecretBox([]);
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The key that encrypts, when there is one. */
  get current(): SecretKey | undefined {
    return this.keys[0];
  }

  /** Encrypts `plaintext` for `column`; without keys, returns it unchanged. */
  seal(column: string, plaintext: string): string {
    const current = this.current;
    if (!current) return plaintext;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    cipher.setAAD(Buffer.from(column, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}${current.id}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  /** Decrypts a value stored in `column`; a value that was never encrypted is returned as it is. */
  open(column: string, stored: string): string {
    if (!isSealed(stored)) return stored;
    const [keyId = '', ivText = '', bodyText = '', ...rest] = stored.slice(PREFIX.length).split(':');
    const key = this.byId.get(keyId);
    if (!key)
      throw new SecretUnreadableError(
        column,
        keyId,
        `it was encrypted with secrets key ${keyId}, which is not in the configured key ring`,
      );
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (rest.length > 0 || iv.length !== IV_BYTES || body.length < TAG_BYTES)
      throw new SecretUnreadableError(column, keyId, 'the stored value is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(column, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretUnreadableError(
        column,
        keyId,
        `authentication failed (a different key with id ${keyId}, a value altered or moved from another column)`,
      );
    }
  }

  sealNullable(column: string, plaintext: string | null): string | null {
    return plaintext === null ? null : this.seal(column, plaintext);
  }

  openNullable(column: string, stored: string | null): string | null {
    return stored === null ? null : this.open(column, stored);
  }

  /** True when the value is already encrypted with the current key (nothing for a re-encryption to do). */
  isCurrent(stored: string): boolean {
    const current = this.current;
    return current ? stored.startsWith(`${PREFIX}${current.id}:`) : !isSealed(stored);
  }
}

/** The prefix of values encrypted with `keyId`, for SQL `LIKE` filters. */
export function sealedPrefix(keyId: string): string {
  return `${PREFIX}${keyId}:`;
}

/**
 * Parses a key ring: `<id>:<base64 32 bytes>` entries separated by commas, the first one current.
 * Standard or URL-safe base64 is accepted (what `openssl rand -base64 32` prints).
 */
export function parseSecretKeyRing(text: string): SecretKey[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new SecretsKeyConfigError('the secrets key ring is empty');
  return entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    const id = separator < 0 ? '' : entry.slice(0, separator);
    const material = separator < 0 ? '' : entry.slice(separator + 1);
    if (!KEY_ID.test(id))
      throw new SecretsKeyConfigError(
        `secrets key entry ${index + 1} must be <id>:<base64 of ${SECRET_KEY_BYTES} bytes>, the id made of letters, digits, . _ -`,
      );
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(material))
      throw new SecretsKeyConfigError(`secrets key ${id} is not base64`);
    // Node's base64 decoder reads both alphabets.
    const key = Buffer.from(material, 'base64');
    if (key.length !== SECRET_KEY_BYTES)
      throw new SecretsKeyConfigError(
        `secrets key ${id} must decode to ${SECRET_KEY_BYTES} bytes (e.g. openssl rand -base64 32), not ${key.length}`,
      );
    return { id, key };
  });
}

/** A new random key entry, `<id>:<base64>`, as the key file holds it. */
export function newSecretKeyEntry(): string {
  const id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
  return `${id}:${randomBytes(SECRET_KEY_BYTES).toString('base64')}`;
}
