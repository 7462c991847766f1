/**
 * Which subjects a stream receives. Default subjects are ALL: every subject of this issuer, except
 * those the receiver removed; adding a subject back (or adding one never removed) makes it explicit.
 */
import { type SubjectIdentifier, subjectMatches } from '@opencae/protocol';

export interface StreamSubjectRule {
  subject: SubjectIdentifier;
  mode: 'added' | 'removed';
}

/** Canonical JSON (sorted keys), so the same subject always has the same key. */
export function subjectKey(subject: SubjectIdentifier): string {
  return canonicalJson(subject);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** An event reaches the stream unless its subject was removed and not added back by a matching rule. */
export function streamIncludesSubject(
  rules: readonly StreamSubjectRule[],
  subject: SubjectIdentifier,
): boolean {
  let removed = false;
  for (const rule of rules) {
    if (!subjectMatches(rule.subject, subject)) continue;
    if (rule.mode === 'added') return true;
    removed = true;
  }
  return !removed;
}
