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
