import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { AdminOperation } from './admin-api/route.js';
import type { AccessTokenVerifier } from './auth/access-token-verifier.js';
import type { IssuerConfig } from './config.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { SigningKeyStore } from './keys/signing-keys.js';
import type { Db, Storage } from './storage/database.js';

/** What every issuer module receives: configuration, storage, keys, the token verifier and metrics. */
export interface IssuerContext {
  readonly config: IssuerConfig;
  readonly storage: Storage;
  readonly db: Db;
  readonly keys: SigningKeyStore;
  /**
   * Encrypts and decrypts the secrets stored in the database (signing keys, TOTP secrets, cookie
   * keys, push authorization headers). Without a key ring (PostgreSQL with no key configured) it
   * passes values through unchanged.
   */
  readonly secrets: SecretBox;
  readonly accessTokens: AccessTokenVerifier;
  readonly logger: FastifyBaseLogger;
  /**
   * This issuer's Prometheus registry (served at `/metrics`): modules register their `opencae_*`
   * metrics here, never in prom-client's global registry, so issuers in one process stay apart.
   */
  readonly metrics: Registry;
  /**
   * Operations under /admin/v1 that modules serve with routes of their own: each module adds its
   * descriptions when it registers, and the admin API's OpenAPI document lists them with its own.
   */
  readonly adminOperations: AdminOperation[];
}

/**
 * A part of the issuer (token service, admin API, transmitter...). `register` adds its routes;
 * `start`/`stop` run background work (workers, listeners) after the server listens / before it closes.
 */
export interface IssuerModule {
  readonly name: string;
  register(app: import('fastify').FastifyInstance, context: IssuerContext): Promise<void>;
  start?(context: IssuerContext): Promise<void>;
  stop?(): Promise<void>;
}
