/**
 * The OpenAPI document covers the whole admin API: the directory's routes and the operations other
 * modules serve under /admin/v1 with routes of their own (Conditional Access, logs, streams).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuerModule } from '../context.js';
import { issuerModules } from '../modules.js';
import { createIssuer, type Issuer } from '../server.js';

describe('admin API OpenAPI document', () => {
  let issuer: Issuer;
  const served = new Set<string>();

  beforeAll(async () => {
    // First in the list: its hook sees every route the other modules add.
    const routeCollector: IssuerModule = {
      name: 'route-collector',
      async register(app) {
        app.addHook('onRoute', (route) => {
          for (const method of [route.method].flat()) served.add(`${method} ${route.url}`);
        });
      },
    };
    issuer = await createIssuer(
      { issuerUrl: 'https://issuer.opencae.test', dataDir: 'memory://', port: 0 },
      { modules: [routeCollector, ...issuerModules()] },
    );
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it('describes every route under /admin/v1, and nothing that is not served', async () => {
    const response = await issuer.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as { paths: Record<string, Record<string, { operationId: string }>> };
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} /admin/v1${path.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`,
        ),
      ),
    );
    const adminRoutes = [...served].filter(
      (route) =>
        / \/admin\/v1\//.test(route) && !route.startsWith('HEAD ') && !route.endsWith('/openapi.json'),
    );
    expect(adminRoutes.length).toBeGreaterThan(40);
    expect(adminRoutes.filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !served.has(route))).toEqual([]);
    const operationIds = Object.values(document.paths).flatMap((operations) =>
      Object.values(operations).map((operation) => operation.operationId),
    );
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it('documents the module operations with their schemas', async () => {
    const document = (await issuer.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' })).json();
    const signIns = document.paths['/sign-ins'].get;
    expect(signIns.parameters.map((parameter: { name: string }) => parameter.name)).toContain(
      'correlation_id',
    );
    const created = document.paths['/named-locations'].post;
    expect(Object.keys(created.responses)).toContain('201');
    expect(JSON.stringify(created.requestBody)).toContain('ranges');
    expect(Object.keys(document.paths['/conditional-access/policies/{id}'].delete.responses)).toContain(
      '204',
    );
    expect(
      JSON.stringify(document.paths['/streams/{streamId}/deliveries/replay'].post.requestBody),
    ).toContain('states');
  });
});
