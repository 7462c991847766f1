/**
 * The issuer's admin REST API (/admin/v1) as an operator drives it: a client-credentials token for the
 * bootstrap admin application (admin.json), then JSON calls. Each call reports when it returned, so a
 * suite can time enforcement from that moment.
 */
import type { AdminCredentials } from '@opencae/issuer';

export interface ActionResult {
  txn: string;
  changed: boolean;
  events: number;
  [field: string]: unknown;
}

export interface CreatedApplication {
  application: { id: string; client_id: string; service_principal: { id: string } };
  client_secret?: { id: string; value: string };
}

export interface CreatedUser {
  id: string;
  username: string;
  email: string | null;
}

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what} → HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export class AdminApi {
  #token: { value: string; expiresAt: number } | undefined;

  constructor(
    readonly issuerUrl: string,
    private readonly credentials: AdminCredentials,
  ) {}

  async #accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt > Date.now() + 60_000) return this.#token.value;
    const basic = Buffer.from(
      `${encodeURIComponent(this.credentials.client_id)}:${encodeURIComponent(this.credentials.client_secret)}`,
    ).toString('base64');
    const response = await fetch(`${this.issuerUrl}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'urn:opencae:admin/.default' }),
    });
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (!response.ok || !body.access_token) throw new AdminApiError(response.status, body, 'admin token');
    this.#token = { value: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 300) * 1000 };
    return body.access_token;
  }

  /** One admin call; resolves with the JSON answer and the time (performance.now()) it returned. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T & { returnedAt: number }> {
    const token = await this.#accessToken();
    const response = await fetch(`${this.issuerUrl}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const returnedAt = performance.now();
    const parsed = text ? (JSON.parse(text) as T) : ({} as T);
    if (!response.ok) throw new AdminApiError(response.status, parsed, `${method} ${path}`);
    return { ...parsed, returnedAt };
  }

  createApi(audience: string, o: { scopes?: string[]; appRoles?: string[] } = {}) {
    return this.call('POST', '/apis', {
      audience,
      name: audience,
      cae_enabled: true,
      scopes: o.scopes ?? ['Orders.Read'],
      app_roles: o.appRoles ?? ['Orders.Read.All'],
    });
  }

  /** A Shared Signals receiver (ssf.manage + ssf.read on urn:opencae:ssf). */
  createReceiver(name: string) {
    return this.call<CreatedApplication>('POST', '/applications', { name, ssf_receiver: true });
  }

  /** A daemon: client secret, app role on the API. */
  createDaemon(name: string, api: string, role = 'Orders.Read.All') {
    return this.call<CreatedApplication>('POST', '/applications', {
      name,
      grants: [{ api, roles: [role] }],
    });
  }

  /** A confidential web app that signs users in (authorization code + PKCE, refresh tokens). */
  createWebApp(name: string, api: string, redirectUri: string, scope = 'Orders.Read') {
    return this.call<CreatedApplication>('POST', '/applications', {
      name,
      redirect_uris: [redirectUri],
      grants: [{ api, scopes: [scope] }],
    });
  }

  createUser(username: string, password: string, email?: string) {
    return this.call<CreatedUser>('POST', '/users', {
      username,
      password,
      ...(email ? { email } : {}),
    });
  }

  disableUser(id: string) {
    return this.call<ActionResult>('POST', `/users/${id}/disable`, { reason: 'e2e: disable' });
  }

  revokeSessions(id: string) {
    return this.call<ActionResult>('POST', `/users/${id}/revoke-sessions`, { reason: 'e2e: revoke' });
  }

  resetPassword(id: string, password: string) {
    return this.call<ActionResult>('POST', `/users/${id}/reset-password`, { password, reason: 'e2e: reset' });
  }

  setUserRisk(id: string, level: 'none' | 'low' | 'medium' | 'high') {
    return this.call<ActionResult>('PUT', `/users/${id}/risk`, { level, reason: 'e2e: risk' });
  }

  disableServicePrincipal(clientId: string) {
    return this.call<ActionResult>('POST', `/service-principals/${clientId}/disable`, {
      reason: 'e2e: disable',
    });
  }

  resetSecret(clientId: string) {
    return this.call<ActionResult & { client_secret: { value: string } }>(
      'POST',
      `/applications/${clientId}/reset-secret`,
      { reason: 'e2e: secret reset' },
    );
  }
}
