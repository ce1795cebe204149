/**
 * The prediction log in PostgreSQL (`predictions`, `shadow_predictions`): what the serving path
 * predicted, for which inputs, and the labels that came back (ports/predictionLog.ts).
 */
import type pg from 'pg';
import { evenlySpacedSample } from './evenlySpacedSample.js';
import type { LivePerformance } from '../../domain/canaryVerdict.js';
import type { LabelRecord, PredictionRecord, StoredPrediction } from '../../domain/ingest.js';
import type { TaskConfig } from '../../domain/task.js';
import { classKeys, jsonbKey, livePerformanceStatement, toLivePerformance, type LivePerformanceRow } from './livePerformanceSql.js';
import type { IngestLabelsResult, IngestPredictionsResult, LoadTrafficOptions, PredictionLog, TrafficRow } from '../../ports/predictionLog.js';

export function createPredictionLog(pool: pg.Pool): PredictionLog {
  return {
    recent: (modelId, opts) => loadRecentTraffic(pool, modelId, opts),
    livePerformance: (modelId, task, since, versions) => livePerformance(pool, modelId, task, since, versions),
    shadowAccuracy: (modelId, version, since) => shadowAccuracy(pool, modelId, version, since),
    ingestPredictions: (modelId, rows) => ingestPredictions(pool, modelId, rows),
    ingestLabels: (modelId, labels, opts) => ingestLabels(pool, modelId, labels, opts.graceMs),
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
  if (opts.labelledOnly) where.push('(label IS NOT NULL OR label_value IS NOT NULL) AND labeled_at <= $2');
  params.push(opts.limit);
  const window = `WHERE ${where.join(' AND ')} ORDER BY ts DESC, id DESC LIMIT $${params.length}`;
  let rowsOf = `predictions p ${window}`;
  if (opts.sample !== undefined) {
    if (!Number.isInteger(opts.sample) || opts.sample < 1) throw new RangeError(`sample must be a positive integer, got ${opts.sample}`);
    params.push(opts.sample);
    // Sampled over ids and times only; the features of the rows kept are read afterwards.
    const sampled = evenlySpacedSample(`SELECT id, ts FROM predictions ${window}`, 'w.ts DESC, w.id DESC', `$${params.length}::bigint`);
    rowsOf = `(${sampled}) AS chosen JOIN predictions p ON p.id = chosen.id ORDER BY p.ts DESC, p.id DESC`;
  }
  const { rows } = await pool.query<{
    features: Record<string, number>;
    score: number | null;
    predicted: number | null;
    label: number | null;
    label_value: string | number | null;
    prediction: StoredPrediction | null;
    model_version: number | null;
    served_by: 'model' | 'fallback';
    ts: Date;
  }>(
    `SELECT ${opts.withoutFeatures ? `'{}'::jsonb AS features` : 'p.features'}, p.score, p.predicted, p.prediction,
            CASE WHEN p.labeled_at IS NOT NULL AND p.labeled_at <= $2 THEN p.label END AS label,
            CASE WHEN p.labeled_at IS NOT NULL AND p.labeled_at <= $2 THEN p.label_value END AS label_value,
            p.model_version, p.served_by, p.ts
       FROM ${rowsOf}`,
    params,
  );
  return rows.reverse().map((r) => ({
    features: r.features,
    score: r.score ?? NaN,
    predicted: r.predicted === 1 ? 1 : 0,
    label: r.label === 0 || r.label === 1 ? r.label : null,
    rawLabel: r.label,
    modelVersion: r.model_version,
    servedBy: r.served_by,
    ts: r.ts,
    ...(r.prediction !== null ? { prediction: r.prediction } : {}),
    ...(r.label_value !== null ? { labelValue: r.label_value } : {}),
  }));
}

/**
 * The per-row figures of livePerformanceSql.ts from the stored columns, by task type: binary rows carry
 * `predicted` and `label` (0/1); multiclass rows `prediction.label` and `label_value` (a class);
 * regression rows `prediction.value` and `label_value` (a number). A label counts once labeled_at passed.
 */
function builtinRows(task: TaskConfig): string {
  const window = `FROM predictions WHERE model_id = $1 AND served_by = 'model' AND ts >= $2 AND model_version = ANY($3::int[])`;
  switch (task.type) {
    case 'binary':
      return `SELECT model_version AS version, (label IS NOT NULL AND labeled_at <= now()) AS arrived,
              predicted::text AS predicted, CASE WHEN labeled_at <= now() THEN label::text END AS truth, NULL::float8 AS err ${window}`;
    case 'multiclass':
      return `SELECT model_version AS version, (label_value IS NOT NULL AND labeled_at <= now()) AS arrived,
              ${jsonbKey("(prediction -> 'label')")} AS predicted,
              CASE WHEN labeled_at <= now() THEN ${jsonbKey('label_value')} END AS truth, NULL::float8 AS err ${window}`;
    case 'regression': {
      const usable = `labeled_at <= now() AND jsonb_typeof(label_value) = 'number' AND jsonb_typeof(prediction -> 'value') = 'number'`;
      return `SELECT model_version AS version, (${usable}) AS arrived, NULL::text AS predicted, NULL::text AS truth,
              CASE WHEN ${usable} THEN (prediction ->> 'value')::float8 - (label_value #>> '{}')::float8 END AS err ${window}`;
    }
  }
}

/** Predictions per version since `since` and their performance by task type (livePerformanceSql.ts). */
async function livePerformance(
  pool: pg.Pool,
  modelId: string,
  task: TaskConfig,
  since: Date,
  versions: readonly number[],
): Promise<Map<number, LivePerformance>> {
  const out = new Map<number, LivePerformance>();
  if (versions.length === 0) return out;
  const multiclass = task.type === 'multiclass';
  const r = await pool.query<LivePerformanceRow>(livePerformanceStatement(builtinRows(task), multiclass ? '$4::text[]' : undefined), [
    modelId,
    since,
    versions,
    ...(multiclass ? [classKeys(task)] : []),
  ]);
  for (const row of r.rows) out.set(Number(row.version), toLivePerformance(task, row));
  return out;
}

/**
 * A shadow's answers against the served ones on the same requests: both judged on the label the
 * served request got (a paired comparison, so the stable side is exactly as many requests).
 */
async function shadowAccuracy(pool: pg.Pool, modelId: string, version: number, since: Date): Promise<{ canary: LivePerformance; stable: LivePerformance }> {
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
  const of = (correct: string | undefined): LivePerformance => ({ predictions, labelled, ...(labelled > 0 ? { accuracy: Number(correct) / labelled } : {}) });
  return { canary: of(row?.shadow_correct), stable: of(row?.served_correct) };
}

/**
 * One statement, so one transaction: the rows go in once per (model, request id) — ON CONFLICT DO
 * NOTHING counts the rest as duplicates — each taking the label that waited for it in pending_labels
 * (within its grace period), which leaves pending_labels in the same statement. Shadow rows go to
 * shadow_predictions once per (model, version, request id) and take no label: theirs is the label of
 * the served row with the same request id (shadowAccuracy joins them).
 */
const INSERT_PREDICTIONS = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::float8[], $8::int2[], $9::jsonb[])
    AS t(request_id, model_version, served_by, ts, features, score, predicted, prediction)
),
waiting AS (
  SELECT pl.request_id, pl.label, pl.label_value, pl.labeled_at
    FROM pending_labels pl JOIN input i ON pl.request_id = i.request_id
   WHERE pl.model_id = $1 AND pl.expires_at > now() AND i.served_by <> 'shadow'
),
inserted AS (
  INSERT INTO predictions (model_id, request_id, model_version, served_by, ts, features, score, predicted, prediction, label, label_value, labeled_at)
  SELECT $1, i.request_id, i.model_version, i.served_by, i.ts, i.features, i.score, i.predicted, i.prediction, w.label, w.label_value, w.labeled_at
    FROM input i LEFT JOIN waiting w ON w.request_id = i.request_id
   WHERE i.served_by <> 'shadow'
  ON CONFLICT (model_id, request_id) WHERE request_id IS NOT NULL DO NOTHING
  RETURNING request_id, labeled_at IS NOT NULL AS labelled
),
shadowed AS (
  INSERT INTO shadow_predictions (model_id, model_version, request_id, ts, score, predicted)
  SELECT $1, i.model_version, i.request_id, i.ts, i.score, i.predicted FROM input i WHERE i.served_by = 'shadow'
  ON CONFLICT (model_id, model_version, request_id) DO NOTHING
  RETURNING 1
),
taken AS (
  DELETE FROM pending_labels pl USING inserted ins
   WHERE pl.model_id = $1 AND pl.request_id = ins.request_id AND ins.labelled
)
SELECT (count(*) + (SELECT count(*) FROM shadowed))::int AS accepted,
       (count(*) FILTER (WHERE labelled))::int AS labels_matched,
       coalesce(array_agg(request_id) FILTER (WHERE NOT labelled), '{}') AS unlabelled
  FROM inserted`;

/**
 * Labels onto their predictions: a different label replaces the stored one (a correction), the same one
 * changes nothing (labeled_at stays). Labels without a prediction wait in pending_labels (a label sent
 * again while waiting replaces the waiting one and restarts its grace period). Expired waiting labels of
 * the model are dropped on the way. One statement, so one transaction.
 */
const ATTACH_LABELS = `
WITH input AS (
  SELECT * FROM unnest($2::text[], $3::int2[], $4::jsonb[], $5::timestamptz[]) AS t(request_id, label, label_value, labeled_at)
),
found AS (
  SELECT p.id, i.request_id, i.label, i.label_value, i.labeled_at,
         (p.label IS DISTINCT FROM i.label OR p.label_value IS DISTINCT FROM i.label_value) AS changed
    FROM input i JOIN predictions p ON p.model_id = $1 AND p.request_id = i.request_id
),
updated AS (
  UPDATE predictions p SET label = f.label, label_value = f.label_value, labeled_at = f.labeled_at
    FROM found f WHERE p.id = f.id AND f.changed
),
waiting AS (
  INSERT INTO pending_labels AS pl (model_id, request_id, label, label_value, labeled_at, expires_at)
  SELECT $1, i.request_id, i.label, i.label_value, i.labeled_at, now() + $6::bigint * interval '1 millisecond'
    FROM input i WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.request_id = i.request_id)
  ON CONFLICT (model_id, request_id) DO UPDATE SET
    labeled_at = CASE WHEN pl.label IS NOT DISTINCT FROM EXCLUDED.label AND pl.label_value IS NOT DISTINCT FROM EXCLUDED.label_value
                      THEN pl.labeled_at ELSE EXCLUDED.labeled_at END,
    label = EXCLUDED.label,
    label_value = EXCLUDED.label_value,
    received_at = now(),
    expires_at = EXCLUDED.expires_at
  RETURNING request_id
),
expired AS (
  DELETE FROM pending_labels WHERE model_id = $1 AND expires_at <= now() AND NOT (request_id = ANY($2::text[]))
)
SELECT (SELECT count(*) FROM found)::int AS matched, coalesce((SELECT array_agg(request_id) FROM waiting), '{}') AS pending`;

/**
 * Waiting labels of these requests whose prediction is stored now, moved onto it. Run after a commit:
 * a label and its prediction committed concurrently cannot see each other inside their statements, but
 * whichever of the two commits second finds the other here.
 */
const REMATCH = `
WITH moved AS (
  DELETE FROM pending_labels pl USING predictions p
   WHERE pl.model_id = $1 AND pl.request_id = ANY($2::text[]) AND pl.expires_at > now()
     AND p.model_id = $1 AND p.request_id = pl.request_id
  RETURNING p.id, pl.label, pl.label_value, pl.labeled_at
)
UPDATE predictions p SET label = m.label, label_value = m.label_value, labeled_at = m.labeled_at FROM moved m WHERE p.id = m.id
RETURNING p.request_id`;

async function ingestPredictions(pool: pg.Pool, modelId: string, rows: readonly PredictionRecord[]): Promise<IngestPredictionsResult> {
  if (rows.length === 0) return { accepted: 0, duplicates: 0, labelsMatched: 0 };
  const n = rows.length;
  const cols = {
    requestId: new Array<string>(n),
    version: new Array<number | null>(n),
    servedBy: new Array<string>(n),
    ts: new Array<Date>(n),
    features: new Array<string>(n),
    score: new Array<number | null>(n),
    predicted: new Array<number | null>(n),
    prediction: new Array<string | null>(n),
  };
  rows.forEach((r, i) => {
    cols.requestId[i] = r.requestId;
    cols.version[i] = r.modelVersion;
    cols.servedBy[i] = r.servedBy;
    cols.ts[i] = r.ts;
    cols.features[i] = JSON.stringify(r.features);
    cols.score[i] = r.score;
    cols.predicted[i] = r.predicted;
    cols.prediction[i] = r.prediction === null ? null : JSON.stringify(r.prediction);
  });
  const params = [modelId, cols.requestId, cols.version, cols.servedBy, cols.ts, cols.features, cols.score, cols.predicted, cols.prediction];
  const { rows: out } = await retryDeadlock(() => pool.query<{ accepted: number; labels_matched: number; unlabelled: string[] }>(INSERT_PREDICTIONS, params));
  const result = out[0]!;
  const late = result.unlabelled.length ? await rematch(pool, modelId, result.unlabelled) : 0;
  return { accepted: result.accepted, duplicates: n - result.accepted, labelsMatched: result.labels_matched + late };
}

async function ingestLabels(pool: pg.Pool, modelId: string, labels: readonly LabelRecord[], graceMs: number): Promise<IngestLabelsResult> {
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be a non-negative number, got ${graceMs}`);
  if (labels.length === 0) return { matched: 0, pending: 0 };
  const params = [
    modelId,
    labels.map((l) => l.requestId),
    labels.map((l) => l.label),
    labels.map((l) => (l.labelValue === null ? null : JSON.stringify(l.labelValue))),
    labels.map((l) => l.labeledAt),
    Math.round(graceMs),
  ];
  const { rows } = await retryDeadlock(() => pool.query<{ matched: number; pending: string[] }>(ATTACH_LABELS, params));
  const result = rows[0]!;
  const late = result.pending.length ? await rematch(pool, modelId, result.pending) : 0;
  return { matched: result.matched + late, pending: result.pending.length - late };
}

async function rematch(pool: pg.Pool, modelId: string, requestIds: readonly string[]): Promise<number> {
  const { rowCount } = await retryDeadlock(() => pool.query(REMATCH, [modelId, requestIds]));
  return rowCount ?? 0;
}

/**
 * Two requests touching the same request ids in different orders (a batch resent while the first is
 * still being written, labels for the same requests) can deadlock; PostgreSQL then aborts one of them.
 * Each statement is its own transaction and changes nothing when aborted, so it is run again.
 */
async function retryDeadlock<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= attempts) throw err;
    }
  }
}
