/**
 * A compiled, immutable view of all policies and named locations at one policy version: what the
 * evaluator reads. Compiling (parsing ranges, building the index, sorting) happens once per version,
 * never per token request.
 */
import { LocationMatcher, type NamedLocation } from './named-location.js';
import type { ConditionalAccessPolicy } from './policy.js';

export interface PolicySet {
  /** The policy version these policies and locations are (0 before any change). */
  readonly version: number;
  /** Sorted by id, so evaluation order never depends on storage order. */
  readonly policies: readonly ConditionalAccessPolicy[];
  readonly namedLocations: readonly NamedLocation[];
  readonly locations: LocationMatcher;
}

export function compilePolicySet(
  policies: readonly ConditionalAccessPolicy[],
  namedLocations: readonly NamedLocation[],
  version = 0,
): PolicySet {
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return Object.freeze({
    version,
    policies: Object.freeze([...policies].sort(byId)),
    namedLocations: Object.freeze([...namedLocations].sort(byId)),
    locations: new LocationMatcher(namedLocations),
  });
}
