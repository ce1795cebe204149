/**
 * The incident store in PostgreSQL: `incidents` (the projection, with the de-duplication key that
 * keeps one open incident per model and failure mode), `audit_events` (append-only, idempotent by
 * key) and `reviews`.
 */
import type pg from 'pg';
import { dedupeKeyFor, failureModeForSignal, incidentIdFor, type FailureMode, type IncidentState } from '../../domain/incident.js';
import type { AuditEventRecord } from '../../domain/review.js';
import type { AuditEvent, IncidentStore, IncidentSummary, StoredIncident } from '../../ports/incidentStore.js';
import { inTransaction } from './database.js';

/** Same-second incidents of one model and mode get -2, -3, … suffixes; this many at most. */
const MAX_ID_SUFFIX = 20;

const INSERT_AUDIT = `INSERT INTO audit_events (incident_id, kind, actor, detail, idempotency_key) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (idempotency_key) DO NOTHING`;

export function createIncidentStore(pool: pg.Pool): IncidentStore {
  const appendWith = (db: pg.Pool | pg.PoolClient, e: AuditEvent) =>
    db.query(INSERT_AUDIT, [e.incidentId, e.kind, e.actor, JSON.stringify(e.detail), e.idempotencyKey ?? null]);

  /**
   * The open incident for (model, failure mode): the one opened under that key, or one re-classified
   * into that mode since (an incident opened as concept drift and now data drift takes the next
   * data-drift signal as evidence instead of a second incident opening beside it).
   */
  async function openFor(modelId: string, mode: FailureMode): Promise<string | undefined> {
    const r = await pool.query<{ id: string }>(
      `SELECT id FROM incidents WHERE status = 'open' AND (dedupe_key = $1 OR (model_id = $2 AND failure_mode = $3))
       ORDER BY (dedupe_key = $1) DESC, opened_at LIMIT 1`,
      [dedupeKeyFor(modelId, mode), modelId, mode],
    );
    return r.rows[0]?.id;
  }

  return {
    async append(event) {
      await appendWith(pool, event);
    },

    openIncidentFor: (modelId, mode: FailureMode) => openFor(modelId, mode),

    async claim({ modelId, mode, signal, at }) {
      const key = dedupeKeyFor(modelId, mode);
      const existing = await openFor(modelId, mode);
      if (existing) return { id: existing, created: false };
      const base = incidentIdFor(modelId, mode, at);
      for (let n = 1; n <= MAX_ID_SUFFIX; n++) {
        const id = n === 1 ? base : `${base}-${n}`;
        const inserted = await pool.query<{ id: string }>(
          `INSERT INTO incidents (id, model_id, dedupe_key, signal, opened_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING RETURNING id`,
          [id, modelId, key, signal, at],
        );
        if (inserted.rows[0]) return { id, created: true };
        const taken = await pool.query<{ dedupe_key: string; status: string }>(`SELECT dedupe_key, status FROM incidents WHERE id = $1`, [id]);
        if (taken.rows[0]?.dedupe_key === key && taken.rows[0]?.status === 'open') return { id, created: false };
      }
      // Someone else opened it between our read and insert (or the same id exists): use theirs.
      const again = await openFor(modelId, mode);
      if (again) return { id: again, created: false };
      throw new Error(`could not claim an incident id for ${key}`);
    },

    async markClosed(id) {
      await pool.query(`UPDATE incidents SET status = 'closed', closed_at = COALESCE(closed_at, now()) WHERE id = $1`, [id]);
    },

    async record(state, event) {
      await inTransaction(pool, async (client) => {
        await client.query(
          `INSERT INTO incidents (id, model_id, dedupe_key, signal, status, phase, failure_mode, severity,
                                  recommended_action, outcome, state, seq, opened_at, updated_at, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now(), $14)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, phase = EXCLUDED.phase,
             failure_mode = EXCLUDED.failure_mode, severity = EXCLUDED.severity,
             recommended_action = EXCLUDED.recommended_action, outcome = EXCLUDED.outcome,
             state = EXCLUDED.state, seq = EXCLUDED.seq, updated_at = now(), closed_at = EXCLUDED.closed_at
           WHERE incidents.seq <= EXCLUDED.seq`,
          [
            state.id,
            state.model.id,
            dedupeKeyFor(state.model.id, failureModeForSignal(state.signal)),
            state.signal,
            state.status,
            state.phase,
            state.classification?.failureMode ?? null,
            state.classification?.severity ?? null,
            state.recommendation?.action ?? null,
            state.outcome ?? null,
            JSON.stringify(state),
            // How far the incident has got: the timeline keeps its head and latest entries, so count the dropped ones too.
            state.timeline.length + (state.timelineTrimmed ?? 0),
            state.openedAt,
            state.closedAt ?? null,
          ],
        );
        await appendWith(client, { ...event, incidentId: state.id });
      });
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
      const r = await pool.query<IncidentRow>(
        `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC LIMIT $${params.length}`,
        params,
      );
      return r.rows.map(summaryOf);
    },

    async get(id) {
      const r = await pool.query<IncidentRow>('SELECT * FROM incidents WHERE id = $1', [id]);
      const row = r.rows[0];
      return row ? ({ ...summaryOf(row), state: row.state ?? {} } satisfies StoredIncident) : undefined;
    },

    async auditTrail(id) {
      const r = await pool.query<{ kind: string; actor: string; detail: Record<string, unknown>; occurred_at: Date }>(
        'SELECT kind, actor, detail, occurred_at FROM audit_events WHERE incident_id = $1 ORDER BY id',
        [id],
      );
      return r.rows.map((row): AuditEventRecord => ({ kind: row.kind, actor: row.actor, detail: row.detail, occurredAt: row.occurred_at.toISOString() }));
    },

    async saveReview(id, review) {
      // Rewriting the same review on retry is harmless; a sign-off already given is kept.
      await pool.query(
        `INSERT INTO reviews (incident_id, markdown, data) VALUES ($1, $2, $3)
         ON CONFLICT (incident_id) DO UPDATE SET markdown = EXCLUDED.markdown, data = EXCLUDED.data`,
        [id, review.markdown, JSON.stringify(review.data)],
      );
    },

    async review(id) {
      const r = await pool.query<{ markdown: string }>('SELECT markdown FROM reviews WHERE incident_id = $1', [id]);
      return r.rows[0]?.markdown;
    },
  };
}

interface IncidentRow {
  id: string;
  model_id: string;
  signal: string;
  status: 'open' | 'closed';
  phase: string;
  severity: string | null;
  failure_mode: string | null;
  recommended_action: string | null;
  outcome: string | null;
  opened_at: Date;
  state: IncidentState | null;
}

function summaryOf(row: IncidentRow): IncidentSummary {
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
    openedAt: row.opened_at.toISOString(),
  };
}
