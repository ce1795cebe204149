/**
 * Limits on what an incident's state keeps. The state travels in every activity call and every query
 * answer, and Temporal terminates a workflow whose payloads pass its limits (2 MB a payload, 50 MB of
 * history): whatever a sender puts in an alert, a signal or a vote, the state stays small. Inputs past a
 * limit are cut (with a mark), not refused, because they arrive as signals that cannot answer an error.
 */
import { cut } from './cut.js';
import type { Evidence, EvidenceValue, RunbookSignal } from './incident.js';

export const INCIDENT_LIMITS = {
  /** Keys in one piece of evidence. */
  evidenceKeys: 32,
  /** Characters of a string evidence value, a signal's data value, a timeline detail. */
  valueChars: 256,
  detailChars: 1000,
  /** Timeline entries kept: the first `timelineHead` and the latest. */
  timelineEntries: 200,
  timelineHead: 20,
  /** A vote's reason and a decider's id, checked by the decide Update's validator (refused, not cut). */
  reasonChars: 2000,
  deciderChars: 200,
  /** Keys of a runbook signal's data. */
  signalDataKeys: 20,
  /** Characters of a signal's data value as a sender may send it (refused above; the incident keeps `valueChars`). */
  signalValueChars: 500,
} as const;

/** A runbook signal's name, as senders must spell it (the CLI, the decision API, Slack buttons). */
export const SIGNAL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/**
 * Evidence as the incident keeps it: undefined for anything that is not evidence (a `null` signal, a
 * wrong shape) — the incident ignores it instead of failing every workflow task after it; too many keys
 * or too long strings are cut.
 */
export function boundedEvidence(input: unknown): Evidence | undefined {
  // Deliberately lenient (not the full schema): evidence an older incident accepted must still be
  // accepted when its history replays.
  if (typeof input !== 'object' || input === null) return undefined;
  const e = input as Partial<Evidence>;
  if (typeof e.source !== 'string' || typeof e.signal !== 'string' || typeof e.values !== 'object' || e.values === null || Array.isArray(e.values))
    return undefined;
  const entries = Object.entries(e.values as Record<string, unknown>);
  const values: Record<string, EvidenceValue> = {};
  for (const [k, v] of entries.slice(0, INCIDENT_LIMITS.evidenceKeys)) {
    if (typeof v === 'string') values[cut(k, 64)] = cut(v, INCIDENT_LIMITS.valueChars);
    else if (typeof v === 'number' || typeof v === 'boolean') values[cut(k, 64)] = v;
  }
  if (entries.length > INCIDENT_LIMITS.evidenceKeys) values['vigil_dropped_keys'] = entries.length - INCIDENT_LIMITS.evidenceKeys;
  return { source: e.source, signal: e.signal, observedAt: typeof e.observedAt === 'string' ? cut(e.observedAt, 64) : '', values } as Evidence;
}

/** A runbook signal as the incident keeps it, or undefined for one that is not a signal. */
export function boundedSignal(input: unknown): Omit<RunbookSignal, 'at'> | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const s = input as Partial<RunbookSignal>;
  if (typeof s.name !== 'string' || typeof s.by !== 'string' || !s.name || !s.by) return undefined;
  let data: Record<string, string> | undefined;
  if (s.data !== undefined) {
    if (typeof s.data !== 'object' || s.data === null || Array.isArray(s.data)) return undefined;
    data = {};
    for (const [k, v] of Object.entries(s.data).slice(0, INCIDENT_LIMITS.signalDataKeys)) data[cut(k, 64)] = cut(String(v), INCIDENT_LIMITS.valueChars);
  }
  return { name: cut(s.name, 63), by: cut(s.by, INCIDENT_LIMITS.deciderChars), ...(data ? { data } : {}) };
}
