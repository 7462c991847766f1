/**
 * Response headers of the console. The Content-Security-Policy allows only the console's own scripts
 * and styles (no inline script, no eval) and connections to this issuer (admin API, token endpoint,
 * discovery): an injected string can neither run nor send a token elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  // The authorization code arrives in the URL: never send it to another site.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and config: always revalidated, so a new build or issuer setting is seen at once. */
export const CACHE_REVALIDATE = 'no-cache';
