/**
 * The prediction log in PostgreSQL (`predictions`, `shadow_predictions`): what the serving path
 * predicted, for which inputs, and the labels that came back (ports/predictionLog.ts).
 */
import type pg from 'pg';
import type { LiveAccuracy } from '../../domain/canaryVerdict.js';
import type { LoadTrafficOptions, PredictionLog, TrafficRow } from '../../ports/predictionLog.js';

export function createPredictionLog(pool: pg.Pool): PredictionLog {
  return {
    recent: (modelId, opts) => loadRecentTraffic(pool, modelId, opts),
    liveAccuracy: (modelId, since, versions) => liveAccuracy(pool, modelId, since, versions),
    shadowAccuracy: (modelId, version, since) => shadowAccuracy(pool, modelId, version, since),
  };
}

/** Recent predictions of `modelId`, oldest first, as the monitors and retraining snapshots see them. */
async function loadRecentTraffic(pool: pg.Pool, modelId: string, opts: LoadTrafficOptions): Promise<TrafficRow[]> {
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

/** Predictions per version since `since`; a label counts once it has arrived (labeled_at passed). */
async function liveAccuracy(pool: pg.Pool, modelId: string, since: Date, versions: readonly number[]): Promise<Map<number, LiveAccuracy>> {
  const r = await pool.query<{ version: number; predictions: string; labelled: string; correct: string }>(
    `SELECT model_version AS version,
            count(*) AS predictions,
            count(*) FILTER (WHERE label IS NOT NULL AND labeled_at <= now()) AS labelled,
            count(*) FILTER (WHERE label IS NOT NULL AND labeled_at <= now() AND label = predicted) AS correct
       FROM predictions
      WHERE model_id = $1 AND served_by = 'model' AND ts >= $2 AND model_version = ANY($3::int[])
      GROUP BY model_version`,
    [modelId, since, versions],
  );
  const out = new Map<number, LiveAccuracy>();
  for (const row of r.rows) {
    const labelled = Number(row.labelled);
    out.set(row.version, {
      predictions: Number(row.predictions),
      labelled,
      ...(labelled > 0 ? { accuracy: Number(row.correct) / labelled } : {}),
    });
  }
  return out;
}

/**
 * A shadow's answers against the served ones on the same requests: both judged on the label the
 * served request got (a paired comparison, so the stable side is exactly as many requests).
 */
async function shadowAccuracy(pool: pg.Pool, modelId: string, version: number, since: Date): Promise<{ canary: LiveAccuracy; stable: LiveAccuracy }> {
  const r = await pool.query<{ predictions: string; labelled: string; shadow_correct: string; served_correct: string }>(
    `SELECT count(*) AS predictions,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now()) AS labelled,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now() AND p.label = s.predicted) AS shadow_correct,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now() AND p.label = p.predicted) AS served_correct
       FROM shadow_predictions s
       JOIN predictions p ON p.model_id = s.model_id AND p.request_id = s.request_id AND p.served_by = 'model'
      WHERE s.model_id = $1 AND s.model_version = $2 AND s.ts >= $3`,
    [modelId, version, since],
  );
  const row = r.rows[0];
  const predictions = Number(row?.predictions ?? 0);
  const labelled = Number(row?.labelled ?? 0);
  const of = (correct: string | undefined): LiveAccuracy => ({ predictions, labelled, ...(labelled > 0 ? { accuracy: Number(correct) / labelled } : {}) });
  return { canary: of(row?.shadow_correct), stable: of(row?.served_correct) };
}
