/**
 * Calls the sample API with a bearer token from a chosen local address (127.0.0.2 plays a second
 * machine on Linux loopback) and times how long the API keeps accepting a token after an admin action.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';

export interface ProbeAnswer {
  status: number;
  wwwAuthenticate: string | undefined;
  body: { reason?: string; error?: string; error_description?: string; [field: string]: unknown };
  /** performance.now() when the answer had arrived. */
  at: number;
}

export function callApi(url: string, token: string, localAddress = '127.0.0.1'): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { localAddress, headers: { authorization: `Bearer ${token}` }, agent: false, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let body: ProbeAnswer['body'] = {};
          try {
            body = text ? JSON.parse(text) : {};
          } catch {
            body = { error: 'unparsable body' };
          }
          const header = res.headers['www-authenticate'];
          resolve({
            status: res.statusCode ?? 0,
            wwwAuthenticate: Array.isArray(header) ? header.join(', ') : header,
            body,
            at: performance.now(),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Enforcement {
  /** The first refusal, or undefined when the token was still accepted at the deadline. */
  refusal: ProbeAnswer | undefined;
  /** From `since` (the admin call returning) to the refusal arriving. */
  ms: number | undefined;
  requests: number;
}

/** Calls the API back to back until it refuses the token (bounded by `timeoutMs`). */
export async function pollUntilRefused(
  url: string,
  token: string,
  since: number,
  timeoutMs = 10_000,
): Promise<Enforcement> {
  let requests = 0;
  while (performance.now() - since < timeoutMs) {
    const answer = await callApi(url, token);
    requests++;
    if (answer.status !== 200) return { refusal: answer, ms: answer.at - since, requests };
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return { refusal: undefined, ms: undefined, requests };
}

/** Whether this machine can send from `address` (Linux routes all of 127.0.0.0/8 to loopback; macOS does not). */
export function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

/** The JWT payload, for display (the API verified the token; this only reads it). */
export function tokenClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return {};
  }
}

/** Resolves at the start of the next wall-clock second: tokens and revocations carry whole seconds. */
export function nextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}
