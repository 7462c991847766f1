/**
 * Guards the issuer's own APIs with its own OAuth tokens (RFC 6750): the admin API, the Shared Signals
 * stream management API and the policy sync endpoint. A token passes when its audience matches and it
 * carries one of the accepted permissions, as an app role (`roles`) or a delegated scope (`scp`).
 * Registered as an `onRequest` hook: a request without a valid token is refused before its body is read.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import {
  type AccessTokenClaims,
  type AccessTokenVerifier,
  InvalidAccessTokenError,
} from './access-token-verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified access token, set by requireAccessToken. */
    accessToken?: AccessTokenClaims;
  }
}

export interface RequireTokenOptions {
  audience: string;
  /** The request passes with any one of these (as a role or a scope). */
  anyOf: readonly string[];
  realm?: string;
}

export function permissionsOf(claims: AccessTokenClaims): Set<string> {
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((role) => typeof role === 'string') : [];
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  return new Set([...roles, ...scopes]);
}

export function requireAccessToken(
  verifier: AccessTokenVerifier,
  options: RequireTokenOptions,
): onRequestAsyncHookHandler {
  const realm = options.realm ?? 'opencae';
  return async function requireAccessTokenHandler(request: FastifyRequest, reply: FastifyReply) {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      return deny(
        reply,
        401,
        `Bearer realm="${realm}"`,
        'invalid_request',
        'a Bearer access token is required',
      );
    }
    let claims: AccessTokenClaims;
    try {
      claims = await verifier.verify(token, options.audience);
    } catch (error) {
      const description =
        error instanceof InvalidAccessTokenError ? error.message : 'the access token is invalid';
      return deny(reply, 401, `Bearer realm="${realm}", error="invalid_token"`, 'invalid_token', description);
    }
    const granted = permissionsOf(claims);
    if (!options.anyOf.some((permission) => granted.has(permission))) {
      const scope = options.anyOf.join(' ');
      return deny(
        reply,
        403,
        `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`,
        'insufficient_scope',
        `the access token needs one of: ${scope}`,
      );
    }
    request.accessToken = claims;
  };
}

/** RFC 6750 §2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}

function deny(reply: FastifyReply, status: number, challenge: string, error: string, description: string) {
  return reply
    .code(status)
    .header('www-authenticate', challenge)
    .send({ error, error_description: description });
}
