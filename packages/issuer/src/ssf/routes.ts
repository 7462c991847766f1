/**
 * HTTP adapter of the stream management API (SSF 1.0 §7–8) and of the RFC 8936 poll endpoint. Every
 * route needs an access token for `urn:opencae:ssf`: `ssf.manage` to change, `ssf.manage` or `ssf.read`
 * to read. A receiver sees only its own streams: another receiver's stream id answers 404, exactly like
 * an unknown one, so stream ids cannot be probed.
 */
import { subjectIdentifierSchema } from '@opencae/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { requireAccessToken } from '../auth/require-token.js';
import { SSF_AUDIENCE, SSF_MANAGE, SSF_READ } from '../built-in-apis.js';
import { SsfError } from './errors.js';
import { metadataPaths, SSF_PATHS, transmitterMetadata } from './metadata.js';
import type { PollService } from './poll-service.js';
import { parseCreateRequest, parseUpdateRequest, renderStream } from './stream-config.js';
import type { StreamService } from './streams.js';

export interface SsfRoutesOptions {
  issuer: string;
  basePath: string;
  jwksUri: string;
  accessTokens: AccessTokenVerifier;
  streams: StreamService;
  polls: PollService;
  /** Aborts pending long polls when the issuer shuts down. */
  shutdown: AbortSignal;
}

export async function registerSsfRoutes(app: FastifyInstance, options: SsfRoutesOptions): Promise<void> {
  const { issuer, streams, polls } = options;
  const metadata = transmitterMetadata(issuer, options.jwksUri);
  for (const path of metadataPaths(issuer)) {
    app.get(path, async (_request, reply) => reply.header('cache-control', 'max-age=300').send(metadata));
  }

  await app.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => sendError(error, request, reply));
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });
    const manage = requireAccessToken(options.accessTokens, { audience: SSF_AUDIENCE, anyOf: [SSF_MANAGE] });
    const read = requireAccessToken(options.accessTokens, {
      audience: SSF_AUDIENCE,
      anyOf: [SSF_MANAGE, SSF_READ],
    });
    const at = (path: string) => `${options.basePath}${path}`;

    scope.post(at(SSF_PATHS.streams), { onRequest: manage }, async (request, reply) => {
      const stream = await streams.create(ownerOf(request), parseCreateRequest(request.body));
      return reply.code(201).send(renderStream(stream, issuer));
    });

    scope.get(at(SSF_PATHS.streams), { onRequest: read }, async (request, reply) => {
      const streamId = queryParameter(request, 'stream_id', false);
      const owner = ownerOf(request);
      if (streamId === undefined) {
        return reply.send((await streams.list(owner)).map((stream) => renderStream(stream, issuer)));
      }
      return reply.send(renderStream(await streams.get(owner, streamId), issuer));
    });

    for (const method of ['PATCH', 'PUT'] as const) {
      scope.route({
        method,
        url: at(SSF_PATHS.streams),
        onRequest: manage,
        handler: async (request, reply) => {
          const { streamId, settings, body } = parseUpdateRequest(request.body);
          const stream = await streams.update(ownerOf(request), streamId, settings, body, method === 'PUT');
          return reply.send(renderStream(stream, issuer));
        },
      });
    }

    scope.delete(at(SSF_PATHS.streams), { onRequest: manage }, async (request, reply) => {
      await streams.delete(ownerOf(request), queryParameter(request, 'stream_id', true));
      return reply.code(204).send();
    });

    scope.get(at(SSF_PATHS.status), { onRequest: read }, async (request, reply) => {
      const streamId = queryParameter(request, 'stream_id', true);
      const rawSubject = queryParameter(request, 'subject', false);
      const subject = rawSubject === undefined ? undefined : parseSubjectParameter(rawSubject);
      const status = await streams.statusFor(ownerOf(request), streamId, subject);
      return reply.send({ stream_id: streamId, ...status, ...(subject ? { subject } : {}) });
    });

    scope.post(at(SSF_PATHS.status), { onRequest: manage }, async (request, reply) => {
      const body = objectBody(request.body);
      const streamId = requiredString(body, 'stream_id');
      const status = requiredString(body, 'status');
      const reason = optionalString(body, 'reason');
      const owner = ownerOf(request);
      if (body.subject !== undefined) {
        // Per-subject status is expressed with the subject rules: enabled = added, disabled = removed.
        if (status === 'enabled') await streams.addSubject(owner, streamId, body.subject);
        else if (status === 'disabled') await streams.removeSubject(owner, streamId, body.subject);
        else throw new SsfError('invalid_request', 'a single subject can be enabled or disabled, not paused');
        return reply.send({ stream_id: streamId, status, subject: body.subject });
      }
      const stream = await streams.setStatus(owner, streamId, status, reason);
      return reply.send({
        stream_id: stream.id,
        status: stream.status,
        ...(stream.statusReason ? { reason: stream.statusReason } : {}),
      });
    });

    scope.post(at(SSF_PATHS.addSubject), { onRequest: manage }, async (request, reply) => {
      const body = objectBody(request.body);
      if (body.verified !== undefined && typeof body.verified !== 'boolean')
        throw new SsfError('invalid_request', 'verified must be a boolean');
      await streams.addSubject(
        ownerOf(request),
        requiredString(body, 'stream_id'),
        requiredSubject(body),
        body.verified as boolean | undefined,
      );
      return reply.code(200).send();
    });

    scope.post(at(SSF_PATHS.removeSubject), { onRequest: manage }, async (request, reply) => {
      const body = objectBody(request.body);
      await streams.removeSubject(ownerOf(request), requiredString(body, 'stream_id'), requiredSubject(body));
      return reply.code(204).send();
    });

    scope.post(at(SSF_PATHS.verify), { onRequest: manage }, async (request, reply) => {
      const body = objectBody(request.body);
      await streams.requestVerification(
        ownerOf(request),
        requiredString(body, 'stream_id'),
        optionalString(body, 'state'),
      );
      return reply.code(204).send();
    });

    scope.post<{ Params: { streamId: string } }>(
      at(`${SSF_PATHS.poll}/:streamId`),
      { onRequest: read },
      async (request, reply) => {
        const disconnected = new AbortController();
        reply.raw.once('close', () => disconnected.abort());
        const signal = AbortSignal.any([disconnected.signal, options.shutdown]);
        const response = await polls.poll(ownerOf(request), request.params.streamId, request.body, signal);
        return reply.send(response);
      },
    );
  });
}

