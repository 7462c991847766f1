/**
 * The token service's side of the sign-in log: one entry per token request, success or refusal, and
 * one per sign-in the sign-in page refuses. Entries are built from what the request already holds (its
 * request state, the provider's entities, the response) and handed to the logs module's batched writer
 * after the response is produced: nothing on the token path waits for the log or reads the database.
 * Token request entries also feed the issuer's metrics (`opencae_token_requests_total`).
 */
import type { ClaimsRequest } from '@opencae/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { resourceIpFromClaims } from '../conditional-access/token-claims.js';
import type { SignInEntry } from '../logs/sign-in-entry.js';
import type { SignInLogWriter } from '../logs/sign-in-log-writer.js';
import type { ApplicationState, UserState } from './directory-reader.js';
import { mergeClaimsRequests } from './issuance-policy.js';
import { isJsonObject } from './json-object.js';
import { type RequestState, requestStateOf } from './request-state.js';
import { audiencesOf } from './scopes.js';

/** Where entries go: the logs module's writer, looked up when first needed (it registers later). */
export type SignInLogSink = () => Pick<SignInLogWriter, 'record'>;

/** Told the outcome of every token request (the issuer's metrics); must be cheap and synchronous. */
export interface TokenRequestObserver {
  observe(entry: SignInEntry): void;
}

/** A token request's entry, or a sign-in the sign-in page refused (logged, not a token request). */
export type SignInEntryKind = 'token_request' | 'sign_in_page';

export class SignInRecorder {
  #tokenRequests: TokenRequestObserver | undefined;

  constructor(
    private readonly sink: SignInLogSink | undefined,
    private readonly logger: Pick<FastifyBaseLogger, 'warn'>,
  ) {}

  /** Whether token requests are recorded at all: in a sign-in log, in metrics, or both. */
  get enabled(): boolean {
    return this.sink !== undefined || this.#tokenRequests !== undefined;
  }

  /** Also reports each token request's entry to `observer` (set once, when the module registers). */
  observeTokenRequests(observer: TokenRequestObserver): void {
    this.#tokenRequests = observer;
  }

  /** Queues an entry; never throws (a token response must not fail because of its log). */
  record(entry: SignInEntry, kind: SignInEntryKind = 'token_request'): void {
    if (kind === 'token_request' && this.#tokenRequests) {
      try {
        this.#tokenRequests.observe(entry);
      } catch (error) {
        this.logger.warn({ err: error }, 'token request not counted');
      }
    }
    if (!this.sink) return;
    try {
      this.sink().record(entry);
    } catch (error) {
      this.logger.warn({ err: error }, 'sign-in log entry not recorded');
    }
  }

