/**
 * The signed-in user's session for apps that sign users in (flow 'user'): the refresh token (stored
 * again each time the issuer rotates it) and a stable account id that separates its cached tokens.
 */
import type { TokenStore } from './token-store.js';

export interface Account {
  /** The ID token's `sub` when there was one, else a random id chosen at sign-in. */
  id: string;
  refreshToken: string;
}

/** Refresh tokens without a stated lifetime are kept this long (Entra's inactivity limit). */
const DEFAULT_REFRESH_TOKEN_TTL_MS = 90 * 24 * 3600 * 1000;

export class AccountStore {
  constructor(
    readonly store: TokenStore,
    readonly key: string,
  ) {}

  async get(): Promise<Account | undefined> {
    const value = await this.store.get(this.key);
    if (value === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(value);
      const r = parsed as Record<string, unknown>;
      if (r?.v === 1 && typeof r.id === 'string' && typeof r.refreshToken === 'string') {
        return { id: r.id, refreshToken: r.refreshToken };
      }
    } catch {}
    return undefined;
  }

  async set(account: Account, refreshTokenExpiresIn?: number): Promise<void> {
    const ttl = refreshTokenExpiresIn ? refreshTokenExpiresIn * 1000 : DEFAULT_REFRESH_TOKEN_TTL_MS;
    await this.store.set(this.key, JSON.stringify({ v: 1, ...account }), ttl);
  }

  async delete(): Promise<void> {
    await this.store.delete(this.key);
  }
}
