import { SET_MAX_LENGTH } from '@opencae/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import type { ResourceGuard } from '../guard.js';
import { parseOptions, type ResourceOptions } from '../options.js';
import type { PushRequest, PushResponse } from '../receiver/push-handler.js';
import { type CaeAuth, rejectionHeaders, toGuard } from './shared.js';

export type { CaeAuth } from './shared.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the OpenCAE hook on every request it lets through; null before (or on unprotected routes). */
    auth: CaeAuth | null;
  }
  interface FastifyInstance {
    /** The OpenCAE check as an onRequest hook, for routes protected one by one (`global: false`). */
    caeAuthenticate: onRequestAsyncHookHandler;
  }
}

export type CaeFastifyOptions = (ResourceOptions | { guard: ResourceGuard }) & {
  /** Protect every route of the scope the plugin is registered in (default), or only routes using `caeAuthenticate`. */
  global?: boolean;
};

const pluginOptionsSchema = z.looseObject({ global: z.boolean().default(true) });

/**
 * Fastify plugin: `await app.register(caeFastify, { issuer, audience })`, then `request.auth!.claims`.
 * Like a `fastify-plugin`, it is not encapsulated: its hook covers the scope it is registered in.
 */
export async function caeFastify(fastify: FastifyInstance, options: CaeFastifyOptions): Promise<void> {
  const { global } = parseOptions(pluginOptionsSchema, options, 'Fastify plugin');
  const { global: _global, ...rest } = options as CaeFastifyOptions & Record<string, unknown>;
  const ownGuard = !('guard' in rest);
  const guard = toGuard('guard' in rest ? (rest.guard as ResourceGuard) : (rest as ResourceOptions));

  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await guard.verifyRequest({
      headers: request.headers,
      remoteAddress: request.raw.socket.remoteAddress,
    });
    if (decision.ok) {
      request.auth = decision;
      return;
    }
    return reply
      .code(decision.status)
      .headers(rejectionHeaders(decision))
      .send(JSON.stringify(decision.body));
  };

  fastify.decorateRequest('auth', null);
  fastify.decorate('caeAuthenticate', authenticate);
  if (global) fastify.addHook('onRequest', authenticate);
  if (ownGuard) fastify.addHook('onClose', () => guard.close());
}

// What fastify-plugin does: register into the parent scope instead of a new encapsulated one.
Object.assign(caeFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@opencae/resource',
});

/** The part of a receiver a push endpoint needs. */
export interface PushReceiver {
  handlePush(request: PushRequest): Promise<PushResponse>;
}

/**
 * Mounts the RFC 8935 push endpoint: `await app.register(ssfPushRoute, { receiver, path: '/ssf/push' })`.
 * Register it outside the scope protected by `caeFastify` (the transmitter authenticates with the
 * stream's authorization header, not an access token).
 */
export async function ssfPushRoute(
  fastify: FastifyInstance,
  options: { receiver: PushReceiver; path: string },
): Promise<void> {
  fastify.addContentTypeParser(
    'application/secevent+jwt',
    { parseAs: 'string', bodyLimit: SET_MAX_LENGTH },
    (_request, body, done) => done(null, body),
  );
  fastify.post(options.path, async (request, reply) => {
    const body = typeof request.body === 'string' ? request.body : undefined;
    const response = await options.receiver.handlePush({ headers: request.headers, body });
    reply.code(response.status).headers(response.headers);
    return response.body === undefined ? reply.send() : reply.send(response.body);
  });
}
