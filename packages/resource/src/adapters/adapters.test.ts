import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIssuer } from '../../test/support/fake-issuer.js';
import { createResourceGuard } from '../guard.js';
import { caeAuth as expressCae } from './express.js';
import { caeFastify } from './fastify.js';
import { caeAuth as honoCae } from './hono.js';
import { createNodeGuard } from './node.js';

let issuer: FakeIssuer;
let token: string;
beforeAll(async () => {
  issuer = await FakeIssuer.start();
  token = await issuer.token();
});
afterAll(() => issuer.close());

const options = () => ({ issuer: issuer.url, audience: 'api://test' });

type Started = { url: string; close: () => Promise<void> };

/** Each adapter serves GET /me (the claims) behind the middleware and GET /health outside it where it can. */
const servers: Record<string, () => Promise<Started>> = {
  'node:http': async () => {
    const authenticate = createNodeGuard(options());
    const server = createServer(async (req, res) => {
      const auth = await authenticate(req, res);
      if (!auth) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(auth.claims));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await authenticate.guard.close();
      },
    };
  },
  express: async () => {
    const app = express();
    const middleware = expressCae(options());
    app.use(middleware);
    app.get('/me', (req, res) => {
      res.json(req.auth!.claims);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await middleware.guard.close();
      },
    };
  },
  fastify: async () => {
    const app = Fastify();
    await app.register(caeFastify, options());
    app.get('/me', async (request) => request.auth!.claims);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
  hono: async () => {
    const app = new Hono();
    const middleware = honoCae(options());
    app.use(middleware);
    app.get('/me', (c) => c.json(c.get('cae').claims));
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise((resolve) => server.close(resolve));
        await middleware.guard.close();
      },
    };
  },
};

describe.each(Object.keys(servers))('%s adapter', (name) => {
  let started: Started;
  beforeAll(async () => {
    started = await servers[name]!();
  });
  afterAll(() => started.close());

  it('serves the verified claims to a valid token', async () => {
    const response = await fetch(`${started.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ sub: 'user-1', iss: issuer.url });
  });

  it('answers a missing or bad token with 401, a challenge and a reason', async () => {
    const missing = await fetch(`${started.url}/me`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm=""');
    expect(await missing.json()).toMatchObject({ reason: 'missing_token' });
    const bad = await fetch(`${started.url}/me`, { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(bad.headers.get('content-type')).toContain('application/json');
    expect(await bad.json()).toMatchObject({ error: 'invalid_token', reason: 'token_malformed' });
  });
});

describe('fastify adapter options', () => {
  it('protects only routes that use caeAuthenticate when global is false, and shares a guard', async () => {
    const guard = createResourceGuard(options());
    const app = Fastify();
    await app.register(caeFastify, { guard, global: false });
    app.get('/public', async () => ({ open: true }));
    app.get('/me', { onRequest: app.caeAuthenticate }, async (request) => request.auth!.claims);
    try {
      expect((await app.inject({ url: '/public' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/me' })).statusCode).toBe(401);
      const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });
      expect(me.json()).toMatchObject({ sub: 'user-1' });
    } finally {
      await app.close();
      await guard.close();
    }
  });

  it('fails registration with a clear error on bad options', async () => {
    const app = Fastify();
    await expect(app.register(caeFastify, { issuer: 'nope', audience: 'x' }).ready()).rejects.toThrow(
      /issuer/,
    );
    await app.close();
  });
});
