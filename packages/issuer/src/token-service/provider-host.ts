/**
 * Hosts oidc-provider inside Fastify. Fastify reads the request body (with its limits) so the token
 * service can look at the `claims` parameter first; the provider then gets a replay of the request
 * carrying the same bytes. The provider instance is rebuilt when the signing keys change.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { Provider } from 'oidc-provider';
import { type ConditionalAccessService, conditionalAccessFor } from '../conditional-access/service.js';
import type { IssuerContext } from '../context.js';
import { AccessTokenIntrospector } from './access-token-introspection.js';
import { CachedDirectoryReader } from './cached-directory-reader.js';
import { refreshIn } from './cae-rules.js';
import { installClientReuse, installSecretVerification } from './client-registry.js';
import { loadCookieKeys } from './cookie-keys.js';
import { DirectoryCache } from './directory-cache.js';
import { jwtIntrospection } from './introspection-endpoint.js';
import { buildProviderConfiguration, ROUTES } from './provider-configuration.js';
import { refreshRefusalSubErrors } from './refresh-refusals.js';
import { recordTokenRequests, type SignInLogSink, SignInRecorder } from './sign-in-recorder.js';
import { SignOuts } from './sign-out.js';
import { loadSigningKeys } from './signing-key-sync.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class ProviderHost {
  private current: { provider: Provider; handler: Handler; fingerprint: string } | undefined;
  private rebuilding: Promise<void> | undefined;
  readonly directory: CachedDirectoryReader;
  /** The issuer's one Conditional Access service (shared with the admin routes: one policy cache). */
  readonly conditionalAccess: ConditionalAccessService;
  /** Sign-in log entries of token requests and refused sign-ins (nothing when no log is wired). */
  readonly signIns: SignInRecorder;
  private readonly signOuts = new SignOuts();
  private readonly introspector: AccessTokenIntrospector;

  constructor(
    private readonly context: IssuerContext,
    options: { signInLog?: SignInLogSink | undefined } = {},
  ) {
    const cache = new DirectoryCache({
      onStatus: (status, error) =>
        status === 'lost'
          ? context.logger.warn({ err: error }, 'directory change listener lost; directory cache bypassed')
          : context.logger.info('directory cache live'),
    });
    this.directory = new CachedDirectoryReader(context.db, cache, context.secrets);
    this.conditionalAccess = conditionalAccessFor(context);
    // Policy version and principal facts live in tables the directory-change trigger watches.
    this.conditionalAccess.useReadCache(cache);
    this.signIns = new SignInRecorder(options.signInLog, context.logger);
    this.introspector = new AccessTokenIntrospector(this.directory, context.accessTokens);
  }

  get provider(): Provider {
    if (!this.current) throw new Error('the token service has not started');
    return this.current.provider;
  }

  /** The provider, built first if no request has needed it yet. */
  async started(): Promise<Provider> {
    if (!this.current) await this.refresh();
    return this.provider;
  }

  /** Builds the provider, or rebuilds it when the published signing keys changed. Idempotent. */
  async refresh(): Promise<void> {
    this.rebuilding ??= this.rebuild().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async rebuild(): Promise<void> {
    const { jwks, fingerprint } = await loadSigningKeys(this.context.keys);
    if (this.current?.fingerprint === fingerprint) return;
    const provider = new Provider(
      this.context.config.issuerUrl,
      buildProviderConfiguration({
        config: this.context.config,
        db: this.context.db,
        directory: this.directory,
        signingKeys: jwks,
        cookieKeys: await loadCookieKeys(this.context.db, this.context.secrets),
        conditionalAccess: this.conditionalAccess,
        signOuts: this.signOuts,
      }),
    );
    // Proxy headers are rewritten by the mount from Fastify's trusted view, see replay().
    provider.proxy = this.context.config.trustProxy !== false;
    installSecretVerification(provider, this.directory);
    installClientReuse(provider, this.directory);
    provider.use(onRoute(ROUTES.token, recordTokenRequests(this.signIns)) as never);
    provider.use(onRoute(ROUTES.token, addRefreshIn));
    provider.use(onRoute(ROUTES.token, refreshRefusalSubErrors()) as never);
    provider.use(
      onRoute(
        `${ROUTES.end_session}/confirm`,
        this.signOuts.middleware(() => provider.cookieName('session')),
      ) as never,
    );
    provider.use(onRoute(ROUTES.introspection, jwtIntrospection(this.introspector)) as never);
    provider.on('server_error', (_ctx, error) =>
      this.context.logger.error({ err: error }, 'token service error'),
    );
    const handler = provider.callback() as unknown as Handler;
    this.current = { provider, handler, fingerprint };
    if (fingerprint) this.context.logger.info({ keys: fingerprint }, 'token service keys loaded');
  }

  /** The public JWKS: every published key, read from the store. */
  publishedJwks() {
    return this.context.keys.jwks();
  }

  /** Hands a request (with the body bytes Fastify already read) to the provider. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.current) await this.refresh();
    await this.current!.handler(req, res);
  }
}

type Middleware<C> = (ctx: C, next: () => Promise<void>) => Promise<void>;

/**
 * Runs `middleware` only for POST requests to `path`; every other request goes straight on, without
 * the promise an async middleware costs on each request (oidc-provider's AsyncLocalStorage makes every
 * promise more expensive).
 */
function onRoute<C>(
  path: string,
  middleware: Middleware<C>,
): Middleware<C & { method: string; path: string }> {
  return (ctx, next) => (ctx.method === 'POST' && ctx.path === path ? middleware(ctx, next) : next());
}

/** Token responses for tokens over 2 h carry `refresh_in` (half the lifetime), as MSAL expects. */
async function addRefreshIn(ctx: { body: unknown }, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (!body || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') return;
  const value = refreshIn(body.expires_in);
  // The provider builds a new body object for every response: added in place, not copied.
  if (value !== undefined) (body as { refresh_in?: number }).refresh_in = value;
}

/** Forwarded headers come only from Fastify's trusted view; length headers are set from the body. */
const REPLACED_HEADERS = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'content-length',
  'transfer-encoding',
]);