  /** Builds the entry once `entry` settles, then records it; the caller does not wait. */
  recordLater(entry: Promise<SignInEntry>, kind: SignInEntryKind = 'token_request'): void {
    // Nothing to build when neither the log nor (for a token request) the metrics want the entry.
    if (!this.sink && (kind !== 'token_request' || !this.#tokenRequests)) return;
    entry.then(
      (built) => this.record(built, kind),
      (error) => this.logger.warn({ err: error }, 'sign-in log entry not recorded'),
    );
  }
}

/** The capabilities a client declared in `access_token.xms_cc` (`cp1`). */
export function declaredCapabilities(claims: ClaimsRequest | undefined): string[] {
  const xmsCc = isJsonObject(claims?.access_token) ? claims.access_token.xms_cc : undefined;
  if (!isJsonObject(xmsCc)) return [];
  const values = [...(Array.isArray(xmsCc.values) ? xmsCc.values : []), xmsCc.value];
  return [...new Set(values.filter((value): value is string => typeof value === 'string'))].map((value) =>
    value.toLowerCase(),
  );
}

export function userPrincipal(user: UserState): NonNullable<SignInEntry['principal']> {
  return { type: user.kind === 'guest' ? 'guest' : 'user', id: user.id, name: user.username };
}

export function servicePrincipal(application: ApplicationState): SignInEntry['principal'] {
  const sp = application.servicePrincipal;
  return sp ? { type: 'service_principal', id: sp.id, name: application.name } : undefined;
}

/** What the provider context of a token request tells the log (a structural view of Koa's context). */
export interface TokenRequestView {
  status: number;
  body: unknown;
  params: Record<string, unknown> | undefined;
  clientId: string | undefined;
  /** The code or refresh token redeemed, when the request got that far. */
  source: { claims?: ClaimsRequest | null; accountId?: unknown } | undefined;
  /** The Authorization header (client_secret_basic names the client there). */
  authorization: string | undefined;
}

/**
 * The entry for one answered token request. Reads only what the request already loaded: its state
 * (user, applications, decisions, Conditional Access evaluations) and the response.
 */
export async function tokenRequestEntry(view: TokenRequestView, state: RequestState): Promise<SignInEntry> {
  const body = isJsonObject(view.body) ? view.body : {};
  const success = view.status === 200 && typeof body.access_token === 'string';
  const grantType = typeof view.params?.grant_type === 'string' ? view.params.grant_type : undefined;
  const clientId = view.clientId ?? stringParam(view.params?.client_id) ?? basicClientId(view.authorization);
  const application = clientId ? await settled(state.applications.get(clientId)) : undefined;

  const [audience, decision] = state.decisions.entries().next().value ?? [];
  const requested =
    audience ?? stringParam(view.params?.resource) ?? audiencesOf(stringParam(view.params?.scope))[0];
  // An issued token's decision holds its evaluation; a refusal's is only on the request state.
  const evaluation =
    decision?.conditionalAccess ??
    (requested ? await settled(state.conditionalAccess.get(requested)) : undefined);
  const claims = mergeClaimsRequests(view.source?.claims ?? undefined, state.claims);

  let principal: SignInEntry['principal'];
  if (grantType === 'client_credentials') principal = application ? servicePrincipal(application) : undefined;
  else if (state.user) principal = userPrincipal(state.user);

  return {
    principal,
    app: clientId ? { clientId, name: application?.name } : undefined,
    apiAudience: requested,
    grantType,
    issuerIp: state.ip || undefined,
    resourceIp: resourceIpFromClaims(claims),
    clientCapabilities: declaredCapabilities(claims),
    caeToken: success && decision?.cae === true,
    lifetimeSeconds: success && typeof body.expires_in === 'number' ? body.expires_in : undefined,
    conditionalAccess: evaluation?.result.policies,
    result: success ? 'success' : 'failure',
    errorCode: success ? undefined : (stringParam(body.error) ?? `http_${view.status}`),
    failureReason: success ? undefined : stringParam(body.error_description),
    correlationId: state.correlationId,
  };
}

/** The value of a promise the request already awaited; undefined when it failed (the refusal says why). */
async function settled<T>(promise: Promise<T> | undefined): Promise<T | undefined> {
  try {
    return await promise;
  } catch {
    return undefined;
  }
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The client_id of an `Authorization: Basic` header (RFC 6749 §2.3.1: form-encoded), if any. */
function basicClientId(header: string | undefined): string | undefined {
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

interface TokenContext {
  status: number;
  body: unknown;
  req: import('node:http').IncomingMessage;
  get(header: string): string;
  oidc?: {
    params?: Record<string, unknown>;
    client?: { clientId: string };
    entities: { RefreshToken?: unknown; AuthorizationCode?: unknown };
  };
}

/**
 * Provider middleware for the token endpoint (see `onRoute`): every answered token request becomes a
 * sign-in log entry and a count.
 */
export function recordTokenRequests(recorder: SignInRecorder) {
  return async function recordTokenRequest(ctx: TokenContext, next: () => Promise<void>): Promise<void> {
    if (!recorder.enabled) return next();
    try {
      await next();
    } finally {
      const entities = ctx.oidc?.entities;
      recorder.recordLater(
        tokenRequestEntry(
          {
            status: ctx.status,
            body: ctx.body,
            params: ctx.oidc?.params,
            clientId: ctx.oidc?.client?.clientId,
            source: (entities?.RefreshToken ?? entities?.AuthorizationCode) as TokenRequestView['source'],
            authorization: ctx.get('authorization') || undefined,
          },
          requestStateOf(ctx),
        ),
      );
    }
  };
}
