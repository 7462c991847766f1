import { describe, expect, it } from 'vitest';
import { applicationRefusal, establishedBefore, issueSecond, userRefusal } from './current-state.js';
import type { ApplicationState, UserState } from './directory-reader.js';

const SECOND = 1_700_000_000;
const at = (seconds: number, ms = 0) => new Date(seconds * 1000 + ms);

function user(changes: Partial<Pick<UserState, 'credentialsChangedAt' | 'sessionsRevokedAt'>>): UserState {
  return {
    id: '7f0c3a52-6f1e-4f5e-9f5a-0a4f2b1c9d10',
    username: 'alice',
    displayName: 'Alice',
    email: null,
    kind: 'member',
    passwordHash: null,
    enabled: true,
    deletedAt: null,
    mfaRequired: false,
    totpSecret: null,
    totpEnrolledAt: null,
    riskLevel: 'none',
    credentialsChangedAt: null,
    sessionsRevokedAt: null,
    ...changes,
  };
}

describe('sign-in and token times against state changes (whole seconds)', () => {
  it('a grant from the change second, or any earlier one, predates the change', () => {
    const change = at(SECOND, 400);
    expect(establishedBefore(at(SECOND - 1), change)).toBe(true);
    expect(establishedBefore(at(SECOND), change)).toBe(true);
    expect(establishedBefore(at(SECOND + 1), change)).toBe(false);
    expect(establishedBefore(at(SECOND), null)).toBe(false);
  });

  it('a sign-in completing in the change second, after it, is stamped with the next second and accepted', () => {
    const change = at(SECOND, 400);
    const authTime = issueSecond(at(SECOND, 600).getTime(), [change, null]);
    expect(authTime).toBe(SECOND + 1);
    const changed = user({ credentialsChangedAt: change });
    expect(userRefusal(changed, at(authTime))).toBeUndefined();
    // The same user's grant from a sign-in earlier in that second is refused.
    expect(userRefusal(changed, at(SECOND))).toMatch(/credentials changed/);
    expect(userRefusal(user({ sessionsRevokedAt: change }), at(SECOND))).toMatch(/sessions were revoked/);
  });

  it('a sign-in in a later second keeps its own time; a change on a skewed clock still comes first', () => {
    expect(issueSecond(at(SECOND + 5, 1).getTime(), [at(SECOND, 999)])).toBe(SECOND + 5);
    expect(issueSecond(at(SECOND, 1).getTime(), [at(SECOND + 2, 10)])).toBe(SECOND + 3);
    expect(issueSecond(0, [null, undefined])).toBe(0);
  });

  it("an application's grants follow the same rule", () => {
    const application = {
      servicePrincipal: {
        id: 'sp',
        enabled: true,
        deletedAt: null,
        riskLevel: 'none',
        credentialsChangedAt: at(SECOND, 10),
        sessionsRevokedAt: null,
      },
    } as unknown as ApplicationState;
    expect(applicationRefusal(application, at(SECOND))).toMatch(/credentials changed/);
    expect(applicationRefusal(application, at(SECOND + 1))).toBeUndefined();
  });
});
