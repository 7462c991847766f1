/** The admin API client: bearer token, JSON in and out, errors carrying the API's own description. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Raised when the token is refused: the app returns to the sign-in screen. */
export const UNAUTHORIZED_EVENT = 'opencae:unauthorized';

let base = '';
let token = '';

export function configureApi(issuer: string, accessToken: string): void {
  base = `${issuer}/admin/v1`;
  token = accessToken;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as {
      error?: string;
      error_description?: string;
      issues?: ApiError['issues'];
    };
    if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw new ApiError(
      response.status,
      error.error ?? 'http_error',
      error.error_description ?? `the request failed (HTTP ${response.status})`,
      error.issues ?? [],
    );
  }
  return parsed as T;
}

/** A query string from the defined, non-empty values. */
export function query(values: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}
