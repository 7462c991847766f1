/** How the client proves its identity at the token endpoint. */
import * as oauth from 'oauth4webapi';
import { ClientConfigError } from './errors.js';

export type ClientAuthenticationMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none';

export interface ClientCredentialOptions {
  clientSecret?: string;
  /** For `private_key_jwt`: a private CryptoKey (RS256/PS256/ES256/EdDSA…), with the `kid` the issuer knows. */
  privateKey?: CryptoKey | { key: CryptoKey; kid?: string };
  /** Default: private_key_jwt with a privateKey, client_secret_basic with a secret, none otherwise. */
  clientAuthentication?: ClientAuthenticationMethod;
}

export function clientAuthentication(o: ClientCredentialOptions): {
  method: ClientAuthenticationMethod;
  auth: oauth.ClientAuth;
} {
  const method: ClientAuthenticationMethod =
    o.clientAuthentication ??
    (o.privateKey ? 'private_key_jwt' : o.clientSecret ? 'client_secret_basic' : 'none');
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post': {
      if (!o.clientSecret) throw new ClientConfigError('ERR_CLIENT_CONFIG', `${method} needs clientSecret`);
      const auth = method === 'client_secret_basic' ? oauth.ClientSecretBasic : oauth.ClientSecretPost;
      return { method, auth: auth(o.clientSecret) };
    }
    case 'private_key_jwt': {
      if (!o.privateKey) throw new ClientConfigError('ERR_CLIENT_CONFIG', 'private_key_jwt needs privateKey');
      const key = 'key' in o.privateKey ? o.privateKey : { key: o.privateKey };
      return { method, auth: oauth.PrivateKeyJwt(key) };
    }
    case 'none':
      return { method, auth: oauth.None() };
    default:
      throw new ClientConfigError(
        'ERR_CLIENT_CONFIG',
        `unknown client authentication method "${method as string}"`,
      );
  }
}
