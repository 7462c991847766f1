/**
 * The OpenAPI 3.1 document of the admin API, generated from the routes' zod schemas: the directory's
 * routes and the operations other modules serve under /admin/v1 (`IssuerContext.adminOperations`).
 */
import { z } from 'zod';
import { type AdminOperation, successStatus } from './route.js';
import { errorResponse } from './schemas.js';

type JsonObject = Record<string, unknown>;

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid input',
  '401': 'Missing or invalid access token',
  '403': 'The token lacks the admin role',
  '404': 'Unknown object',
  '409': 'Conflict with existing state',
  '413': 'Request body too large',
};

/** Converts a schema, moving named schemas (`.meta({ id })`) into components. */
function convert(schema: z.ZodType, io: 'input' | 'output', components: JsonObject): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonObject;
  const { $schema: _schema, $defs, ...rest } = json;
  const rewrite = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonObject;
  for (const [id, definition] of Object.entries(($defs ?? {}) as JsonObject))
    components[id] ??= rewrite(definition);
  return rewrite(rest);
}

export function buildOpenApiDocument(
  routes: readonly AdminOperation[],
  options: { serverUrl: string },
): JsonObject {
  const components: JsonObject = {};
  const paths: Record<string, JsonObject> = {};
  const errorSchema = convert(errorResponse, 'output', components);
  for (const definition of routes) {
    const path = definition.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: JsonObject[] = [...definition.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
      description: 'An id, or the unique name of the object (URL-encoded)',
    }));
    if (definition.query) {
      const query = convert(definition.query, 'input', components);
      const required = new Set((query.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonObject>)) {
        const { description, ...rest } = schema;
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          schema: rest,
          ...(description ? { description } : {}),
        });
      }
    }
    const status = String(successStatus(definition));
    const responses: JsonObject = {
      [status]: definition.response
        ? {
            description: 'Success',
            content: { 'application/json': { schema: convert(definition.response, 'output', components) } },
          }
        : status === '204'
          ? { description: 'Success, no content' }
          : { description: 'Success', content: { 'application/json': {} } },
    };
    for (const [code, description] of Object.entries(ERROR_STATUSES))
      responses[code] = { description, content: { 'application/json': { schema: errorSchema } } };
    const operation: JsonObject = {
      operationId: definition.operationId,
      summary: definition.summary,
      tags: [definition.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(definition.body
        ? {
            requestBody: {
              required: !definition.body.safeParse(undefined).success,
              content: { 'application/json': { schema: convert(definition.body, 'input', components) } },
            },
          }
        : {}),
      responses,
    };
    paths[path] ??= {};
    paths[path][definition.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OpenCAE admin API',
      version: '1',
      description:
        'Directory administration and critical actions, Conditional Access, the sign-in and delivery logs, Shared Signals streams. Every operation needs an access token from this issuer with audience urn:opencae:admin and the admin role (client credentials: scope urn:opencae:admin/.default).',
    },
    servers: [{ url: options.serverUrl }],
    security: [{ oauth2: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: `${options.serverUrl.replace(/\/admin\/v1$/, '')}/token`,
              scopes: { 'urn:opencae:admin/.default': 'The admin role granted to the application' },
            },
          },
        },
      },
    },
  };
}
