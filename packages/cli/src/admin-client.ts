/**
 * Calls the admin API of a running issuer with a client-credentials token (scope
 * urn:opencae:admin/.default) obtained from the token endpoint found through discovery.
 */
import type { Connection } from './connection.js';
import { AdminApiError, CliError } from './errors.js';

export const ADMIN_SCOPE = 'urn:opencae:admin/.default';

/** Supplies the bearer token; the default asks the issuer's token endpoint. */
export type TokenSource = (connection: Connection, fetchImpl: typeof fetch) => Promise<string>;

export class AdminClient {
  private token: Promise<string> | undefined;

  constructor(
    readonly connection: Connection,
    private readonly fetchImpl: typeof fetch,
    private readonly tokenSource: TokenSource = clientCredentialsToken,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    this.token ??= this.tokenSource(this.connection, this.fetchImpl);
    const url = `${this.connection.issuer}/admin/v1${path}`;
    const response = await send(this.fetchImpl, url, {
      method,
      headers: {
        authorization: `Bearer ${await this.token}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (response.status === 204) return undefined as T;
    const payload = await readJson(response);
    if (!response.ok) throw new AdminApiError(response.status, describe(payload, response));
    return payload as T;
  }

  /** Follows `next_cursor` until the last page (or `max` items). */
  async list<T>(path: string, max = Number.POSITIVE_INFINITY): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const page = await this.request<{ items: T[]; next_cursor?: string }>(
        'GET',
        `${path}${separator}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < max);
    return items.slice(0, max);
  }
}

export const clientCredentialsToken: TokenSource = async (connection, fetchImpl) => {
  const discoveryUrl = `${connection.issuer}/.well-known/openid-configuration`;
  const discovery = await send(fetchImpl, discoveryUrl, { headers: { accept: 'application/json' } });
  const metadata = (await readJson(discovery)) as { token_endpoint?: unknown } | undefined;
  if (!discovery.ok || typeof metadata?.token_endpoint !== 'string')
    throw new CliError(`${discoveryUrl} did not return OpenID Provider metadata (HTTP ${discovery.status})`);
  // RFC 6749 §2.3.1: client_secret_basic form-encodes the id and secret before base64.
  const basic = Buffer.from(
    `${encodeURIComponent(connection.clientId)}:${encodeURIComponent(connection.clientSecret)}`,
  ).toString('base64');
  const response = await send(fetchImpl, metadata.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: ADMIN_SCOPE }).toString(),
  });
  const payload = (await readJson(response)) as { access_token?: unknown } | undefined;
  if (!response.ok || typeof payload?.access_token !== 'string')
    throw new CliError(`the issuer refused the admin credentials: ${describe(payload, response)}`);
  return payload.access_token;
};

async function send(fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach the issuer at ${new URL(url).origin} (${reason}); is it running?`, {
      cause: error,
    });
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(payload: unknown, response: Response): string {
  const body = payload as { error?: unknown; error_description?: unknown } | undefined;
  if (typeof body?.error_description === 'string') return body.error_description;
  if (typeof body?.error === 'string') return body.error;
  return `HTTP ${response.status} ${response.statusText}`.trim();
}
