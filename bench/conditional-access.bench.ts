/**
 * Conditional Access hot paths: the issuer's evaluation at every token request (100 policies,
 * 10,000 ranges, IPv4 and IPv6), the resource's per-request location check, and the range matcher
 * against the alternative considered (one node:net BlockList per named location). A 100,000-range
 * variant shows there is no size cliff: lookups are a binary search over disjoint segments.
 */
import { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  buildLocationPolicyDocument,
  type ConditionalAccessPolicy,
  compilePolicySet,
  type EvaluationRequest,
  evaluatePolicySet,
  type NamedLocation,
  policyInputSchema,
} from '@opencae/issuer';
import { createLocationEnforcer, LocationRules } from '../packages/resource/src/location-policy/index.js';
import { type Benchmark, defaultMeasureOptions, type Measurement, measureOpsPerSecond } from './harness.js';

const API = 'https://api.example';
const uuid = (prefix: number, i: number) =>
  `${prefix.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** `locations` named locations sharing `ranges` CIDR ranges, half IPv4 (/24s) and half IPv6 (/48s). */
function namedLocations(locations: number, ranges: number): NamedLocation[] {
  const result: NamedLocation[] = Array.from({ length: locations }, (_, i) => ({
    id: uuid(1, i),
    name: `location ${i}`,
    // Every location i with i % 4 < 2 is trusted (even ones hold IPv4 ranges, odd ones IPv6).
    trusted: i % 4 < 2,
    ranges: [],
  }));
  for (let i = 0; i < ranges; i++) {
    const range =
      i % 2 === 0
        ? `${10 + ((i >> 17) & 0x3f)}.${(i >> 9) & 0xff}.${(i >> 1) & 0xff}.0/24`
        : `2001:db8:${((i >> 1) & 0xffff).toString(16)}:${(i >> 17).toString(16)}::/64`;
    result[i % locations]!.ranges.push(range);
  }
  return result;
}

/** 100 policies of the kinds tenants write: location blocks, MFA, risk, groups, workload identities. */
function policies(locations: NamedLocation[], count: number): ConditionalAccessPolicy[] {
  const out: ConditionalAccessPolicy[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    const location = locations[i % locations.length]!.id;
    const definition = policyInputSchema.parse({
      name: `policy ${i}`,
      state: i % 10 === 9 ? 'reportOnly' : 'enabled',
      assignments:
        kind === 4
          ? { servicePrincipals: { include: ['All'], exclude: [uuid(3, i)] } }
          : { users: { include: ['All'], exclude: [uuid(2, i)] }, groups: { exclude: [uuid(4, i)] } },
      targetApis: { include: i % 3 === 0 ? ['All'] : [API, `https://api${i}.example`] },
      conditions:
        kind === 0
          ? { locations: { include: ['All'], exclude: ['AllTrusted', location] } }
          : kind === 1
            ? { locations: { include: [location] } }
            : kind === 2
              ? { userRiskLevels: ['high'] }
              : {},
      grantControls: kind === 3 ? { requireMfa: true } : kind === 4 ? {} : { block: true },
      sessionControls: { caeMode: kind === 4 ? 'disabled' : 'default' },
    });
    out.push({ id: uuid(5, i), ...definition });
  }
  return out;
}