/** The receiver is the OAuth client that holds the token (`azp`). */
function ownerOf(request: FastifyRequest): string {
  const claims = request.accessToken;
  const owner = claims?.azp ?? (typeof claims?.client_id === 'string' ? claims.client_id : undefined);
  if (!owner) throw new SsfError('forbidden', 'the access token does not name its client (azp)');
  return owner;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new SsfError('invalid_request', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw new SsfError('invalid_request', `${name} is required and must be a string`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SsfError('invalid_request', `${name} must be a string`);
  return value;
}

function requiredSubject(body: Record<string, unknown>): unknown {
  if (body.subject === undefined) throw new SsfError('invalid_request', 'subject is required');
  return body.subject;
}

function queryParameter(request: FastifyRequest, name: string, required: true): string;
function queryParameter(request: FastifyRequest, name: string, required: false): string | undefined;
function queryParameter(request: FastifyRequest, name: string, required: boolean): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new SsfError('invalid_request', `the ${name} query parameter is required once`);
  return value;
}

/** SSF 1.0 §8.1.2.1: an invalid subject in a status query answers 404. */
function parseSubjectParameter(raw: string) {
  try {
    const parsed = subjectIdentifierSchema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new SsfError('subject_not_found', 'the subject is not a valid subject identifier');
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof SsfError) {
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.code(error.status).send({ error: error.code, error_description: error.message });
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own 4xx (malformed JSON, unsupported media type, body too large).
    return reply.code(status).send({
      error: status === 400 ? 'invalid_request' : 'request_refused',
      error_description: (error as Error).message,
    });
  }
  request.log.error({ err: error }, 'SSF request failed');
  return reply
    .code(500)
    .send({ error: 'server_error', error_description: 'the request could not be processed' });
}
