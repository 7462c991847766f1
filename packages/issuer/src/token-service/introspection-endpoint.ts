/**
 * The introspection endpoint's answer for JWT access tokens. oidc-provider authenticates the caller
 * (every client authentication method it supports) and then refuses any JWT with
 * `unsupported_token_type`, as it stores none; this middleware, around the provider, replaces exactly
 * that refusal, for an authenticated caller, by the AccessTokenIntrospector's answer. Everything else
 * (failed client authentication, missing token, opaque refresh tokens) stays the provider's.
 */
import type { AccessTokenIntrospector } from './access-token-introspection.js';

interface IntrospectionContext {
  status: number;
  body: unknown;
  type: string;
  oidc?: {
    client?: { clientId: string; clientAuthMethod: string };
    params?: { token?: unknown };
  };
}

/** Provider middleware for the introspection endpoint (see `onRoute`). */
export function jwtIntrospection(introspector: AccessTokenIntrospector) {
  return async function answerJwtIntrospection(
    ctx: IntrospectionContext,
    next: () => Promise<void>,
  ): Promise<void> {
    await next();
    const refused = ctx.body as { error?: unknown } | undefined;
    if (ctx.status !== 400 || refused?.error !== 'unsupported_token_type') return;
    const client = ctx.oidc?.client;
    const token = ctx.oidc?.params?.token;
    if (!client || typeof token !== 'string') return;
    const answer = await introspector.introspect(token, {
      clientId: client.clientId,
      authMethod: client.clientAuthMethod,
    });
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = answer;
  };
}
