/**
 * The console host: serves the built web console at /console (static files from memory, strict CSP,
 * immutable caching for hashed assets) and its settings at /console/config.json, and registers the
 * console's OAuth public client at start. Without a build, /console answers 503 with how to build it.
 */
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { IssuerContext, IssuerModule } from '../context.js';
import { CONSOLE_PATH, type ConsoleClient, ensureConsoleClient } from './console-client.js';
import { CACHE_IMMUTABLE, CACHE_REVALIDATE, CONSOLE_HEADERS } from './security-headers.js';
import { loadConsoleBuild, type StaticFile } from './static-files.js';

/** packages/console/dist, from src/console-host or dist/console-host alike. */
export const DEFAULT_CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

export const BUILD_COMMAND = 'npm run build -w packages/console';

export interface ConsoleHostOptions {
  /** Folder of the console build (index.html, assets/). */
  distDir?: string;
  /** How long a missing build is remembered before the folder is looked at again. */
  recheckMs?: number;
}

export interface ConsoleHostModule extends IssuerModule {
  /** The registered public client (after register), or undefined when it could not be registered. */
  readonly client: () => ConsoleClient | undefined;
}

const MISSING_BUILD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Console not built · OpenCAE</title></head>
<body><main>
<h1>The OpenCAE console is not built</h1>
<p role="alert">This issuer serves the web console from <code>packages/console/dist</code>, which does not exist yet.</p>
<p>Build it from the repository root with <code>${BUILD_COMMAND}</code>, then reload this page.</p>
</main></body></html>`;

export function consoleHostModule(options: ConsoleHostOptions = {}): ConsoleHostModule {
  const distDir = options.distDir ?? DEFAULT_CONSOLE_DIST;
  const recheckMs = options.recheckMs ?? 2_000;
  let client: ConsoleClient | undefined;
  let files: Map<string, StaticFile> | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;

  async function build(): Promise<Map<string, StaticFile> | undefined> {
    if (files) return files;
    if (Date.now() - checkedAt >= recheckMs) {
      loading ??= loadConsoleBuild(distDir)
        .then((loaded) => {
          files = loaded;
        })
        .finally(() => {
          checkedAt = Date.now();
          loading = undefined;
        });
      await loading;
    }
    return files;
  }

  function send(reply: FastifyReply, file: StaticFile, ifNoneMatch: string | undefined) {
    reply
      .headers(CONSOLE_HEADERS)
      .header('cache-control', file.immutable ? CACHE_IMMUTABLE : CACHE_REVALIDATE)
      .header('etag', file.etag)
      .type(file.contentType);
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === file.etag)) return reply.code(304).send();
    return reply.send(file.body);
  }

  return {
    name: 'console-host',
    client: () => client,
    async register(app: FastifyInstance, context: IssuerContext) {
      const issuer = context.config.issuerUrl;
      try {
        client = await ensureConsoleClient(context.db, issuer);
        if (client.created) context.logger.info({ clientId: client.clientId }, 'console client registered');
      } catch (error) {
        // e.g. an http:// issuer on a non-loopback host: no valid redirect URI, so no console sign-in.
        context.logger.warn(
          { err: error },
          'the console client could not be registered; console sign-in is unavailable',
        );
      }
      const base = `${new URL(issuer).pathname.replace(/\/+$/, '')}${CONSOLE_PATH}`;

      app.get(base, async (request, reply) => {
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
        return reply.headers(CONSOLE_HEADERS).redirect(`${base}/${query}`, 308);
      });

      app.get(`${base}/config.json`, async (_request, reply) => {
        reply.headers(CONSOLE_HEADERS).header('cache-control', 'no-store');
        if (!client)
          return reply.code(503).send({
            error: 'temporarily_unavailable',
            error_description: 'the console client is not registered; see the issuer log',
          });
        return reply.send({
          issuer,
          client_id: client.clientId,
          redirect_uri: client.redirectUri,
          scope: client.scope,
        });
      });

      app.get<{ Params: { '*': string } }>(`${base}/*`, async (request, reply) => {
        const loaded = await build();
        if (!loaded)
          return reply
            .code(503)
            .headers(CONSOLE_HEADERS)
            .header('cache-control', 'no-store')
            .header('retry-after', '10')
            .type('text/html; charset=utf-8')
            .send(MISSING_BUILD_PAGE);
        const path = request.params['*'] ?? '';
        const ifNoneMatch = request.headers['if-none-match'];
        const file = loaded.get(path === '' ? 'index.html' : path);
        // The app routes in the URL fragment, so any other path is simply not there.
        if (file) return send(reply, file, ifNoneMatch);
        return reply
          .code(404)
          .headers(CONSOLE_HEADERS)
          .header('cache-control', 'no-store')
          .type('text/plain; charset=utf-8')
          .send('not found');
      });
    },
  };
}
