/**
 * Admin REST routes for named locations and policies (a Fastify plugin; the module registers it under
 * /admin/v1). CRUD only: validation, versioning, events and audit live in the store.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AdminOperation } from '../admin-api/route.js';
import { requireAccessToken } from '../auth/require-token.js';
import { ADMIN_AUDIENCE, ADMIN_ROLE } from '../built-in-apis.js';
import type { IssuerContext } from '../context.js';
import { ConditionalAccessError } from './errors.js';
import { conditionalAccessErrorHandler } from './http-errors.js';
import { type NamedLocationInput, namedLocationInputSchema } from './named-location.js';
import { type PolicyInput, policyInputSchema } from './policy.js';
import { conditionalAccessFor } from './service.js';
import type { ChangeReceipt } from './store.js';

/** 10,000+ ranges per named location do not fit the server's default 256 KiB body limit. */
export const NAMED_LOCATION_BODY_LIMIT = 8 * 1024 * 1024;
/** Response header carrying the policy version a change produced. */
export const POLICY_VERSION_HEADER = 'opencae-policy-version';

/** CRUD of one collection, as the admin API's OpenAPI document lists it. */
function crudOperations(
  path: string,
  names: { one: string; many: string; label: string; labels: string },
  body: AdminOperation['body'],
): AdminOperation[] {
  const tag = 'Conditional Access';
  const versioned = `; answers the policy version it produced in the ${POLICY_VERSION_HEADER} header`;
  return [
    {
      method: 'GET',
      path,
      operationId: `list${names.many}`,
      summary: `List ${names.labels}`,
      tag,
      status: 200,
    },
    {
      method: 'POST',
      path,
      operationId: `create${names.one}`,
      summary: `Create a ${names.label}${versioned}`,
      tag,
      body,
      status: 201,
    },
    {
      method: 'GET',
      path: `${path}/:id`,
      operationId: `get${names.one}`,
      summary: `Get a ${names.label}`,
      tag,
      status: 200,
    },
    {
      method: 'PUT',
      path: `${path}/:id`,
      operationId: `replace${names.one}`,
      summary: `Replace a ${names.label}${versioned}`,
      tag,
      body,
      status: 200,
    },
    {
      method: 'DELETE',
      path: `${path}/:id`,
      operationId: `delete${names.one}`,
      summary: `Delete a ${names.label}${versioned}`,
      tag,
      status: 204,
    },
  ];
}

/** The routes below, as the admin API's OpenAPI document lists them. */
export const CONDITIONAL_ACCESS_ADMIN_OPERATIONS: AdminOperation[] = [
  ...crudOperations(
    '/named-locations',
    { one: 'NamedLocation', many: 'NamedLocations', label: 'named location', labels: 'named locations' },
    namedLocationInputSchema,
  ),
  ...crudOperations(
    '/conditional-access/policies',
    {
      one: 'Policy',
      many: 'Policies',
      label: 'Conditional Access policy',
      labels: 'Conditional Access policies',
    },
    policyInputSchema,
  ),
];

function actorOf(request: FastifyRequest): string {
  const claims = request.accessToken;
  return String(claims?.azp ?? claims?.oid ?? claims?.sub ?? 'unknown');
}

function objectBody(request: FastifyRequest): unknown {
  if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) {
    throw new ConditionalAccessError('ERR_CA_INVALID', 'the request body must be a JSON object');
  }
  return request.body;
}

export function conditionalAccessAdminRoutes(context: IssuerContext): FastifyPluginAsync {
  return async function conditionalAccessAdmin(app: FastifyInstance) {
    const service = conditionalAccessFor(context);
    const store = service.store;
    app.setErrorHandler(conditionalAccessErrorHandler);
    // onRequest: a request without a valid admin token is refused before its body (up to 8 MiB) is read.
    app.addHook(
      'onRequest',
      requireAccessToken(context.accessTokens, { audience: ADMIN_AUDIENCE, anyOf: [ADMIN_ROLE] }),
    );

    const sendChange = <T>(reply: import('fastify').FastifyReply, receipt: ChangeReceipt<T>, status = 200) =>
      reply.code(status).header(POLICY_VERSION_HEADER, String(receipt.policyVersion)).send(receipt.value);

    // Named locations.
    app.get('/named-locations', async () => ({ items: await store.listNamedLocations() }));
    app.get<{ Params: { id: string } }>('/named-locations/:id', async (request) =>
      store.getNamedLocation(request.params.id),
    );
    app.post('/named-locations', { bodyLimit: NAMED_LOCATION_BODY_LIMIT }, async (request, reply) => {
      const receipt = await store.createNamedLocation(
        objectBody(request) as NamedLocationInput,
        actorOf(request),
      );
      return sendChange(reply.header('location', `named-locations/${receipt.value.id}`), receipt, 201);
    });
    app.put<{ Params: { id: string } }>(
      '/named-locations/:id',
      { bodyLimit: NAMED_LOCATION_BODY_LIMIT },
      async (request, reply) =>
        sendChange(
          reply,
          await store.replaceNamedLocation(
            request.params.id,
            objectBody(request) as NamedLocationInput,
            actorOf(request),
          ),
        ),
    );
    app.delete<{ Params: { id: string } }>('/named-locations/:id', async (request, reply) => {
      const receipt = await store.deleteNamedLocation(request.params.id, actorOf(request));
      return reply.code(204).header(POLICY_VERSION_HEADER, String(receipt.policyVersion)).send();
    });

    // Policies.
    app.get('/conditional-access/policies', async () => ({ items: await store.listPolicies() }));
    app.get<{ Params: { id: string } }>('/conditional-access/policies/:id', async (request) =>
      store.getPolicy(request.params.id),
    );
    app.post('/conditional-access/policies', async (request, reply) => {
      const receipt = await store.createPolicy(objectBody(request) as PolicyInput, actorOf(request));
      return sendChange(reply.header('location', `policies/${receipt.value.id}`), receipt, 201);
    });
    app.put<{ Params: { id: string } }>('/conditional-access/policies/:id', async (request, reply) =>
      sendChange(
        reply,
        await store.replacePolicy(request.params.id, objectBody(request) as PolicyInput, actorOf(request)),
      ),
    );
    app.delete<{ Params: { id: string } }>('/conditional-access/policies/:id', async (request, reply) => {
      const receipt = await store.deletePolicy(request.params.id, actorOf(request));
      return reply.code(204).header(POLICY_VERSION_HEADER, String(receipt.policyVersion)).send();
    });
  };
}
