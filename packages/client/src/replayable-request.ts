/**
 * Makes a request sendable twice (once, and again after a claims challenge). Strings, bytes,
 * URLSearchParams, Blob and FormData bodies can be sent again as they are; a stream can be read only
 * once, so it is buffered first, up to a limit beyond which the call fails with a typed error.
 */
import { RequestBodyTooLargeError } from './errors.js';

export const DEFAULT_MAX_REPLAY_BODY_BYTES = 1024 * 1024;

export interface ReplayableRequest {
  url: string;
  init: RequestInit;
}

export async function replayableRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
  limit: number,
): Promise<ReplayableRequest> {
  let url: string;
  let merged: RequestInit;
  if (input instanceof Request) {
    url = input.url;
    merged = {
      method: input.method,
      headers: input.headers,
      body: input.body,
      redirect: input.redirect,
      signal: input.signal,
      ...init,
    };
  } else {
    url = input instanceof URL ? input.href : input;
    merged = { ...init };
  }
  merged.headers = new Headers(merged.headers);
  if (merged.body !== undefined && merged.body !== null && !isReplayable(merged.body)) {
    merged.body = await buffer(merged.body, limit);
    delete (merged as { duplex?: unknown }).duplex;
  }
  return { url, init: merged };
}

function isReplayable(body: BodyInit): boolean {
  return (
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

async function buffer(body: BodyInit, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const add = (chunk: unknown) => {
    const bytes =
      typeof chunk === 'string'
        ? new TextEncoder().encode(chunk)
        : ArrayBuffer.isView(chunk)
          ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : chunk instanceof ArrayBuffer
            ? new Uint8Array(chunk)
            : undefined;
    if (!bytes) throw new TypeError('a request body stream must yield strings or bytes');
    size += bytes.byteLength;
    chunks.push(bytes);
    return size <= limit;
  };
  if (body instanceof ReadableStream) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!add(value)) {
        await reader.cancel();
        throw new RequestBodyTooLargeError(limit);
      }
    }
  } else if (typeof (body as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    for await (const chunk of body as unknown as AsyncIterable<unknown>) {
      if (!add(chunk)) throw new RequestBodyTooLargeError(limit); // leaving the loop closes the iterator
    }
  } else {
    throw new TypeError('unsupported request body type');
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