/**
 * A copy of an incoming request whose body is `body` (already read by Fastify). Forwarded headers are
 * replaced with what Fastify resolved under the configured trustProxy, so the provider trusts exactly
 * the proxies the operator configured and no client can spoof its scheme or host.
 */
export function replay(
  original: IncomingMessage,
  options: {
    url: string;
    body: Buffer | undefined;
    protocol: string;
    host: string;
    ip: string;
    trustProxy: boolean;
  },
): IncomingMessage {
  const copy = new IncomingMessage(original.socket);
  copy.method = original.method;
  copy.url = options.url;
  copy.httpVersion = original.httpVersion;
  copy.httpVersionMajor = original.httpVersionMajor;
  copy.httpVersionMinor = original.httpVersionMinor;
  // Built without `delete`, which would turn the object into a slow dictionary for every later read.
  const headers: IncomingMessage['headers'] = {};
  for (const name in original.headers) {
    if (!REPLACED_HEADERS.has(name)) headers[name] = original.headers[name];
  }
  if (options.trustProxy) {
    headers['x-forwarded-proto'] = options.protocol;
    headers['x-forwarded-host'] = options.host;
    headers['x-forwarded-for'] = options.ip;
  }
  if (options.body) {
    headers['content-length'] = String(options.body.length);
    copy.push(options.body);
  } else {
    const { 'content-length': length, 'transfer-encoding': encoding } = original.headers;
    if (length !== undefined) headers['content-length'] = length;
    if (encoding !== undefined) headers['transfer-encoding'] = encoding;
  }
  copy.headers = headers;
  copy.push(null);
  // The bytes are all there; an incomplete message would destroy the shared socket when released.
  copy.complete = true;
  return copy;
}
