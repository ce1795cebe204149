/**
 * The prediction log: what the serving path predicted, for which inputs, and the labels that came back.
 * Monitors, triage and retraining snapshots read it here.
 */
import type pg from 'pg';

export interface TrafficRow {
  features: Record<string, number>;
  score: number;
  predicted: 0 | 1;
  /** The label, or null while it has not arrived (labeled_at after asOf) or was never given. */
  label: 0 | 1 | null;
  /** The label as stored; a value other than 0/1 is bad feedback (label is then null). */
  rawLabel: number | null;
  modelVersion: number | null;
  servedBy: 'model' | 'fallback';
  ts: Date;
}

export interface LoadTrafficOptions {
  /** The most recent `limit` predictions (by ts, then id). */
  limit: number;
  /** Only predictions at or after this time. */
  since?: Date;
  /** Only predictions whose label has arrived by asOf. */
  labelledOnly?: boolean;
  /**
   * The moment to look from (default now): labels count only when labeled_at ≤ asOf; when given,
   * predictions after asOf are left out too.
   */
  asOf?: Date;
}

/** Recent predictions of `modelId`, oldest first, as the monitors and retraining snapshots see them. */
export async function loadRecentTraffic(pool: pg.Pool, modelId: string, opts: LoadTrafficOptions): Promise<TrafficRow[]> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new RangeError(`limit must be a positive integer, got ${opts.limit}`);
  const asOf = opts.asOf ?? new Date();
  const params: unknown[] = [modelId, asOf];
  const where = ['model_id = $1'];
  if (opts.since) {
    params.push(opts.since);
    where.push(`ts >= $${params.length}`);
  }
  if (opts.asOf) where.push('ts <= $2');
  if (opts.labelledOnly) where.push('label IS NOT NULL AND labeled_at <= $2');
  params.push(opts.limit);
  const { rows } = await pool.query<{
    features: Record<string, number>;
    score: number;
    predicted: number;
    label: number | null;
    model_version: number | null;
    served_by: 'model' | 'fallback';
    ts: Date;
  }>(
    `SELECT features, score, predicted,
            CASE WHEN labeled_at IS NOT NULL AND labeled_at <= $2 THEN label END AS label,
            model_version, served_by, ts
       FROM predictions
      WHERE ${where.join(' AND ')}
      ORDER BY ts DESC, id DESC
      LIMIT $${params.length}`,
    params,
  );
  return rows.reverse().map((r) => ({
    features: r.features,
    score: r.score,
    predicted: r.predicted === 1 ? 1 : 0,
    label: r.label === 0 || r.label === 1 ? r.label : null,
    rawLabel: r.label,
    modelVersion: r.model_version,
    servedBy: r.served_by,
    ts: r.ts,
  }));
}
