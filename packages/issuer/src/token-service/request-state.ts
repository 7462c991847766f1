/**
 * What the token service learns about one HTTP request before oidc-provider sees it (the client IP,
 * the `claims` parameter of a token request) and what it decides while the provider runs (per API:
 * CAE or not, lifetime, grant). Keyed by the Node request object both sides share. Hooks that get no
 * provider context (client lookup, secret comparison) read the directory directly: its cache makes
 * that as cheap as a per-request memo, without the cost of an AsyncLocalStorage on every promise.
 */
import type { IncomingMessage } from 'node:http';
import type { ClaimsRequest } from '@opencae/protocol';
import type { IssuanceEvaluation } from '../conditional-access/service.js';
import type { ApiGrant, ApiState, ApplicationState, DirectoryReader, UserState } from './directory-reader.js';

export interface ResourceDecision {
  api: ApiState;
  grant: ApiGrant | undefined;
  cae: boolean;
  lifetimeSeconds: number;
  /** Conditional Access for this token (token endpoint only): claims to add, results to log. */
  conditionalAccess?: IssuanceEvaluation;
}

export interface RequestState {
  /** The client IP as the issuer sees it (proxy headers applied only when trusted). */
  ip: string;
  /** The `claims` parameter sent on this token request, when there was one. */
  claims?: ClaimsRequest;
  /**
   * The `scope` parameter of a token request as sent. oidc-provider drops it from an authorization_code
   * request, where MSAL sends it to say which of the code's APIs the access token is for.
   */
  scope?: string;
  /** A challenge's essential `nbf`: the new token's `iat`/`nbf` are not earlier. */
  notBefore?: number;
  /** The request id (Fastify's), logged as the sign-in log's correlation id. */
  correlationId?: string;
  /** The user whose code or refresh token is redeemed, once read (for the sign-in log). */
  user?: UserState;
  /** Conditional Access refused this token request (the refresh token stays good elsewhere). */
  blockedByConditionalAccess?: boolean;
  /** A logout confirmation with logout=yes: the whole issuer session ends (see sign-out.ts). */
  signOut?: boolean;
  decisions: Map<string, ResourceDecision>;
  /** Conditional Access evaluations of this token request, by API audience: one per API. */
  conditionalAccess: Map<string, Promise<IssuanceEvaluation>>;
  /** Applications read during this request, by client_id: read once, used by every hook. */
  applications: Map<string, Promise<ApplicationState | undefined>>;
}

/**
 * The state lives on the request object under a private symbol: it dies with the request, and costs
 * less than a WeakMap entry per request (measured: a few µs of the token endpoint's time).
 */
const STATE = Symbol('opencae.requestState');
type WithState = IncomingMessage & { [STATE]?: RequestState };

type KnownAtMount = Pick<RequestState, 'ip' | 'claims' | 'scope' | 'notBefore' | 'correlationId' | 'signOut'>;

/**
 * Every state has the same fields in the same order (one object shape), which keeps the reads of the
 * provider's hooks monomorphic; built without a spread for the same reason.
 */
function newRequestState(known: KnownAtMount): RequestState {
  return {
    ip: known.ip,
    claims: known.claims,
    scope: known.scope,
    notBefore: known.notBefore,
    correlationId: known.correlationId,
    user: undefined,
    blockedByConditionalAccess: undefined,
    signOut: known.signOut,
    decisions: new Map(),
    conditionalAccess: new Map(),
    applications: new Map(),
  };
}

export function attachRequestState(req: IncomingMessage, known: KnownAtMount): RequestState {
  const state = newRequestState(known);
  (req as WithState)[STATE] = state;
  return state;
}

/** The state of the request behind a provider context; a request that bypassed the mount gets an empty one. */
export function requestStateOf(ctx: { req: IncomingMessage; ip?: string }): RequestState {
  const req = ctx.req as WithState;
  let state = req[STATE];
  if (!state) {
    state = newRequestState({ ip: ctx.ip ?? ctx.req.socket?.remoteAddress ?? '' });
    req[STATE] = state;
  }
  return state;
}

/** The application behind `clientId`, read at most once per request (always fresh across requests). */
export function applicationForRequest(
  directory: DirectoryReader,
  clientId: string,
  state: RequestState,
): Promise<ApplicationState | undefined> {
  let application = state.applications.get(clientId);
  if (!application) {
    application = directory.applicationByClientId(clientId);
    state.applications.set(clientId, application);
  }
  return application;
}
