import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isSealed,
  keyFingerprint,
  newSecretKeyEntry,
  parseSecretKeyRing,
  SecretBox,
  SecretsKeyConfigError,
  SecretUnreadableError,
} from './secret-box.js';

const keyA = { id: 'a', key: randomBytes(32) };
const keyB = { id: 'b', key: randomBytes(32) };
const COLUMN = 'users.totp_secret';

function unreadable(run: () => unknown): SecretUnreadableError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretUnreadableError);
    return error as SecretUnreadableError;
  }
  throw new Error('expected ERR_SECRET_UNREADABLE');
}

describe('SecretBox', () => {
  it('round-trips and writes a self-describing value that does not contain the plaintext', () => {
    const box = new SecretBox([keyA]);
    const sealed = box.seal(COLUMN, 'JBSWY3DPEHPK3PXP');
    expect(sealed).toMatch(/^enc:v1:a:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(COLUMN, sealed)).toBe('JBSWY3DPEHPK3PXP');
    // A random IV each time: equal secrets do not give equal ciphertexts.
    expect(box.seal(COLUMN, 'JBSWY3DPEHPK3PXP')).not.toBe(sealed);
    expect(box.open(COLUMN, box.seal(COLUMN, ''))).toBe('');
    expect(box.open(COLUMN, box.seal(COLUMN, 'é ✓ 🔑'))).toBe('é ✓ 🔑');
  });

  it('binds a value to its column: moved to another column it does not decrypt', () => {
    const box = new SecretBox([keyA]);
    const sealed = box.seal('ssf_streams.authorization_header', 'Bearer receiver-secret');
    const error = unreadable(() => box.open(COLUMN, sealed));
    expect(error.code).toBe('ERR_SECRET_UNREADABLE');
    expect(error.column).toBe(COLUMN);
    expect(error.message).not.toContain('receiver-secret');
  });

  it('detects tampering with the IV, the ciphertext, the tag or the key id', () => {
    const box = new SecretBox([keyA, keyB]);
    const sealed = box.seal(COLUMN, 'secret');
    const [prefix, version, id, iv, body] = sealed.split(':') as [string, string, string, string, string];
    const flip = (text: string, at: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[at] = (bytes[at] ?? 0) ^ 1;
      return bytes.toString('base64url');
    };
    const variants = [
      [prefix, version, id, flip(iv, 0), body],
      [prefix, version, id, iv, flip(body, 0)],
      [prefix, version, id, iv, flip(body, Buffer.from(body, 'base64url').length - 1)],
      [prefix, version, 'b', iv, body],
      [prefix, version, id, iv, body.slice(0, 8)],
      [prefix, version, id, iv, body, 'extra'],
    ];
    for (const parts of variants) {
      const error = unreadable(() => box.open(COLUMN, parts.join(':')));
      expect(error.message).not.toContain(sealed);
    }
  });

  it('names the key id it needs when the ring lacks it', () => {
    const sealed = new SecretBox([keyA]).seal(COLUMN, 'secret');
    const error = unreadable(() => new SecretBox([keyB]).open(COLUMN, sealed));
    expect(error.keyId).toBe('a');
    expect(error.message).toContain('secrets key a');
    // A key with the same id but other bytes: authentication fails, naming the id.
    const impostor = new SecretBox([{ id: 'a', key: randomBytes(32) }]);
    expect(unreadable(() => impostor.open(COLUMN, sealed)).keyId).toBe('a');
  });

  it('rotates: the first key encrypts, every key decrypts', () => {
    const old = new SecretBox([keyA]).seal(COLUMN, 'old secret');
    const ring = new SecretBox([keyB, keyA]);
    expect(ring.open(COLUMN, old)).toBe('old secret');
    expect(ring.isCurrent(old)).toBe(false);
    const fresh = ring.seal(COLUMN, 'new secret');
    expect(fresh.startsWith('enc:v1:b:')).toBe(true);
    expect(ring.isCurrent(fresh)).toBe(true);
  });

  it('passes values written before encryption through, and stores plaintext without keys', () => {
    const box = new SecretBox([keyA]);
    expect(box.open(COLUMN, 'JBSWY3DPEHPK3PXP')).toBe('JBSWY3DPEHPK3PXP');
    expect(box.isCurrent('JBSWY3DPEHPK3PXP')).toBe(false);
    expect(box.openNullable(COLUMN, null)).toBeNull();
    const none = SecretBox.plaintext();
    expect(none.enabled).toBe(false);
    expect(none.seal(COLUMN, 'x')).toBe('x');
    expect(none.isCurrent('x')).toBe(true);
    // Without keys an encrypted value still cannot be read as if it were plaintext.
    expect(unreadable(() => none.open(COLUMN, box.seal(COLUMN, 'x'))).keyId).toBe('a');
  });
});

describe('parseSecretKeyRing', () => {
  it('reads <id>:<base64> entries, first = current, in either base64 alphabet', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const ring = parseSecretKeyRing(` new:${a.toString('base64')} , old:${b.toString('base64url')}\n`);
    expect(ring.map((key) => key.id)).toEqual(['new', 'old']);
    expect(ring[0]?.key.equals(a)).toBe(true);
    expect(ring[1]?.key.equals(b)).toBe(true);
    const generated = parseSecretKeyRing(newSecretKeyEntry());
    expect(generated).toHaveLength(1);
    expect(generated[0]?.key).toHaveLength(32);
  });

  it('rejects malformed rings without quoting key material', () => {
    const short = randomBytes(16).toString('base64');
    const cases = [
      '',
      'nokey',
      `:${randomBytes(32).toString('base64')}`,
      `a:${short}`,
      'a:not base64!',
      'a b:AAAA',
    ];
    for (const text of cases) {
      let caught: unknown;
      try {
        parseSecretKeyRing(text);
      } catch (error) {
        caught = error;
      }
      expect(caught, text).toBeInstanceOf(SecretsKeyConfigError);
      expect((caught as SecretsKeyConfigError).code).toBe('ERR_SECRETS_KEY_INVALID');
      expect((caught as Error).message).not.toContain(short);
    }
    const key = randomBytes(32).toString('base64');
    expect(() => new SecretBox(parseSecretKeyRing(`a:${key},a:${key}`))).toThrow(/appears twice/);
  });

  it('fingerprints a key without revealing it', () => {
    const key = randomBytes(32);
    expect(keyFingerprint(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyFingerprint(key)).toBe(keyFingerprint(Buffer.from(key)));
    expect(isSealed('enc:v1:a:b:c')).toBe(true);
    expect(isSealed('enc:v2:a:b:c')).toBe(false);
  });
});
