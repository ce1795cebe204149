/**
 * The prediction log: what the serving path predicted, for which inputs, and the labels that came
 * back. Monitors, triage, retraining snapshots and the canary judge read it here.
 */
import type { LivePerformance } from '../domain/canaryVerdict.js';
import type { LabelRecord, PredictionRecord, StoredPrediction } from '../domain/ingest.js';
import type { TaskConfig } from '../domain/task.js';

export interface TrafficRow {
  features: Record<string, number>;
  /** Binary models' score; NaN on multiclass and regression rows (see `prediction`). */
  score: number;
  /** Binary models' decision (1 = positive); 0 on multiclass and regression rows. */
  predicted: 0 | 1;
  /** The label, or null while it has not arrived (labeled_at after asOf) or was never given. */
  label: 0 | 1 | null;
  /** The label as stored; a value other than 0/1 is bad feedback (label is then null). */
  rawLabel: number | null;
  modelVersion: number | null;
  servedBy: 'model' | 'fallback';
  ts: Date;
  /** Multiclass and regression rows (sent over HTTP): the prediction as sent. */
  prediction?: StoredPrediction;
  /** Multiclass and regression rows: the label (a class, or a number) once it has arrived by asOf. */
  labelValue?: string | number;
}

export interface IngestPredictionsResult {
  /** Rows stored. */
  accepted: number;
  /** Rows whose (model, requestId) was already stored: left as they were. */
  duplicates: number;
  /** Stored rows that took a label waiting for them in pending_labels. */
  labelsMatched: number;
}

export interface IngestLabelsResult {
  /** Labels now on their prediction (a label equal to the stored one counts, and changes nothing). */
  matched: number;
  /** Labels kept until their prediction arrives (or the grace period ends). */
  pending: number;
}

export interface LoadTrafficOptions {
  /** The most recent `limit` predictions (by ts, then id). */
  limit: number;
  /** Only predictions at or after this time. */
  since?: Date;
  /** Only predictions whose label has arrived by asOf. */
  labelledOnly?: boolean;
  /** Leave the features out (rows come back with `{}`): performance and feedback checks need only outcomes. */
  withoutFeatures?: boolean;
  /**
   * At most this many rows: when the window holds more, an evenly spaced sample of exactly this many
   * (every (window/sample)-th row by position, oldest first), so a reader's memory does not grow with
   * the window. The sample is the same for the same rows.
   */
  sample?: number;
  /**
   * The moment to look from (default now): labels count only when labeled_at ≤ asOf; when given,
   * predictions after asOf are left out too.
   */
  asOf?: Date;
}

export interface PredictionLog {
  /** Recent predictions of `modelId`, oldest first, as the monitors and retraining snapshots see them. */
  recent(modelId: string, opts: LoadTrafficOptions): Promise<TrafficRow[]>;
  /**
   * Predictions made by the model per version since `since` and how they did on the labels that have
   * arrived, by the model's task type (computed in the database, one row per version): binary —
   * accuracy at the threshold; multiclass — accuracy (predicted class = label) and macro-F1 over
   * `task.classes`; regression — MAE and RMSE. A version without predictions is absent.
   */
  livePerformance(modelId: string, task: TaskConfig, since: Date, versions: readonly number[]): Promise<Map<number, LivePerformance>>;
  /**
   * A shadow's answers against the served ones on the same requests, both judged on the label the
   * served request got (a paired comparison: the stable side is exactly as many requests). Binary
   * models only: shadow rows keep a score and decision, so other task types' shadows are never labelled.
   */
  shadowAccuracy(modelId: string, version: number, since: Date): Promise<{ canary: LivePerformance; stable: LivePerformance }>;
  /**
   * Stores validated predictions of `modelId` in one transaction, once per requestId: a row whose
   * requestId is stored already is a duplicate and changes nothing. A row whose label arrived first
   * (pending, within its grace period) takes it in the same transaction. Shadow rows (a candidate's
   * answers never served) are kept for shadowAccuracy once per (version, requestId) and never take a
   * label: the label belongs to the served row with the same requestId.
   */
  ingestPredictions(modelId: string, rows: readonly PredictionRecord[]): Promise<IngestPredictionsResult>;
  /**
   * Attaches validated labels to their predictions in one transaction; a label whose prediction is not
   * stored yet waits in pending_labels for `graceMs` from now. A label for a request that has one
   * replaces it when it differs (a correction); the same label again changes nothing.
   */
  ingestLabels(modelId: string, labels: readonly LabelRecord[], opts: { graceMs: number }): Promise<IngestLabelsResult>;
}
