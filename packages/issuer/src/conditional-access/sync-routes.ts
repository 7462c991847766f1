/**
 * GET /conditional-access/v1/location-policies?audience=<aud> — the location policy document a
 * resource enforces, with a strong ETag so the periodic refresh is a 304 when nothing changed.
 *
 * Authorization (least privilege): an access token for the Shared Signals API (`urn:opencae:ssf`) with
 * `ssf.read` (or `ssf.manage`, which includes reading). Resources already hold it as SSF receivers;
 * it reveals no more than they receive as events. A token whose audience is the API itself was
 * rejected: every client of the API holds such tokens (and the API sees them), so named locations and
 * assignments would leak to all of them.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { requireAccessToken } from '../auth/require-token.js';
import { SSF_AUDIENCE, SSF_MANAGE, SSF_READ } from '../built-in-apis.js';
import type { IssuerContext } from '../context.js';
import { ConditionalAccessError } from './errors.js';
import { conditionalAccessErrorHandler } from './http-errors.js';
import { conditionalAccessFor } from './service.js';

export const LOCATION_POLICIES_PATH = '/conditional-access/v1/location-policies';
export const LOCATION_POLICIES_PERMISSIONS = [SSF_READ, SSF_MANAGE] as const;

/** RFC 9110 §13.1.2: `*`, or a list of entity tags (weak comparison). */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}

export function locationPolicySyncRoutes(context: IssuerContext): FastifyPluginAsync {
  return async function locationPolicySync(app: FastifyInstance) {
    const service = conditionalAccessFor(context);
    app.setErrorHandler(conditionalAccessErrorHandler);
    app.get<{ Querystring: { audience?: unknown } }>(
      LOCATION_POLICIES_PATH,
      {
        onRequest: requireAccessToken(context.accessTokens, {
          audience: SSF_AUDIENCE,
          anyOf: LOCATION_POLICIES_PERMISSIONS,
        }),
      },
      async (request, reply) => {
        const audience = request.query.audience;
        if (typeof audience !== 'string' || audience.length === 0 || audience.length > 2048) {
          throw new ConditionalAccessError(
            'ERR_CA_INVALID',
            'the audience query parameter is required (one API audience)',
          );
        }
        const served = await service.locationPolicyDocument(audience);
        reply.header('etag', served.etag).header('cache-control', 'no-cache');
        if (matchesIfNoneMatch(request.headers['if-none-match'], served.etag)) return reply.code(304).send();
        return reply.type('application/json; charset=utf-8').send(served.body);
      },
    );
  };
}
