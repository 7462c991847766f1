/**
 * Signing out ends one session everywhere: when a user confirms RP-initiated logout (logout=yes),
 * the issuer session, what was issued from it (codes, refresh tokens: rows with its `session_uid`) and
 * a CAEP session-revoked event for that session alone — subject {user: iss_sub, session: opaque sid},
 * where sid is the session's uid, the `sid` of its access tokens — are written in one transaction.
 *
 * oidc-provider removes the session through its adapter, and also when it only renews the session's
 * id; the sign-out is told apart by the session id the confirmed logout request carries (its signed
 * cookie), which the provider middleware below marks for the length of that request.
 */
import type { AdapterPayload } from 'oidc-provider';
import { sessionRevokedEvent } from '../directory/security-events.js';
import { enqueueSecurityEvents, newTxn } from '../events/outbox.js';
import type { Db } from '../storage/database.js';
import { OidcModelAdapter } from './oidc-adapter.js';
import { requestStateOf } from './request-state.js';

/** Session ids whose removal, right now, is a confirmed sign-out. */
export class SignOuts {
  readonly #pending = new Set<string>();

  has(sessionId: string): boolean {
    return this.#pending.has(sessionId);
  }

  /**
   * Provider middleware for the logout confirmation (see `onRoute`): a confirmed logout (the request
   * state says logout=yes) marks the session of its verified cookie while the provider handles it.
   */
  middleware(sessionCookie: () => string) {
    const pending = this.#pending;
    return async function markSignOut(
      ctx: {
        req: import('node:http').IncomingMessage;
        cookies: { get(name: string, options: { signed: boolean }): string | undefined };
      },
      next: () => Promise<void>,
    ): Promise<void> {
      if (!requestStateOf(ctx).signOut) return next();
      const sessionId = ctx.cookies.get(sessionCookie(), { signed: true });
      if (!sessionId) return next();
      pending.add(sessionId);
      try {
        await next();
      } finally {
        pending.delete(sessionId);
      }
    };
  }
}

/** oidc-provider's adapter for the Session model: a marked removal is a sign-out (see above). */
export class SessionAdapter extends OidcModelAdapter {
  constructor(
    private readonly database: Db,
    private readonly signOuts: SignOuts,
    private readonly issuer: string,
  ) {
    super(database, 'Session');
  }

  override async destroy(id: string): Promise<void> {
    if (!this.signOuts.has(id)) return super.destroy(id);
    await this.database.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('oidc_models')
        .where('model', '=', 'Session')
        .where('id', '=', id)
        .returning(['account_id', 'payload'])
        .executeTakeFirst();
      const payload = removed?.payload as AdapterPayload | string | undefined;
      const session = (typeof payload === 'string' ? JSON.parse(payload) : payload) as
        | AdapterPayload
        | undefined;
      const accountId = removed?.account_id;
      const sid = session?.uid;
      if (!accountId || typeof sid !== 'string') return;
      await trx.deleteFrom('oidc_models').where('session_uid', '=', sid).execute();
      const at = new Date();
      await enqueueSecurityEvents(
        trx,
        newTxn(),
        [
          sessionRevokedEvent(
            {
              issuer: this.issuer,
              principal: { type: 'user', id: accountId },
              at,
              reason: 'the user signed out',
              initiatingEntity: 'user',
            },
            sid,
          ),
        ],
        at,
      );
    });
  }
}
