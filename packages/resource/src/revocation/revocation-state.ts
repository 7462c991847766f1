/**
 * One change to a subject key (a user, service principal, session, email or tenant; see subject-keys.ts).
 * Times are unix seconds as carried by security events.
 */
export interface RevocationChange {
  key: string;
  /** Event time. */
  at: number;
  /** Tokens issued (iat) before this time are revoked. */
  revokeBefore?: number;
  disabled?: boolean;
  riskLevel?: string;
}

/** What is known about one subject key. */
export interface RevocationEntry {
  /** Tokens issued before this time are revoked; 0 when none are. */
  revokedBefore: number;
  disabled: boolean;
  /** Time of the last disable/enable event; 0 when none. */
  disabledChangedAt: number;
  riskLevel: string | undefined;
}

/**
 * Each field merges by a score that only ever grows, which makes merging commutative and idempotent:
 * replicas that see the same changes in any order, any number of times, agree. The same scores are
 * the sorted-set scores of the Redis store (ZADD GT).
 * - revokedBefore: the time itself (maximum wins);
 * - disabled: at * 2 + (disabled ? 1 : 0) (last event wins; on a tie, disabled wins);
 * - risk: at * 8 + level ordinal (last event wins; on a tie, the higher level wins).
 */
export const RISK_LEVELS = ['unknown', 'low', 'medium', 'high', 'critical'] as const;

export function disabledScore(at: number, disabled: boolean): number {
  return at * 2 + (disabled ? 1 : 0);
}

export function riskScore(at: number, level: string): number {
  const ordinal = RISK_LEVELS.indexOf(level.toLowerCase() as (typeof RISK_LEVELS)[number]);
  return at * 8 + Math.max(ordinal, 0);
}

export function decodeDisabled(score: number): { at: number; disabled: boolean } {
  return { at: Math.floor(score / 2), disabled: score % 2 === 1 };
}

export function decodeRisk(score: number): { at: number; level: string } {
  return { at: Math.floor(score / 8), level: RISK_LEVELS[score % 8] ?? 'unknown' };
}

/**
 * The in-process revocation state: synchronous lookups for the per-request check, bounded by age.
 * Three maps of numbers rather than one map of objects: revocations vastly outnumber disables and risk
 * changes, and a map of small integers costs about a key and a slot per subject.
 */
export class RevocationState {
  readonly #revokedBefore = new Map<string, number>();
  readonly #disabled = new Map<string, number>();
  readonly #risk = new Map<string, number>();

  /**
   * @param retentionSeconds how long a field outlives its event: the longest token lifetime plus clock
   * skew. After that, every token it could reject has expired anyway.
   */
  constructor(readonly retentionSeconds: number) {}

  /** Number of subject keys with a revocation time (the dominant kind of entry). */
  get size(): number {
    return this.#revokedBefore.size;
  }

  get(key: string): RevocationEntry | undefined {
    const revokedBefore = this.#revokedBefore.get(key);
    const disabled = this.#disabled.get(key);
    const risk = this.#risk.get(key);
    if (revokedBefore === undefined && disabled === undefined && risk === undefined) return undefined;
    const d = disabled === undefined ? undefined : decodeDisabled(disabled);
    return {
      revokedBefore: revokedBefore ?? 0,
      disabled: d?.disabled ?? false,
      disabledChangedAt: d?.at ?? 0,
      riskLevel: risk === undefined ? undefined : decodeRisk(risk).level,
    };
  }

  revokedBefore(key: string): number {
    return this.#revokedBefore.get(key) ?? 0;
  }

  /** The time the key was disabled, or 0 when it is not disabled. */
  disabledSince(key: string): number {
    const score = this.#disabled.get(key);
    return score !== undefined && score % 2 === 1 ? Math.floor(score / 2) : 0;
  }

  /** Merges one change; returns whether anything changed. Changes older than the retention are ignored. */
  apply(change: RevocationChange, nowSeconds: number): boolean {
    const cutoff = nowSeconds - this.retentionSeconds;
    let changed = false;
    if (change.revokeBefore !== undefined && change.revokeBefore >= cutoff) {
      changed = raise(this.#revokedBefore, change.key, change.revokeBefore) || changed;
    }
    if (change.disabled !== undefined && change.at >= cutoff) {
      changed = raise(this.#disabled, change.key, disabledScore(change.at, change.disabled)) || changed;
    }
    if (change.riskLevel !== undefined && change.at >= cutoff) {
      changed = raise(this.#risk, change.key, riskScore(change.at, change.riskLevel)) || changed;
    }
    return changed;
  }

  /** Merges raw scores (from the Redis store), with the same rules as apply(). */
  mergeScores(
    field: 'revokedBefore' | 'disabled' | 'risk',
    key: string,
    score: number,
    nowSeconds: number,
  ): boolean {
    const map =
      field === 'revokedBefore' ? this.#revokedBefore : field === 'disabled' ? this.#disabled : this.#risk;
    const at =
      field === 'revokedBefore'
        ? score
        : field === 'disabled'
          ? decodeDisabled(score).at
          : decodeRisk(score).at;
    if (at < nowSeconds - this.retentionSeconds) return false;
    return raise(map, key, score);
  }

  /** Drops fields whose event is older than the retention; returns how many were dropped. */
  prune(nowSeconds: number): number {
    const cutoff = nowSeconds - this.retentionSeconds;
    return (
      dropBelow(this.#revokedBefore, cutoff) +
      dropBelow(this.#disabled, cutoff * 2) +
      dropBelow(this.#risk, cutoff * 8)
    );
  }

  clear(): void {
    this.#revokedBefore.clear();
    this.#disabled.clear();
    this.#risk.clear();
  }
}

function raise(map: Map<string, number>, key: string, score: number): boolean {
  const current = map.get(key);
  if (current !== undefined && current >= score) return false;
  map.set(key, score);
  return true;
}

function dropBelow(map: Map<string, number>, minimum: number): number {
  let dropped = 0;
  for (const [key, score] of map) {
    if (score < minimum) {
      map.delete(key);
      dropped++;
    }
  }
  return dropped;
}
