/**
 * Tells a client what to do when a refresh token is refused, in the `suberror` member Entra ID puts on
 * token errors and Microsoft's MSAL libraries act on:
 * - `bad_token`: the refresh token will never work again (session revoked, user disabled, password
 *   reset, token expired...). MSAL raises InteractionRequiredAuthError and drops the refresh token, so
 *   the application signs the user in again instead of retrying a dead token.
 * - `message_only`: Conditional Access blocked this request (e.g. from an untrusted network). MSAL
 *   raises InteractionRequiredAuthError but keeps the refresh token, which works again where the
 *   policies allow it.
 * Other clients ignore the member (RFC 6749 §5.2 allows additional parameters).
 */
import { requestStateOf } from './request-state.js';

export type RefreshSubError = 'bad_token' | 'message_only';

interface TokenContext {
  body: unknown;
  req: Parameters<typeof requestStateOf>[0]['req'];
  oidc?: { params?: { grant_type?: unknown } };
}

/** Provider middleware for the token endpoint (see `onRoute`). */
export function refreshRefusalSubErrors() {
  return async (ctx: TokenContext, next: () => Promise<void>): Promise<void> => {
    await next();
    if (ctx.oidc?.params?.grant_type !== 'refresh_token') return;
    const body = ctx.body as { error?: unknown } | undefined;
    if (body?.error !== 'invalid_grant') return;
    const suberror: RefreshSubError = requestStateOf(ctx).blockedByConditionalAccess
      ? 'message_only'
      : 'bad_token';
    ctx.body = { ...body, suberror };
  };
}
