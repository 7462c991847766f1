/**
 * `GET /metrics`: the issuer's registry in the Prometheus text format, for a scraper holding the
 * metrics token (`Authorization: Bearer …`). Without a configured token the endpoint answers 404 and
 * nothing is measured per request: process metrics and the HTTP hook cost nothing when off.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { registerHttpMetrics } from './http-metrics.js';
import { ScrapeToken } from './scrape-token.js';

export const METRICS_PATH = '/metrics';
const REALM = 'opencae-metrics';

export interface MetricsEndpointOptions {
  registry: Registry;
  /** The scrape token; undefined turns the endpoint off. */
  token: string | undefined;
}

export function registerMetricsEndpoint(app: FastifyInstance, options: MetricsEndpointOptions): void {
  const { registry } = options;
  const token = options.token === undefined ? undefined : new ScrapeToken(options.token);
  if (token) {
    collectDefaultMetrics({ register: registry, prefix: 'opencae_' });
    registerHttpMetrics(app, registry);
  }

  app.get(METRICS_PATH, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!token)
      return refuse(
        reply,
        404,
        'metrics_disabled',
        'the metrics endpoint is disabled: start the issuer with --metrics-token-file <file> or OPENCAE_METRICS_TOKEN (library: config.metricsToken)',
      );
    const check = token.check(request.headers.authorization);
    if (check === 'missing') {
      reply.header('www-authenticate', `Bearer realm="${REALM}"`);
      return refuse(reply, 401, 'invalid_request', 'the metrics token is required (Authorization: Bearer …)');
    }
    if (check === 'invalid') {
      reply.header('www-authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
      return refuse(reply, 401, 'invalid_token', 'the metrics token is not valid');
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

function refuse(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.code(status).send({ error, error_description: description });
}
