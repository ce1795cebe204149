/**
 * Everything a person or a detector does to incidents, in one place: the CLI, the monitors (and later
 * Slack and the Alertmanager receiver) all call this, so they share validation, de-duplication and
 * authorisation.
 */
import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type pg from 'pg';
import { findModel, modelRef, runbooksFor, type VigilConfig } from '../domain/config.js';
import { DecisionRefusedError, NotFoundError, UserInputError } from '../domain/errors.js';
import {
  DecideRequest,
  failureModeForSignal,
  incidentIdFor,
  SignalKind,
  type DecideResult,
  type EvidenceSource,
  type EvidenceValue,
  type FailureMode,
  type IncidentState,
} from '../domain/incident.js';
import { VigilModel, VigilPhase } from '../domain/searchAttributes.js';
import { addEvidenceSignal, decideUpdate, stateQuery } from '../workflows/messages.js';

/** How long `show` waits for an open incident's live state before using the stored copy. */
const LIVE_STATE_DEADLINE_MS = 3000;
import type { IncidentInput } from '../workflows/incidentLifecycle.js';

export interface OpenIncidentRequest {
  modelId: string;
  signal: string;
  evidence?: Record<string, EvidenceValue>;
  source: EvidenceSource;
  observedAt?: Date;
}

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

export interface IncidentDetails extends IncidentSummary {
  decision?: IncidentState['decision'];
  state: IncidentState | Record<string, never>;
}

export interface IncidentService {
  open(req: OpenIncidentRequest): Promise<{ id: string; created: boolean }>;
  /**
   * Records evidence on the open incident of the signal's (model, failure mode) and never opens one
   * (e.g. a resolved alert); undefined when none is open.
   */
  attachEvidence(req: OpenIncidentRequest): Promise<{ id: string } | undefined>;
  decide(id: string, req: DecideRequest): Promise<DecideResult>;
  list(opts?: { open?: boolean; modelId?: string; limit?: number }): Promise<IncidentSummary[]>;
  show(id: string): Promise<IncidentDetails>;
  review(id: string): Promise<string>;
}

