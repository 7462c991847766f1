/**
 * Server-side state of a sign-in in progress (who passed the password step, a pending TOTP secret,
 * the form's anti-forgery token) and which TOTP codes were spent. Kept in the database, so a sign-in may continue
 * on any replica; nothing of it is trusted from the browser. The pending TOTP secret is encrypted at
 * rest like an enrolled one (users.totp_secret): for ten minutes it is as good as the second factor.
 */
import { sql } from 'kysely';
import { type SecretBox, SecretUnreadableError } from '../../crypto/secret-box.js';
import { SECRET_COLUMNS } from '../../crypto/secret-columns.js';
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

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
  ) {
    this.states = new OidcModelAdapter(db, 'OpenCaeSignIn');
  }

  /**
   * The state of a sign-in, or undefined when there is none (the sign-in starts over). A pending
   * secret sealed with a key since removed from the key ring also ends the sign-in: enrollment starts
   * again with a new secret, instead of failing.
   */
  async get(uid: string): Promise<SignInState | undefined> {
    const stored = (await this.states.find(uid)) as SignInState | undefined;
    if (!stored?.pendingSecret) return stored;
    try {
      return {
        ...stored,
        pendingSecret: this.secrets.open(SECRET_COLUMNS.pendingTotpSecret, stored.pendingSecret),
      };
    } catch (error) {
      if (error instanceof SecretUnreadableError) return undefined;
      throw error;
    }
  }

  async put(uid: string, state: SignInState): Promise<void> {
    const stored = state.pendingSecret
      ? { ...state, pendingSecret: this.secrets.seal(SECRET_COLUMNS.pendingTotpSecret, state.pendingSecret) }
      : { ...state };
    await this.states.upsert(uid, stored, SIGN_IN_TTL_SECONDS);
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
