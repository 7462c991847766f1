/**
 * The admin REST API (/admin/v1) as a Fastify plugin: a thin adapter that validates input with the
 * routes' zod schemas, calls the directory services and maps their errors. Authorized by this issuer's
 * own access tokens (audience urn:opencae:admin, role or scope `admin`), checked before the body is read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessTokenClaims } from '../auth/access-token-verifier.js';
import { requireAccessToken } from '../auth/require-token.js';
import { ADMIN_AUDIENCE, ADMIN_ROLE } from '../built-in-apis.js';
import type { IssuerContext } from '../context.js';
import { ValidationError } from '../directory/errors.js';
import { adminErrorHandler } from './error-handler.js';
import { buildOpenApiDocument } from './openapi.js';
import { type AdminRoute, successStatus } from './route.js';
import { adminRoutes } from './routes/index.js';
import { reference } from './schemas.js';

export const ADMIN_API_PREFIX = '/admin/v1';
/** Admin bodies are small (the largest is a JWKS); anything bigger is refused with 413. */
export const ADMIN_BODY_LIMIT = 64 * 1024;

/** Who the audit log names: the user of a delegated token, else the client (application) id. */
export function actorOf(claims: AccessTokenClaims | undefined): string {
  if (!claims) return 'unknown';
  if (claims.idtyp === 'user' && typeof claims.sub === 'string') return claims.sub;
  return typeof claims.azp === 'string' ? claims.azp : (claims.sub ?? 'unknown');
}

export async function registerAdminApi(app: FastifyInstance, context: IssuerContext): Promise<void> {
  // Built at the first request, once every module has added the operations it serves itself.
  let openApi: Record<string, unknown> | undefined;
  const openApiDocument = () =>
    (openApi ??= buildOpenApiDocument([...adminRoutes, ...context.adminOperations], {
      serverUrl: `${context.config.issuerUrl}${ADMIN_API_PREFIX}`,
    }));
  await app.register(
    async (scope) => {
      scope.setErrorHandler(adminErrorHandler);
      scope.setNotFoundHandler((request, reply) =>
        reply.code(404).send({
          error: 'not_found',
          error_description: `no admin API operation ${request.method} ${request.url.split('?')[0]}`,
        }),
      );
      // The document describes the API; it holds no data, so it is public like discovery.
      scope.get('/openapi.json', async () => openApiDocument());
      await scope.register(async (secured) => {
        const guard = requireAccessToken(context.accessTokens, {
          audience: ADMIN_AUDIENCE,
          anyOf: [ADMIN_ROLE],
        });
        secured.addHook('onRequest', guard);
        for (const definition of adminRoutes) addRoute(secured, definition, context);
      });
    },
    { prefix: ADMIN_API_PREFIX },
  );
}

function addRoute(scope: FastifyInstance, definition: AdminRoute, context: IssuerContext): void {
  const status = successStatus(definition);
  scope.route({
    method: definition.method,
    url: definition.path,
    bodyLimit: ADMIN_BODY_LIMIT,
    handler: async (request: FastifyRequest, reply) => {
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, string>)) {
        if (!reference.safeParse(value).success)
          throw new ValidationError(`the ${name} in the path is not an acceptable reference`, name);
        params[name] = value;
      }
      const query = definition.query ? definition.query.parse(request.query ?? {}) : undefined;
      const body = definition.body ? definition.body.parse(request.body) : undefined;
      const result = await definition.handler({
        params,
        query,
        body,
        db: context.db,
        directory: { db: context.db, issuer: context.config.issuerUrl, actor: actorOf(request.accessToken) },
        keys: context.keys,
        config: context.config,
      });
      reply.code(status);
      if (status === 204) return reply.send();
      return reply.send(result);
    },
  });
}
