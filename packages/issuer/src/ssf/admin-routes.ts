/**
 * Administrator routes of the transmitter, under /admin/v1 (admin role on urn:opencae:admin): streams
 * with their delivery counts, a stream's failed and dead-lettered deliveries, and their replay. Stream
 * secrets (authorization_header) are never returned here.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminOperation } from '../admin-api/route.js';
import type { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { requireAccessToken } from '../auth/require-token.js';
import { ADMIN_AUDIENCE, ADMIN_ROLE } from '../built-in-apis.js';
import type { Db } from '../storage/database.js';
import type { SsfDeliveryState } from '../storage/schema.js';
import { listDeliveries, replayDeliveries } from './dead-letters.js';

const STATES = ['pending', 'delivered', 'acknowledged', 'failed', 'dead_letter'] as const;
const UUID = z.uuid();

const replayBody = z
  .object({
    ids: z.array(z.string().regex(/^\d+$/)).max(1000).optional(),
    states: z
      .array(z.enum(['dead_letter', 'failed']))
      .min(1)
      .optional(),
  })
  .strict();

/** The routes below, as the admin API's OpenAPI document lists them. */
export const SSF_ADMIN_OPERATIONS: AdminOperation[] = [
  {
    method: 'GET',
    path: '/streams',
    operationId: 'listStreams',
    summary: 'List the Shared Signals streams with their delivery counts by state',
    tag: 'Streams',
    status: 200,
  },
  {
    method: 'GET',
    path: '/streams/:streamId/deliveries',
    operationId: 'listStreamDeliveries',
    summary: "List a stream's deliveries in the given states (default: failed and dead-lettered)",
    tag: 'Streams',
    query: z.strictObject({
      state: z
        .string()
        .optional()
        .describe(`Comma-separated states among ${STATES.join(', ')}`),
    }),
    status: 200,
  },
  {
    method: 'POST',
    path: '/streams/:streamId/deliveries/replay',
    operationId: 'replayStreamDeliveries',
    summary: 'Queue failed or dead-lettered deliveries of a stream again (by id or by state)',
    tag: 'Streams',
    body: replayBody,
    status: 200,
  },
];

export async function registerSsfAdminRoutes(
  app: FastifyInstance,
  options: { db: Db; accessTokens: AccessTokenVerifier; basePath: string },
): Promise<void> {
  const { db } = options;
  await app.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode;
      if (status && status < 500)
        return reply
          .code(status)
          .send({ error: 'invalid_request', error_description: (error as Error).message });
      request.log.error({ err: error }, 'SSF admin request failed');
      return reply.code(500).send({ error: 'server_error', error_description: 'the request failed' });
    });
    const admin = requireAccessToken(options.accessTokens, { audience: ADMIN_AUDIENCE, anyOf: [ADMIN_ROLE] });
    const base = `${options.basePath}/admin/v1/streams`;
    const notFound = { error: 'not_found', error_description: 'no such stream' };

    scope.get(base, { onRequest: admin }, async () => {
      const streams = await db
        .selectFrom('ssf_streams')
        .select([
          'id',
          'owner_client_id',
          'delivery_method',
          'endpoint_url',
          'status',
          'status_reason',
          'description',
          'created_at',
        ])
        .orderBy('created_at')
        .execute();
      const counts = await db
        .selectFrom('ssf_deliveries')
        .select(['stream_id', 'state', (eb) => eb.fn.countAll<string>().as('count')])
        .groupBy(['stream_id', 'state'])
        .execute();
      return streams.map((stream) => ({
        ...stream,
        deliveries: Object.fromEntries(
          counts.filter((row) => row.stream_id === stream.id).map((row) => [row.state, Number(row.count)]),
        ),
      }));
    });

    scope.get<{ Params: { streamId: string }; Querystring: { state?: string } }>(
      `${base}/:streamId/deliveries`,
      { onRequest: admin },
      async (request, reply) => {
        if (!UUID.safeParse(request.params.streamId).success) return reply.code(404).send(notFound);
        const requested = (request.query.state ?? 'dead_letter,failed').split(',');
        if (!requested.every((state) => (STATES as readonly string[]).includes(state)))
          return reply.code(400).send({
            error: 'invalid_request',
            error_description: `state must be among ${STATES.join(', ')}`,
          });
        return listDeliveries(db, request.params.streamId, requested as SsfDeliveryState[]);
      },
    );

    scope.post<{ Params: { streamId: string } }>(
      `${base}/:streamId/deliveries/replay`,
      { onRequest: admin },
      async (request, reply) => {
        if (!UUID.safeParse(request.params.streamId).success) return reply.code(404).send(notFound);
        const parsed = replayBody.safeParse(request.body ?? {});
        if (!parsed.success)
          return reply
            .code(400)
            .send({ error: 'invalid_request', error_description: z.prettifyError(parsed.error) });
        const stream = await db
          .selectFrom('ssf_streams')
          .select('id')
          .where('id', '=', request.params.streamId)
          .executeTakeFirst();
        if (!stream) return reply.code(404).send(notFound);
        const replayed = await replayDeliveries(db, stream.id, {
          ...(parsed.data.ids ? { ids: parsed.data.ids } : {}),
          ...(parsed.data.states ? { states: parsed.data.states } : {}),
        });
        return { replayed };
      },
    );
  });
}
