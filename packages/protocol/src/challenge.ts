/**
 * `WWW-Authenticate` (RFC 9110 §11.6.1) parsing and building, and Microsoft's CAE claims challenge:
 *
 *   Bearer realm="", authorization_uri="…", error="insufficient_claims", error_description="…", claims="<base64 JSON>"
 *
 * The parser is written for what real servers send rather than for the grammar alone: unquoted
 * values that are not tokens (URLs), several challenges in one field and several fields, base64
 * with or without padding, base64url. It never throws.
 */
import { assertClaimsRequest, CLAIMS_MAX_LENGTH, type ClaimsRequest } from './claims-request.js';
import { ChallengeBuildError, ClaimsRequestError } from './errors.js';

export interface AuthChallenge {
  /** The auth-scheme as sent (compare case-insensitively). */
  scheme: string;
  /** auth-params, names lower-cased, values unquoted and unescaped. The first occurrence of a name wins. */
  params: Record<string, string>;
  token68?: string;
}

export interface ClaimsChallenge {
  claims: ClaimsRequest;
  /** The decoded JSON text, exactly as the resource sent it (pass it on unchanged when re-requesting). */
  claimsJson: string;
  error?: string;
  errorDescription?: string;
  authorizationUri?: string;
  realm?: string;
}

type HeaderInput = string | readonly string[] | null | undefined;

/** A lookup table over char codes 0..127 (faster than a regular expression per character). */
function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const ch of chars) table[ch.charCodeAt(0)] = 1;
  return table;
}
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** RFC 9110 tchar. */
const TCHAR = charTable(`!#$%&'*+-.^_\`|~${ALNUM}`);
/** RFC 9110 token68 characters, without the trailing `=`. */
const TOKEN68_CHAR = charTable(`-._~+/${ALNUM}`);
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

const inTable = (table: Uint8Array, code: number) => code < 128 && table[code] === 1;
const isWhitespace = (code: number) => code === SPACE || code === TAB;

function headerList(header: unknown): string[] {
  if (typeof header === 'string') return [header];
  if (Array.isArray(header)) return header.filter((h): h is string => typeof h === 'string');
  return [];
}

/** Parses every challenge of every field value. Never throws; unparseable fragments are skipped. */
export function parseWwwAuthenticate(header: HeaderInput): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  for (const value of headerList(header)) {
    try {
      new FieldParser(value, challenges).run();
    } catch {
      // The parser is written not to throw; this guard keeps the "never throws" promise regardless.
    }
  }
  return challenges;
}

/** A single-pass scanner over one field value, appending challenges to `out`. */
class FieldParser {
  private pos = 0;
  private current: AuthChallenge | undefined;

  constructor(
    private readonly text: string,
    private readonly out: AuthChallenge[],
  ) {}

  run(): void {
    const { text } = this;
    while (this.pos < text.length) {
      this.skipWhitespaceAndCommas();
      if (this.pos >= text.length) break;
      const name = this.readWhile(TCHAR);
      if (name === '') {
        this.skipElement();
        continue;
      }
      this.skipWhitespace();
      if (text.charCodeAt(this.pos) === EQUALS) {
        // `name=value`: an auth-param of the current challenge.
        this.pos++;
        this.skipWhitespace();
        const value = this.readValue();
        if (this.current && this.current.token68 === undefined) {
          const key = name.toLowerCase();
          if (!Object.hasOwn(this.current.params, key)) setParam(this.current.params, key, value);
        }
        this.expectElementEnd();
      } else {
        this.startChallenge(name);
      }
    }
  }

