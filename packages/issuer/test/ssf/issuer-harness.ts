/**
 * Starts issuers with the SSF transmitter for tests: a free loopback port (the issuer URL must be known
 * before listening), `/jwks` served from the key store when the token service is not composed in, and
 * receiver access tokens minted with the issuer's own key (typ at+jwt, aud urn:opencae:ssf).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RISC, type SubjectIdentifier } from '@opencae/protocol';
import { importJWK, SignJWT } from 'jose';
import type { IssuerModule } from '../../src/context.js';
import { enqueueSecurityEvents, newTxn, type SecurityEventInput } from '../../src/events/outbox.js';
import { createIssuer, type Issuer } from '../../src/server.js';
import { type SsfModule, ssfModule } from '../../src/ssf/module.js';
import type { SsfOptions } from '../../src/ssf/options.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The JWKS route the token service normally serves; tests compose the issuer without it. */
export function testJwksModule(): IssuerModule {
  return {
    name: 'test-jwks',
    async register(app, context) {
      app.get(`${new URL(context.config.issuerUrl).pathname.replace(/\/$/, '')}/jwks`, async () =>
        context.keys.jwks(),
      );
    },
  };
}

export const FAST_SSF_OPTIONS: SsfOptions = {
  pushTimeoutMs: 1_000,
  retryBaseDelayMs: 20,
  retryMaxDelayMs: 200,
  maxPushAttempts: 4,
  longPollMaxWaitMs: 2_000,
  pollRedeliveryMs: 300,
  minVerificationIntervalSeconds: 0,
  safetySweepMs: 1_000,
};

export interface TestIssuer {
  issuer: Issuer;
  url: string;
  ssf: SsfModule;
  close(): Promise<void>;
}

export async function startTestIssuer(o: {
  databaseUrl?: string;
  dataDir?: string;
  port?: number;
  path?: string;
  ssf?: SsfOptions;
  devMode?: boolean;
  /** The secrets key ring (replicas on one PostgreSQL share it); the embedded store makes its own. */
  secretsKeys?: string;
}): Promise<TestIssuer> {
  const port = o.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}${o.path ?? ''}`;
  const ssf = ssfModule({ ...FAST_SSF_OPTIONS, ...o.ssf });
  // A fresh folder per issuer: parseIssuerConfig resolves dataDir as a path, so `memory://` would
  // become a shared folder named "memory:" in the working directory.
  const ownDir = o.dataDir || o.databaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'opencae-ssf-'));
  const issuer = await createIssuer(
    {
      issuerUrl: url,
      port,
      host: '127.0.0.1',
      devMode: o.devMode ?? true,
      dataDir: o.dataDir ?? ownDir ?? tmpdir(),
      ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
      ...(o.secretsKeys ? { secretsKeys: o.secretsKeys } : {}),
    },
    { modules: [testJwksModule(), ssf] },
  );
  await issuer.listen();
  return {
    issuer,
    url,
    ssf,
    async close() {
      // Keep-alive sockets of the test's fetch clients would hold app.close() open.
      const closing = issuer.close();
      issuer.app.server.closeAllConnections();
      await closing;
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
    },
  };
}

/** A receiver's client-credentials access token for the SSF API, signed with the issuer's active key. */
export async function receiverToken(
  issuer: Issuer,
  o: { clientId: string; roles?: string[]; audience?: string; scp?: string; typ?: string; expired?: boolean },
): Promise<string> {
  const key = await issuer.context.keys.ensureActiveKey();
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    ...(o.scp === undefined ? { roles: o.roles ?? ['ssf.manage'] } : { scp: o.scp }),
    azp: o.clientId,
    oid: randomUUID(),
    idtyp: 'app',
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: o.typ ?? 'at+jwt' })
    .setIssuer(issuer.context.config.issuerUrl)
    .setAudience(o.audience ?? 'urn:opencae:ssf')
    .setSubject(randomUUID())
    .setJti(randomUUID())
    .setIssuedAt(o.expired ? now - 7200 : now)
    .setExpirationTime(o.expired ? now - 3600 : now + 600);
  return jwt.sign(await importJWK(key.privateJwk, 'RS256'));
}

/** Simulates an admin action: a state change and its security event committed in one transaction. */
export async function disableUser(
  issuer: Issuer,
  o: { userId?: string; email?: string; txn?: string } = {},
): Promise<{ userId: string; txn: string; subject: SubjectIdentifier }> {
  const userId = o.userId ?? randomUUID();
  const txn = o.txn ?? newTxn();
  const iss = issuer.context.config.issuerUrl;
  const issSub = { format: 'iss_sub' as const, iss, sub: userId };
  const subject: SubjectIdentifier = o.email
    ? { format: 'aliases', identifiers: [issSub, { format: 'email', email: o.email }] }
    : issSub;
  await issuer.context.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('users')
      .values({
        id: userId,
        username: `user-${userId}`,
        display_name: 'Test user',
        email: o.email ?? null,
        kind: 'member',
        password_hash: null,
        totp_secret: null,
        enabled: false,
      })
      .execute();
    const event: SecurityEventInput = {
      eventType: RISC.accountDisabled,
      subject,
      event: { reason: 'hijacking', event_timestamp: Math.floor(Date.now() / 1000) },
      principalType: 'user',
      principalId: userId,
    };
    await enqueueSecurityEvents(trx, txn, [event]);
  });
  return { userId, txn, subject };
}

/** JSON request to the issuer with a bearer token. */
export async function call(
  base: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  rawBody?: string,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
