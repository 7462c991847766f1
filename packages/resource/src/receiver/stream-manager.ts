import { randomUUID } from 'node:crypto';
import { type StreamConfiguration, streamConfigurationSchema, streamStatusSchema } from '@opencae/protocol';
import { TransmitterRequestError } from '../errors.js';
import type { ReceiverHealth } from './health.js';
import type { TransmitterClient } from './transmitter-client.js';

export type DeliveryRequest =
  | { method: 'urn:ietf:rfc:8935'; endpointUrl: string; authorizationHeader: string }
  | { method: 'urn:ietf:rfc:8936' };

export interface StreamManagerOptions {
  delivery: DeliveryRequest;
  eventTypes: readonly string[];
  description: string;
  health: ReceiverHealth;
}

const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && a.every((value) => b.includes(value));

/**
 * Creates or adopts this receiver's stream through the SSF stream management API and keeps it as
 * configured: the event types it understands, its delivery method. A stream the transmitter no longer
 * knows (404) is forgotten and created again on the next `ensure()`.
 */
export class StreamManager {
  #stream: Promise<StreamConfiguration> | undefined;

  constructor(
    private readonly client: TransmitterClient,
    private readonly options: StreamManagerOptions,
  ) {}

  ensure(): Promise<StreamConfiguration> {
    this.#stream ??= this.#setUp().catch((error: unknown) => {
      this.#stream = undefined;
      throw error;
    });
    return this.#stream;
  }

  forget(): void {
    this.#stream = undefined;
    this.options.health.streamId = undefined;
  }

  async #endpoint(
    name: 'configuration_endpoint' | 'status_endpoint' | 'verification_endpoint',
  ): Promise<string> {
    const endpoint = (await this.client.metadata())[name];
    if (!endpoint) throw new TransmitterRequestError(`the transmitter metadata has no ${name}`, 0);
    return endpoint;
  }

  async #setUp(): Promise<StreamConfiguration> {
    const configuration = await this.#endpoint('configuration_endpoint');
    const { delivery, eventTypes, description } = this.options;
    const wanted: Record<string, unknown> =
      delivery.method === 'urn:ietf:rfc:8935'
        ? {
            method: delivery.method,
            endpoint_url: delivery.endpointUrl,
            authorization_header: delivery.authorizationHeader,
          }
        : { method: delivery.method };

    const listed = await this.client.request('GET', configuration);
    if (listed.status !== 200 && listed.status !== 404) {
      throw new TransmitterRequestError(`listing streams failed (HTTP ${listed.status})`, listed.status);
    }
    const candidates = (Array.isArray(listed.body) ? listed.body : listed.body ? [listed.body] : [])
      .map((item) => streamConfigurationSchema.safeParse(item))
      .flatMap((parsed) => (parsed.success ? [parsed.data] : []));
    const adopted = candidates.find(
      (stream) =>
        stream.delivery.method === delivery.method &&
        (delivery.method !== 'urn:ietf:rfc:8935' || stream.delivery.endpoint_url === delivery.endpointUrl),
    );

    let stream: StreamConfiguration;
    if (adopted) {
      // Push: always send the delivery again, as the authorization header is never shown back to us.
      const outdated =
        !sameSet(adopted.events_requested, eventTypes) || delivery.method === 'urn:ietf:rfc:8935';
      stream = outdated
        ? await this.#write('PATCH', configuration, {
            stream_id: adopted.stream_id,
            events_requested: eventTypes,
            delivery: wanted,
          })
        : adopted;
    } else {
      stream = await this.#write('POST', configuration, {
        events_requested: eventTypes,
        delivery: wanted,
        description,
      });
    }
    this.options.health.streamId = stream.stream_id;
    await this.refreshStatus(stream);
    return stream;
  }

  async #write(method: 'POST' | 'PATCH', url: string, body: unknown): Promise<StreamConfiguration> {
    const response = await this.client.request(method, url, body);
    if (response.status !== 200 && response.status !== 201) {
      throw new TransmitterRequestError(
        `${method === 'POST' ? 'creating' : 'updating'} the stream failed (HTTP ${response.status})`,
        response.status,
      );
    }
    const parsed = streamConfigurationSchema.safeParse(response.body);
    if (!parsed.success)
      throw new TransmitterRequestError(
        'the transmitter returned an invalid stream configuration',
        response.status,
      );
    return parsed.data;
  }

  /** Reads the stream status into the health record; a 404 means the stream is gone. */
  async refreshStatus(stream?: StreamConfiguration): Promise<void> {
    const current = stream ?? (await this.ensure());
    const url = new URL(await this.#endpoint('status_endpoint'));
    url.searchParams.set('stream_id', current.stream_id);
    const response = await this.client.request('GET', url.toString());
    if (response.status === 404) {
      this.forget();
      throw new TransmitterRequestError('the transmitter no longer knows the stream', 404);
    }
    const parsed = streamStatusSchema.safeParse(response.body);
    if (response.status !== 200 || !parsed.success) {
      throw new TransmitterRequestError(
        `reading the stream status failed (HTTP ${response.status})`,
        response.status,
      );
    }
    this.options.health.streamStatus = parsed.data.status;
    this.options.health.streamStatusReason = parsed.data.reason;
  }

  /** Asks the transmitter for a verification event (SSF 1.0 §8.1.4.2). */
  async requestVerification(): Promise<void> {
    const stream = await this.ensure();
    const response = await this.client.request('POST', await this.#endpoint('verification_endpoint'), {
      stream_id: stream.stream_id,
      state: randomUUID(),
    });
    if (response.status === 404) this.forget();
    if (response.status !== 204 && response.status !== 200 && response.status !== 202) {
      throw new TransmitterRequestError(
        `requesting verification failed (HTTP ${response.status})`,
        response.status,
      );
    }
  }
}
