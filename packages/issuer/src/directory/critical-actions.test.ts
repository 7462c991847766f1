import { CAEP, RISC } from '@opencae/protocol';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageEngines } from '../../test/support/storage-engines.js';
import { verifyClientSecret, verifyPassword } from '../crypto/secrets.js';
import type { Storage } from '../storage/database.js';
import { addCertificate, removeCertificate, resetClientSecret } from './application-credentials.js';
import { createApplication } from './applications.js';
import type { ActionResult } from './critical-action.js';
import type { DirectoryContext } from './directory-context.js';
import { NotFoundError } from './errors.js';
import { applyRiskSignal, setServicePrincipalRiskLevel, setUserRiskLevel } from './risk.js';
import {
  deleteServicePrincipal,
  disableServicePrincipal,
  enableServicePrincipal,
} from './service-principal-actions.js';
import {
  deleteUser,
  disableUser,
  enableUser,
  recordMfaEnrollment,
  requireMfa,
  resetPassword,
  revokeUserSessions,
} from './user-actions.js';
import { createUser, getUser } from './users.js';

const issuer = 'https://issuer.test';
const at = new Date('2026-03-01T12:00:00.000Z');
const eventTimestamp = Math.floor(at.getTime() / 1000);

describe.each(storageEngines)('critical actions on $name', ({ open }) => {
  let storage: Storage;
  let drop: () => Promise<void>;
  let context: DirectoryContext;
  beforeAll(async () => {
    ({ storage, drop } = await open());
    context = { db: storage.db, issuer, actor: 'admin-client', now: () => at };
  });
  afterAll(async () => {
    await storage?.close();
    await drop?.();
  });

  let counter = 0;
  async function newUser(email: string | null = null) {
    counter++;
    return createUser(context, { username: `user-${counter}`, password: 'initial password', email });
  }
  async function newApp() {
    return createApplication(context, { name: `app-${++counter}` });
  }

  /** The events and the audit entry of one action: all written under the action's txn. */
  async function recorded(action: ActionResult<unknown>) {
    const events = await storage.db
      .selectFrom('security_events')
      .selectAll()
      .where('txn', '=', action.txn)
      .orderBy('id')
      .execute();
    const audit = await storage.db
      .selectFrom('audit_log')
      .selectAll()
      .where('txn', '=', action.txn)
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.actor).toBe('admin-client');
    expect(events.every((event) => event.occurred_at.getTime() === at.getTime())).toBe(true);
    return { events, audit: audit[0]! };
  }

  it('disable, enable and delete a user: RISC account-disabled / enabled / purged', async () => {
    const user = await newUser('u@example.com');
    const disabled = await disableUser(context, user.username);
    expect(disabled.result.enabled).toBe(false);
    const { events, audit } = await recorded(disabled);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event_type: RISC.accountDisabled,
      principal_type: 'user',
      principal_id: user.id,
      subject: {
        format: 'aliases',
        identifiers: [
          { format: 'iss_sub', iss: issuer, sub: user.id },
          { format: 'email', email: 'u@example.com' },
        ],
      },
      event: {
        event_timestamp: eventTimestamp,
        initiating_entity: 'admin',
        reason_admin: { en: expect.any(String) },
      },
    });
    expect(audit).toMatchObject({
      action: 'user.disable',
      target_id: user.id,
      before: { enabled: true },
      after: { enabled: false },
    });

    // Already disabled: nothing changes, nothing is sent.
    const again = await disableUser(context, user.id);
    expect(again).toMatchObject({ changed: false, events: 0 });
    expect(
      await storage.db.selectFrom('security_events').where('txn', '=', again.txn).selectAll().execute(),
    ).toEqual([]);

    const enabled = await enableUser(context, user.id);
    expect(enabled.result.enabled).toBe(true);
    expect((await recorded(enabled)).events.map((event) => event.event_type)).toEqual([RISC.accountEnabled]);

    await storage.db
      .insertInto('oidc_models')
      .values({
        model: 'Session',
        id: `s-${user.id}`,
        payload: JSON.stringify({ accountId: user.id }),
        account_id: user.id,
      })
      .execute();
    const deleted = await deleteUser(context, user.id);
    expect(deleted.result.deleted_at).toBe(at.toISOString());
    expect((await recorded(deleted)).events.map((event) => event.event_type)).toEqual([RISC.accountPurged]);
    expect(
      await storage.db.selectFrom('oidc_models').where('account_id', '=', user.id).selectAll().execute(),
    ).toEqual([]);
    await expect(getUser(storage.db, user.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(disableUser(context, user.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reset password: sets it or generates one, credentials_changed_at, CAEP credential-change password', async () => {
    const user = await newUser();
    const generated = await resetPassword(context, user.username);
    const temporary = generated.result.temporary_password!;
    expect(temporary.length).toBeGreaterThanOrEqual(16);
    expect(generated.result.user.credentials_changed_at).toBe(at.toISOString());
    const row = await storage.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(await verifyPassword(temporary, row.password_hash)).toBe(true);
    const { events, audit } = await recorded(generated);
    expect(events[0]).toMatchObject({
      event_type: CAEP.credentialChange,
      subject: { format: 'iss_sub', iss: issuer, sub: user.id },
      event: { credential_type: 'password', change_type: 'update', reason_admin: { en: expect.any(String) } },
    });
    expect(JSON.stringify(audit)).not.toContain(temporary);
    expect(JSON.stringify(audit)).not.toContain('scrypt');

    const chosen = await resetPassword(context, user.id, { password: 'a chosen password' });
    expect(chosen.result.temporary_password).toBeUndefined();
  });

  it('require MFA: credential-change create at once when enrolled, at enrollment otherwise', async () => {
    const notEnrolled = await newUser();
    const required = await requireMfa(context, notEnrolled.id);
    expect(required.result.mfa_required).toBe(true);
    expect((await recorded(required)).events).toEqual([]);
    const enrolled = await recordMfaEnrollment(context, notEnrolled.id, 'JBSWY3DPEHPK3PXP');
    expect(enrolled.result.mfa_enrolled).toBe(true);
    const enrollmentEvents = (await recorded(enrolled)).events;
    expect(enrollmentEvents[0]).toMatchObject({
      event_type: CAEP.credentialChange,
      event: { credential_type: 'app', change_type: 'create', initiating_entity: 'user' },
    });
    expect(JSON.stringify(await recorded(enrolled))).not.toContain('JBSWY3DPEHPK3PXP');
    const second = await recordMfaEnrollment(context, notEnrolled.id, 'OTHERSECRETOTHER');
    expect(second).toMatchObject({ changed: false, events: 0 });
    const stored = await storage.db
      .selectFrom('users')
      .select('totp_secret')
      .where('id', '=', notEnrolled.id)
      .executeTakeFirstOrThrow();
    expect(stored.totp_secret).toBe('JBSWY3DPEHPK3PXP');

    const other = await newUser();
    await storage.db.updateTable('users').set({ totp_enrolled_at: at }).where('id', '=', other.id).execute();
    const now = await requireMfa(context, other.id);
    expect((await recorded(now)).events[0]).toMatchObject({
      event_type: CAEP.credentialChange,
      event: { credential_type: 'app', change_type: 'create', initiating_entity: 'admin' },
    });
    expect((await requireMfa(context, other.id)).changed).toBe(false);
  });

  it("revoke all sessions: sessions_revoked_at, the user's browser sessions deleted, CAEP session-revoked", async () => {
    const user = await newUser();
    const bystander = await newUser();
    for (const [model, owner] of [
      ['Session', user.id],
      ['Grant', user.id],
      ['RefreshToken', user.id],
      ['Session', bystander.id],
    ] as const)
      await storage.db
        .insertInto('oidc_models')
        .values({ model, id: `${model}-${owner}`, payload: JSON.stringify({}), account_id: owner })
        .execute();
    const revoked = await revokeUserSessions(context, user.username);
    expect(revoked.result.sessions_revoked_at).toBe(at.toISOString());
    const { events } = await recorded(revoked);
    expect(events[0]).toMatchObject({
      event_type: CAEP.sessionRevoked,
      subject: { format: 'iss_sub', sub: user.id },
      event: { event_timestamp: eventTimestamp, reason_admin: { en: expect.any(String) } },
    });
    // Grants and refresh tokens stay, refused by the token service with the reason (sessions revoked).
    const left = await storage.db.selectFrom('oidc_models').select(['account_id', 'model']).execute();
    expect(left.filter((row) => row.account_id === user.id).map((row) => row.model)).toEqual(
      expect.arrayContaining(['Grant', 'RefreshToken']),
    );
    expect(left.filter((row) => row.account_id === user.id)).toHaveLength(2);
    expect(left.filter((row) => row.account_id === bystander.id)).toHaveLength(1);
  });

  it('set risk level and external risk signals: CAEP risk-level-change with previous and current', async () => {
    const user = await newUser();
    const raised = await setUserRiskLevel(context, user.id, { level: 'high', reason: 'leaked credentials' });
    expect(raised.result.risk_level).toBe('high');
    const { events, audit } = await recorded(raised);
    expect(events[0]).toMatchObject({
      event_type: CAEP.riskLevelChange,
      event: {
        principal: 'USER',
        current_level: 'HIGH',
        previous_level: 'LOW',
        risk_reason: 'leaked credentials',
        event_timestamp: eventTimestamp,
      },
    });
    expect(audit.after).toMatchObject({
      risk_level: 'high',
      risk_reason: 'leaked credentials',
      risk_source: 'admin',
    });
    expect((await setUserRiskLevel(context, user.id, { level: 'high' })).changed).toBe(false);

    const signal = await applyRiskSignal(
      context,
      { type: 'user', reference: user.username },
      { level: 'medium', reason: 'impossible travel', source: 'idp-protection' },
    );
    const signalled = await recorded(signal);
    expect(signalled.audit).toMatchObject({
      action: 'user.risk.signal',
      after: { risk_source: 'idp-protection' },
    });
    expect(signalled.events[0]?.event).toMatchObject({
      current_level: 'MEDIUM',
      previous_level: 'HIGH',
      initiating_entity: 'system',
      risk_reason: 'impossible travel',
    });

    const { application } = await newApp();
    const spRisk = await setServicePrincipalRiskLevel(context, application.client_id, { level: 'high' });
    expect(spRisk.result.service_principal.risk_level).toBe('high');
    expect((await recorded(spRisk)).events[0]).toMatchObject({
      principal_type: 'service_principal',
      principal_id: application.service_principal.id,
      subject: { format: 'iss_sub', iss: issuer, sub: application.service_principal.id },
    });
  });

  it('disable, enable and delete a service principal: RISC events with the service principal as subject', async () => {
    const { application } = await newApp();
    const sp = application.service_principal.id;
    const disabled = await disableServicePrincipal(context, application.client_id);
    expect(disabled.result.service_principal.enabled).toBe(false);
    expect((await recorded(disabled)).events[0]).toMatchObject({
      event_type: RISC.accountDisabled,
      principal_type: 'service_principal',
      subject: { format: 'iss_sub', sub: sp },
    });
    const enabled = await enableServicePrincipal(context, sp);
    expect((await recorded(enabled)).events[0]?.event_type).toBe(RISC.accountEnabled);
    const deleted = await deleteServicePrincipal(context, application.id);
    expect((await recorded(deleted)).events[0]?.event_type).toBe(RISC.accountPurged);
    const secrets = await storage.db
      .selectFrom('client_secrets')
      .select('revoked_at')
      .where('application_id', '=', application.id)
      .execute();
    expect(secrets.every((secret) => secret.revoked_at !== null)).toBe(true);
    await expect(disableServicePrincipal(context, application.client_id)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('reset client secret: old revoked, new shown once and stored hashed, credential-change client_secret', async () => {
    const created = await newApp();
    const reset = await resetClientSecret(context, created.application.client_id);
    const secret = reset.result.client_secret;
    expect(secret.value).not.toBe(created.client_secret!.value);
    const rows = await storage.db
      .selectFrom('client_secrets')
      .selectAll()
      .where('application_id', '=', created.application.id)
      .orderBy('created_at')
      .execute();
    const active = rows.filter((row) => row.revoked_at === null);
    expect(active).toHaveLength(1);
    expect(verifyClientSecret(secret.value, active[0]!.secret_hash)).toBe(true);
    expect(rows.find((row) => row.id === created.client_secret!.id)?.revoked_at).toEqual(at);
    expect(reset.result.application.service_principal.credentials_changed_at).toBe(at.toISOString());
    const { events, audit } = await recorded(reset);
    expect(events[0]).toMatchObject({
      event_type: CAEP.credentialChange,
      event: { credential_type: 'client_secret', change_type: 'update' },
    });
    expect(JSON.stringify(audit)).not.toContain(secret.value);
  });

  it('add and remove a certificate: credential-change x509 create / revoke', async () => {
    const created = await newApp();
    const jwk = {
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)),
      kid: 'cert-1',
    };
    const added = await addCertificate(context, created.application.client_id, jwk);
    expect(added.result.certificates).toEqual([{ kid: 'cert-1', kty: 'EC', crv: 'P-256' }]);
    expect((await recorded(added)).events[0]?.event).toMatchObject({
      credential_type: 'x509',
      change_type: 'create',
    });
    await expect(addCertificate(context, created.application.client_id, jwk)).rejects.toThrow(/kid/);
    const removed = await removeCertificate(context, created.application.client_id, 'cert-1');
    expect(removed.result.certificates).toEqual([]);
    expect(removed.result.service_principal.credentials_changed_at).toBe(at.toISOString());
    expect((await recorded(removed)).events[0]?.event).toMatchObject({
      credential_type: 'x509',
      change_type: 'revoke',
    });
    await expect(removeCertificate(context, created.application.client_id, 'cert-1')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('writes state, events and audit in one transaction: a failure after the action rolls all of it back', async () => {
    const user = await newUser();
    const { application } = await newApp();
    const before = {
      events: (await storage.db.selectFrom('security_events').select('id').execute()).length,
      audit: (await storage.db.selectFrom('audit_log').select('id').execute()).length,
    };
    await expect(
      storage.db.transaction().execute(async (trx) => {
        const scoped = { ...context, db: trx };
        const result = await disableUser(scoped, user.id);
        await revokeUserSessions(scoped, user.id);
        await setUserRiskLevel(scoped, user.id, { level: 'high' });
        await resetClientSecret(scoped, application.client_id);
        await disableServicePrincipal(scoped, application.client_id);
        // Inside the transaction everything is visible...
        expect(
          await trx.selectFrom('security_events').select('id').where('txn', '=', result.txn).execute(),
        ).toHaveLength(1);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    // ...and after the rollback nothing is.
    const after = await getUser(storage.db, user.id);
    expect(after).toMatchObject({ enabled: true, risk_level: 'none', sessions_revoked_at: null });
    expect((await storage.db.selectFrom('security_events').select('id').execute()).length).toBe(
      before.events,
    );
    expect((await storage.db.selectFrom('audit_log').select('id').execute()).length).toBe(before.audit);
    const sp = await storage.db
      .selectFrom('service_principals')
      .selectAll()
      .where('id', '=', application.service_principal.id)
      .executeTakeFirstOrThrow();
    expect(sp.enabled).toBe(true);
    expect(sp.credentials_changed_at).toBeNull();
  });
});
