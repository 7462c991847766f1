import type { JWTPayload } from 'jose';

/**
 * The claims of a verified access token. Registered claims are checked by the verifier; the others are
 * what CAE, Entra-style issuers and OpenCAE put in access tokens (see docs/resource.md).
 */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  exp: number;
  iat: number;
  /** Delegated scopes, space-delimited (or an array with some issuers). */
  scp?: string | string[];
  /** RFC 9068 `scope`, space-delimited. */
  scope?: string;
  /** Application permissions (app roles). */
  roles?: string[];
  /** Object id of the user or service principal. */
  oid?: string;
  /** Tenant id. */
  tid?: string;
  /** Client id of the application that requested the token. */
  azp?: string;
  /** Client id (Entra v1 tokens). */
  appid?: string;
  /** `user` or `app`. */
  idtyp?: string;
  /** Session id (user tokens). */
  sid?: string;
  /** Client capabilities, e.g. `["cp1"]` for a CAE-capable client. */
  xms_cc?: string | string[];
  /** Client IP seen by the issuer. */
  ipaddr?: string;
  [claim: string]: unknown;
}
