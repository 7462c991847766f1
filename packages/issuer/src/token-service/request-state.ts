/**
 * What the token service learns about one HTTP request before oidc-provider sees it (the client IP,
 * the `claims` parameter of a token request) and what it decides while the provider runs (per API:
 * CAE or not, lifetime, grant). Keyed by the Node request object both sides share.
 */
import type { IncomingMessage } from 'node:http';
import type { ClaimsRequest } from '@opencae/protocol';
import type { ApiGrant, ApiState, ApplicationState } from './directory-reader.js';

export interface ResourceDecision {
  api: ApiState;
  grant: ApiGrant | undefined;
  cae: boolean;
  lifetimeSeconds: number;
}

export interface RequestState {
  /** The client IP as the issuer sees it (proxy headers applied only when trusted). */
  ip: string;
  /** The `claims` parameter sent on this token request, when there was one. */
  claims?: ClaimsRequest;
  /** A challenge's essential `nbf`: the new token's `iat`/`nbf` are not earlier. */
  notBefore?: number;
  decisions: Map<string, ResourceDecision>;
  application?: Promise<ApplicationState | undefined>;
}

const states = new WeakMap<IncomingMessage, RequestState>();

export function attachRequestState(
  req: IncomingMessage,
  state: Omit<RequestState, 'decisions'>,
): RequestState {
  const full = { ...state, decisions: new Map() };
  states.set(req, full);
  return full;
}

/** The state of the request behind a provider context; a request that bypassed the mount gets an empty one. */
export function requestStateOf(ctx: { req: IncomingMessage; ip?: string }): RequestState {
  let state = states.get(ctx.req);
  if (!state) {
    state = { ip: ctx.ip ?? ctx.req.socket?.remoteAddress ?? '', decisions: new Map() };
    states.set(ctx.req, state);
  }
  return state;
}
