/**
 * `GET /metrics`: off without a token (404 saying how to turn it on), 401 without the right Bearer
 * token, the Prometheus text format with it; counters belong to their issuer, and the token never
 * reaches a log line.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIssuer, type Issuer } from '../server.js';
import { seedApi, seedApplication } from '../token-service/test-fixtures.js';

const ISSUER_URL = 'http://127.0.0.1:8080';
const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

const newToken = () => randomBytes(32).toString('base64url');

/** A silent-but-captured pino destination: every log line the issuer writes, at every level. */
function capturedLogger() {
  const lines: string[] = [];
  return { lines, logger: { level: 'trace', stream: { write: (line: string) => lines.push(line) } } };
}

async function scrape(issuer: Issuer, token: string | undefined) {
  const response = await issuer.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return response;
}

/** The value of one sample line (`name{labels} value`), or undefined when it is not exposed. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the metrics endpoint', () => {
  describe('without a metrics token', () => {
    let issuer: Issuer;
    beforeAll(async () => {
      issuer = await createIssuer({ issuerUrl: ISSUER_URL, dataDir: 'memory://', port: 0 }, { modules: [] });
    });
    afterAll(async () => {
      await issuer?.close();
    });

    it('answers 404 and says how to turn it on, whatever the request carries', async () => {
      for (const token of [undefined, 'anything-at-all-0123456789']) {
        const response = await scrape(issuer, token);
        expect(response.statusCode).toBe(404);
        expect(response.headers['cache-control']).toBe('no-store');
        expect(response.json()).toEqual({
          error: 'metrics_disabled',
          error_description: expect.stringMatching(/--metrics-token-file.*OPENCAE_METRICS_TOKEN/),
        });
      }
    });

    it('still gives modules a registry of their own issuer', () => {
      expect(issuer.context.metrics.getMetricsAsArray()).toEqual([]);
    });
  });

  describe('with a metrics token, on a complete issuer', () => {
    const token = newToken();
    const logs = capturedLogger();
    let issuer: Issuer;

    beforeAll(async () => {
      issuer = await createIssuer(
        { issuerUrl: ISSUER_URL, dataDir: 'memory://', port: 0, metricsToken: token },
        { logger: logs.logger },
      );
    });
    afterAll(async () => {
      await issuer?.close();
    });

    it('refuses a missing or wrong token with 401 and a Bearer challenge', async () => {
      const missing = await scrape(issuer, undefined);
      expect(missing.statusCode).toBe(401);
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer realm=/);
      expect(missing.headers['cache-control']).toBe('no-store');
      expect(missing.json()).toMatchObject({ error: 'invalid_request' });

      for (const wrong of [newToken(), `${token}x`, token.slice(0, -1), token.toUpperCase()]) {
        const response = await scrape(issuer, wrong);
        expect(response.statusCode).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
        expect(response.json()).toMatchObject({ error: 'invalid_token' });
        expect(response.body).not.toContain('opencae_');
      }
      const basic = await issuer.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Basic ${Buffer.from(`prometheus:${token}`).toString('base64')}` },
      });
      expect(basic.statusCode).toBe(401);
    });

    it('serves the Prometheus text format: process, HTTP, token, sign-in log and SSF metrics', async () => {
      await issuer.app.inject({ method: 'GET', url: '/no/such/path' });
      const response = await scrape(issuer, token);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(response.headers['cache-control']).toBe('no-store');
      for (const name of [
        'opencae_process_cpu_user_seconds_total',
        'opencae_nodejs_heap_size_used_bytes',
        'opencae_http_requests_total',
        'opencae_http_request_duration_seconds',
        'opencae_token_requests_total',
        'opencae_ssf_deliveries_total',
        'opencae_ssf_outbox_pending',
        'opencae_sign_in_log_written_total',
        'opencae_sign_in_log_dropped_total',
        'opencae_sign_in_log_write_failures_total',
      ])
        expect(response.body).toContain(`# TYPE ${name} `);
      // Unknown paths share one series: a scanner cannot create new ones.
      expect(
        sample(
          response.body,
          'opencae_http_requests_total{method="GET",route="unmatched",status_class="4xx"}',
        ),
      ).toBe(1);
      expect(sample(response.body, 'opencae_ssf_outbox_pending')).toBe(0);
      expect(response.body).not.toContain('/no/such/path');
    });

    it('counts token requests by grant type, result and CAE', async () => {
      const db = issuer.context.db;
      const api = await seedApi(db, { audience: 'api://metrics', caeEnabled: true, appRoles: ['Read.All'] });
      const app = await seedApplication(db, { grants: [{ api, roles: ['Read.All'] }] });
      const tokenRequest = (secret: string) =>
        issuer.app.inject({
          method: 'POST',
          url: '/token',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}`,
          },
          payload: new URLSearchParams({
            grant_type: 'client_credentials',
            scope: 'api://metrics/.default',
            claims: CP1,
          }).toString(),
        });
      expect((await tokenRequest(app.clientSecret!)).statusCode).toBe(200);
      expect((await tokenRequest('not the secret')).statusCode).toBe(401);

      const success =
        'opencae_token_requests_total{grant_type="client_credentials",result="success",cae="true"}';
      // Counted from the sign-in recorder's entry, built just after the response.
      await expect.poll(async () => sample((await scrape(issuer, token)).body, success)).toBe(1);
      const metrics = (await scrape(issuer, token)).body;
      const failures = metrics
        .split('\n')
        .filter(
          (line) => line.startsWith('opencae_token_requests_total{') && line.includes('result="failure"'),
        );
      expect(failures).toEqual([expect.stringMatching(/cae="false"\} 1$/)]);
      // Client ids never become label values.
      expect(metrics).not.toContain(app.clientId);
      expect(
        sample(metrics, 'opencae_http_requests_total{method="POST",route="/token",status_class="2xx"}'),
      ).toBe(1);
    });

    it('never writes the token to a log line', async () => {
      await scrape(issuer, token);
      await scrape(issuer, `${token}x`);
      await scrape(issuer, undefined);
      expect(logs.lines.length).toBeGreaterThan(0);
      expect(logs.lines.join('')).toContain('/metrics');
      expect(logs.lines.join('')).not.toContain(token);
    });
  });

  it('keeps each issuer its own counters', async () => {
    const [a, b] = await Promise.all(
      [newToken(), newToken()].map((metricsToken) =>
        createIssuer(
          { issuerUrl: ISSUER_URL, dataDir: 'memory://', port: 0, metricsToken },
          { modules: [] },
        ).then((issuer) => ({ issuer, metricsToken })),
      ),
    );
    try {
      expect(a!.issuer.context.metrics).not.toBe(b!.issuer.context.metrics);
      for (let i = 0; i < 3; i++) await a!.issuer.app.inject({ method: 'GET', url: '/nothing-here' });
      await b!.issuer.app.inject({ method: 'GET', url: '/nothing-here' });
      const series = 'opencae_http_requests_total{method="GET",route="unmatched",status_class="4xx"}';
      expect(sample((await scrape(a!.issuer, a!.metricsToken)).body, series)).toBe(3);
      expect(sample((await scrape(b!.issuer, b!.metricsToken)).body, series)).toBe(1);
      // Each answers only its own token.
      expect((await scrape(a!.issuer, b!.metricsToken)).statusCode).toBe(401);
    } finally {
      await Promise.all([a?.issuer.close(), b?.issuer.close()]);
    }
  });

  it('refuses a weak or malformed token without quoting it', async () => {
    for (const metricsToken of ['short-secret', 'has spaces in it 0123456789', 'quote"d-0123456789abcdef']) {
      const error = await createIssuer({ issuerUrl: ISSUER_URL, dataDir: 'memory://', metricsToken }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/metricsToken/);
      expect((error as Error).message).not.toContain(metricsToken);
    }
  });
});
