import type { Context, MiddlewareHandler } from 'hono';
import type { ResourceGuard } from '../guard.js';
import { type CaeAuth, type GuardSource, rejectionHeaders, toGuard } from './shared.js';

export type { CaeAuth } from './shared.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by the OpenCAE middleware on every request it lets through. */
    cae: CaeAuth;
  }
}

export interface CaeHonoOptions {
  /**
   * The socket peer address. Default: the Node.js socket under `@hono/node-server`
   * (`c.env.incoming`); on other runtimes supply it, or the client IP is unknown.
   */
  remoteAddress?: (c: Context) => string | undefined;
}

function nodeRemoteAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export type CaeHonoMiddleware = MiddlewareHandler & { readonly guard: ResourceGuard };

/** Hono middleware: `app.use(caeAuth({ issuer, audience }))`, then `c.get('cae').claims`. */
export function caeAuth(source: GuardSource, options: CaeHonoOptions = {}): CaeHonoMiddleware {
  const guard = toGuard(source);
  const remoteAddress = options.remoteAddress ?? nodeRemoteAddress;
  const middleware: MiddlewareHandler = async (c, next) => {
    const decision = await guard.verifyRequest({
      headers: c.req.raw.headers,
      remoteAddress: remoteAddress(c),
    });
    if (!decision.ok) {
      return c.body(JSON.stringify(decision.body), decision.status as 401, rejectionHeaders(decision));
    }
    c.set('cae', decision);
    await next();
  };
  return Object.assign(middleware, { guard });
}
