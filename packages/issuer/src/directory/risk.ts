/**
 * Risk levels of users and service principals, set by an administrator or posted by an external
 * identity-protection system. A change is a CAEP risk-level-change; `high` is refused a token by the
 * token service unless a policy says otherwise.
 */
import type { RiskLevel } from '../storage/schema.js';
import { type Application, findApplication, toApplication } from './applications.js';
import { type ActionResult, runCriticalAction } from './critical-action.js';
import type { DirectoryContext } from './directory-context.js';
import { assertStorable } from './directory-context.js';
import { type InitiatingEntity, riskLevelChangeEvent } from './security-events.js';
import { servicePrincipalOf, setServicePrincipalColumns } from './service-principal-actions.js';
import { findUserRow, toUser, type User } from './users.js';

export const RISK_LEVELS: readonly RiskLevel[] = ['none', 'low', 'medium', 'high'];

export interface RiskChange {
  level: RiskLevel;
  /** Why (`risk_reason` of the event). */
  reason?: string | undefined;
  /** Who reported it: "admin" or the external system's name. */
  source?: string | undefined;
}

export type RiskTarget =
  | { type: 'user'; reference: string }
  | { type: 'service_principal'; reference: string };

function describe(change: RiskChange, initiatingEntity: InitiatingEntity) {
  const reason = change.reason ?? `risk level set to ${change.level}`;
  const source = change.source ?? (initiatingEntity === 'admin' ? 'admin' : 'external');
  assertStorable(reason, 'reason', 1000);
  assertStorable(source, 'source', 200);
  return { reason, source };
}

export function setUserRiskLevel(
  context: DirectoryContext,
  reference: string,
  change: RiskChange,
  initiatingEntity: InitiatingEntity = 'admin',
): Promise<ActionResult<User>> {
  const { reason, source } = describe(change, initiatingEntity);
  const action = initiatingEntity === 'admin' ? 'user.risk.set' : 'user.risk.signal';
  return runCriticalAction(context, action, async (trx, cause) => {
    const row = await findUserRow(trx, reference, { forUpdate: true });
    const before = toUser(row);
    if (row.risk_level === change.level)
      return {
        targetType: 'user',
        targetId: row.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const updated = await trx
      .updateTable('users')
      .set({ risk_level: change.level, updated_at: cause.at })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = toUser(updated);
    return {
      targetType: 'user',
      targetId: row.id,
      before,
      after: { ...after, risk_reason: reason, risk_source: source },
      result: after,
      events: [
        riskLevelChangeEvent(
          {
            issuer: context.issuer,
            principal: { type: 'user', id: row.id, email: row.email },
            at: cause.at,
            reason,
            initiatingEntity,
          },
          { current: change.level, previous: row.risk_level },
        ),
      ],
    };
  });
}

export function setServicePrincipalRiskLevel(
  context: DirectoryContext,
  reference: string,
  change: RiskChange,
  initiatingEntity: InitiatingEntity = 'admin',
): Promise<ActionResult<Application>> {
  const { reason, source } = describe(change, initiatingEntity);
  const action =
    initiatingEntity === 'admin' ? 'service_principal.risk.set' : 'service_principal.risk.signal';
  return runCriticalAction(context, action, async (trx, cause) => {
    const { app, sp } = await findApplication(trx, reference, { forUpdate: true });
    const before = toApplication(app, sp);
    if (sp.risk_level === change.level)
      return {
        targetType: 'service_principal',
        targetId: sp.id,
        before,
        after: before,
        events: [],
        result: before,
        changed: false,
      };
    const after = toApplication(
      app,
      await setServicePrincipalColumns(trx, sp.id, { risk_level: change.level, updated_at: cause.at }),
    );
    return {
      targetType: 'service_principal',
      targetId: sp.id,
      before,
      after: { ...after, risk_reason: reason, risk_source: source },
      result: after,
      events: [
        riskLevelChangeEvent(
          {
            issuer: context.issuer,
            principal: servicePrincipalOf(sp.id),
            at: cause.at,
            reason,
            initiatingEntity,
          },
          { current: change.level, previous: sp.risk_level },
        ),
      ],
    };
  });
}

/** A signal from an identity-protection system: the same effect as an admin change, recorded as such. */
export function applyRiskSignal(
  context: DirectoryContext,
  target: RiskTarget,
  change: RiskChange,
): Promise<ActionResult<User | Application>> {
  return target.type === 'user'
    ? setUserRiskLevel(context, target.reference, change, 'system')
    : setServicePrincipalRiskLevel(context, target.reference, change, 'system');
}
