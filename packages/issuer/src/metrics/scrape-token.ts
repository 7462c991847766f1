/**
 * The check of the Prometheus scrape token. Both sides are hashed with SHA-256 first, so the comparison
 * is `timingSafeEqual` over two equal-length digests: its time says nothing about the token's length or
 * about how many leading characters a guess got right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerToken } from '../auth/require-token.js';

export type ScrapeCheck = 'ok' | 'missing' | 'invalid';

export class ScrapeToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = sha256(token);
  }

  /** Checks an `Authorization` header value; the token itself is kept only as its digest. */
  check(authorization: string | undefined): ScrapeCheck {
    if (!authorization) return 'missing';
    const presented = bearerToken(authorization);
    if (presented === undefined) return 'invalid';
    return timingSafeEqual(sha256(presented), this.#digest) ? 'ok' : 'invalid';
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
