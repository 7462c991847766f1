/**
 * The OAuth / OpenID Connect `claims` request parameter (OIDC Core §5.5), as Microsoft's
 * libraries use it for Continuous Access Evaluation: the client capability `cp1` is declared in
 * `access_token.xms_cc.values`, and a resource's claims challenge is merged into the same object.
 */
import { ClaimsRequestError } from './errors.js';
import { isPlainObject } from './json.js';

export type ClaimsRequest = {
  access_token?: Record<string, unknown>;
  id_token?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
  [k: string]: unknown;
};

/** Upper bound, in characters of JSON text, for a `claims` value we accept. */
export const CLAIMS_MAX_LENGTH = 16384;

/** The CAE client capability. Capability values compare case-insensitively (MSAL sends `CP1`). */
export const CP1 = 'cp1';

/** Members of a claims request that OIDC defines as objects (`null` is not allowed for them). */
const OBJECT_MEMBERS = ['access_token', 'id_token', 'userinfo'] as const;

/**
 * Parses a `claims` request parameter. Absent or empty → `undefined`.
 * Throws ClaimsRequestError for oversized, malformed or non-object JSON.
 */
export function parseClaimsRequest(value: string | null | undefined): ClaimsRequest | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'claims must be a JSON string');
  }
  if (value.length > CLAIMS_MAX_LENGTH) {
    throw new ClaimsRequestError(
      'ERR_CLAIMS_TOO_LARGE',
      `claims is ${value.length} characters long; the limit is ${CLAIMS_MAX_LENGTH}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'claims is not valid JSON', { cause });
  }
  return assertClaimsRequest(parsed);
}

/** Checks the shape of an already-parsed claims request (a JSON object whose known members are objects). */
export function assertClaimsRequest(value: unknown): ClaimsRequest {
  if (!isPlainObject(value)) {
    throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'claims must be a JSON object');
  }
  for (const member of OBJECT_MEMBERS) {
    if (Object.hasOwn(value, member) && !isPlainObject(value[member])) {
      throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', `claims.${member} must be a JSON object`);
    }
  }
  return value as ClaimsRequest;
}

/**
 * Deep-merges claims requests; for the same member the later part wins, objects merge recursively
 * and anything else (arrays included) is replaced. Inputs are not modified.
 * This is how MSAL combines a challenge's claims with the capability claims.
 */
export function mergeClaims(...parts: (ClaimsRequest | undefined)[]): ClaimsRequest {
  const result: Record<string, unknown> = {};
  for (const part of parts) {
    if (part !== undefined && part !== null) mergeInto(result, part);
  }
  return result as ClaimsRequest;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const key of Object.keys(source)) {
    const incoming = source[key];
    if (incoming === undefined) continue;
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(incoming) && isPlainObject(existing)) {
      mergeInto(existing, incoming);
    } else {
      setOwn(target, key, cloneJson(incoming));
    }
  }
}

/** Defines an own data property, so a `__proto__` key from JSON stays data and never touches a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setOwn(copy, key, cloneJson(value[key]));
    return copy;
  }
  return value;
}

/**
 * Adds client capabilities to `access_token.xms_cc.values`, merging with values already there
 * (deduplicated case-insensitively, first spelling kept) and keeping every other member.
 */
export function withCapabilities(
  claims: ClaimsRequest | undefined,
  capabilities: readonly string[],
): ClaimsRequest {
  const result = mergeClaims(claims);
  if (capabilities.length === 0) return result;
  const accessToken = isPlainObject(result.access_token) ? result.access_token : {};
  const xmsCc = isPlainObject(accessToken.xms_cc) ? accessToken.xms_cc : {};
  const values: string[] = [];
  const seen = new Set<string>();
  for (const value of [...requestedValues(xmsCc), ...capabilities]) {
    const folded = value.toLowerCase();
    if (seen.has(folded)) continue;
    seen.add(folded);
    values.push(value);
  }
  setOwn(xmsCc, 'values', values);
  setOwn(accessToken, 'xms_cc', xmsCc);
  setOwn(result, 'access_token', accessToken);
  return result;
}

/** String values of an OIDC individual claim request: `values` (array) and/or `value`. */
function requestedValues(claimRequest: unknown): string[] {
  if (!isPlainObject(claimRequest)) return [];
  const out: string[] = [];
  if (Array.isArray(claimRequest.values)) {
    for (const v of claimRequest.values) if (typeof v === 'string') out.push(v);
  }
  if (typeof claimRequest.value === 'string') out.push(claimRequest.value);
  return out;
}

/** Does the claims request declare `capability` in `access_token.xms_cc`? Case-insensitive. */
export function hasCapability(claims: ClaimsRequest | undefined, capability: string): boolean {
  if (!isPlainObject(claims) || !isPlainObject(claims.access_token)) return false;
  const wanted = capability.toLowerCase();
  return requestedValues(claims.access_token.xms_cc).some((v) => v.toLowerCase() === wanted);
}

/** Does a token's `xms_cc` claim (array of strings, or one string) contain `capability`? Case-insensitive. */
export function tokenHasCapability(xmsCcClaim: unknown, capability: string): boolean {
  const wanted = capability.toLowerCase();
  if (typeof xmsCcClaim === 'string') return xmsCcClaim.toLowerCase() === wanted;
  if (!Array.isArray(xmsCcClaim)) return false;
  return xmsCcClaim.some((v) => typeof v === 'string' && v.toLowerCase() === wanted);
}

/**
 * The `nbf` a claims request demands (`access_token.nbf` with `essential: true`), in unix seconds.
 * Microsoft sends the value as a decimal string; a number is accepted too.
 */
export function essentialNbf(claims: ClaimsRequest | undefined): number | undefined {
  if (!isPlainObject(claims) || !isPlainObject(claims.access_token)) return undefined;
  const nbf = claims.access_token.nbf;
  if (!isPlainObject(nbf) || nbf.essential !== true) return undefined;
  const { value } = nbf;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}
