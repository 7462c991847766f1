import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EvaluationRequest, evaluateConditionalAccess } from './evaluate.js';
import type { NamedLocation } from './named-location.js';
import { type ConditionalAccessPolicy, type PolicyInput, policyInputSchema } from './policy.js';

const OFFICE = '00000000-0000-4000-8000-00000000000a';
const VPN = '00000000-0000-4000-8000-00000000000b';
const BLOCKED_COUNTRY = '00000000-0000-4000-8000-00000000000c';
const ALICE = '10000000-0000-4000-8000-000000000001';
const BOB = '10000000-0000-4000-8000-000000000002';
const ENGINEERS = '20000000-0000-4000-8000-000000000001';
const CONTRACTORS = '20000000-0000-4000-8000-000000000002';
const DAEMON = '30000000-0000-4000-8000-000000000001';
const API = 'https://api.example';

const locations: NamedLocation[] = [
  { id: OFFICE, name: 'office', trusted: true, ranges: ['192.0.2.0/24', '2001:db8:1::/48'] },
  { id: VPN, name: 'vpn', trusted: true, ranges: ['198.51.100.0/24'] },
  { id: BLOCKED_COUNTRY, name: 'elsewhere', trusted: false, ranges: ['203.0.113.0/24'] },
];

let counter = 0;
function policy(
  input: Partial<PolicyInput> & Pick<PolicyInput, 'assignments'>,
  id?: string,
): ConditionalAccessPolicy {
  counter++;
  const definition = policyInputSchema.parse({
    name: `policy ${counter}`,
    state: 'enabled',
    targetApis: { include: ['All'] },
    grantControls: { block: true },
    ...input,
  });
  return { id: id ?? `40000000-0000-4000-8000-${String(counter).padStart(12, '0')}`, ...definition };
}

const blockOutsideTrusted = (extra: Partial<PolicyInput> = {}) =>
  policy({
    assignments: { users: { include: ['All'] }, servicePrincipals: { include: ['All'] } },
    conditions: { locations: { include: ['All'], exclude: ['AllTrusted'] } },
    ...extra,
  });

function user(overrides: Partial<Extract<EvaluationRequest['principal'], { type: 'user' }>> = {}) {
  return {
    type: 'user' as const,
    id: ALICE,
    groups: [],
    guest: false,
    riskLevel: 'none' as const,
    ...overrides,
  };
}

function request(overrides: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return {
    principal: user(),
    audience: API,
    issuerIp: '192.0.2.10',
    cp1: true,
    mfaDone: false,
    ...overrides,
  };
}

