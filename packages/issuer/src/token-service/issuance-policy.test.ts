import { describe, expect, it } from 'vitest';
import type { ConditionalAccessDecision, EvaluationResult } from '../conditional-access/evaluate.js';
import type { IssuanceEvaluation } from '../conditional-access/service.js';
import { conditionalAccessClaims, tokenShape } from '../conditional-access/token-claims.js';
import { issuanceRefusal, mergeClaimsRequests, requestedAudiences, shapeToken } from './issuance-policy.js';

const lifetimes = {
  cae: { minSeconds: 20 * 3600, maxSeconds: 28 * 3600 },
  standard: { minSeconds: 3600, maxSeconds: 5400 },
};

function evaluation(decision: Partial<ConditionalAccessDecision>, resourceIp?: string): IssuanceEvaluation {
  const result: EvaluationResult = {
    policyVersion: 7,
    decision: {
      access: 'allow',
      enforcedBy: [],
      caeDisabled: false,
      strictLocation: false,
      ipCheck: 'enforced',
      locationPolicyIds: [],
      ...decision,
    },
    policies: [
      {
        policyId: 'p1',
        policyName: 'Block outside',
        state: 'enabled',
        outcome: 'applied',
        controls: ['block'],
      },
      { policyId: 'p2', policyName: 'MFA', state: 'enabled', outcome: 'applied', controls: ['requireMfa'] },
    ],
    issuerIp: '127.0.0.1',
    resourceIp,
  };
  return { result, claims: conditionalAccessClaims(result), token: tokenShape(result) };
}

describe('Conditional Access at issuance', () => {
  it("merges the request's access_token claims over those remembered from authorization", () => {
    const remembered = {
      access_token: { xms_cc: { values: ['cp1'] } },
      id_token: { auth_time: { essential: true } },
    };
    const challenge = { access_token: { xms_rp_ipaddr: { value: '203.0.113.7' } } };
    expect(mergeClaimsRequests(remembered, challenge)).toEqual({
      access_token: { xms_cc: { values: ['cp1'] }, xms_rp_ipaddr: { value: '203.0.113.7' } },
      id_token: { auth_time: { essential: true } },
    });
    expect(mergeClaimsRequests(undefined, challenge)).toBe(challenge);
    expect(mergeClaimsRequests(remembered, undefined)).toBe(remembered);
  });

  it('names the enforcing policies in a refusal, and says why a strict split tunnel is blocked', () => {
    expect(issuanceRefusal(evaluation({}))).toBeUndefined();
    expect(
      issuanceRefusal(evaluation({ access: 'block', blockReason: 'policy', enforcedBy: ['p1'] })),
    ).toEqual({
      kind: 'blocked',
      description: 'access blocked by Conditional Access policy "Block outside" (p1)',
    });
    const strict = issuanceRefusal(
      evaluation({ access: 'block', blockReason: 'ipVariationStrict', enforcedBy: ['p1'] }, '203.0.113.7'),
    );
    expect(strict?.description).toMatch(
      /"Block outside" \(p1\).*203\.0\.113\.7.*strict location enforcement/,
    );
    const mfa = issuanceRefusal(evaluation({ access: 'mfaRequired', enforcedBy: ['p2', 'gone'] }));
    expect(mfa).toMatchObject({ kind: 'mfaRequired' });
    expect(mfa?.description).toContain('policies "MFA" (p2), gone');
  });

  it('shapes the token: CAE only when allowed, the fixed split-tunnel hour over any range', () => {
    const allowed = shapeToken(lifetimes, true, true, evaluation({}));
    expect(allowed.cae).toBe(true);
    expect(allowed.lifetimeSeconds).toBeGreaterThanOrEqual(20 * 3600);
    const disabled = shapeToken(lifetimes, true, true, evaluation({ caeDisabled: true }));
    expect(disabled.cae).toBe(false);
    expect(disabled.lifetimeSeconds).toBeLessThanOrEqual(5400);
    expect(shapeToken(lifetimes, true, true, evaluation({ ipCheck: 'suspended' }))).toEqual({
      cae: true,
      lifetimeSeconds: 3600,
    });
  });

  it('finds the APIs of an authorization request in its scope and resource parameters', () => {
    expect(
      requestedAudiences({
        scope: 'openid api://orders/Orders.Read ssf.read',
        resource: ['api://orders', 'urn:x'],
      }),
    ).toEqual(['api://orders', 'urn:opencae:ssf', 'urn:x']);
    expect(requestedAudiences({})).toEqual([]);
  });
});
