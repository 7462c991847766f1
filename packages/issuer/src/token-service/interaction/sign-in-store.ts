/**
 * Server-side state of a sign-in in progress (who passed the password step, a pending TOTP secret,
 * the form's anti-forgery token) and which TOTP codes were spent. Kept in the database, so a sign-in may continue
 * on any replica; nothing of it is trusted from the browser.
 */
import { sql } from 'kysely';
import type { Db } from '../../storage/database.js';
import { OidcModelAdapter } from '../oidc-adapter.js';

export interface SignInState {
  /** Anti-forgery token of the interaction's forms. */
  csrf: string;
  /** Set once the password was verified. */
  userId?: string;
  /** 'password' → 'totp' (enrolled user) or 'enroll' (must enroll now). */
  stage: 'password' | 'totp' | 'enroll';
  /** The secret shown during enrollment, confirmed by a first code. */
  pendingSecret?: string;
  /** Failed attempts in this interaction (password or code). */
  failures: number;
  /** When the password was verified (ms): a credential change after it ends the sign-in. */
  passwordVerifiedAt?: number;
}

const SIGN_IN_TTL_SECONDS = 600;
export const MAX_FAILURES = 5;

export class SignInStore {
  private readonly states: OidcModelAdapter;

  constructor(private readonly db: Db) {
    this.states = new OidcModelAdapter(db, 'OpenCaeSignIn');
  }

  async get(uid: string): Promise<SignInState | undefined> {
    return (await this.states.find(uid)) as SignInState | undefined;
  }

  async put(uid: string, state: SignInState): Promise<void> {
    await this.states.upsert(uid, { ...state }, SIGN_IN_TTL_SECONDS);
  }

  async delete(uid: string): Promise<void> {
    await this.states.destroy(uid);
  }

  /**
   * Records that the user spent the TOTP code of `step`; false when it was already spent (replay).
   * The insert is atomic, so two replicas racing with the same code cannot both succeed.
   */
  async spendTotpStep(userId: string, step: number): Promise<boolean> {
    const result = await this.db
      .insertInto('oidc_models')
      .values({
        model: 'OpenCaeTotpUse',
        id: `${userId}:${step}`,
        payload: JSON.stringify({}),
        account_id: userId,
        expires_at: sql<Date>`now() + interval '10 minutes'`,
      })
      .onConflict((oc) => oc.columns(['model', 'id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return result !== undefined;
  }
}
