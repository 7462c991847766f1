/**
 * One sign-in log entry: what the token service knows about a token request once it is answered,
 * success or refusal. Entries are normalized before they are queued, so a batch insert never fails
 * on an oversized or unstorable value sent by a client (a client_id, a grant_type, an error text).
 */
import type { SignInPrincipalType, SignInResult } from '../storage/schema.js';

export interface SignInEntry {
  /** When the request was answered; defaults to the time of `record()`. */
  time?: Date;
  /** Who signed in; absent when the request failed before the principal was known. */
  principal?: { type: SignInPrincipalType; id: string; name?: string | undefined } | undefined;
  /** The client application. */
  app?: { clientId: string; name?: string | undefined } | undefined;
  /** The audience of the API the token was (or would have been) for. */
  apiAudience?: string | undefined;
  grantType?: string | undefined;
  /** The client IP the issuer saw. */
  issuerIp?: string | undefined;
  /** The client IP the resource saw: `xms_rp_ipaddr` of the location challenge being answered. */
  resourceIp?: string | undefined;
  /** Capabilities the client declared (`cp1`). */
  clientCapabilities?: readonly string[] | undefined;
  /** A CAE token (`xms_cc`, long lifetime) was issued. */
  caeToken: boolean;
  lifetimeSeconds?: number | undefined;
  /** One result per Conditional Access policy (conditional-access `PolicyResult`). */
  conditionalAccess?: readonly object[] | undefined;
  result: SignInResult;
  /** OAuth error code of a refusal (`invalid_grant`, `access_denied`...). */
  errorCode?: string | undefined;
  failureReason?: string | undefined;
  /** The request id, to find the request in the issuer's logs. */
  correlationId?: string | undefined;
}

/** The row written for an entry (column names of sign_in_log). */
export interface SignInRow {
  time: Date;
  principal_type: SignInPrincipalType | null;
  principal_id: string | null;
  principal_name: string | null;
  client_id: string | null;
  app_name: string | null;
  api_audience: string | null;
  grant_type: string | null;
  issuer_ip: string | null;
  resource_ip: string | null;
  client_capabilities: string;
  cae_token: boolean;
  lifetime_seconds: number | null;
  conditional_access: string;
  result: SignInResult;
  error_code: string | null;
  failure_reason: string | null;
  correlation_id: string | null;
}

const PRINCIPAL_TYPES: readonly SignInPrincipalType[] = ['user', 'guest', 'service_principal'];
const MAX_POLICY_RESULTS = 200;
const MAX_POLICY_JSON = 64 * 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is matched on purpose
const NEEDS_CLEANING = /[\u0000\uD800-\uDFFF]/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** PostgreSQL text cannot hold NUL; JSON and text cannot hold lone surrogates. */
function wellFormed(value: string): string {
  // Nearly every value is already well formed: check before copying.
  if (!NEEDS_CLEANING.test(value)) return value;
  return value.replaceAll('\u0000', '\uFFFD').replace(UNPAIRED_SURROGATE, '\uFFFD');
}

function storable(value: string | undefined | null, max: number): string | null {
  if (value === undefined || value === null) return null;
  let text = wellFormed(value);
  // Cut on a code point boundary, so truncation never creates a lone surrogate.
  if (text.length > max)
    text = `${Array.from(text.slice(0, max - 1))
      .slice(0, -1)
      .join('')}…`;
  return text;
}

/**
 * JSON.stringify escapes NUL and lone surrogates (`\u0000`, `\udXXX`), which jsonb refuses; only then
 * is the text built again with the strings cleaned (a replacer on every value costs on every entry).
 */
const JSONB_REFUSED_ESCAPE = /\\u(?:0000|d[89a-f])/i;

function policyResultsJson(results: readonly object[] | undefined): string {
  if (!results || results.length === 0) return '[]';
  const kept = results.slice(0, MAX_POLICY_RESULTS);
  const json = JSON.stringify(kept);
  if (!JSONB_REFUSED_ESCAPE.test(json)) return json;
  return JSON.stringify(kept, (_key, value) => (typeof value === 'string' ? wellFormed(value) : value));
}

export function toSignInRow(entry: SignInEntry, now: Date): SignInRow {
  const principalType =
    entry.principal && PRINCIPAL_TYPES.includes(entry.principal.type) ? entry.principal.type : null;
  const capabilities = [...new Set((entry.clientCapabilities ?? []).map((value) => storable(value, 64)))]
    .filter((value): value is string => !!value)
    .slice(0, 16);
  let policies = policyResultsJson(entry.conditionalAccess);
  if (policies.length > MAX_POLICY_JSON) policies = JSON.stringify([{ truncated: true }]);
  const lifetime = entry.lifetimeSeconds;
  const time = entry.time && !Number.isNaN(entry.time.getTime()) ? entry.time : now;
  return {
    time,
    principal_type: principalType,
    principal_id: storable(entry.principal?.id, 256),
    principal_name: storable(entry.principal?.name, 256),
    client_id: storable(entry.app?.clientId, 256),
    app_name: storable(entry.app?.name, 256),
    api_audience: storable(entry.apiAudience, 2048),
    grant_type: storable(entry.grantType, 128),
    issuer_ip: storable(entry.issuerIp, 64),
    resource_ip: storable(entry.resourceIp, 64),
    client_capabilities: JSON.stringify(capabilities),
    cae_token: entry.caeToken === true,
    lifetime_seconds:
      typeof lifetime === 'number' && Number.isInteger(lifetime) && lifetime >= 0 && lifetime <= 2 ** 31 - 1
        ? lifetime
        : null,
    conditional_access: policies,
    result: entry.result === 'success' ? 'success' : 'failure',
    error_code: storable(entry.errorCode, 128),
    failure_reason: storable(entry.failureReason, 2000),
    correlation_id: storable(entry.correlationId, 128),
  };
}

/** The columns of sign_in_log a row fills, with their SQL types (to unpack rows sent as JSON). */
export const SIGN_IN_ROW_COLUMNS: readonly (readonly [keyof SignInRow, string])[] = [
  ['time', 'timestamptz'],
  ['principal_type', 'text'],
  ['principal_id', 'text'],
  ['principal_name', 'text'],
  ['client_id', 'text'],
  ['app_name', 'text'],
  ['api_audience', 'text'],
  ['grant_type', 'text'],
  ['issuer_ip', 'text'],
  ['resource_ip', 'text'],
  ['client_capabilities', 'jsonb'],
  ['cae_token', 'boolean'],
  ['lifetime_seconds', 'integer'],
  ['conditional_access', 'jsonb'],
  ['result', 'text'],
  ['error_code', 'text'],
  ['failure_reason', 'text'],
  ['correlation_id', 'text'],
];

/** Rows as one JSON array; the jsonb columns are embedded as the JSON text they already are. */
export function signInRowsJson(rows: readonly SignInRow[]): string {
  const parts = rows.map((row) => {
    const { client_capabilities, conditional_access, ...scalars } = row;
    const text = JSON.stringify({ ...scalars, time: row.time.toISOString() });
    return `${text.slice(0, -1)},"client_capabilities":${client_capabilities},"conditional_access":${conditional_access}}`;
  });
  return `[${parts.join(',')}]`;
}