describe('evaluateConditionalAccess', () => {
  it('allows when no policy exists, with IP checks enforced and nothing for the resource to check', () => {
    const result = evaluateConditionalAccess([], locations, request(), 7);
    expect(result.decision).toEqual({
      access: 'allow',
      enforcedBy: [],
      caeDisabled: false,
      strictLocation: false,
      ipCheck: 'enforced',
      locationPolicyIds: [],
    });
    expect(result.policyVersion).toBe(7);
  });

  it('blocks outside trusted locations and allows inside, listing the policy for the resource', () => {
    const block = blockOutsideTrusted();
    const inside = evaluateConditionalAccess([block], locations, request());
    expect(inside.decision.access).toBe('allow');
    expect(inside.decision.locationPolicyIds).toEqual([block.id]);
    expect(inside.policies[0]).toMatchObject({ outcome: 'notApplied', reason: 'locationNotMatched' });

    const outside = evaluateConditionalAccess([block], locations, request({ issuerIp: '203.0.113.9' }));
    expect(outside.decision).toMatchObject({
      access: 'block',
      blockReason: 'policy',
      enforcedBy: [block.id],
    });
    expect(outside.policies[0]).toMatchObject({ outcome: 'applied', controls: ['block'] });
  });

  it('treats an unknown client IP as outside every named location (fail closed)', () => {
    const result = evaluateConditionalAccess(
      [blockOutsideTrusted()],
      locations,
      request({ issuerIp: undefined }),
    );
    expect(result.decision.access).toBe('block');
  });

  it('matches IPv6 and IPv4-mapped addresses', () => {
    const block = blockOutsideTrusted();
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '2001:db8:1::5' })).decision.access,
    ).toBe('allow');
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '2001:db8:2::5' })).decision.access,
    ).toBe('block');
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '::ffff:192.0.2.1' })).decision
        .access,
    ).toBe('allow');
  });

  it('includes named locations by id and excludes by id', () => {
    const block = policy({
      assignments: { users: { include: ['All'] } },
      conditions: { locations: { include: [BLOCKED_COUNTRY, VPN], exclude: [VPN] } },
    });
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '203.0.113.1' })).decision.access,
    ).toBe('block');
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '198.51.100.1' })).decision.access,
    ).toBe('allow');
    expect(
      evaluateConditionalAccess([block], locations, request({ issuerIp: '8.8.8.8' })).decision.access,
    ).toBe('allow');
  });

  describe('assignments', () => {
    const cases: [string, PolicyInput['assignments'], EvaluationRequest['principal'], string][] = [
      ['user by id', { users: { include: [ALICE] } }, user(), 'applied'],
      ['another user', { users: { include: [BOB] } }, user(), 'notAssigned'],
      ['All users', { users: { include: ['All'] } }, user(), 'applied'],
      ['All users excluding the user', { users: { include: ['All'], exclude: [ALICE] } }, user(), 'excluded'],
      ['group member', { groups: { include: [ENGINEERS] } }, user({ groups: [ENGINEERS] }), 'applied'],
      ['not a member', { groups: { include: [ENGINEERS] } }, user({ groups: [CONTRACTORS] }), 'notAssigned'],
      [
        'excluded group beats included user',
        { users: { include: [ALICE] }, groups: { exclude: [CONTRACTORS] } },
        user({ groups: [CONTRACTORS] }),
        'excluded',
      ],
      ['Guests include a guest', { users: { include: ['Guests'] } }, user({ guest: true }), 'applied'],
      ['Guests do not include a member', { users: { include: ['Guests'] } }, user(), 'notAssigned'],
      [
        'All minus Guests excludes a guest',
        { users: { include: ['All'], exclude: ['Guests'] } },
        user({ guest: true }),
        'excluded',
      ],
      ['users do not include workload identities', { users: { include: ['All'] } }, sp(), 'notAssigned'],
      ['service principal by id', { servicePrincipals: { include: [DAEMON] } }, sp(), 'applied'],
      ['All service principals', { servicePrincipals: { include: ['All'] } }, sp(), 'applied'],
      [
        'excluded service principal',
        { servicePrincipals: { include: ['All'], exclude: [DAEMON] } },
        sp(),
        'excluded',
      ],
      [
        'service principals do not include users',
        { servicePrincipals: { include: ['All'] } },
        user(),
        'notAssigned',
      ],
    ];
    it.each(cases)('%s', (_name, assignments, principal, expected) => {
      const result = evaluateConditionalAccess([policy({ assignments })], locations, request({ principal }));
      const outcome = result.policies[0]!;
      if (expected === 'applied') expect(outcome.outcome).toBe('applied');
      else expect(outcome).toMatchObject({ outcome: 'notApplied', reason: expected });
    });
  });

  it('targets APIs by audience, All, and exclusions', () => {
    const assignments = { users: { include: ['All'] } };
    const only = policy({ assignments, targetApis: { include: ['https://other.example'] } });
    const allBut = policy({ assignments, targetApis: { include: ['All'], exclude: [API] } });
    const exact = policy({ assignments, targetApis: { include: [API] } });
    const result = evaluateConditionalAccess([only, allBut, exact], locations, request());
    expect(result.policies.map((p) => p.reason ?? p.outcome)).toEqual([
      'apiNotTargeted',
      'apiNotTargeted',
      'applied',
    ]);
  });

  it('matches user risk for users and service principal risk for workload identities only', () => {
    const risky = policy({
      assignments: { users: { include: ['All'] }, servicePrincipals: { include: ['All'] } },
      conditions: { userRiskLevels: ['high'] },
    });
    const spRisky = policy({
      assignments: { users: { include: ['All'] }, servicePrincipals: { include: ['All'] } },
      conditions: { servicePrincipalRiskLevels: ['medium', 'high'] },
    });
    const evaluate = (principal: EvaluationRequest['principal']) =>
      evaluateConditionalAccess([risky, spRisky], locations, request({ principal })).policies.map(
        (p) => p.reason ?? p.outcome,
      );
    expect(evaluate(user({ riskLevel: 'high' }))).toEqual(['applied', 'userRiskNotMatched']);
    expect(evaluate(user({ riskLevel: 'low' }))).toEqual(['userRiskNotMatched', 'userRiskNotMatched']);
    expect(evaluate(sp('high'))).toEqual(['servicePrincipalRiskNotMatched', 'applied']);
    expect(evaluate(sp('none'))).toEqual([
      'servicePrincipalRiskNotMatched',
      'servicePrincipalRiskNotMatched',
    ]);
  });

  it('conditions on the declared client capability', () => {
    const assignments = { users: { include: ['All'] } };
    const cae = policy({ assignments, conditions: { clientCapability: 'cp1Declared' } });
    const legacy = policy({ assignments, conditions: { clientCapability: 'cp1NotDeclared' } });
    const outcomes = (cp1: boolean) =>
      evaluateConditionalAccess([cae, legacy], locations, request({ cp1 })).policies.map(
        (p) => p.reason ?? p.outcome,
      );
    expect(outcomes(true)).toEqual(['applied', 'clientCapabilityNotMatched']);
    expect(outcomes(false)).toEqual(['clientCapabilityNotMatched', 'applied']);
  });

  it('requires MFA until it is done', () => {
    const mfa = policy({ assignments: { users: { include: ['All'] } }, grantControls: { requireMfa: true } });
    const before = evaluateConditionalAccess([mfa], locations, request());
    expect(before.decision).toMatchObject({ access: 'mfaRequired', enforcedBy: [mfa.id] });
    expect(before.policies[0]!.controls).toEqual(['requireMfa']);
    const after = evaluateConditionalAccess([mfa], locations, request({ mfaDone: true }));
    expect(after.decision.access).toBe('allow');
    expect(after.policies[0]!.controls).toEqual(['mfaSatisfied']);
  });

  it('block wins over MFA', () => {
    const mfa = policy({ assignments: { users: { include: ['All'] } }, grantControls: { requireMfa: true } });
    const block = policy({ assignments: { users: { include: [ALICE] } } });
    expect(evaluateConditionalAccess([mfa, block], locations, request()).decision).toMatchObject({
      access: 'block',
      enforcedBy: [block.id],
    });
  });

  it('disables CAE for the assigned workload identities only', () => {
    const noCae = policy({
      assignments: { servicePrincipals: { include: [DAEMON] } },
      grantControls: {},
      sessionControls: { caeMode: 'disabled' },
    });
    expect(
      evaluateConditionalAccess([noCae], locations, request({ principal: sp() })).decision,
    ).toMatchObject({
      access: 'allow',
      caeDisabled: true,
    });
    expect(evaluateConditionalAccess([noCae], locations, request()).decision.caeDisabled).toBe(false);
  });

  it('report-only policies are recorded but never enforced', () => {
    const assignments = { users: { include: ['All'] } };
    const wouldBlock = policy({ assignments, state: 'reportOnly' });
    const wouldMfa = policy({ assignments, state: 'reportOnly', grantControls: { requireMfa: true } });
    const wouldApply = policy({
      assignments,
      state: 'reportOnly',
      grantControls: {},
      sessionControls: { caeMode: 'disabled' },
    });
    const wouldNot = policy({ assignments: { users: { include: [BOB] } }, state: 'reportOnly' });
    const result = evaluateConditionalAccess(
      [wouldBlock, wouldMfa, wouldApply, wouldNot],
      locations,
      request(),
    );
    expect(result.policies.map((p) => p.outcome)).toEqual([
      'reportOnlyWouldBlock',
      'reportOnlyWouldRequireMfa',
      'reportOnlyWouldApply',
      'reportOnlyNotApplied',
    ]);
    expect(result.decision).toMatchObject({ access: 'allow', caeDisabled: false, locationPolicyIds: [] });
  });

  it('disabled policies never apply', () => {
    const off = policy({ assignments: { users: { include: ['All'] } }, state: 'disabled' });
    const result = evaluateConditionalAccess([off], locations, request());
    expect(result.policies[0]).toMatchObject({ outcome: 'notApplied', reason: 'disabled' });
    expect(result.decision.access).toBe('allow');
  });

  describe('IP variation (issuer and resource see different client IPs)', () => {
    it('suspends IP checks when the issuer sees an allowed IP and the resource a blocked one', () => {
      const block = blockOutsideTrusted();
      const result = evaluateConditionalAccess(
        [block],
        locations,
        request({ issuerIp: '192.0.2.10', resourceIp: '203.0.113.50' }),
      );
      expect(result.decision).toMatchObject({ access: 'allow', ipCheck: 'suspended', strictLocation: false });
      expect(result.policies[0]).toMatchObject({ reason: 'locationNotMatched', ipVariation: true });
      expect(result).toMatchObject({ issuerIp: '192.0.2.10', resourceIp: '203.0.113.50' });
    });

    it('blocks instead under strict location enforcement', () => {
      const block = blockOutsideTrusted({ sessionControls: { caeMode: 'strictLocation' } });
      const result = evaluateConditionalAccess(
        [block],
        locations,
        request({ issuerIp: '192.0.2.10', resourceIp: '203.0.113.50' }),
      );
      expect(result.decision).toMatchObject({
        access: 'block',
        blockReason: 'ipVariationStrict',
        enforcedBy: [block.id],
        strictLocation: true,
      });
    });

    it('strictness can come from another policy in scope for the principal', () => {
      const block = blockOutsideTrusted();
      const strict = policy({
        assignments: { users: { include: [ALICE] } },
        grantControls: {},
        sessionControls: { caeMode: 'strictLocation' },
      });
      const result = evaluateConditionalAccess(
        [block, strict],
        locations,
        request({ issuerIp: '192.0.2.10', resourceIp: '203.0.113.50' }),
      );
      expect(result.decision).toMatchObject({ access: 'block', blockReason: 'ipVariationStrict' });
    });

    it('keeps IP checks when both views are allowed, equal, or the resource IP is garbage', () => {
      const block = blockOutsideTrusted();
      for (const resourceIp of ['198.51.100.3', '192.0.2.10', '::ffff:192.0.2.10', 'not-an-ip']) {
        const result = evaluateConditionalAccess([block], locations, request({ resourceIp }));
        expect(result.decision).toMatchObject({ access: 'allow', ipCheck: 'enforced' });
      }
    });

    it("the issuer's own view decides when it is blocked", () => {
      const result = evaluateConditionalAccess(
        [blockOutsideTrusted()],
        locations,
        request({ issuerIp: '203.0.113.50', resourceIp: '192.0.2.10' }),
      );
      expect(result.decision).toMatchObject({ access: 'block', blockReason: 'policy' });
    });

    it('still requires MFA, with IP checks suspended once it is done', () => {
      const block = blockOutsideTrusted();
      const mfa = policy({
        assignments: { users: { include: ['All'] } },
        grantControls: { requireMfa: true },
      });
      const split = { issuerIp: '192.0.2.10', resourceIp: '203.0.113.50' };
      expect(evaluateConditionalAccess([block, mfa], locations, request(split)).decision).toMatchObject({
        access: 'mfaRequired',
        ipCheck: 'suspended',
      });
      expect(
        evaluateConditionalAccess([block, mfa], locations, request({ ...split, mfaDone: true })).decision,
      ).toMatchObject({ access: 'allow', ipCheck: 'suspended' });
    });
  });

  it('validates policies with clear messages', () => {
    const problems = (input: unknown) =>
      policyInputSchema
        .safeParse(input)
        .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    const base = {
      name: 'p',
      state: 'enabled',
      assignments: { users: { include: ['All'] } },
      targetApis: { include: ['All'] },
      grantControls: { block: true },
    };
    expect(problems(base)).toBeUndefined();
    expect(problems({ ...base, assignments: {} })).toContain(
      'assignments: include at least one user, group, Guests, service principal or All',
    );
    expect(problems({ ...base, grantControls: { block: true, requireMfa: true } })).toContain(
      'grantControls: choose block or requireMfa, not both',
    );
    expect(problems({ ...base, grantControls: {} })?.[0]).toMatch(/no effect/);
    expect(
      problems({
        ...base,
        assignments: { servicePrincipals: { include: ['All'] } },
        grantControls: { requireMfa: true },
      })?.[0],
    ).toMatch(/cannot perform MFA/);
    expect(problems({ ...base, state: 'on' })?.[0]).toMatch(/^state:/);
    expect(problems({ ...base, assignments: { users: { include: ['alice'] } } })?.[0]).toMatch(
      /users\.include\.0/,
    );
    expect(problems({ ...base, conditions: { locations: { include: [] } } })?.[0]).toMatch(
      /at least one location/,
    );
    expect(problems({ ...base, extra: 1 })?.[0]).toMatch(/extra/);
  });
});

