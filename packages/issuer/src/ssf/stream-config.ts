/**
 * The receiver-supplied part of a stream (events_requested, delivery, description): parsed from create,
 * update (PATCH) and replace (PUT) bodies, and the stream configuration document (SSF 1.0 §8.1.1)
 * rendered back.
 */
import {
  DELIVERY,
  type StreamConfiguration,
  streamConfigurationCreateSchema,
  streamConfigurationUpdateSchema,
} from '@opencae/protocol';
import { z } from 'zod';
import type { SsfDeliveryMethod, SsfStreamStatus } from '../storage/schema.js';
import { SsfError } from './errors.js';
import { EVENTS_SUPPORTED } from './event-types.js';

export interface StreamRecord {
  id: string;
  ownerClientId: string;
  aud: string;
  eventsRequested: string[] | null;
  eventsDelivered: string[];
  deliveryMethod: SsfDeliveryMethod;
  endpointUrl: string;
  authorizationHeader: string | null;
  status: SsfStreamStatus;
  statusReason: string | null;
  minVerificationInterval: number;
  lastVerificationAt: Date | null;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a receiver may set. `undefined` = not present in the request. */
export interface ReceiverSettings {
  eventsRequested?: string[] | null;
  delivery?: { method: SsfDeliveryMethod; endpointUrl?: string; authorizationHeader?: string } | null;
  description?: string | null;
}

const LIMITS = { eventTypes: 100, eventTypeLength: 512, description: 1000, authorizationHeader: 4096 };

/** Visible ASCII and tabs: a header value that cannot smuggle a second header (no CR/LF). */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new SsfError('invalid_request', 'the request body must be a JSON object');
  const result = schema.safeParse(body);
  if (!result.success) throw new SsfError('invalid_request', z.prettifyError(result.error));
  return result.data;
}

function settingsFrom(body: {
  events_requested?: string[] | undefined;
  delivery?:
    | { method: string; endpoint_url?: string | undefined; authorization_header?: string | undefined }
    | undefined;
  description?: string | undefined;
}): ReceiverSettings {
  const settings: ReceiverSettings = {};
  if (body.events_requested !== undefined) {
    if (body.events_requested.length > LIMITS.eventTypes)
      throw new SsfError('invalid_request', `events_requested may list at most ${LIMITS.eventTypes} types`);
    if (body.events_requested.some((type) => type.length > LIMITS.eventTypeLength))
      throw new SsfError('invalid_request', 'an event type in events_requested is too long');
    settings.eventsRequested = [...new Set(body.events_requested)];
  }
  if (body.delivery !== undefined) {
    const { method, endpoint_url, authorization_header } = body.delivery;
    if (method !== DELIVERY.push && method !== DELIVERY.poll)
      throw new SsfError(
        'delivery_method_unsupported',
        `delivery method ${method} is not supported (use ${DELIVERY.push} or ${DELIVERY.poll})`,
      );
    if (method === DELIVERY.push && !endpoint_url)
      throw new SsfError('invalid_request', 'push delivery needs delivery.endpoint_url');
    if (authorization_header !== undefined) {
      if (
        authorization_header.length > LIMITS.authorizationHeader ||
        !HEADER_VALUE.test(authorization_header)
      )
        throw new SsfError('invalid_request', 'delivery.authorization_header is not a valid header value');
    }
    settings.delivery = {
      method,
      ...(endpoint_url !== undefined ? { endpointUrl: endpoint_url } : {}),
      ...(authorization_header !== undefined && method === DELIVERY.push
        ? { authorizationHeader: authorization_header }
        : {}),
    };
  }
  if (body.description !== undefined) {
    if (body.description.length > LIMITS.description)
      throw new SsfError('invalid_request', `description may have at most ${LIMITS.description} characters`);
    settings.description = body.description;
  }
  return settings;
}

export function parseCreateRequest(body: unknown): ReceiverSettings {
  return settingsFrom(parseBody(streamConfigurationCreateSchema, body));
}

/** PATCH and PUT bodies; `streamId` names the stream, `body` is kept for the transmitter-supplied checks. */
export function parseUpdateRequest(body: unknown): {
  streamId: string;
  settings: ReceiverSettings;
  body: Record<string, unknown>;
} {
  const parsed = parseBody(streamConfigurationUpdateSchema, body);
  return {
    streamId: parsed.stream_id,
    settings: settingsFrom(parsed),
    body: parsed as Record<string, unknown>,
  };
}

/**
 * SSF 1.0 §8.1.1.3–4: transmitter-supplied members may be present in an update but must equal the
 * current values.
 */
export function checkTransmitterSupplied(body: Record<string, unknown>, current: StreamConfiguration): void {
  const members = [
    'iss',
    'aud',
    'events_supported',
    'events_delivered',
    'min_verification_interval',
  ] as const;
  for (const member of members) {
    if (body[member] === undefined) continue;
    if (!sameValue(body[member], current[member]))
      throw new SsfError('invalid_request', `${member} is set by the transmitter and cannot be changed`);
  }
  const delivery = body.delivery as { method?: string; endpoint_url?: string } | undefined;
  if (
    delivery?.method === DELIVERY.poll &&
    delivery.endpoint_url !== undefined &&
    current.delivery.method === DELIVERY.poll &&
    delivery.endpoint_url !== current.delivery.endpoint_url
  ) {
    throw new SsfError(
      'invalid_request',
      'the poll endpoint_url is set by the transmitter and cannot be changed',
    );
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const left = new Set(a);
    return a.length === b.length && b.every((item) => left.has(item));
  }
  if (typeof a === 'string' && Array.isArray(b)) return b.length === 1 && b[0] === a;
  return a === b;
}

/** The stream configuration document returned to the stream's owner. */
export function renderStream(stream: StreamRecord, issuer: string): StreamConfiguration {
  return {
    stream_id: stream.id,
    iss: issuer,
    aud: stream.aud,
    delivery: {
      method: stream.deliveryMethod,
      endpoint_url: stream.endpointUrl,
      // Returned to the owner that set it, so a read-modify-replace round trip keeps it (SSF 1.0 §8.1.1.4).
      ...(stream.authorizationHeader !== null ? { authorization_header: stream.authorizationHeader } : {}),
    },
    events_supported: [...EVENTS_SUPPORTED],
    ...(stream.eventsRequested !== null ? { events_requested: stream.eventsRequested } : {}),
    events_delivered: stream.eventsDelivered,
    min_verification_interval: stream.minVerificationInterval,
    ...(stream.description !== null ? { description: stream.description } : {}),
  };
}