export function createIncidentService(deps: { temporal: Client; pool: pg.Pool; config: VigilConfig }): IncidentService {
  const { temporal, pool, config } = deps;

  async function claimIncidentId(modelId: string, dedupeKey: string, signal: string, at: Date, mode: FailureMode): Promise<{ id: string; created: boolean }> {
    const existing = await pool.query<{ id: string }>(`SELECT id FROM incidents WHERE dedupe_key = $1 AND status = 'open'`, [dedupeKey]);
    if (existing.rows[0]) return { id: existing.rows[0].id, created: false };
    const base = incidentIdFor(modelId, mode, at);
    // Two incidents of one model and mode within the same second get -2, -3, ... suffixes.
    for (let n = 1; n <= 20; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      const inserted = await pool.query<{ id: string }>(
        `INSERT INTO incidents (id, model_id, dedupe_key, signal, opened_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING id`,
        [id, modelId, dedupeKey, signal, at],
      );
      if (inserted.rows[0]) return { id, created: true };
      const taken = await pool.query(`SELECT dedupe_key, status FROM incidents WHERE id = $1`, [id]);
      if (taken.rows[0]?.dedupe_key === dedupeKey && taken.rows[0]?.status === 'open') return { id, created: false };
    }
    // Someone else opened it between our read and insert (or the same id exists): use theirs.
    const again = await pool.query<{ id: string }>(`SELECT id FROM incidents WHERE dedupe_key = $1 AND status = 'open'`, [dedupeKey]);
    if (again.rows[0]) return { id: again.rows[0].id, created: false };
    throw new Error(`could not claim an incident id for ${dedupeKey}`);
  }

  /** Validates an observation and names the one incident it belongs to: (model, failure mode). */
  function evidenceFor(req: OpenIncidentRequest) {
    const model = findModel(config, req.modelId);
    if (!model) {
      throw new UserInputError(`unknown model "${req.modelId}" (configured: ${config.models.map((m) => m.id).join(', ')})`);
    }
    const parsed = SignalKind.safeParse(req.signal);
    if (!parsed.success) {
      throw new UserInputError(`unknown signal "${req.signal}" (expected one of: ${SignalKind.options.join(', ')})`);
    }
    const signal = parsed.data;
    const at = req.observedAt ?? new Date();
    const mode = failureModeForSignal(signal);
    const evidence = { source: req.source, signal, observedAt: at.toISOString(), values: req.evidence ?? {} };
    return { model, signal, at, mode, dedupeKey: `${model.id}:${mode}`, evidence };
  }

  const service: IncidentService = {
    async open(req) {
      const { model, signal, at, mode, dedupeKey, evidence } = evidenceFor(req);

      for (let attempt = 0; attempt < 3; attempt++) {
        const claim = await claimIncidentId(model.id, dedupeKey, signal, at, mode);
        const input: IncidentInput = {
          contractVersion: 1,
          incidentId: claim.id,
          model: modelRef(model),
          signal,
          openedAt: at.toISOString(),
          runbooks: runbooksFor(model),
        };
        try {
          // Start-or-signal: a repeated signal attaches to the running incident as evidence.
          await temporal.workflow.signalWithStart('incidentLifecycle', {
            workflowId: claim.id,
            taskQueue: config.taskQueue,
            args: [input],
            signal: addEvidenceSignal,
            signalArgs: [evidence],
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            typedSearchAttributes: [
              { key: VigilModel, value: model.id },
              { key: VigilPhase, value: 'detected' },
            ],
            staticSummary: `${model.displayName}: ${signal}`,
            staticDetails: `Opened by ${req.source}. Evidence: ${JSON.stringify(evidence.values)}`,
          });
          return claim;
        } catch (err) {
          if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
          // The incident closed between our read and the signal: mark it closed and open a fresh one.
          await pool.query(`UPDATE incidents SET status = 'closed', closed_at = COALESCE(closed_at, now()) WHERE id = $1`, [claim.id]);
        }
      }
      throw new Error(`could not open an incident for ${dedupeKey}`);
    },

    async attachEvidence(req) {
      const { dedupeKey, evidence } = evidenceFor(req);
      const open = await pool.query<{ id: string }>(`SELECT id FROM incidents WHERE dedupe_key = $1 AND status = 'open'`, [dedupeKey]);
      const id = open.rows[0]?.id;
      if (!id) return undefined;
      try {
        await temporal.workflow.getHandle(id).signal(addEvidenceSignal, evidence);
        return { id };
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test((err as Error).message ?? '')) throw err;
        // The workflow finished after our read: the incident is closed, so there is nothing to attach to.
        await pool.query(`UPDATE incidents SET status = 'closed', closed_at = COALESCE(closed_at, now()) WHERE id = $1`, [id]);
        return undefined;
      }
    },

    async decide(id, raw) {
      const parsed = DecideRequest.safeParse(raw);
      if (!parsed.success) throw new UserInputError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const req = parsed.data;
      const handle = temporal.workflow.getHandle(id);
      try {
        return await handle.executeUpdate(decideUpdate, { args: [req] });
      } catch (err) {
        let reason: string;
        if (err instanceof WorkflowUpdateFailedError) {
          reason = err.cause?.message ?? err.message;
        } else if (err instanceof WorkflowNotFoundError || /already completed/i.test((err as Error).message ?? '')) {
          const known = await pool.query('SELECT status FROM incidents WHERE id = $1', [id]);
          if (!known.rows[0]) throw new NotFoundError(`unknown incident "${id}"`);
          reason = `incident ${id} is closed`;
        } else {
          throw err;
        }
        // Refused decisions are part of the record: who tried, and why they were turned away.
        await pool.query(
          `INSERT INTO audit_events (incident_id, kind, actor, detail) VALUES ($1, 'decision_refused', $2, $3)`,
          [id, req.by, JSON.stringify({ verdict: req.verdict, via: req.via, reason })],
        );
        throw new DecisionRefusedError(`decision refused: ${reason}`);
      }
    },

    async list(opts = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (opts.open) where.push(`status = 'open'`);
      if (opts.modelId) {
        params.push(opts.modelId);
        where.push(`model_id = $${params.length}`);
      }
      params.push(opts.limit ?? 100);
      const r = await pool.query(
        `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC LIMIT $${params.length}`,
        params,
      );
      return r.rows.map(summaryOf);
    },

    async show(id) {
      const r = await pool.query('SELECT * FROM incidents WHERE id = $1', [id]);
      if (!r.rows[0]) throw new NotFoundError(`unknown incident "${id}"`);
      const row = r.rows[0];
      // The stored copy is written on phase changes; an open incident's evidence can be newer, so ask
      // the workflow (briefly: with no worker running, the stored copy is the best there is).
      let state = row.state;
      if (row.status === 'open') {
        state = await temporal.connection
          .withDeadline(Date.now() + LIVE_STATE_DEADLINE_MS, () => temporal.workflow.getHandle(id).query(stateQuery))
          .catch(() => row.state);
      }
      return { ...summaryOf(row), decision: state?.decision, state };
    },

    async review(id) {
      const r = await pool.query<{ markdown: string }>('SELECT markdown FROM reviews WHERE incident_id = $1', [id]);
      if (r.rows[0]) return r.rows[0].markdown;
      const exists = await pool.query('SELECT phase FROM incidents WHERE id = $1', [id]);
      if (!exists.rows[0]) throw new NotFoundError(`unknown incident "${id}"`);
      throw new NotFoundError(`incident "${id}" has no review yet (phase ${exists.rows[0].phase})`);
    },
  };
  return service;
}

function summaryOf(row: Record<string, any>): IncidentSummary {
  return {
    id: row.id,
    model: row.model_id,
    signal: row.signal,
    status: row.status,
    phase: row.phase,
    severity: row.severity ?? undefined,
    failureMode: row.failure_mode ?? undefined,
    recommendedAction: row.recommended_action ?? undefined,
    outcome: row.outcome ?? undefined,
    openedAt: (row.opened_at as Date).toISOString(),
  };
}
