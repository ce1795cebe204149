/**
 * The dry-run workflow's contract (v1): a runbook run against a past incident's recorded state on a
 * throw-away Temporal server, with activities recorded instead of performed and a clock the dry run
 * drives (`vigil runbook dry-run`, client/runbookDryRun.ts).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Classification, Evidence } from '../domain/incident.js';
import type { IncidentInput } from './incidentWorkflow.js';

export const RUNBOOK_DRY_RUN_WORKFLOW = 'runbookDryRun';

export interface RunbookDryRunInput {
  /** The incident as it would start now: its recorded model, signal and opening, the config's runbooks (the one dry-run chosen for its failure mode). */
  incident: IncidentInput;
  /** What the past incident recorded before its runbook ran. */
  recorded: { evidence: Evidence[]; classification: Classification };
}

/** A timer the workflow waits on: it fires only when the dry run says so. */
export interface PendingTimer {
  seq: number;
  ms: number;
  /** Workflow (virtual) time at which it is due, epoch ms. */
  due: number;
}

/** What the driver needs to decide the next move, read in one query. */
export interface DryRunClock {
  /** Activities and child workflows started and not yet finished: the workflow is busy. */
  inFlight: number;
  timers: PendingTimer[];
  /** Timers fired so far (the driver waits for its tick to be seen). */
  fired: number;
  /** How far the workflow's clock is ahead of the wall clock, ms. */
  skippedMs: number;
  phase: string;
  /** The approval is open and undecided: its approvers and the votes cast. */
  approval?: { approvers: string[]; voted: string[] };
  /** A runbook's waitForSignal under way. */
  waitingFor?: string;
  /** Signals the incident has received. */
  signals: string[];
  done: boolean;
}

export const dryRunClockQuery = defineQuery<DryRunClock>('dryRunClock');

/** Fires one pending timer (time skips to its due time). */
export const dryRunTickSignal = defineSignal<[number]>('dryRunTick');
