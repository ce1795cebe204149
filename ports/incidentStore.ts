/**
 * Where incidents are recorded: the projection of each incident's state (for listing and showing
 * without asking Temporal), the append-only audit log, and the post-incident reviews. Every query on
 * incidents, audit events, decisions and reviews goes through this port (adapters/postgres/incidentStore.ts).
 */
import type { FailureMode, IncidentState } from '../domain/incident.js';
import type { AuditEventRecord } from '../domain/review.js';

export interface IncidentSummary {
  id: string;
  model: string;
  /** The opening signal. */
  signal: string;
  status: 'open' | 'closed';
  phase: string;
  severity?: string;
  failureMode?: string;
  recommendedAction?: string;
  outcome?: string;
  openedAt: string;
}

export interface StoredIncident extends IncidentSummary {
  /** The state as last projected (empty until the workflow records its first phase). */
  state: IncidentState | Record<string, never>;
}

export interface AuditEvent {
  /** Null for refusals that name no known incident (a forged Slack request). */
  incidentId: string | null;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
  /** Written once per key: a retried activity appends its event once. */
  idempotencyKey?: string;
}

/** The append-only audit log: who did what, when and why, refusals included. */
export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
}

export interface IncidentStore extends AuditLog {
  /** The open incident of a (model, failure mode): there is at most one. */
  openIncidentFor(modelId: string, mode: FailureMode): Promise<string | undefined>;
  /**
   * The open incident of a (model, failure mode), or a newly claimed id for one opened at `at`
   * (`created: true`); concurrent callers agree on one.
   */
  claim(args: { modelId: string; mode: FailureMode; signal: string; at: Date }): Promise<{ id: string; created: boolean }>;
  /** Marks an incident closed whose workflow was found finished. */
  markClosed(id: string): Promise<void>;
  /** Projects the state and appends its audit event in one transaction; a repeated key changes nothing. */
  record(state: IncidentState, event: Omit<AuditEvent, 'incidentId'> & { idempotencyKey: string }): Promise<void>;
  list(opts?: { open?: boolean; modelId?: string; limit?: number }): Promise<IncidentSummary[]>;
  get(id: string): Promise<StoredIncident | undefined>;
  auditTrail(id: string): Promise<AuditEventRecord[]>;
  /** Stores (or rewrites) the review; a sign-off already given is kept. */
  saveReview(id: string, review: { markdown: string; data: unknown }): Promise<void>;
  review(id: string): Promise<string | undefined>;
}
