/**
 * Admin routes of the logs (under /admin/v1, admin role or scope on urn:opencae:admin): the sign-in
 * log with filters and cursor pagination, one sign-in, the delivery log of security events, and the
 * overview the console opens on. Queries are validated with zod; errors answer like the rest of the
 * admin API.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { adminErrorHandler } from '../admin-api/error-handler.js';
import type { AdminOperation } from '../admin-api/route.js';
import { text as storableText } from '../admin-api/schemas.js';
import { requireAccessToken } from '../auth/require-token.js';
import { ADMIN_AUDIENCE, ADMIN_ROLE } from '../built-in-apis.js';
import type { IssuerContext } from '../context.js';
import { hasControlCharacter } from '../directory/directory-context.js';
import { listSecurityEvents, overview } from './delivery-log.js';
import { getSignIn, listSignIns, MAX_SIGN_IN_PAGE } from './sign-in-log-query.js';

const text = (max: number) =>
  storableText(max)
    .min(1)
    .refine((value) => !hasControlCharacter(value), 'must not contain control characters');
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const limit = z.coerce.number().int().min(1).max(MAX_SIGN_IN_PAGE).optional();

export const signInQuerySchema = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  principal: text(256).optional(),
  app: text(256).optional(),
  api: text(2048).optional(),
  correlation_id: text(128).optional(),
  cae: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  result: z.enum(['success', 'failure']).optional(),
  limit,
  cursor: text(512).optional(),
});

export const securityEventQuerySchema = z.strictObject({
  event_type: text(512).optional(),
  principal: text(256).optional(),
  include_stream_events: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
  limit,
  cursor: text(512).optional(),
});

/** The routes below, as the admin API's OpenAPI document lists them. */
export const LOGS_ADMIN_OPERATIONS: AdminOperation[] = [
  {
    method: 'GET',
    path: '/sign-ins',
    operationId: 'listSignIns',
    summary: 'List sign-ins, newest first, with filters and cursor pagination',
    tag: 'Logs',
    query: signInQuerySchema,
    status: 200,
  },
  {
    method: 'GET',
    path: '/sign-ins/:id',
    operationId: 'getSignIn',
    summary: 'Get one sign-in',
    tag: 'Logs',
    status: 200,
  },
  {
    method: 'GET',
    path: '/security-events',
    operationId: 'listSecurityEvents',
    summary: "List security events with each stream's delivery state and propagation time",
    tag: 'Logs',
    query: securityEventQuerySchema,
    status: 200,
  },
  {
    method: 'GET',
    path: '/overview',
    operationId: 'getOverview',
    summary: 'Recent critical events, stream health and sign-in counts of the last 24 hours',
    tag: 'Logs',
    status: 200,
  },
];

export function logsAdminRoutes(context: IssuerContext): FastifyPluginAsync {
  return async function logsAdmin(app: FastifyInstance) {
    app.setErrorHandler(adminErrorHandler);
    // onRequest: a request without a valid admin token is refused before anything is parsed.
    app.addHook(
      'onRequest',
      requireAccessToken(context.accessTokens, { audience: ADMIN_AUDIENCE, anyOf: [ADMIN_ROLE] }),
    );

    app.get('/sign-ins', async (request) => {
      const { correlation_id: correlationId, ...query } = signInQuerySchema.parse(request.query ?? {});
      return listSignIns(context.db, { ...query, correlationId });
    });
    app.get<{ Params: { id: string } }>('/sign-ins/:id', async (request) =>
      getSignIn(context.db, request.params.id),
    );
    app.get('/security-events', async (request) => {
      const query = securityEventQuerySchema.parse(request.query ?? {});
      return listSecurityEvents(context.db, {
        limit: query.limit,
        cursor: query.cursor,
        eventType: query.event_type,
        principal: query.principal,
        includeStreamEvents: query.include_stream_events,
      });
    });
    app.get('/overview', async () => overview(context.db));
  };
}
