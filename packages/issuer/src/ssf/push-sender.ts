/**
 * One RFC 8935 push: POST the SET as application/secevent+jwt, with the stream's Authorization header
 * verbatim, a timeout, no redirects, and the SSRF guard applied to the address actually connected to.
 * Classifies the answer: delivered, permanently failed (400 + RFC 8935 error), or retryable.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { pushErrorSchema } from '@opencae/protocol';
import type { PushUrlGuard } from './push-url-guard.js';

export type PushOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'failed'; status: number; error: string }
  | { kind: 'retry'; status?: number; error: string };

const MAX_RESPONSE_BYTES = 64 * 1024;

export interface PushRequest {
  url: string;
  setJwt: string;
  authorizationHeader: string | null;
  timeoutMs: number;
}

export async function pushSet(request: PushRequest, guard: PushUrlGuard): Promise<PushOutcome> {
  let url: URL;
  try {
    url = guard.checkSyntax(request.url);
  } catch (error) {
    return { kind: 'retry', error: (error as Error).message };
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) {
    try {
      guard.checkAddress(url, host);
    } catch (error) {
      return { kind: 'retry', error: (error as Error).message };
    }
  }
  const body = Buffer.from(request.setJwt, 'utf8');
  const headers: Record<string, string> = {
    'content-type': 'application/secevent+jwt',
    accept: 'application/json',
    'content-length': String(body.length),
  };
  if (request.authorizationHeader) headers.authorization = request.authorizationHeader;
  const transport = url.protocol === 'https:' ? https : http;

  return new Promise<PushOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PushOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = transport.request(
      url,
      { method: 'POST', headers, lookup: guard.lookupFor(url) as never, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('error', (error) => finish({ kind: 'retry', error: `response error: ${error.message}` }));
        res.on('end', () => finish(classify(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    req.on('error', (error) => finish({ kind: 'retry', error: `request failed: ${error.message}` }));
    req.end(body);
  });
}

function classify(status: number, text: string): PushOutcome {
  // RFC 8935 §2.2 answers 202; any 2xx means the receiver took the SET.
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 400) {
    // RFC 8935 §2.3: the receiver refuses this SET for good (invalid_key, invalid_issuer, ...).
    return { kind: 'failed', status, error: describeErrorBody(text) };
  }
  if (status >= 300 && status < 400)
    return { kind: 'retry', status, error: `HTTP ${status}: redirects are not followed` };
  // 5xx, 429, 408, and 401/403/404 (often a receiver misconfiguration that gets fixed): retry, then
  // dead-letter.
  return { kind: 'retry', status, error: `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}` };
}

function describeErrorBody(text: string): string {
  try {
    const parsed = pushErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) return `${parsed.data.err}: ${parsed.data.description}`.slice(0, 1000);
  } catch {
    // not JSON
  }
  return `HTTP 400 without an RFC 8935 error body${text ? `: ${text.slice(0, 200)}` : ''}`;
}
