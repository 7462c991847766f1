/**
 * The location policy document a resource syncs for its audience: the enabled location-blocking
 * policies that target it and the named locations they use. The resource checks every request's
 * client IP against it (packages/resource/src/location-policy); the wire shape is documented in
 * docs/conditional-access.md and must stay compatible with the resource's parser.
 */
import { createHash } from 'node:crypto';
import {
  ALL,
  ALL_TRUSTED,
  type ConditionalAccessPolicy,
  isLocationBlockPolicy,
  referencedLocationIds,
} from './policy.js';
import type { PolicySet } from './policy-set.js';

export interface LocationPolicyDocument {
  audience: string;
  /** The issuer's policy version when the document was built. */
  policyVersion: number;
  /** The last policy version whose change concerns this audience: tokens with `xms_pv` below it are stale. */
  audienceVersion: number;
  policies: {
    id: string;
    name: string;
    assignments: ConditionalAccessPolicy['assignments'];
    locations: NonNullable<ConditionalAccessPolicy['conditions']['locations']>;
    caeMode: ConditionalAccessPolicy['sessionControls']['caeMode'];
  }[];
  namedLocations: { id: string; name: string; trusted: boolean; ranges: string[] }[];
}

export function targetsAudience(policy: ConditionalAccessPolicy, audience: string): boolean {
  const { include, exclude } = policy.targetApis;
  return (include.includes(ALL) || include.includes(audience)) && !exclude.includes(audience);
}

export function buildLocationPolicyDocument(
  set: PolicySet,
  audience: string,
  audienceVersion: number,
): LocationPolicyDocument {
  const policies = set.policies.filter(
    (policy) =>
      policy.state === 'enabled' && isLocationBlockPolicy(policy) && targetsAudience(policy, audience),
  );
  const referenced = new Set(policies.flatMap(referencedLocationIds));
  const needsTrusted = policies.some((policy) => {
    const locations = policy.conditions.locations!;
    return [...locations.include, ...locations.exclude].includes(ALL_TRUSTED);
  });
  return {
    audience,
    policyVersion: set.version,
    audienceVersion,
    policies: policies.map((policy) => ({
      id: policy.id,
      name: policy.name,
      assignments: policy.assignments,
      locations: policy.conditions.locations!,
      caeMode: policy.sessionControls.caeMode,
    })),
    namedLocations: set.namedLocations
      .filter((location) => referenced.has(location.id) || (needsTrusted && location.trusted))
      .map(({ id, name, trusted, ranges }) => ({ id, name, trusted, ranges })),
  };
}

/** A strong ETag over the serialized document: equal bodies, equal tags. */
export function documentEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}
