/**
 * The prediction log: what the serving path predicted, for which inputs, and the labels that came
 * back. Monitors, triage, retraining snapshots and the canary judge read it here.
 */
import type { LiveAccuracy } from '../domain/canaryVerdict.js';

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

export interface PredictionLog {
  /** Recent predictions of `modelId`, oldest first, as the monitors and retraining snapshots see them. */
  recent(modelId: string, opts: LoadTrafficOptions): Promise<TrafficRow[]>;
  /** Predictions made by the model per version since `since`; a label counts once it has arrived. */
  liveAccuracy(modelId: string, since: Date, versions: readonly number[]): Promise<Map<number, LiveAccuracy>>;
  /**
   * A shadow's answers against the served ones on the same requests, both judged on the label the
   * served request got (a paired comparison: the stable side is exactly as many requests).
   */
  shadowAccuracy(modelId: string, version: number, since: Date): Promise<{ canary: LiveAccuracy; stable: LiveAccuracy }>;
}
