/**
 * Clients come from the applications table. Secrets are stored only as digests, while oidc-provider
 * compares plain secrets; so the client metadata carries an unusable placeholder secret and
 * `compareClientSecret` is replaced by a constant-time check against the stored digests, which also
 * says why a known secret is refused (revoked, expired).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Adapter, AdapterPayload, ClientMetadata, Provider } from 'oidc-provider';
import { hashClientSecret } from '../crypto/secrets.js';
import type { ApplicationState, DirectoryReader } from './directory-reader.js';
import { invalidClient } from './oauth-errors.js';

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
const SUPPORTED_METHODS = new Set([...SECRET_METHODS, 'private_key_jwt', 'none']);

/** Never a real secret: 256 random bits per process, only there to satisfy the client schema. */
const PLACEHOLDER_SECRET = randomBytes(32).toString('base64url');

export function toClientMetadata(application: ApplicationState): ClientMetadata | undefined {
  const method = application.tokenEndpointAuthMethod;
  if (!SUPPORTED_METHODS.has(method)) return undefined;
  const grantTypes = application.grantTypes.filter((grant) =>
    ['authorization_code', 'refresh_token', 'client_credentials'].includes(grant),
  );
  const interactive = grantTypes.includes('authorization_code');
  const loopbackOrCustom = application.redirectUris.some((uri) => {
    const url = URL.parse(uri);
    return !url || (url.protocol !== 'https:' && url.protocol !== 'http:') || isLoopback(url.hostname);
  });
  const metadata: ClientMetadata = {
    client_id: application.clientId,
    client_name: application.name,
    grant_types: grantTypes,
    response_types: interactive ? ['code'] : [],
    redirect_uris: interactive ? application.redirectUris : [],
    token_endpoint_auth_method: method as ClientMetadata['token_endpoint_auth_method'],
    application_type: loopbackOrCustom ? 'native' : 'web',
  };
  if (SECRET_METHODS.has(method)) metadata.client_secret = PLACEHOLDER_SECRET;
  if (method === 'private_key_jwt' && application.jwks)
    metadata.jwks = application.jwks as ClientMetadata['jwks'];
  return metadata;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** oidc-provider's adapter for the `Client` model: read-only, from the directory. */
export class ApplicationClientAdapter implements Pick<Adapter, 'find'> {
  constructor(private readonly directory: DirectoryReader) {}

  async find(clientId: string): Promise<AdapterPayload | undefined> {
    if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) return undefined;
    const application = await this.directory.applicationByClientId(clientId);
    return application ? (toClientMetadata(application) as AdapterPayload | undefined) : undefined;
  }
}

/** Verifies a presented secret against every stored digest of the client, without early exit. */
export async function verifyPresentedSecret(
  directory: DirectoryReader,
  clientId: string,
  presented: string,
  now = new Date(),
): Promise<true> {
  const application = await directory.applicationByClientId(clientId);
  if (!application) throw invalidClient('the client is not registered');
  // One digest of the presented secret, compared in constant time with every stored digest.
  const presentedDigest = hashClientSecret(presented);
  let matched: (typeof application.secrets)[number] | undefined;
  for (const secret of application.secrets) {
    if (digestsEqual(presentedDigest, secret.secretHash)) matched = secret;
  }
  if (!matched) throw invalidClient('the client secret is not valid for this client');
  if (matched.revokedAt && matched.revokedAt <= now) throw invalidClient('the client secret was revoked');
  if (matched.expiresAt && matched.expiresAt <= now) throw invalidClient('the client secret has expired');
  return true;
}

/**
 * Two `sha256$<base64url>` digests (fixed length: the length of the stored one reveals nothing) compared
 * in constant time, without hashing them again as a comparison of arbitrary strings would.
 */
function digestsEqual(presented: string, stored: string): boolean {
  const left = Buffer.from(presented, 'latin1');
  const right = Buffer.from(stored, 'latin1');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Replaces the provider's plain-secret comparison by the digest check above. */
export function installSecretVerification(provider: Provider, directory: DirectoryReader): void {
  const prototype = provider.Client.prototype as unknown as {
    compareClientSecret(this: { clientId: string }, actual: string): Promise<boolean>;
  };
  prototype.compareClientSecret = function compareStoredClientSecret(actual: string) {
    return verifyPresentedSecret(directory, this.clientId, actual);
  };
}

/**
 * oidc-provider finds a stored client by serializing and hashing its metadata on every lookup (its
 * cache key). The directory already says when an application changes: it hands out a new snapshot
 * object. So the Client built for a snapshot is reused until the next one; anything else (an unknown
 * client_id, a directory read that bypasses the cache) goes to the provider's own lookup.
 */
export function installClientReuse(provider: Pick<Provider, 'Client'>, directory: DirectoryReader): void {
  const Client = provider.Client as unknown as { find(id: unknown): Promise<unknown> };
  const find = Client.find.bind(Client);
  const built = new WeakMap<ApplicationState, unknown>();
  Client.find = async (id: unknown) => {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) return find(id);
    const application = await directory.applicationByClientId(id);
    if (!application) return find(id);
    const known = built.get(application);
    if (known) return known;
    const client = await find(id);
    if (client) built.set(application, client);
    return client;
  };
}
