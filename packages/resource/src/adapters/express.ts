import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ResourceGuard } from '../guard.js';
import { type CaeAuth, type GuardSource, rejectionHeaders, toGuard } from './shared.js';

export type { CaeAuth } from './shared.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by the OpenCAE middleware on every request it lets through. */
      auth?: CaeAuth;
    }
  }
}

export type CaeExpressMiddleware = RequestHandler & { readonly guard: ResourceGuard };

/**
 * Express middleware: `app.use(caeAuth({ issuer, audience }))`, then `req.auth!.claims` in handlers.
 * The client IP comes from the socket and the guard's own `trustedProxies` (Express's `trust proxy`
 * setting is not consulted, so the two cannot disagree silently).
 */
export function caeAuth(source: GuardSource): CaeExpressMiddleware {
  const guard = toGuard(source);
  const middleware = (req: Request, res: Response, next: NextFunction) => {
    guard
      .verifyRequest({ headers: req.headers, remoteAddress: req.socket.remoteAddress })
      .then((decision) => {
        if (decision.ok) {
          req.auth = decision;
          return next();
        }
        res.status(decision.status).set(rejectionHeaders(decision)).send(JSON.stringify(decision.body));
      }, next);
  };
  return Object.assign(middleware, { guard });
}
