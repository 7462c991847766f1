/**
 * Named locations: sets of IPv4/IPv6 CIDR ranges, trusted or not, that policies refer to by id.
 * Ranges may overlap (within a location and across locations); each is validated with a message that
 * names the offending entry.
 */

import { type IpRange, IpRangeIndex, IpRangeSyntaxError, parseIpRange } from '@opencae/protocol';
import { z } from 'zod';

/** Generous: the index stays O(log n); this only bounds one request body (docs/conditional-access.md). */
export const MAX_RANGES_PER_LOCATION = 100_000;
const MAX_REPORTED_RANGE_ERRORS = 20;

export const namedLocationInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  trusted: z.boolean().default(false),
  ranges: z
    .array(z.string().max(64))
    .min(1, 'a named location needs at least one range')
    .max(MAX_RANGES_PER_LOCATION)
    .superRefine((ranges, ctx) => {
      let reported = 0;
      for (const [index, range] of ranges.entries()) {
        try {
          parseIpRange(range);
        } catch (error) {
          if (!(error instanceof IpRangeSyntaxError)) throw error;
          ctx.addIssue({ code: 'custom', path: [index], message: error.message });
          if (++reported >= MAX_REPORTED_RANGE_ERRORS) return;
        }
      }
    })
    .transform((ranges) => ranges.map((range) => range.trim())),
});

export type NamedLocationInput = z.input<typeof namedLocationInputSchema>;

export interface NamedLocation {
  id: string;
  name: string;
  trusted: boolean;
  /** CIDR ranges (or single addresses) as written, trimmed. */
  ranges: string[];
}

/** All named locations compiled for matching: one index over every range, plus the trusted ids. */
export class LocationMatcher {
  readonly #index: IpRangeIndex;
  readonly #trusted: ReadonlySet<string>;
  readonly ids: ReadonlySet<string>;

  constructor(locations: readonly NamedLocation[]) {
    this.#index = IpRangeIndex.build(
      locations.map((location) => ({
        key: location.id,
        ranges: location.ranges.map((range): IpRange => parseIpRange(range)),
      })),
    );
    this.#trusted = new Set(locations.filter((location) => location.trusted).map((location) => location.id));
    this.ids = new Set(locations.map((location) => location.id));
  }

  get rangeCount(): number {
    return this.#index.size;
  }

  /** Ids of the named locations containing the address (sorted); empty for an unparsable address. */
  locationsOf(address: string | undefined): readonly string[] {
    return address === undefined ? [] : this.#index.lookup(address);
  }

  isTrusted(locationId: string): boolean {
    return this.#trusted.has(locationId);
  }
}
