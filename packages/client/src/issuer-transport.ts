/**
 * The HTTP options oauth4webapi gets for every issuer request: the caller's fetch, a cap on the
 * response size (a token response is a few kilobytes; a huge one is refused before it is parsed),
 * and whether plain http is allowed.
 */
import * as oauth from 'oauth4webapi';
import { TokenResponseError } from './errors.js';

/** The fetch signature the client needs; the global fetch, undici's, or a test double. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export const DEFAULT_MAX_ISSUER_RESPONSE_BYTES = 256 * 1024;

export interface IssuerTransport {
  fetch: FetchLike;
  maxResponseBytes: number;
  allowInsecureRequests: boolean;
}

export function httpOptions(
  transport: IssuerTransport,
  signal: AbortSignal | undefined,
): oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined> {
  const options: oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined> = {
    [oauth.customFetch]: async (url, init) =>
      readBounded(await transport.fetch(url, init as RequestInit), transport.maxResponseBytes),
  };
  if (transport.allowInsecureRequests) options[oauth.allowInsecureRequests] = true;
  if (signal) options.signal = signal;
  return options;
}

/** Plain http is accepted for loopback issuers (local development) unless configured otherwise. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads the whole body, up to `limit` bytes, into a new Response that oauth4webapi can parse. */
export async function readBounded(response: Response, limit: number): Promise<Response> {
  const tooLarge = () =>
    new TokenResponseError(
      'ERR_TOKEN_RESPONSE_TOO_LARGE',
      `the issuer's response exceeds ${limit} bytes and was not read`,
    );
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const body = response.status === 204 || response.status === 304 ? null : Buffer.concat(chunks);
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
