/**
 * Mounts oidc-provider's endpoints in Fastify. Before the provider sees a request:
 * - token endpoint: the `claims` parameter is parsed and checked (size, shape, essential claims)
 *   and remembered for the token about to be minted; the provider itself ignores it there;
 * - authorization endpoint: a `claims` value with only `access_token` (what a CAE client sends) gets
 *   an empty `id_token` member, since oidc-provider refuses a claims request without `id_token` or
 *   `userinfo`; the provider then keeps the whole request with the code and its refresh tokens.
 */
import { type ClaimsRequest, ClaimsRequestError, parseClaimsRequest } from '@opencae/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { evaluateEssentialClaims } from './cae-rules.js';
import { TokenServiceError } from './errors.js';
import { isJsonObject as isPlainObject } from './json-object.js';
import { claimedClientId, extendRefreshTokenCoverage } from './multi-resource-refresh.js';
import { ROUTES } from './provider-configuration.js';
import type { ProviderHost } from './provider-host.js';
import { replay } from './provider-host.js';
import { attachRequestState } from './request-state.js';
import { withoutOfflineAccessOnRefresh } from './scopes.js';
import type { SignInRecorder } from './sign-in-recorder.js';

/** oidc-provider reads at most 56 KiB of a body; refuse bigger ones up front. */
const BODY_LIMIT = 56 * 1024;

export async function registerProviderRoutes(
  app: FastifyInstance,
  host: ProviderHost,
  options: { trustProxy: boolean; signIns: SignInRecorder },
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );

    const forward = async (request: FastifyRequest, reply: FastifyReply, url = request.raw.url ?? '/') => {
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      return forwardWith(request, reply, url, body, undefined);
    };

    const forwardWith = async (
      request: FastifyRequest,
      reply: FastifyReply,
      url: string,
      body: Buffer | undefined,
      extra: { claims?: ClaimsRequest; notBefore?: number; scope?: string; signOut?: boolean } | undefined,
    ) => {
      // Resolved once: behind a trusted proxy each read walks the forwarded chain again.
      const ip = request.ip;
      const copy = replay(request.raw, {
        url,
        body,
        protocol: request.protocol,
        host: request.host,
        ip,
        trustProxy: options.trustProxy,
      });
      attachRequestState(copy, {
        ip,
        correlationId: request.id,
        claims: extra?.claims,
        notBefore: extra?.notBefore,
        scope: extra?.scope,
        signOut: extra?.signOut,
      });
      reply.hijack();
      await host.handle(copy, reply.raw);
    };

    scope.post(ROUTES.token, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const form = new URLSearchParams(body.toString('utf8'));
      const values = form.getAll('claims');
      try {
        if (values.length > 1)
          throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'claims must be sent once');
        const claims = parseClaimsRequest(values[0]);
        const { notBefore } = evaluateEssentialClaims(claims, Math.floor(Date.now() / 1000));
        // A refresh as MSAL sends it: offline_access dropped, the refresh token extended to the API named.
        const refresh = isForm(request) && form.get('grant_type') === 'refresh_token';
        const rewritten = refresh ? withoutOfflineAccessOnRefresh(form) : undefined;
        if (refresh) {
          await extendRefreshTokenCoverage(
            await host.started(),
            host.directory,
            rewritten ?? form,
            claimedClientId(form, request.headers.authorization),
          );
        }
        const forwarded = rewritten ? Buffer.from(rewritten.toString()) : body;
        const scopeParameter = form.getAll('scope').length === 1 ? form.get('scope') : null;
        return await forwardWith(request, reply, request.raw.url ?? ROUTES.token, forwarded, {
          claims,
          notBefore,
          ...(scopeParameter ? { scope: scopeParameter } : {}),
        });
      } catch (error) {
        if (error instanceof ClaimsRequestError || error instanceof TokenServiceError) {
          const description = `invalid claims parameter: ${error.message}`;
          options.signIns.record({
            app: form.get('client_id') ? { clientId: form.get('client_id') as string } : undefined,
            grantType: form.get('grant_type') ?? undefined,
            issuerIp: request.ip,
            clientCapabilities: [],
            caeToken: false,
            result: 'failure',
            errorCode: 'invalid_request',
            failureReason: description,
            correlationId: request.id,
          });
          return reply
            .code(400)
            .header('cache-control', 'no-store')
            .send({ error: 'invalid_request', error_description: description });
        }
        throw error;
      }
    });

    const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
      const url = new URL(request.raw.url ?? '/', 'http://local');
      if (request.method === 'GET') {
        const rewritten = withIdTokenMember(url.searchParams.get('claims'));
        if (rewritten !== undefined && url.searchParams.getAll('claims').length === 1) {
          url.searchParams.set('claims', rewritten);
        }
        return forwardWith(request, reply, `${url.pathname}${url.search}`, undefined, undefined);
      }
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      const form = new URLSearchParams(body?.toString('utf8') ?? '');
      const rewritten = withIdTokenMember(form.get('claims'));
      if (rewritten !== undefined && form.getAll('claims').length === 1 && isForm(request)) {
        form.set('claims', rewritten);
        return forwardWith(request, reply, request.raw.url ?? '/', Buffer.from(form.toString()), undefined);
      }
      return forward(request, reply);
    };
    scope.route({ method: ['GET', 'POST'], url: ROUTES.authorization, handler: authorize });
    scope.route({ method: ['GET', 'POST'], url: `${ROUTES.authorization}/:uid`, handler: forward });

    for (const path of [ROUTES.introspection, ROUTES.revocation]) scope.post(path, forward);
    scope.route({ method: ['GET', 'POST'], url: ROUTES.userinfo, handler: forward });
    scope.route({ method: ['GET', 'POST'], url: ROUTES.end_session, handler: forward });
    scope.post(`${ROUTES.end_session}/confirm`, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      // logout=yes ends the whole session (oidc-provider checks the form's anti-forgery field).
      const signOut = isForm(request) && !!new URLSearchParams(body?.toString('utf8') ?? '').get('logout');
      return forwardWith(request, reply, request.raw.url ?? '/', body, { signOut });
    });
    scope.get(`${ROUTES.end_session}/success`, forward);
    scope.get('/.well-known/openid-configuration', forward);
  });

  // The JWKS comes straight from the key store, so a key another replica just created is published
  // at once, whatever this replica's provider has loaded.
  app.get(ROUTES.jwks, async (_request, reply) => {
    const jwks = await host.publishedJwks();
    return reply.header('cache-control', 'public, max-age=60').type('application/jwk-set+json').send(jwks);
  });
}

function isForm(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith('application/x-www-form-urlencoded');
}

/**
 * `{"access_token":{…}}` → `{"access_token":{…},"id_token":{}}`; undefined when nothing needs
 * changing or the value is not a JSON object (the provider then reports the error itself).
 */
export function withIdTokenMember(value: string | null): string | undefined {
  if (!value) return undefined;
  // Size is checked later by the provider hook, which reports it; here only the shape matters.
  let claims: unknown;
  try {
    claims = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isPlainObject(claims) || !isPlainObject(claims.access_token)) return undefined;
  if (claims.id_token !== undefined || claims.userinfo !== undefined) return undefined;
  return JSON.stringify({ ...claims, id_token: {} });
}
