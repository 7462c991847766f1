import type { IncomingMessage, ServerResponse } from 'node:http';
import { SET_MAX_LENGTH } from '@opencae/protocol';
import type { ResourceGuard } from '../guard.js';
import type { PushRequest, PushResponse } from '../receiver/push-handler.js';
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
    // The acceptance is the CaeAuth (one object per request, not two).
    if (decision.ok) return decision;
    res.writeHead(decision.status, rejectionHeaders(decision)).end(JSON.stringify(decision.body));
    return undefined;
  };
  return Object.assign(authenticate, { guard });
}

/** The part of a receiver a push endpoint needs. */
export interface PushReceiver {
  handlePush(request: PushRequest): Promise<PushResponse>;
}

/**
 * The RFC 8935 push endpoint as a node:http handler (also usable as an Express route, mounted before any
 * body parser): `app.post('/ssf/push', createNodePushHandler(receiver))`. Bodies over 64 KiB are refused
 * without being buffered.
 */
export function createNodePushHandler(
  receiver: PushReceiver,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > SET_MAX_LENGTH) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const respond = (response: PushResponse) =>
        res.writeHead(response.status, response.headers).end(response.body);
      if (tooLarge) {
        respond({
          status: 413,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ err: 'invalid_request', description: 'the SET is too large' }),
        });
        return;
      }
      receiver.handlePush({ headers: req.headers, body: Buffer.concat(chunks) }).then(respond, () => {
        respond({ status: 503, headers: {}, body: undefined });
      });
    });
  };
}
