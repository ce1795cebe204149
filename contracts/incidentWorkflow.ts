/**
 * The incident workflow's contract (v1): its type name, input, and the messages clients (CLI, Slack,
 * Alertmanager, monitors) send a running incident. Handlers live in workflows/incidentLifecycle.ts.
 * A breaking change adds a v2 beside v1; running incidents and recorded histories keep v1.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecideRequest, DecideResult, Evidence, FailureMode, IncidentState, ModelRef, RunbookSignal, SignalKind } from '../domain/incident.js';
import type { Runbooks } from '../domain/runbook.js';

export const INCIDENT_WORKFLOW = 'incidentLifecycle';

export interface IncidentInput {
  contractVersion: 1;
  incidentId: string;
  model: ModelRef;
  signal: SignalKind;
  openedAt: string;
  /** The model's runbooks, snapshotted: changing a runbook never changes an incident under way. */
  runbooks: Runbooks;
  /**
   * Failure modes whose runbook is a team's own (config `models[].runbooks.<mode>.use`), with its
   * parameters as its schema parsed them; the others run Vigil's standard runbook with their policy.
   */
  customRunbooks?: Partial<Record<FailureMode, RunbookChoice>>;
}

export interface RunbookChoice {
  name: string;
  params: Record<string, unknown>;
}

/** Live state of the incident. */
export const stateQuery = defineQuery<IncidentState>('state');

/** A repeated or related signal: attached as evidence to the open incident. */
export const addEvidenceSignal = defineSignal<[Evidence]>('addEvidence');

/** A named event a runbook waits for (`vigil incident signal <id> <name>`, a Slack button): kept, bounded, in the state. */
export const runbookSignal = defineSignal<[RunbookSignal]>('runbookSignal');

/** A person's approve / reject. The validator refuses it before anything is written to history. */
export const decideUpdate = defineUpdate<DecideResult, [DecideRequest]>('decide');
