import {
  SetVerificationError,
  type SetVerificationKey,
  SSF,
  type VerifiedSet,
  verifySet,
} from '@opencae/protocol';
import { ExpiringLru } from '../expiring-lru.js';
import { revocationChanges } from '../revocation/event-changes.js';
import type { RevocationStore } from '../revocation/revocation-store.js';
import { setSubjectKeys } from '../revocation/subject-keys.js';
import type { ReceiverHealth } from './health.js';

/** Called with every verified, first-seen SET (after revocation state is updated); e.g. policy sync. */
export type SecurityEventListener = (set: VerifiedSet) => void | Promise<void>;

export type SetOutcome =
  | { outcome: 'accepted'; jti: string; set: VerifiedSet }
  | { outcome: 'duplicate'; jti: string }
  /** RFC 8935/8936 error: report it, never retry. */
  | { outcome: 'rejected'; err: string; description: string }
  /** Could not decide now (keys unreachable, store down): let the transmitter deliver it again. */
  | { outcome: 'retry'; description: string };

export interface SetProcessorOptions {
  key: () => Promise<SetVerificationKey>;
  issuer: () => Promise<string>;
  audience: () => Promise<string | string[]>;
  /** The issuer of the access tokens, to match `iss_sub` subjects. */
  tokenIssuer: string;
  store: RevocationStore;
  health: ReceiverHealth;
  listeners: Set<SecurityEventListener>;
  jtiMemorySize: number;
  jtiMemorySeconds: number;
  clockToleranceSeconds: number;
  now: () => number;
}

/**
 * Verifies one SET and applies it: revocation state, stream status, verification time, listeners.
 * Redelivered SETs (same issuer and jti) are recognised in bounded memory and not applied twice.
 */
export class SetProcessor {
  readonly #seen: ExpiringLru<true>;

  constructor(private readonly options: SetProcessorOptions) {
    this.#seen = new ExpiringLru(options.jtiMemorySize);
  }

  async process(jwt: string): Promise<SetOutcome> {
    const { health } = this.options;
    let set: VerifiedSet;
    try {
      const [key, issuer, audience] = await Promise.all([
        this.options.key(),
        this.options.issuer(),
        this.options.audience(),
      ]);
      set = await verifySet(jwt, {
        key,
        issuer,
        audience,
        clockToleranceSeconds: this.options.clockToleranceSeconds,
      });
    } catch (error) {
      if (error instanceof SetVerificationError) {
        health.eventsRejected++;
        return { outcome: 'rejected', err: error.code, description: error.description };
      }
      return this.#retry(`the SET could not be verified now: ${(error as Error).message}`);
    }

    const now = this.options.now();
    const id = `${set.payload.iss}\u0000${set.payload.jti}`;
    if (this.#seen.has(id, now)) {
      health.duplicatesIgnored++;
      return { outcome: 'duplicate', jti: set.payload.jti };
    }

    if (set.eventType === SSF.verification) health.lastVerificationAt = now;
    if (set.eventType === SSF.streamUpdated) {
      health.streamStatus = set.event.status as ReceiverHealth['streamStatus'];
      health.streamStatusReason = typeof set.event.reason === 'string' ? set.event.reason : undefined;
    }
    // SSF puts the subject at the top level; older CAEP drafts put it in the event.
    const subject = set.payload.sub_id ?? set.event.subject;
    const changes = revocationChanges(
      set.eventType,
      set.event,
      setSubjectKeys(subject, this.options.tokenIssuer),
      set.payload.iat,
    );
    try {
      await this.options.store.apply(changes);
    } catch (error) {
      return this.#retry((error as Error).message);
    }
    this.#seen.set(id, true, now + this.options.jtiMemorySeconds * 1000);
    health.eventsAccepted++;
    health.lastEventAt = now;
    for (const listener of this.options.listeners) {
      try {
        await listener(set);
      } catch (error) {
        this.#recordError(`a security event listener failed: ${(error as Error).message}`);
      }
    }
    return { outcome: 'accepted', jti: set.payload.jti, set };
  }

  #retry(description: string): SetOutcome {
    this.#recordError(description);
    return { outcome: 'retry', description };
  }

  #recordError(message: string): void {
    this.options.health.lastError = message;
    this.options.health.lastErrorAt = this.options.now();
  }
}
