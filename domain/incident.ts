/**
 * The incident contract: the vocabulary every part of Vigil shares (CLI, workflows, activities, Slack).
 * Message shapes that cross the Temporal boundary carry `contractVersion` so they can evolve.
 */
import { z } from 'zod';

export const FAILURE_MODES = ['data_drift', 'concept_drift', 'data_quality', 'infrastructure', 'feedback_loop', 'upstream'] as const;
export const FailureMode = z.enum(FAILURE_MODES);
export type FailureMode = z.infer<typeof FailureMode>;

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

/** Lifecycle phases, in order. */
export const PHASES = ['detected', 'classified', 'triaged', 'awaiting_approval', 'remediating', 'validating', 'reviewing', 'closed'] as const;
export const Phase = z.enum(PHASES);
export type Phase = z.infer<typeof Phase>;

export const REMEDIATION_ACTIONS = ['rollback', 'retrain', 'fallback', 'escalate_upstream', 'monitor'] as const;
export const RemediationAction = z.enum(REMEDIATION_ACTIONS);
export type RemediationAction = z.infer<typeof RemediationAction>;

/** What was observed. Each signal kind points at one failure-mode family; classification refines it. */
export const SIGNAL_KINDS = [
  'data_drift',
  'accuracy_drop',
  'schema_break',
  'missing_values',
  'out_of_range',
  'unseen_category',
  'latency',
  'error_rate',
  'gpu_memory',
  'queue_depth',
  'label_anomaly',
  'upstream_error',
] as const;
export const SignalKind = z.enum(SIGNAL_KINDS);
export type SignalKind = z.infer<typeof SignalKind>;

const SIGNAL_FAMILY: Record<SignalKind, FailureMode> = {
  data_drift: 'data_drift',
  accuracy_drop: 'concept_drift',
  schema_break: 'data_quality',
  missing_values: 'data_quality',
  out_of_range: 'data_quality',
  unseen_category: 'data_quality',
  latency: 'infrastructure',
  error_rate: 'infrastructure',
  gpu_memory: 'infrastructure',
  queue_depth: 'infrastructure',
  label_anomaly: 'feedback_loop',
  upstream_error: 'upstream',
};

/** The failure mode a signal suggests before classification; also the de-duplication key's mode. */
export function failureModeForSignal(signal: SignalKind): FailureMode {
  return SIGNAL_FAMILY[signal];
}

export const ModelTier = z.enum(['critical', 'high', 'medium', 'low']);
export type ModelTier = z.infer<typeof ModelTier>;

export const EvidenceValue = z.union([z.string(), z.number(), z.boolean()]);
export type EvidenceValue = z.infer<typeof EvidenceValue>;

export const EvidenceSource = z.enum(['cli', 'monitor', 'alertmanager', 'slack', 'test']);
export type EvidenceSource = z.infer<typeof EvidenceSource>;

/** One observation attached to an incident. Repeated signals append more of these. */
export const Evidence = z.object({
  source: EvidenceSource,
  signal: SignalKind,
  observedAt: z.string().datetime({ offset: true }),
  values: z.record(z.string(), EvidenceValue),
});
export type Evidence = z.infer<typeof Evidence>;

/** What the workflow needs to know about the model; resolved from config when the incident opens. */
export const ModelRef = z.object({
  id: z.string(),
  displayName: z.string(),
  tier: ModelTier,
  approvers: z.array(z.string()).min(1),
  escalation: z.array(z.string()),
  /** Approvers for a severity instead of `approvers`; absent on incidents opened before it existed. */
  approversBySeverity: z.partialRecord(Severity, z.array(z.string()).min(1)).optional(),
  /** Where the incident's Slack message goes (models[].slack.channel). */
  slackChannel: z.string().optional(),
});
export type ModelRef = z.infer<typeof ModelRef>;

export interface Classification {
  failureMode: FailureMode;
  severity: Severity;
  reasons: string[];
}

export interface Recommendation {
  action: RemediationAction;
  reasons: string[];
  /** Actions considered and why each was not chosen, for the review. */
  considered: { action: RemediationAction; applicable: boolean; reason: string }[];
}

export const Verdict = z.enum(['approve', 'reject']);
export type Verdict = z.infer<typeof Verdict>;

/** How a decision reached Vigil: the CLI in local mode, Slack, the decision API (`api`), a test. */
export const DecisionChannel = z.enum(['cli', 'slack', 'api', 'test']);

/** The payload of the `decide` Update (contract v1). */
export const DecideRequest = z.object({
  verdict: Verdict,
  by: z.string().min(1, 'the deciding user is required').max(200),
  reason: z.string().max(2000).optional(),
  via: DecisionChannel.default('cli'),
  /**
   * The person `by` is (config `people`: a Slack id and a CLI name can be one person), set by whoever
   * authenticated the decider (the API gateway, the Slack app, the CLI in local mode); quorum counts
   * people. Absent in requests from before people existed.
   */
  person: z.string().min(1).max(200).optional(),
});
export type DecideRequest = z.input<typeof DecideRequest>;

