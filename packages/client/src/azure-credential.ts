/**
 * The Azure SDK's TokenCredential shape (`@azure/core-auth`), so an OpenCAE client can be passed
 * wherever Azure SDK code expects a credential. Declared here so the SDK needs no Azure dependency.
 */
import { type ClaimsRequest, ClaimsRequestError, decodeClaims, parseClaimsRequest } from '@opencae/protocol';

export interface GetTokenOptions {
  /** A claims challenge's claims, base64 JSON as the Azure SDK passes it (JSON text is accepted too). */
  claims?: string;
  /** false: request this token without the cp1 capability; true: with it (the client's default). */
  enableCae?: boolean;
  abortSignal?: AbortSignal;
  [option: string]: unknown;
}

export interface AzureAccessToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresOnTimestamp: number;
  /** Milliseconds since the epoch; Azure SDK callers refresh after it. */
  refreshAfterTimestamp?: number;
  tokenType: 'Bearer';
}

export interface TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AzureAccessToken | null>;
}

/** The claims an Azure SDK caller passes: base64 (any alphabet, padded or not) or plain JSON. */
export function azureClaims(value: string | undefined): ClaimsRequest | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value.trim().startsWith('{')) return parseClaimsRequest(value);
  const claims = decodeClaims(value);
  if (!claims)
    throw new ClaimsRequestError('ERR_CLAIMS_MALFORMED', 'options.claims is not base64-encoded JSON');
  return claims;
}
