/**
 * Security Event Tokens (RFC 8417) as SSF 1.0 profiles them: `typ: secevent+jwt`, top-level
 * `sub_id`, exactly one event, no `sub` or `exp`. Signing and verification go through `jose`;
 * failures carry the RFC 8935 error code a receiver reports back to the transmitter.
 */
import type { KeyObject } from 'node:crypto';
import {
  type CompactJWSHeaderParameters,
  CompactSign,
  compactVerify,
  decodeProtectedHeader,
  type FlattenedJWSInput,
  type CryptoKey as JoseCryptoKey,
  type JWTVerifyGetKey,
} from 'jose';
import { EventValidationError, SetBuildError, type SetErrorCode, SetVerificationError } from './errors.js';
import { parseEvent } from './events.js';
import { isPlainObject } from './json.js';
import { type SubjectIdentifier, subjectIdentifierSchema } from './subject.js';

export const SET_TYP = 'secevent+jwt';
export type SetAlgorithm = 'RS256' | 'ES256';
export const SET_ALGORITHMS: readonly SetAlgorithm[] = ['RS256', 'ES256'];
/** Minimum RSA modulus for RS256 SETs (SSF 1.0 / CAEP interoperability profile). */
export const RSA_MIN_MODULUS_BITS = 2048;
/** A SET larger than this is refused before any parsing. */
export const SET_MAX_LENGTH = 65536;

export interface SetPayload {
  iss: string;
  aud: string | string[];
  iat: number;
  jti: string;
  txn?: string;
  sub_id: SubjectIdentifier;
  events: Record<string, Record<string, unknown>>;
}

export interface VerifiedSet {
  payload: SetPayload;
  /** The single event's type URI. */
  eventType: string;
  /** The event body, validated when the type is known. */
  event: Record<string, unknown>;
  /** Whether `eventType` is one this package has a schema for. */
  known: boolean;
  header: { alg: string; kid?: string; typ: string };
}

export type SetSigningKey = CryptoKey | KeyObject | Uint8Array;
export type SetVerificationKey = JWTVerifyGetKey | CryptoKey | KeyObject;

/** Builds a SET payload, validating the subject and (for known types) the event body. */
export function buildSet(i: {
  issuer: string;
  audience: string | string[];
  subject: SubjectIdentifier;
  eventType: string;
  event: Record<string, unknown>;
  txn?: string;
  jti?: string;
  iat?: number;
}): SetPayload {
  if (!i.issuer) throw new SetBuildError('ERR_SET_INVALID', 'a SET needs an issuer');
  const audiences = Array.isArray(i.audience) ? i.audience : [i.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new SetBuildError('ERR_SET_INVALID', 'a SET needs at least one non-empty audience');
  }
  const subject = subjectIdentifierSchema.safeParse(i.subject);
  if (!subject.success)
    throw new SetBuildError('ERR_SET_INVALID', 'the SET subject is not a valid subject identifier');
  const { event } = parseEvent(i.eventType, i.event);
  const payload: SetPayload = {
    iss: i.issuer,
    aud: i.audience,
    iat: i.iat ?? Math.floor(Date.now() / 1000),
    jti: i.jti ?? crypto.randomUUID(),
    sub_id: subject.data,
    events: { [i.eventType]: event },
  };
  if (i.txn !== undefined) payload.txn = i.txn;
  return payload;
}

/** Signs a SET with RS256 (RSA ≥ 2048 bits) or ES256 (P-256). */
export async function signSet(
  payload: SetPayload,
  key: SetSigningKey,
  o: { alg: SetAlgorithm; kid?: string },
): Promise<string> {
  if (!SET_ALGORITHMS.includes(o.alg)) {
    throw new SetBuildError(
      'ERR_SET_KEY_UNSUITABLE',
      `SETs are signed with RS256 or ES256, not ${String(o.alg)}`,
    );
  }
  assertSigningKey(key, o.alg);
  const problem = payloadProblem(payload as unknown as Record<string, unknown>);
  if (problem) throw new SetBuildError('ERR_SET_INVALID', problem);
  const header =
    o.kid === undefined ? { alg: o.alg, typ: SET_TYP } : { alg: o.alg, typ: SET_TYP, kid: o.kid };
  try {
    return await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader(header)
      .sign(key as JoseCryptoKey);
  } catch (cause) {
    throw new SetBuildError('ERR_SET_KEY_UNSUITABLE', `the key cannot sign ${o.alg}`, { cause });
  }
}

