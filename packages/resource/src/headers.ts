/** Request headers as node:http gives them (lower-case names) or as a fetch `Headers` object (Hono, undici). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>> | Headers;

/** All values of one header, in order; an absent header gives an empty list. */
export function headerValues(headers: RequestHeaders, name: string): string[] {
  const lower = name.toLowerCase();
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const value = (headers as Headers).get(lower);
    return value === null ? [] : [value];
  }
  const value = (headers as Record<string, string | readonly string[] | undefined>)[lower];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/**
 * The header's value when it is a single string; undefined when absent or, in node:http's shape,
 * repeated (fetch `Headers` join repeats with ", "). Allocates nothing, unlike headerValues: the
 * per-request fast path reads the Authorization header with it.
 */
export function singleHeader(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | readonly string[] | undefined>)[name];
  return typeof value === 'string' ? value : undefined;
}
