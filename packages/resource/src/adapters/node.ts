import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceGuard } from '../guard.js';
import { type CaeAuth, type GuardSource, rejectionHeaders, toGuard } from './shared.js';

export type { CaeAuth } from './shared.js';

/** Authenticates a node:http request: resolves to the auth on success; otherwise has answered and resolves undefined. */
export interface NodeCaeGuard {
  (req: IncomingMessage, res: ServerResponse): Promise<CaeAuth | undefined>;
  readonly guard: ResourceGuard;
}

/**
 * ```ts
 * const authenticate = createNodeGuard({ issuer, audience });
 * createServer(async (req, res) => {
 *   const auth = await authenticate(req, res);
 *   if (!auth) return;
 *   res.end(JSON.stringify(auth.claims));
 * });
 * ```
 */
export function createNodeGuard(source: GuardSource): NodeCaeGuard {
  const guard = toGuard(source);
  const authenticate = async (req: IncomingMessage, res: ServerResponse): Promise<CaeAuth | undefined> => {
    const decision = await guard.verifyRequest({
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
    });
    if (decision.ok) return { claims: decision.claims, token: decision.token, clientIp: decision.clientIp };
    res.writeHead(decision.status, rejectionHeaders(decision)).end(JSON.stringify(decision.body));
    return undefined;
  };
  return Object.assign(authenticate, { guard });
}