function assertSigningKey(key: SetSigningKey, alg: SetAlgorithm): void {
  if (key instanceof Uint8Array) {
    throw new SetBuildError('ERR_SET_KEY_UNSUITABLE', `${alg} needs an asymmetric private key, not a secret`);
  }
  const { modulusLength, namedCurve } = keyDetails(key);
  if (alg === 'RS256' && modulusLength !== undefined && modulusLength < RSA_MIN_MODULUS_BITS) {
    throw new SetBuildError(
      'ERR_SET_KEY_UNSUITABLE',
      `RS256 SETs need an RSA key of at least ${RSA_MIN_MODULUS_BITS} bits, got ${modulusLength}`,
    );
  }
  if (alg === 'ES256' && namedCurve !== undefined && namedCurve !== 'P-256' && namedCurve !== 'prime256v1') {
    throw new SetBuildError('ERR_SET_KEY_UNSUITABLE', `ES256 needs a P-256 key, got ${namedCurve}`);
  }
}

function keyDetails(key: CryptoKey | KeyObject): { modulusLength?: number; namedCurve?: string } {
  if ('asymmetricKeyDetails' in key && key.asymmetricKeyDetails) return key.asymmetricKeyDetails;
  if ('algorithm' in key) return key.algorithm as { modulusLength?: number; namedCurve?: string };
  return {};
}

/** What makes a payload not an SSF SET, or undefined if it is one. Shared by signing and verification. */
function payloadProblem(payload: Record<string, unknown>): string | undefined {
  if (Object.hasOwn(payload, 'sub')) return 'a SET must not contain "sub"; the subject goes in "sub_id"';
  if (Object.hasOwn(payload, 'exp')) return 'a SET must not contain "exp"';
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) return '"iat" must be a number';
  if (typeof payload.jti !== 'string' || payload.jti === '') return '"jti" must be a non-empty string';
  if (payload.txn !== undefined && typeof payload.txn !== 'string') return '"txn" must be a string';
  if (!Object.hasOwn(payload, 'sub_id')) return 'a SET needs a top-level "sub_id"';
  if (!subjectIdentifierSchema.safeParse(payload.sub_id).success)
    return '"sub_id" is not a valid subject identifier';
  if (!isPlainObject(payload.events)) return '"events" must be a JSON object';
  const types = Object.keys(payload.events);
  if (types.length !== 1) return `a SET carries exactly one event, this one has ${types.length}`;
  if (!isPlainObject(payload.events[types[0]!])) return 'the event body must be a JSON object';
  return undefined;
}

function fail(code: SetErrorCode, description: string, cause?: unknown): never {
  throw new SetVerificationError(code, description, cause === undefined ? undefined : { cause });
}

const KEY_ERROR_CODES = new Set([
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWK_INVALID',
]);

function joseCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Verifies a SET and returns its single event. Throws SetVerificationError:
 * `invalid_key` (signature, unknown kid, algorithm not allowed, unsuitable key), `invalid_issuer`,
 * `invalid_audience`, `invalid_request` (not a well-formed SSF SET).
 * Any other error (e.g. a remote key set that cannot be fetched) is rethrown unchanged: the
 * receiver could not decide, so it should answer with a retryable 5xx rather than an RFC 8935 error.
 */
