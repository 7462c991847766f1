/**
 * fetch with a bearer token that answers a CAE claims challenge once.
 *
 * On `401` with a claims challenge for a CAE-capable token, the token is renewed with the challenge's
 * claims merged in (bypassing the cache) and the request is sent again, once. Whatever the second
 * answer is (another challenge included) goes back to the caller: no loop. A 401 without a usable
 * claims challenge, or one for a token that is not CAE-capable, is returned untouched.
 */
import { type ClaimsChallenge, parseClaimsChallenge } from '@opencae/protocol';
import type { AccessToken } from './access-token.js';
import { ClaimsChallengeRefusedError, TokenRequestError } from './errors.js';
import type { FetchLike } from './issuer-transport.js';
import { replayableRequest } from './replayable-request.js';

export interface ChallengeTokenSource {
  /** The current token (cached or acquired). */
  token(signal: AbortSignal | undefined): Promise<AccessToken>;
  /** A new token satisfying the challenge; rejects with TokenRequestError when the issuer refuses. */
  answer(
    challenge: ClaimsChallenge,
    rejected: AccessToken,
    signal: AbortSignal | undefined,
  ): Promise<AccessToken>;
}

export async function fetchAnsweringChallenges(
  source: ChallengeTokenSource,
  transport: FetchLike,
  maxReplayBodyBytes: number,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const request = await replayableRequest(input, init, maxReplayBodyBytes);
  const signal = request.init.signal ?? undefined;
  const token = await source.token(signal);
  const response = await transport(request.url, withBearer(request.init, token));
  if (response.status !== 401 || !token.caeCapable) return response;
  const challenge = parseClaimsChallenge(response.headers.get('www-authenticate'));
  if (!challenge) return response;

  let renewed: AccessToken;
  try {
    renewed = await source.answer(challenge, token, signal);
  } catch (error) {
    if (error instanceof TokenRequestError) throw new ClaimsChallengeRefusedError(error, challenge, response);
    throw error;
  }
  await response.body?.cancel();
  return transport(request.url, withBearer(request.init, renewed));
}

function withBearer(init: RequestInit, token: AccessToken): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token.token}`);
  return { ...init, headers };
}
