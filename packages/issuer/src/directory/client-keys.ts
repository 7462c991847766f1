/**
 * Public keys of `private_key_jwt` clients (RFC 7523): the "certificates" of an application. Only
 * public members are kept; RSA keys need 2048 bits or more, EC keys must be P-256, and each key must
 * import, so a malformed point or modulus is refused here rather than at the token endpoint.
 */
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { ValidationError } from './errors.js';

export const MAX_CLIENT_KEYS = 10;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const ALGS_BY_KTY: Record<string, readonly string[]> = { RSA: ['RS256', 'PS256'], EC: ['ES256'] };
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

export interface ClientKey extends JWK {
  kid: string;
  kty: 'RSA' | 'EC';
}

function fail(message: string, index: number): never {
  throw new ValidationError(`key ${index}: ${message}`, 'jwks');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64urlField(key: Record<string, unknown>, name: string, index: number): string {
  const value = key[name];
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value))
    fail(`"${name}" must be a base64url string`, index);
  return value;
}

/** Validates one public JWK and returns it reduced to its public members, with a `kid`. */
export async function validateClientKey(input: unknown, index = 0): Promise<ClientKey> {
  if (!isRecord(input)) fail('must be a JSON object (a JWK)', index);
  const present = PRIVATE_MEMBERS.filter((member) => member in input);
  if (present.length > 0) fail(`private key members are not accepted (${present.join(', ')})`, index);
  const kty = input.kty;
  if (kty !== 'RSA' && kty !== 'EC') fail('"kty" must be RSA or EC', index);
  const key: Record<string, unknown> = { kty };
  if (kty === 'RSA') {
    key.n = base64urlField(input, 'n', index);
    key.e = base64urlField(input, 'e', index);
    const bits = modulusBits(key.n as string);
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS)
      fail(`RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits (this one has ${bits})`, index);
  } else {
    if (input.crv !== 'P-256') fail('EC keys must use the P-256 curve', index);
    key.crv = 'P-256';
    key.x = base64urlField(input, 'x', index);
    key.y = base64urlField(input, 'y', index);
  }
  const allowed = ALGS_BY_KTY[kty] ?? [];
  if (input.alg !== undefined) {
    if (typeof input.alg !== 'string' || !allowed.includes(input.alg))
      fail(`"alg" must be one of ${allowed.join(', ')} for a ${kty} key`, index);
    key.alg = input.alg;
  }
  if (input.use !== undefined) {
    if (input.use !== 'sig') fail('"use" must be "sig"', index);
    key.use = 'sig';
  }
  try {
    await importJWK(key as JWK, (key.alg as string | undefined) ?? allowed[0]);
  } catch {
    fail('is not a valid public key', index);
  }
  if (input.kid !== undefined) {
    if (
      typeof input.kid !== 'string' ||
      input.kid.length < 1 ||
      input.kid.length > 200 ||
      !/^[\x21-\x7e]+$/.test(input.kid)
    )
      fail('"kid" must be 1 to 200 printable ASCII characters', index);
    key.kid = input.kid;
  } else {
    key.kid = await calculateJwkThumbprint(key as JWK, 'sha256');
  }
  return key as unknown as ClientKey;
}

/** Validates a JWKS (`{"keys":[…]}`) or a bare array of JWKs; `kid`s must be unique. */
export async function validateClientJwks(input: unknown): Promise<ClientKey[]> {
  const keys = isRecord(input) ? input.keys : input;
  if (!Array.isArray(keys)) throw new ValidationError('jwks must be {"keys":[…]} with public JWKs', 'jwks');
  if (keys.length > MAX_CLIENT_KEYS)
    throw new ValidationError(`at most ${MAX_CLIENT_KEYS} keys are accepted`, 'jwks');
  const validated: ClientKey[] = [];
  for (const [index, key] of keys.entries()) validated.push(await validateClientKey(key, index));
  assertUniqueKids(validated);
  return validated;
}

export function assertUniqueKids(keys: readonly ClientKey[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid)) throw new ValidationError(`two keys share the kid "${key.kid}"`, 'jwks');
    seen.add(key.kid);
  }
}

function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  if (start === bytes.length) return 0;
  return (bytes.length - start) * 8 - Math.clz32(bytes[start]!) + 24;
}