export async function verifySet(
  jwt: string,
  o: {
    key: SetVerificationKey;
    issuer: string;
    audience: string | string[];
    algorithms?: SetAlgorithm[];
    clockToleranceSeconds?: number;
  },
): Promise<VerifiedSet> {
  if (typeof jwt !== 'string' || jwt.length === 0) fail('invalid_request', 'the SET is empty');
  if (jwt.length > SET_MAX_LENGTH)
    fail('invalid_request', `the SET is longer than ${SET_MAX_LENGTH} characters`);
  const parts = jwt.split('.');
  if (parts.length !== 3) fail('invalid_request', 'the SET is not a JWS in compact serialization');

  let header: CompactJWSHeaderParameters;
  try {
    header = decodeProtectedHeader(jwt) as CompactJWSHeaderParameters;
  } catch (cause) {
    fail('invalid_request', 'the SET header cannot be decoded', cause);
  }
  if (typeof header.typ !== 'string' || !isSetTyp(header.typ)) {
    fail('invalid_request', `the SET header "typ" must be "${SET_TYP}"`);
  }
  const algorithms = (o.algorithms ?? [...SET_ALGORITHMS]).filter((a) => SET_ALGORITHMS.includes(a));
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg as SetAlgorithm)) {
    fail('invalid_key', `algorithm ${String(header.alg)} is not allowed (allowed: ${algorithms.join(', ')})`);
  }

  const payloadBytes = await verifySignature(
    jwt,
    parts as [string, string, string],
    header,
    o.key,
    algorithms,
  );

  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch (cause) {
    fail('invalid_request', 'the SET payload is not JSON', cause);
  }
  if (!isPlainObject(payload)) fail('invalid_request', 'the SET payload is not a JSON object');

  if (payload.iss !== undefined && typeof payload.iss !== 'string')
    fail('invalid_request', '"iss" must be a string');
  if (payload.iss !== o.issuer) fail('invalid_issuer', `the SET issuer is not ${o.issuer}`);
  checkAudience(payload.aud, o.audience);

  const problem = payloadProblem(payload);
  if (problem) fail('invalid_request', problem);
  const tolerance = o.clockToleranceSeconds ?? 300;
  if ((payload.iat as number) > Date.now() / 1000 + tolerance)
    fail('invalid_request', '"iat" is in the future');

  const set = payload as unknown as SetPayload;
  const [eventType] = Object.keys(set.events) as [string];
  let parsed: { known: boolean; event: Record<string, unknown> };
  try {
    parsed = parseEvent(eventType, set.events[eventType]);
  } catch (cause) {
    if (cause instanceof EventValidationError) fail('invalid_request', cause.message, cause);
    throw cause;
  }
  const verifiedHeader: VerifiedSet['header'] = { alg: header.alg!, typ: header.typ! };
  if (typeof header.kid === 'string') verifiedHeader.kid = header.kid;
  return { payload: set, eventType, event: parsed.event, known: parsed.known, header: verifiedHeader };
}

/** RFC 7515 §4.1.9: `typ` may omit the "application/" prefix; media types compare case-insensitively. */
function isSetTyp(typ: string): boolean {
  const lower = typ.toLowerCase();
  return lower === SET_TYP || lower === `application/${SET_TYP}`;
}

function checkAudience(aud: unknown, expected: string | string[]): void {
  const accepted = Array.isArray(expected) ? expected : [expected];
  const present = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (aud !== undefined && (present === undefined || present.some((a) => typeof a !== 'string'))) {
    fail('invalid_request', '"aud" must be a string or an array of strings');
  }
  if (!present?.some((a) => accepted.includes(a as string))) {
    fail('invalid_audience', `the SET audience does not include ${accepted.join(' or ')}`);
  }
}

async function verifySignature(
  jwt: string,
  [protectedHeader, payload, signature]: [string, string, string],
  header: CompactJWSHeaderParameters,
  key: SetVerificationKey,
  algorithms: SetAlgorithm[],
): Promise<Uint8Array> {
  let candidates: unknown[];
  if (typeof key === 'function') {
    const token: FlattenedJWSInput = { protected: protectedHeader, payload, signature };
    try {
      const resolved = await key(header, token);
      if (resolved instanceof Uint8Array) fail('invalid_key', 'SETs are not verified with shared secrets');
      candidates = [resolved];
    } catch (error) {
      const code = joseCode(error);
      if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' && isAsyncIterable(error)) {
        candidates = [];
        for await (const k of error) candidates.push(k as CryptoKey);
      } else if (code !== undefined && KEY_ERROR_CODES.has(code)) {
        fail('invalid_key', keyProblem(code, header), error);
      } else {
        throw error; // the key set could not be consulted: not the transmitter's fault
      }
    }
  } else {
    candidates = [key];
  }
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      const { payload: bytes } = await compactVerify(jwt, candidate as JoseCryptoKey, { algorithms });
      return bytes;
    } catch (error) {
      lastError = error;
      if (joseCode(error) === 'ERR_JWS_INVALID') fail('invalid_request', 'the SET is not a valid JWS', error);
    }
  }
  // Bad signature, key of the wrong type or too short, alg/key mismatch: all "invalid_key".
  fail('invalid_key', keyProblem(joseCode(lastError), header), lastError);
}

function keyProblem(code: string | undefined, header: CompactJWSHeaderParameters): string {
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the SET signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return `no key of the transmitter matches kid ${JSON.stringify(header.kid ?? null)} and alg ${header.alg}`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return `algorithm ${header.alg} is not allowed`;
    default:
      return `the key cannot verify this ${header.alg} SET`;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