describe('evaluation properties', () => {
  const ids = [ALICE, BOB];
  const groupIds = [ENGINEERS, CONTRACTORS];
  const locationEntries = ['All', 'AllTrusted', OFFICE, VPN, BLOCKED_COUNTRY];
  const subset = <T>(values: T[]) => fc.subarray(values);

  const arbitraryPolicy = fc
    .record({
      state: fc.constantFrom('enabled', 'reportOnly', 'disabled'),
      usersInclude: subset(['All', 'Guests', ...ids]),
      usersExclude: subset(['Guests', ...ids]),
      groupsInclude: subset(groupIds),
      groupsExclude: subset(groupIds),
      spInclude: subset(['All', DAEMON]),
      spExclude: subset([DAEMON]),
      apis: fc.constantFrom(['All'], [API], ['https://other.example']),
      locations: fc.option(
        fc.record({
          include: fc.subarray(locationEntries, { minLength: 1 }),
          exclude: subset(['AllTrusted', OFFICE, VPN, BLOCKED_COUNTRY]),
        }),
        { nil: undefined },
      ),
      userRiskLevels: fc.option(fc.subarray(['none', 'low', 'medium', 'high'] as const, { minLength: 1 }), {
        nil: undefined,
      }),
      capability: fc.option(fc.constantFrom('cp1Declared' as const, 'cp1NotDeclared' as const), {
        nil: undefined,
      }),
      control: fc.constantFrom('block', 'requireMfa', 'caeDisabled', 'strictLocation'),
      id: fc.uuid({ version: 4 }),
    })
    .filter((p) => p.usersInclude.length + p.groupsInclude.length + p.spInclude.length > 0)
    .filter((p) => !(p.control === 'requireMfa' && p.spInclude.length > 0))
    .map(
      (p): ConditionalAccessPolicy => ({
        id: p.id,
        ...policyInputSchema.parse({
          name: `p-${p.id}`,
          state: p.state,
          assignments: {
            users: { include: p.usersInclude, exclude: p.usersExclude },
            groups: { include: p.groupsInclude, exclude: p.groupsExclude },
            servicePrincipals: { include: p.spInclude, exclude: p.spExclude },
          },
          targetApis: { include: p.apis },
          conditions: {
            locations: p.locations,
            userRiskLevels: p.userRiskLevels,
            clientCapability: p.capability,
          },
          grantControls: { block: p.control === 'block', requireMfa: p.control === 'requireMfa' },
          sessionControls: {
            caeMode:
              p.control === 'caeDisabled'
                ? 'disabled'
                : p.control === 'strictLocation'
                  ? 'strictLocation'
                  : 'default',
          },
        }),
      }),
    );
  const policies = fc.uniqueArray(arbitraryPolicy, { selector: (p) => p.id, maxLength: 8 });
  const ip = fc.constantFrom(
    '192.0.2.10',
    '198.51.100.2',
    '203.0.113.9',
    '8.8.8.8',
    '2001:db8:1::1',
    '2001:db8:9::1',
  );
  const arbitraryRequest = fc.record({
    principal: fc.oneof(
      fc.record({
        type: fc.constant('user' as const),
        id: fc.constantFrom(...ids),
        groups: subset(groupIds),
        guest: fc.boolean(),
        riskLevel: fc.constantFrom('none' as const, 'low' as const, 'medium' as const, 'high' as const),
      }),
      fc.record({
        type: fc.constant('servicePrincipal' as const),
        id: fc.constant(DAEMON),
        riskLevel: fc.constantFrom('none' as const, 'high' as const),
      }),
    ),
    audience: fc.constantFrom(API, 'https://other.example'),
    issuerIp: fc.option(ip, { nil: undefined }),
    resourceIp: fc.option(ip, { nil: undefined }),
    cp1: fc.boolean(),
    mfaDone: fc.boolean(),
  });

  it('is deterministic and independent of policy order', () => {
    fc.assert(
      fc.property(policies, arbitraryRequest, fc.integer(), (list, req, seed) => {
        const shift = list.length === 0 ? 0 : Math.abs(seed) % list.length;
        const rotated = [...list.slice(shift), ...list.slice(0, shift)].reverse();
        const first = evaluateConditionalAccess(list, locations, req);
        expect(evaluateConditionalAccess(list, locations, req)).toEqual(first);
        expect(evaluateConditionalAccess(rotated, locations, req)).toEqual(first);
      }),
    );
  });

  it('exclusion beats inclusion: excluding the principal means the policy never applies', () => {
    fc.assert(
      fc.property(policies, arbitraryRequest, (list, req) => {
        const excluded = list.map((p) => ({
          ...p,
          assignments:
            req.principal.type === 'user'
              ? {
                  ...p.assignments,
                  users: {
                    ...p.assignments.users,
                    exclude: [...p.assignments.users.exclude, req.principal.id],
                  },
                }
              : {
                  ...p.assignments,
                  servicePrincipals: { ...p.assignments.servicePrincipals, exclude: [req.principal.id] },
                },
        }));
        const result = evaluateConditionalAccess(excluded, locations, req);
        expect(
          result.policies.every((p) => p.outcome === 'notApplied' || p.outcome === 'reportOnlyNotApplied'),
        ).toBe(true);
        expect(result.decision).toMatchObject({
          access: 'allow',
          ipCheck: 'enforced',
          caeDisabled: false,
          locationPolicyIds: [],
        });
      }),
    );
  });

  it('disabled policies never apply and report-only policies never change the decision', () => {
    fc.assert(
      fc.property(policies, arbitraryRequest, (list, req) => {
        const enforced = list.filter((p) => p.state === 'enabled');
        const result = evaluateConditionalAccess(list, locations, req);
        expect(result.decision).toEqual(evaluateConditionalAccess(enforced, locations, req).decision);
        for (const outcome of result.policies) {
          if (outcome.state === 'disabled')
            expect(outcome).toMatchObject({ outcome: 'notApplied', reason: 'disabled' });
          if (outcome.state === 'reportOnly') expect(outcome.outcome).toMatch(/^reportOnly/);
        }
      }),
    );
  });

  it('a block decision always names enabled policies that block', () => {
    fc.assert(
      fc.property(policies, arbitraryRequest, (list, req) => {
        const { decision } = evaluateConditionalAccess(list, locations, req);
        for (const id of decision.enforcedBy) {
          const enforcing = list.find((p) => p.id === id)!;
          expect(enforcing.state).toBe('enabled');
          if (decision.access === 'block') expect(enforcing.grantControls.block).toBe(true);
          if (decision.access === 'mfaRequired') expect(enforcing.grantControls.requireMfa).toBe(true);
        }
      }),
    );
  });
});

function sp(riskLevel: 'none' | 'low' | 'medium' | 'high' = 'none') {
  return { type: 'servicePrincipal' as const, id: DAEMON, riskLevel };
}
