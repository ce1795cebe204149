/**
 * Every activity's signature (v1), as the workflows call them: workflows depend on this contract, never
 * on the activities' implementations (activities/createActivities.ts builds an object of this type).
 * Activity names and argument shapes are part of recorded histories: add fields as optional, and add a
 * new activity rather than change what an existing one means.
 */
import type { DeploymentChange, ServingMode } from '../ports/deploymentTarget.js';
import type { ApprovalRequestResult } from '../ports/notifier.js';
import type { CanaryJudgement } from '../domain/canaryVerdict.js';
import type { GateResult } from '../domain/candidateGates.js';
import type { TaskGateMargins } from '../domain/taskGates.js';
import type {
  Classification,
  Evidence,
  EvidenceValue,
  FailureMode,
  IncidentState,
  ModelRef,
  Recommendation,
  RemediationAction,
  SignalKind,
  ValidationRecord,
} from '../domain/incident.js';
import type { LabelQuality } from '../domain/labelQuality.js';
import type { CanaryPolicy, RunbookPolicy } from '../domain/runbook.js';
import type { MonitorOutcome } from './monitorWorkflow.js';

export interface IncidentIds {
  incidentId: string;
  modelId: string;
}

export interface TrainingSnapshot {
  trainCsv: string;
  holdoutCsv: string;
  rows: number;
  labelQuality: LabelQuality;
}

export interface CanaryStart {
  /** The champion serving the rest of the traffic. */
  stableVersion?: number;
  target: string;
  change: DeploymentChange;
}

export interface IncidentActivities {
  /**
   * Projects the incident's state and appends one audit event, once per activity (not per attempt).
   * `notified: 'separately'`: the workflow tells people with `notifyPhase`; without it (incidents started
   * before that change) this activity also notifies.
   */
  recordPhase(args: { state: IncidentState; event: string; detail: string; actor?: string; notified?: 'separately' }): Promise<void>;
  /** Tells the channels (log, Slack thread) about a phase change or audited event. */
  notifyPhase(args: { state: IncidentState; event: string; detail: string }): Promise<void>;
  /**
   * The model's signals measured now from its prediction log (drift, performance, label checks), as
   * evidence values — only the keys the reported evidence does not already carry; undefined when there
   * is nothing to measure (no champion, no predictions).
   */
  measureModel(args: { model: ModelRef; evidence: Evidence[] }): Promise<Record<string, EvidenceValue> | undefined>;
  classifyIncident(args: { model: ModelRef; signal: SignalKind; evidence: Evidence[] }): Promise<Classification>;
  /** Gathers the runbook's evidence and recommends an action. */
  triageIncident(args: { incidentId: string; model: ModelRef; classification: Classification; policy: RunbookPolicy }): Promise<{
    evidence: Record<string, unknown>;
    recommendation: Recommendation;
  }>;
  /** Asks the approvers; returns extra ids that may decide (Slack user groups' members). */
  requestApproval(args: { state: IncidentState }): Promise<ApprovalRequestResult>;
  escalate(args: { state: IncidentState; reason: string }): Promise<void>;
}

export interface RemediationActivities {
  /** Moves `champion` to the newest earlier version not marked bad, marks the current one bad, rolls it out. */
  rollbackModel(args: IncidentIds): Promise<{ from: number; to: number; restoredMetrics: Record<string, number> }>;
  markChampionHealthy(args: IncidentIds): Promise<{ version?: number }>;
  /** Undoes a remediation: `champion` back to `version`, rolled out on the deployment target. */
  restoreChampion(args: IncidentIds & { version: number; reason: string }): Promise<{ from?: number; to: number }>;
  /** Puts the model on (or takes it off) its fallback, through its deployment target. */
  setServingMode(args: IncidentIds & { mode: ServingMode; reason: string }): Promise<{ from: ServingMode; to: ServingMode }>;
}

export interface TrainingActivities {
  /**
   * The task queue of the worker host that answers: only workers with its state folder (the same host
   * and `stateDir`) poll it. A retrain runs its file-bound steps there (snapshot, training job,
   * evaluation, registration), so a retry never lands on a host without the job's files.
   */
  workerHostQueue(): Promise<string>;
  snapshotTrainingData(args: IncidentIds & { jobId: string; minLabelledRows: number; since?: string }): Promise<TrainingSnapshot>;
  /** Labelled predictions logged since `since`, counted up to `atLeast` (enough to know the wait is over). */
  countFreshLabelledRows(args: { modelId: string; since: string; atLeast: number }): Promise<number>;
  runTrainingJob(args: IncidentIds & { jobId: string; trainCsv: string; holdoutCsv: string; extraArgs?: string[] }): Promise<{
    jobId: string;
    artifactPath: string;
    metrics: Record<string, number>;
  }>;
  evaluateCandidate(args: TaskGateMargins & { modelId: string; artifactPath: string; holdoutCsv: string }): Promise<{
    passed: boolean;
    gates: GateResult[];
    championVersion?: number;
  }>;
  registerCandidate(args: IncidentIds & { artifactPath: string; metrics: Record<string, number> }): Promise<{ version: number }>;
  /** Moves `champion` to the candidate, then the deployment target gives it all traffic. */
  promoteCandidate(args: IncidentIds & { version: number; canaried?: boolean }): Promise<{ from?: number; to: number }>;
}

export interface CanaryActivities {
  /** Marks the candidate `challenger` in the registry and sends it `percent` of the traffic. */
  startCanary(args: IncidentIds & { version: number; percent: number; shadow?: boolean }): Promise<CanaryStart>;
  judgeCanary(args: IncidentIds & { version: number; stableVersion?: number; since: string; final: boolean; policy: CanaryPolicy }): Promise<CanaryJudgement>;
  /** All traffic back to the stable model; the candidate is marked bad. */
  rollbackCanary(args: IncidentIds & { version: number; reason: string }): Promise<DeploymentChange>;
}

export interface ValidationActivities {
  /** After remediation: did the model recover? `recovered: null` means too little traffic to tell. */
  checkRecovery(args: IncidentIds & { failureMode: FailureMode; action: RemediationAction; since?: string; policy: RunbookPolicy }): Promise<ValidationRecord>;
}

/** A runbook's call to another team's system (pause a pipeline, open a ticket). */
export interface WebhookCall {
  incidentId: string;
  /** The runbook step's name: with the incident id, the Idempotency-Key header the receiver dedupes on. */
  step: string;
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  /** Header → the name of the environment variable that holds its value, read by the worker: secrets never enter the history. */
  secretHeaders?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs: number;
}

export interface WebhookResult {
  status: number;
  /** The response body, at most WEBHOOK_BODY_LIMIT characters. */
  body: string;
  truncated: boolean;
  idempotencyKey: string;
  durationMs: number;
}

export const WEBHOOK_BODY_LIMIT = 2048;

export interface RunbookActivities {
  /** One HTTP call, retried on 408, 429, 5xx and network errors; other answers end the step with the status and body. */
  callWebhook(args: WebhookCall): Promise<WebhookResult>;
}

export interface ReviewActivities {
  writeReview(args: { state: IncidentState }): Promise<{ path: string }>;
}

export interface MonitorActivities {
  runMonitor(args: { modelId: string }): Promise<MonitorOutcome>;
}

export type VigilActivities = IncidentActivities &
  RemediationActivities &
  TrainingActivities &
  CanaryActivities &
  ValidationActivities &
  ReviewActivities &
  MonitorActivities &
  RunbookActivities;
