/**
 * `opencae_token_requests_total{grant_type,result,cae}`: every answered token request, counted from
 * the sign-in recorder's entries. grant_type is whatever the client sent, so only known grant types
 * become a label value; anything else is "other" (a client must not be able to create series).
 */
import type { Registry } from 'prom-client';
import type { SignInEntry } from '../logs/sign-in-entry.js';
import { counterOn } from '../metrics/registered.js';
import type { TokenRequestObserver } from './sign-in-recorder.js';

const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:openid:params:grant-type:ciba',
]);

export function grantTypeLabel(grantType: string | undefined): string {
  if (!grantType) return 'none';
  return GRANT_TYPES.has(grantType) ? grantType : 'other';
}

export function tokenRequestMetrics(registry: Registry): TokenRequestObserver {
  const requests = counterOn(registry, {
    name: 'opencae_token_requests_total',
    help: 'Token endpoint requests answered, by grant type, result (success|failure) and whether a CAE token was issued',
    labelNames: ['grant_type', 'result', 'cae'],
  });
  return {
    observe(entry: SignInEntry) {
      requests.inc({
        grant_type: grantTypeLabel(entry.grantType),
        result: entry.result,
        cae: entry.caeToken && entry.result === 'success' ? 'true' : 'false',
      });
    },
  };
}
