/**
 * A location policy document compiled for per-request checks: one range index over all its named
 * locations (O(log n) per lookup), policies by id. Immutable; a refresh builds a new one.
 */

import { IpRangeIndex, parseIpRange } from '@opencae/protocol';
import type { LocationPolicy, LocationPolicyDocument } from './document.js';

const ALL = 'All';
const ALL_TRUSTED = 'AllTrusted';

export class LocationRules {
  readonly document: LocationPolicyDocument;
  readonly #index: IpRangeIndex;
  readonly #trusted: ReadonlySet<string>;
  readonly #policies: ReadonlyMap<string, LocationPolicy>;

  /** Throws IpRangeSyntaxError when a range does not parse (the caller keeps its previous rules). */
  constructor(document: LocationPolicyDocument) {
    this.document = document;
    this.#index = IpRangeIndex.build(
      document.namedLocations.map((location) => ({
        key: location.id,
        ranges: location.ranges.map(parseIpRange),
      })),
    );
    this.#trusted = new Set(document.namedLocations.filter((l) => l.trusted).map((l) => l.id));
    this.#policies = new Map(document.policies.map((policy) => [policy.id, policy]));
  }

  policy(id: string): LocationPolicy | undefined {
    return this.#policies.get(id);
  }

  get policies(): readonly LocationPolicy[] {
    return this.document.policies;
  }

  /** The named locations containing an address; an unknown address is in none (fail closed). */
  locate(address: string | undefined): readonly string[] {
    return address === undefined ? [] : this.#index.lookup(address);
  }

  /** Whether the address meets the policy's location condition, i.e. the policy blocks it. */
  blocks(policy: LocationPolicy, address: string | undefined): boolean {
    return this.blocksAt(policy, this.locate(address));
  }

  /** `blocks` for an address already located (one lookup per request, whatever the policy count). */
  blocksAt(policy: LocationPolicy, containing: readonly string[]): boolean {
    // Plain loops, no closures: this runs per listed policy on every request.
    const { include, exclude } = policy.locations;
    let included = false;
    for (const entry of include) {
      if (entry === ALL || this.#matches(entry, containing)) {
        included = true;
        break;
      }
    }
    if (!included) return false;
    for (const entry of exclude) if (this.#matches(entry, containing)) return false;
    return true;
  }

  #matches(entry: string, containing: readonly string[]): boolean {
    if (entry !== ALL_TRUSTED) return containing.includes(entry);
    for (const id of containing) if (this.#trusted.has(id)) return true;
    return false;
  }
}