export interface Vote {
  verdict: Verdict;
  by: string;
  reason?: string;
  via: string;
  at: string;
  /** The person `by` is, when the request said (see DecideRequest.person). */
  person?: string;
}

export interface DecideResult {
  accepted: true;
  /** `approved`/`rejected` once the decision is final; `vote_recorded` while a quorum is still short. */
  outcome: 'approved' | 'rejected' | 'vote_recorded';
  votes: Vote[];
  quorum: number;
}

export interface FinalDecision {
  verdict: Verdict | 'timeout';
  action: RemediationAction;
  by: string[];
  reason?: string;
  at: string;
}

export type Outcome = 'resolved' | 'rejected' | 'not_recovered' | 'unverified' | 'remediation_failed' | 'escalated_upstream' | 'monitoring';

/** A named event sent to an incident's runbook, with who sent it and optional key=value data. */
export interface RunbookSignal {
  name: string;
  by: string;
  data?: Record<string, string>;
  at?: string;
}

/** What a runbook step did, for the review: a webhook's answer, a signal received or timed out. */
export interface RunbookStepRecord {
  step: string;
  kind: 'webhook' | 'signal' | 'note' | 'page' | 'validate';
  at: string;
  detail: string;
  /** HTTP status of a webhook call. */
  status?: number;
  /** A webhook's response body (bounded) or a signal's data. */
  body?: string;
}

/** The runbook an incident runs, and what its steps did. */
export interface RunbookRecord {
  name: string;
  steps: RunbookStepRecord[];
  signals: RunbookSignal[];
  /** The signal the runbook waits for now, until when, and the Slack button that sends it. */
  waitingFor?: { name: string; until: string; button?: string };
}

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

export interface RemediationRecord {
  action: RemediationAction;
  startedAt: string;
  finishedAt?: string;
  summary?: string;
  detail?: Record<string, unknown>;
  compensated?: boolean;
}

export interface ValidationRecord {
  recovered: boolean | null;
  reasons: string[];
  checkedAt: string;
  metrics: Record<string, number>;
  /**
   * Not recovered after a rollback or retrain: the version an undo would restore and the one serving,
   * scored on the same labelled predictions since the remediation. The undo happens only when the
   * previous version measured better (or nothing could be measured).
   */
  comparison?: {
    previousVersion: number;
    currentVersion: number;
    metric: string;
    rows: number;
    enough: boolean;
    previous?: number;
    current?: number;
    previousBetter: boolean;
    summary: string;
  };
}

/** The workflow's live state, answered by the `state` query and projected into PostgreSQL. */
export interface IncidentState {
  contractVersion: 1;
  id: string;
  model: ModelRef;
  signal: SignalKind;
  phase: Phase;
  status: 'open' | 'closed';
  openedAt: string;
  closedAt?: string;
  outcome?: Outcome;
  classification?: Classification;
  recommendation?: Recommendation;
  triageEvidence?: Record<string, unknown>;
  approval?: { approvers: string[]; quorum: number; deadline: string; votes: Vote[]; escalated: boolean };
  decision?: FinalDecision;
  remediation?: RemediationRecord;
  validation?: ValidationRecord;
  /** Set while the model serves its fallback because the runbook degrades it during the incident. */
  degraded?: { since: string; reason: string; previousMode: 'model' | 'fallback'; liftedAt?: string };
  evidence: Evidence[];
  timeline: TimelineEntry[];
  /** Timeline entries dropped to keep the state bounded (the first ones and the latest are kept). */
  timelineTrimmed?: number;
  runbookVersion: string;
  /** Set when a team's runbook (not the standard one) runs the incident. */
  runbook?: RunbookRecord;
}

/** One open incident per (model, failure mode): the key the incident store keeps unique among open ones. */
export function dedupeKeyFor(modelId: string, mode: FailureMode): string {
  return `${modelId}:${mode}`;
}

/** Human-readable, unique and sortable: `incident-<model>-<mode>-<yyyymmddhhmmss>`. */
export function incidentIdFor(modelId: string, mode: FailureMode, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:TZ]/g, '')
    .slice(0, 14);
  return `incident-${modelId}-${mode.replace(/_/g, '-')}-${stamp}`;
}

/** Parses `key=value` evidence arguments; numbers and booleans are typed. Throws naming the bad item. */
export function parseEvidencePairs(pairs: string[]): Record<string, EvidenceValue> {
  const values: Record<string, EvidenceValue> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new Error(`--evidence "${pair}": expected key=value with a non-empty key and value`);
    }
    const key = pair.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new Error(`--evidence "${pair}": key "${key}" must start with a letter and use letters, digits, _ . -`);
    }
    // Assigned below, it would be dropped without a word (it is the object's prototype, not a key).
    if (key === '__proto__') throw new Error(`--evidence "${pair}": "__proto__" is not allowed as a key`);
    const raw = pair.slice(eq + 1).trim();
    if (raw === '') throw new Error(`--evidence "${pair}": the value of "${key}" is empty`);
    const isDecimal = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw);
    values[key] = raw === 'true' ? true : raw === 'false' ? false : isDecimal ? Number(raw) : raw;
  }
  return values;
}
