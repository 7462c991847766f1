/**
 * RFC 7662 introspection of this issuer's JWT access tokens, which oidc-provider does not store and
 * so cannot introspect. The caller has already authenticated as a client (oidc-provider's client
 * authentication at the introspection endpoint). The answer is `active: true` with the token's claims
 * only when all of these hold, otherwise `{ active: false }` without saying why (RFC 7662 §2.2):
 *
 * - the caller may learn about tokens for that audience (least privilege, RFC 7662 §4 / RFC 9701):
 *   it authenticated (not a public client), its service principal is allowed, and its application is
 *   granted on the API the token is for; that is how a resource server's application is registered;
 * - the token verifies: signed by one of this issuer's published keys (RS256, `typ: at+jwt`), right
 *   issuer, not expired, not before `nbf`;
 * - the current state still allows it, the same rules as the token endpoint applied to the token's
 *   `iat`: the user (user tokens) and the client application's service principal exist, are enabled,
 *   are not at high risk, and had no session revocation or credential change after the token was
 *   issued.
 *
 * Directory state comes from the (notification-invalidated) directory cache, like token issuance.
 */
import { decodeJwt } from 'jose';
import type { AccessTokenClaims, AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { applicationRefusal, userRefusal } from './current-state.js';
import type { DirectoryReader } from './directory-reader.js';

export interface IntrospectionCaller {
  clientId: string;
  /** The method the caller authenticated with; `none` (a public client) may not introspect. */
  authMethod: string;
}

export type IntrospectionResponse =
  | { active: false }
  | (AccessTokenClaims & { active: true; client_id?: string; token_type: 'Bearer'; scope?: string });

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

export class AccessTokenIntrospector {
  constructor(
    private readonly directory: DirectoryReader,
    private readonly verifier: Pick<AccessTokenVerifier, 'verify'>,
  ) {}

  async introspect(token: string, caller: IntrospectionCaller): Promise<IntrospectionResponse> {
    const audience = unverifiedAudience(token);
    if (!audience) return INACTIVE;
    if (!(await this.mayIntrospect(caller, audience))) return INACTIVE;

    let claims: AccessTokenClaims;
    try {
      claims = await this.verifier.verify(token, audience);
    } catch {
      return INACTIVE;
    }
    if (!(await this.stillAllowed(claims))) return INACTIVE;

    return {
      ...claims,
      active: true,
      ...(typeof claims.azp === 'string' ? { client_id: claims.azp } : {}),
      token_type: 'Bearer',
      ...(typeof claims.scp === 'string' && claims.scp ? { scope: claims.scp } : {}),
    };
  }

  /** The caller is an allowed, confidential client whose application is granted on the token's API. */
  private async mayIntrospect(caller: IntrospectionCaller, audience: string): Promise<boolean> {
    if (caller.authMethod === 'none') return false;
    const application = await this.directory.applicationByClientId(caller.clientId);
    if (!application || applicationRefusal(application)) return false;
    const found = await this.directory.apiWithGrant(audience, application.applicationId);
    return found?.grant !== undefined;
  }

  /** The token's subject and client are still allowed, judged against the token's issue time. */
  private async stillAllowed(claims: AccessTokenClaims): Promise<boolean> {
    if (typeof claims.iat !== 'number' || typeof claims.azp !== 'string' || typeof claims.sub !== 'string')
      return false;
    const issuedAt = new Date(claims.iat * 1000);
    const application = await this.directory.applicationByClientId(claims.azp);
    if (applicationRefusal(application, issuedAt)) return false;
    if (claims.idtyp === 'app') return application?.servicePrincipal?.id === claims.sub;
    if (claims.idtyp === 'user') {
      const user = await this.directory.userById(claims.sub);
      return userRefusal(user, issuedAt) === undefined;
    }
    return false;
  }
}

/** The single audience of a JWT, read before verification (verification then checks it). */
function unverifiedAudience(token: string): string | undefined {
  if (token.length > 16_384) return undefined;
  try {
    const { aud } = decodeJwt(token);
    if (typeof aud === 'string') return aud;
    return Array.isArray(aud) && aud.length === 1 && typeof aud[0] === 'string' ? aud[0] : undefined;
  } catch {
    return undefined;
  }
}
