/**
 * Request counts and latencies of the issuer's HTTP endpoints. Labels stay few and bounded: the route
 * pattern Fastify matched (`/ssf/poll/:streamId`, never the stream id), "unmatched" for everything
 * else (a scanner's random paths must not create series), a known method or "other", and the status
 * class.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { counterOn, histogramOn } from './registered.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Up to 60 s: SSF long polls wait up to 30 s by default. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = counterOn(registry, {
    name: 'opencae_http_requests_total',
    help: 'HTTP requests answered, by method, matched route pattern and status class',
    labelNames: ['method', 'route', 'status_class'],
  });
  const duration = histogramOn(registry, {
    name: 'opencae_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to the end of its response, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: DURATION_BUCKETS,
  });
  app.addHook('onResponse', async (request, reply) => {
    const method = METHODS.has(request.method) ? request.method : 'other';
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method, route, status_class: `${Math.floor(reply.statusCode / 100)}xx` });
    duration.observe({ method, route }, reply.elapsedTime / 1000);
  });
}