  private startChallenge(scheme: string): void {
    const challenge: AuthChallenge = { scheme, params: {} };
    this.out.push(challenge);
    this.current = challenge;
    // A token68 directly after the scheme, if what follows it ends the challenge (`,` or end).
    const start = this.pos;
    this.readWhile(TOKEN68_CHAR);
    if (this.pos === start) return;
    while (this.text.charCodeAt(this.pos) === EQUALS) this.pos++;
    const end = this.pos;
    this.skipWhitespace();
    if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) === COMMA) {
      challenge.token68 = this.text.slice(start, end);
    } else {
      this.pos = start; // it was the first auth-param
    }
  }

  private readValue(): string {
    if (this.text.charCodeAt(this.pos) === DQUOTE) return this.readQuotedString();
    // Lenient: servers send unquoted URLs, which are not RFC tokens; a value runs to `,` or whitespace.
    const { text } = this;
    const start = this.pos;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === COMMA || isWhitespace(code)) break;
      this.pos++;
    }
    return text.slice(start, this.pos);
  }

  /** RFC 9110 §5.6.4 quoted-string with quoted-pair; an unterminated string runs to the end. */
  private readQuotedString(): string {
    const { text } = this;
    this.pos++; // opening quote
    let value = '';
    let chunkStart = this.pos;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === DQUOTE) {
        value += text.slice(chunkStart, this.pos);
        this.pos++;
        return value;
      }
      if (code === BACKSLASH && this.pos + 1 < text.length) {
        // quoted-pair: drop the backslash, keep the next character whatever it is.
        value += text.slice(chunkStart, this.pos);
        chunkStart = this.pos + 1;
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    return value + text.slice(chunkStart);
  }

  /**
   * After a param: `,` or the end. Whitespace followed by a token is tolerated (a missing comma);
   * anything else is garbage, skipped up to the next element.
   */
  private expectElementEnd(): void {
    const before = this.pos;
    this.skipWhitespace();
    if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) === COMMA) return;
    if (this.pos > before && inTable(TCHAR, this.text.charCodeAt(this.pos))) return;
    this.skipElement();
  }

  /** Skips to the next top-level comma, stepping over quoted strings. */
  private skipElement(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const code = text.charCodeAt(this.pos);
      if (code === COMMA) return;
      if (code === DQUOTE) this.readQuotedString();
      else this.pos++;
    }
  }

  private readWhile(table: Uint8Array): string {
    const start = this.pos;
    while (this.pos < this.text.length && inTable(table, this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private skipWhitespaceAndCommas(): void {
    while (this.pos < this.text.length) {
      const code = this.text.charCodeAt(this.pos);
      if (code !== COMMA && !isWhitespace(code)) return;
      this.pos++;
    }
  }
}

function setParam(params: Record<string, string>, key: string, value: string): void {
  // defineProperty keeps a `__proto__` param as plain data; plain assignment is much faster otherwise.
  if (key === '__proto__') {
    Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    params[key] = value;
  }
}

/** `error` values that may carry a CAE claims challenge (Entra sends both). */
const CLAIMS_CHALLENGE_ERRORS = new Set(['insufficient_claims', 'invalid_token']);

export type ClaimsChallengeDiagnosis =
  | { challenge: ClaimsChallenge; problem?: undefined }
  | { challenge?: undefined; problem: string };

/**
 * Like parseClaimsChallenge, but says why there is no claims challenge. For logs and debugging.
 */
export function diagnoseClaimsChallenge(header: HeaderInput): ClaimsChallengeDiagnosis {
  let problem = 'no Bearer challenge with a claims parameter';
  for (const challenge of parseWwwAuthenticate(header)) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue;
    const { params } = challenge;
    if (!Object.hasOwn(params, 'claims')) continue;
    if (params.error !== undefined && !CLAIMS_CHALLENGE_ERRORS.has(params.error)) {
      problem = `error "${params.error}" does not carry a claims challenge`;
      continue;
    }
    const decoded = decodeClaimsJson(params.claims!);
    if (decoded === undefined) {
      problem = 'claims value is not valid base64 JSON';
      continue;
    }
    const result: ClaimsChallenge = { claims: decoded.claims, claimsJson: decoded.json };
    if (params.error !== undefined) result.error = params.error;
    // Microsoft Graph has been seen sending `errorDescription` instead of `error_description`.
    const description = params.error_description ?? params.errordescription;
    if (description !== undefined) result.errorDescription = description;
    if (params.authorization_uri !== undefined) result.authorizationUri = params.authorization_uri;
    if (params.realm !== undefined) result.realm = params.realm;
    return { challenge: result };
  }
  return { problem };
}

/**
 * The first Bearer challenge whose `claims` decodes to a JSON object (with `error` absent,
 * `insufficient_claims` or `invalid_token`), or undefined. Never throws.
 */
export function parseClaimsChallenge(header: HeaderInput): ClaimsChallenge | undefined {
  return diagnoseClaimsChallenge(header).challenge;
}

const BASE64_ANY = /^[A-Za-z0-9+/\-_]*={0,2}$/;
// Longest base64 text whose decoding can stay within CLAIMS_MAX_LENGTH characters of JSON (UTF-8 ≤ 3 bytes/char).
const MAX_ENCODED_LENGTH = Math.ceil((CLAIMS_MAX_LENGTH * 3 * 4) / 3) + 4;

function decodeClaimsJson(value: string): { claims: ClaimsRequest; json: string } | undefined {
  try {
    const text = value.trim();
    if (text.length === 0 || text.length > MAX_ENCODED_LENGTH) return undefined;
    // Some servers send the JSON itself rather than its base64.
    const json = text.startsWith('{') ? text : base64ToUtf8(text);
    if (json === undefined || json.length > CLAIMS_MAX_LENGTH) return undefined;
    return { claims: assertClaimsRequest(JSON.parse(json)), json };
  } catch {
    return undefined;
  }
}

/** Decodes standard base64 (padded or not) and base64url into UTF-8 text; undefined if invalid. */
function base64ToUtf8(text: string): string | undefined {
  if (!BASE64_ANY.test(text)) return undefined;
  let standard = text.replace(/=+$/, '').replaceAll('-', '+').replaceAll('_', '/');
  if (standard.length % 4 === 1) return undefined;
  while (standard.length % 4 !== 0) standard += '=';
  const binary = atob(standard);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** Lenient decoding of a challenge's `claims` value: base64 (padded or not), base64url, or raw JSON. */
export function decodeClaims(value: string): ClaimsRequest | undefined {
  if (typeof value !== 'string') return undefined;
  return decodeClaimsJson(value)?.claims;
}

/** Minified JSON, standard base64 with padding — what Entra sends and MSAL expects. Throws ClaimsRequestError over CLAIMS_MAX_LENGTH. */
export function encodeClaims(claims: object): string {
  const json = JSON.stringify(claims);
  if (typeof json !== 'string') throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'claims must be JSON');
  // Refuse what no parser here (nor the issuer) would accept back.
  if (json.length > CLAIMS_MAX_LENGTH) {
    throw new ClaimsRequestError(
      'ERR_CLAIMS_TOO_LARGE',
      `claims JSON exceeds ${CLAIMS_MAX_LENGTH} characters`,
    );
  }
  const bytes = new TextEncoder().encode(json);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// What a header value may hold (the set Node's http module accepts): HTAB, SP, VCHAR, obs-text.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** RFC 9110 §5.6.4 quoted-string: backslash-escapes `"` and `\`; refuses characters no header can carry. */
export function quoteString(value: string): string {
  if (!FIELD_VALUE.test(value)) {
    throw new ChallengeBuildError('a WWW-Authenticate parameter contains a character a header cannot carry');
  }
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function formatChallenge(scheme: string, params: [string, string | undefined][]): string {
  const parts = params.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${quoteString(v!)}`);
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}

/**
 * A CAE claims challenge header value, in Entra's parameter order:
 * `Bearer realm="", authorization_uri="…", error="insufficient_claims", error_description="…", claims="…"`.
 */
export function buildClaimsChallenge(o: {
  authorizationUri: string;
  claims: object;
  errorDescription?: string;
  realm?: string;
  error?: string;
}): string {
  return formatChallenge('Bearer', [
    ['realm', o.realm ?? ''],
    ['authorization_uri', o.authorizationUri],
    ['error', o.error ?? 'insufficient_claims'],
    ['error_description', o.errorDescription],
    ['claims', encodeClaims(o.claims)],
  ]);
}

/** A plain RFC 6750 §3 Bearer challenge, e.g. `Bearer realm="api", error="invalid_token", error_description="…"`. */
export function buildBearerChallenge(o: {
  realm?: string;
  error?: string;
  errorDescription?: string;
  scope?: string;
}): string {
  return formatChallenge('Bearer', [
    ['realm', o.realm],
    ['error', o.error],
    ['error_description', o.errorDescription],
    ['scope', o.scope],
  ]);
}

/**
 * The claims a resource sends when a token was issued before a revocation (`nbf` essential), plus
 * the IP the resource saw when a location policy failed — Entra's exact shape, values as strings.
 */
export function revocationClaims(nbf: number, resourceIp?: string): ClaimsRequest {
  if (!Number.isFinite(nbf) || nbf < 0) {
    throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'nbf must be a non-negative number of seconds');
  }
  const accessToken: Record<string, unknown> = { nbf: { essential: true, value: String(Math.floor(nbf)) } };
  if (resourceIp !== undefined) accessToken.xms_rp_ipaddr = { value: resourceIp };
  return { access_token: accessToken };
}