function request(ip: string): EvaluationRequest {
  return {
    principal: {
      type: 'user',
      id: uuid(9, 1),
      groups: [uuid(4, 7), uuid(4, 8)],
      guest: false,
      riskLevel: 'low',
    },
    audience: API,
    issuerIp: ip,
    cp1: true,
    mfaDone: true,
  };
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

export default {
  name: 'conditional-access',
  description:
    'Conditional Access evaluation at issuance (100 policies, 10,000 v4+v6 ranges), the resource per-request location check, and the range matcher vs node:net BlockList.',
  async run(ctx) {
    const options = defaultMeasureOptions(ctx);
    const interleaving = `median of ${options.rounds} interleaved rounds, ${options.durationMs} ms per candidate after ${options.warmupMs} ms warm-up`;

    const locations10k = namedLocations(50, 10_000);
    const locations100k = namedLocations(50, 100_000);
    const policySet = policies(locations10k, 100);
    const compiled10k = timed(() => compilePolicySet(policySet, locations10k, 1));
    const compiled100k = timed(() => compilePolicySet(policies(locations100k, 100), locations100k, 1));
    const set10k = compiled10k.value;
    const set100k = compiled100k.value;

    // Trusted addresses (IPv4 in location 0, IPv6 in location 5) and an address outside every location.
    const v4Inside = '10.0.0.7';
    const v6Inside = '2001:db8:2::7';
    const v4Outside = '192.0.2.1';
    const decisions = [v4Inside, v6Inside, v4Outside].map(
      (ip) => evaluatePolicySet(set10k, request(ip)).decision.access,
    );
    if (decisions[0] !== 'allow' || decisions[1] !== 'allow' || decisions[2] !== 'block') {
      throw new Error(`benchmark input is not what it should be: ${decisions.join(', ')}`);
    }

    const evaluation = await measureOpsPerSecond(
      {
        v4: () => evaluatePolicySet(set10k, request(v4Inside)),
        v6: () => evaluatePolicySet(set10k, request(v6Inside)),
        v4Blocked: () => evaluatePolicySet(set10k, request(v4Outside)),
        v4Ranges100k: () => evaluatePolicySet(set100k, request(v4Inside)),
      },
      options,
    );

    // Resource side: the document the issuer would serve for API, and a token listing its policies.
    const document = buildLocationPolicyDocument(set10k, API, 1);
    const rules = new LocationRules(document);
    const enforcer = createLocationEnforcer({ rules, requiredVersion: 1 });
    const listed = evaluatePolicySet(set10k, request(v4Inside)).decision.locationPolicyIds;
    const claims = {
      iss: 'https://issuer.example',
      iat: 1,
      exp: 2,
      oid: uuid(9, 1),
      idtyp: 'user',
      xms_cc: ['cp1'],
      xms_pv: 1,
      xms_lp: listed,
    };
    if (!enforcer.check(claims, v4Inside).allowed || !enforcer.check(claims, v6Inside).allowed) {
      throw new Error('benchmark token should be allowed from both addresses');
    }
    const enforcement = await measureOpsPerSecond(
      {
        v4: () => enforcer.check(claims, v4Inside),
        v6: () => enforcer.check(claims, v6Inside),
      },
      options,
    );

    // Matcher alone: which named locations contain an address, index vs one BlockList per location.
    const blockLists = locations10k.map((location) => {
      const list = new BlockList();
      for (const range of location.ranges) {
        const [network, bits] = range.split('/');
        list.addSubnet(network!, Number(bits), network!.includes(':') ? 'ipv6' : 'ipv4');
      }
      return { id: location.id, list };
    });
    const matcher = await measureOpsPerSecond(
      {
        index: () => set10k.locations.locationsOf(v4Outside),
        blockList: () => blockLists.filter(({ list }) => list.check(v4Outside, 'ipv4')).map(({ id }) => id),
      },
      { ...options, durationMs: Math.min(options.durationMs, 1000) },
    );

    const ops = (
      name: string,
      value: number,
      peers: Record<string, number>,
      method: string,
    ): Measurement => ({
      name,
      metric: 'throughput',
      value: Math.round(value),
      unit: 'ops/s',
      peers: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, Math.round(v)])),
      method,
    });
    const evalMethod = `evaluatePolicySet on a compiled set: 100 policies (location blocks, MFA, risk, group exclusions, workload CAE-disabled; 10% report-only), 50 named locations; one thread, synchronous; ${interleaving}.`;
    const enforceMethod = `ConditionalAccessLocationEnforcer.check with the document the issuer serves for one API (${document.policies.length} location policies, ${document.namedLocations.length} locations) and a token listing ${listed.length} policies; ${interleaving}.`;
    const matcherMethod = `which of 50 named locations (10,000 ranges) contain an address outside all of them: sorted-segment index (binary search) vs one node:net BlockList per location (checked in turn); ${interleaving}.`;
    return [
      ops(
        'evaluate (10k ranges, IPv4 client)',
        evaluation.v4.median,
        {
          'evaluate (10k ranges, IPv6 client)': evaluation.v6.median,
          'evaluate (10k ranges, blocked IPv4 client)': evaluation.v4Blocked.median,
          'evaluate (100k ranges, IPv4 client)': evaluation.v4Ranges100k.median,
        },
        evalMethod,
      ),
      ops(
        'evaluate (10k ranges, IPv6 client)',
        evaluation.v6.median,
        { 'evaluate (10k ranges, IPv4 client)': evaluation.v4.median },
        evalMethod,
      ),
      ops(
        'evaluate (100k ranges, IPv4 client)',
        evaluation.v4Ranges100k.median,
        { 'evaluate (10k ranges, IPv4 client)': evaluation.v4.median },
        evalMethod,
      ),
      ops(
        'resource location check (IPv4)',
        enforcement.v4.median,
        { 'resource location check (IPv6)': enforcement.v6.median },
        enforceMethod,
      ),
      ops(
        'resource location check (IPv6)',
        enforcement.v6.median,
        { 'resource location check (IPv4)': enforcement.v4.median },
        enforceMethod,
      ),
      ops(
        'range lookup: segment index (10k ranges)',
        matcher.index.median,
        { 'range lookup: BlockList per location': matcher.blockList.median },
        matcherMethod,
      ),
      {
        name: 'compile policy set (10k ranges)',
        metric: 'duration',
        value: Math.round(compiled10k.ms),
        unit: 'ms',
        peers: { 'compile policy set (100k ranges)': Math.round(compiled100k.ms) },
        method:
          'one compilePolicySet call (parse every range, build the segment index), done once per policy version per issuer process; single sample, includes JIT warm-up.',
      },
    ];
  },
} satisfies Benchmark;
