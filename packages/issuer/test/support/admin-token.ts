/**
 * Mints access tokens for the issuer's own APIs the way the token service does (RS256 with the active
 * signing key, typ at+jwt), so admin API suites do not depend on the token endpoint.
 */
import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';

/** What minting needs of a SigningKeyStore (structural, so built and source types both fit). */
export interface ActiveKeySource {
  ensureActiveKey(): Promise<{ kid: string; privateJwk: JWK }>;
}

export interface MintOptions {
  issuer: string;
  audience?: string;
  roles?: string[];
  scp?: string;
  clientId?: string;
  /** A user token (idtyp user, scp) instead of an app token. */
  userId?: string;
  expiresInSeconds?: number;
}

export async function mintAccessToken(keys: ActiveKeySource, options: MintOptions): Promise<string> {
  const key = await keys.ensureActiveKey();
  const clientId = options.clientId ?? 'test-admin-client';
  const subject = options.userId ?? randomUUID();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    azp: clientId,
    oid: subject,
    idtyp: options.userId ? 'user' : 'app',
    ...(options.roles ? { roles: options.roles } : {}),
    ...(options.scp ? { scp: options.scp } : {}),
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid })
    .setIssuer(options.issuer)
    .setAudience(options.audience ?? 'urn:opencae:admin')
    .setSubject(subject)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

/** An admin token (role admin on urn:opencae:admin). */
export function mintAdminToken(keys: ActiveKeySource, issuer: string, clientId?: string): Promise<string> {
  return mintAccessToken(keys, { issuer, roles: ['admin'], ...(clientId ? { clientId } : {}) });
}
