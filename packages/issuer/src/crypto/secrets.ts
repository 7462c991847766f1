/**
 * Hashing and comparison of credentials. Passwords are low-entropy, so they get scrypt (memory-hard,
 * in node:crypto). Client secrets are 256-bit random values we generate, so a SHA-256 digest is as
 * strong as a slow hash for them and keeps the token endpoint fast (a slow hash per client-credentials
 * request would cap token throughput at a few dozen per second).
 */
import { createHash, hash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 };

/** `scrypt$N$r$p$salt$hash` (base64url parts), so parameters can be raised later without a migration. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFKC'), salt, SCRYPT.keyLength, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
    maxmem: 128 * SCRYPT.N * SCRYPT.r * 2,
  });
  return [
    'scrypt',
    SCRYPT.N,
    SCRYPT.r,
    SCRYPT.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = stored?.split('$');
  if (!parts || parts.length !== 6 || parts[0] !== 'scrypt') {
    // Spend the same time as a real check so timing does not reveal unknown users.
    await hashPassword(password);
    return false;
  }
  const [, n, r, p, salt, expected] = parts as [string, string, string, string, string, string];
  const expectedBytes = Buffer.from(expected, 'base64url');
  const actual = await scrypt(
    password.normalize('NFKC'),
    Buffer.from(salt, 'base64url'),
    expectedBytes.length,
    {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: 128 * Number(n) * Number(r) * 2,
    },
  );
  return timingSafeEqual(actual, expectedBytes);
}

/** A new client secret: 256 random bits, URL-safe. Shown once; only its digest is stored. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashClientSecret(secret: string): string {
  // One-shot: no Hash object per call (this runs at every client_secret authentication).
  return `sha256$${hash('sha256', secret, 'base64url')}`;
}

export function verifyClientSecret(secret: string, stored: string): boolean {
  return constantTimeEqual(hashClientSecret(secret), stored);
}

/** Compares two strings without leaking where they differ (or, via hashing, their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}

/** The last four characters, for display ("…x9Qa"); never enough to guess the secret. */
export function secretHint(secret: string): string {
  return secret.slice(-4);
}
