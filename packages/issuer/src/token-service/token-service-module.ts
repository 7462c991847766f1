/**
 * The token service as an issuer module: oidc-provider with the CAE rules, mounted in Fastify, plus
 * the sign-in pages. Background work: rebuild the provider when the signing keys change (NOTIFY from
 * the replica that rotated, and a periodic re-read as a safety net) and sweep expired provider rows.
 */
import type { IssuerContext, IssuerModule } from '../context.js';
import { SignInLockout } from './interaction/sign-in-lockout.js';
import { registerSignInRoutes } from './interaction/sign-in-routes.js';
import { SignInStore } from './interaction/sign-in-store.js';
import { sweepExpiredModels } from './oidc-adapter.js';
import { ProviderHost } from './provider-host.js';
import { registerProviderRoutes } from './provider-routes.js';
import type { SignInLogSink } from './sign-in-recorder.js';
import { SIGNING_KEYS_CHANNEL } from './signing-key-sync.js';
import { tokenRequestMetrics } from './token-request-metrics.js';

export interface TokenServiceOptions {
  /** How often each replica re-reads the signing keys even without a notification. */
  keyRecheckMs?: number;
  /** How often expired provider rows are deleted. */
  sweepMs?: number;
  /**
   * The sign-in log writer (the logs module's, e.g. `() => logs.signInLog()`): every token request and
   * every refused sign-in is recorded there. Called when the first entry is recorded.
   */
  signInLog?: SignInLogSink;
}

export interface TokenServiceModule extends IssuerModule {
  /** The provider host (tests and the admin module may trigger a key reload). */
  readonly host: () => ProviderHost;
}

export function tokenServiceModule(options: TokenServiceOptions = {}): TokenServiceModule {
  let host: ProviderHost | undefined;
  const timers: NodeJS.Timeout[] = [];
  let unlisten: (() => Promise<void>) | undefined;

  return {
    name: 'token-service',
    host: () => {
      if (!host) throw new Error('the token service is not registered');
      return host;
    },
    async register(app, context: IssuerContext) {
      host = new ProviderHost(context, { signInLog: options.signInLog });
      host.signIns.observeTokenRequests(tokenRequestMetrics(context.metrics));
      await host.refresh();
      const current = host;
      await registerProviderRoutes(app, current, {
        trustProxy: context.config.trustProxy !== false,
        signIns: current.signIns,
      });
      await registerSignInRoutes(app, {
        provider: () => current.provider,
        directory: current.directory,
        store: new SignInStore(context.db, context.secrets),
        lockout: new SignInLockout(context.db),
        db: context.db,
        secrets: context.secrets,
        issuer: context.config.issuerUrl,
        conditionalAccess: current.conditionalAccess,
        signIns: current.signIns,
      });
    },
    async start(context) {
      const current = host;
      if (!current) return;
      const reload = () =>
        current.refresh().catch((error) => context.logger.error({ err: error }, 'signing key reload failed'));
      unlisten = await context.storage.listen(SIGNING_KEYS_CHANNEL, () => void reload());
      await current.directory.cache.start(context.storage);
      timers.push(setInterval(reload, options.keyRecheckMs ?? 60_000).unref());
      timers.push(
        setInterval(
          () =>
            void sweepExpiredModels(context.db).catch((error) =>
              context.logger.warn({ err: error }, 'expired provider rows sweep failed'),
            ),
          options.sweepMs ?? 10 * 60_000,
        ).unref(),
      );
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await host?.directory.cache.stop();
      await unlisten?.();
      unlisten = undefined;
    },
  };
}
