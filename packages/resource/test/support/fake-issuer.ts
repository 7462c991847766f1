/**
 * A small spec-following issuer for tests: OIDC discovery and a JWKS served from node:http on port 0,
 * access tokens signed with jose. Key rotation is a method call. Close it in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => boolean | Promise<boolean>;

export async function createSigningKey(
  alg: 'RS256' | 'ES256' = 'RS256',
  kid = randomUUID(),
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export class FakeIssuer {
  readonly server: Server;
  url = '';
  keys: SigningKey[] = [];
  jwksRequests = 0;
  discoveryRequests = 0;
  readonly routes: Route[] = [];

  private constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        this.#handle(req, res, body).catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: String(error) });
        });
      });
    });
  }

  static async start(): Promise<FakeIssuer> {
    const issuer = new FakeIssuer();
    issuer.keys.push(await createSigningKey());
    await new Promise<void>((resolve) => issuer.server.listen(0, '127.0.0.1', resolve));
    issuer.url = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
    return issuer;
  }

  get key(): SigningKey {
    return this.keys[0]!;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (path === '/.well-known/openid-configuration') {
      this.discoveryRequests++;
      return sendJson(res, 200, {
        issuer: this.url,
        jwks_uri: `${this.url}/jwks`,
        authorization_endpoint: `${this.url}/authorize`,
        token_endpoint: `${this.url}/token`,
      });
    }
    if (path === '/jwks') {
      this.jwksRequests++;
      return sendJson(res, 200, { keys: this.keys.map((k) => k.publicJwk) });
    }
    for (const route of this.routes) if (await route(req, res, body)) return;
    sendJson(res, 404, { error: 'not_found' });
  }

  /** Puts a new key first (it signs from now on) and keeps the old one published. */
  async rotate(alg: 'RS256' | 'ES256' = 'RS256'): Promise<SigningKey> {
    const key = await createSigningKey(alg);
    this.keys.unshift(key);
    return key;
  }

  /** An access token with sensible defaults (at+jwt, RS256, 1 h, a user with a session and cp1). */
  async token(
    claims: Record<string, unknown> = {},
    o: { key?: SigningKey; typ?: string; audience?: string; lifetimeSeconds?: number; iat?: number } = {},
  ): Promise<string> {
    const key = o.key ?? this.key;
    const iat = o.iat ?? Math.floor(Date.now() / 1000);
    const lifetime = o.lifetimeSeconds ?? 3600;
    return new SignJWT({
      sub: 'user-1',
      oid: 'user-1',
      tid: 'tenant-1',
      azp: 'client-app',
      idtyp: 'user',
      sid: 'session-1',
      scp: 'read write',
      xms_cc: ['cp1'],
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: o.typ ?? 'at+jwt' })
      .setIssuer(this.url)
      .setAudience(o.audience ?? 'api://test')
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + lifetime)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
