/**
 * Performance by task type, from predictions and labels: binary — accuracy at the threshold, AUC, log
 * loss, calibration error; multiclass — accuracy, macro-F1; regression — MAE, RMSE.
 */
import { evaluateScores } from './metrics.js';
import type { TaskConfig } from './task.js';

export class MetricsError extends Error {}

/** The 0/1 outcome of a binary label (its positive or negative class), or an error naming the row. */
export function binaryOutcome(task: Extract<TaskConfig, { type: 'binary' }>, label: unknown, row: number): 0 | 1 {
  if (String(label) === String(task.positiveClass)) return 1;
  if (String(label) === String(task.negativeClass)) return 0;
  throw new MetricsError(
    `row ${row}: label "${String(label)}" is neither the positive class "${task.positiveClass}" nor the negative class "${task.negativeClass}"`,
  );
}

/**
 * Metrics of `predictions` against `labels` (same length, row for row): a score per row for binary, a
 * class per row for multiclass, a value per row for regression.
 */
export function taskMetrics(task: TaskConfig, predictions: readonly unknown[], labels: readonly unknown[]): Record<string, number> {
  if (predictions.length !== labels.length) throw new MetricsError(`${predictions.length} predictions but ${labels.length} labels`);
  if (predictions.length === 0) throw new MetricsError('no labelled rows to measure');
  switch (task.type) {
    case 'binary': {
      const scores = Float64Array.from(predictions, (p, i) => finite(p, i + 1, 'score'));
      const outcomes = Float64Array.from(labels, (l, i) => binaryOutcome(task, l, i + 1));
      const e = evaluateScores(scores, outcomes, task.threshold);
      return { accuracy: e.accuracy, auc: e.auc, logLoss: e.logLoss, calibrationError: e.calibrationError, rows: e.rows };
    }
    case 'multiclass': {
      const classes = task.classes.map(String);
      const truth = labels.map(String);
      const predicted = predictions.map(String);
      let correct = 0;
      for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
      const f1s = classes.map((c) => {
        let tp = 0;
        let fp = 0;
        let fn = 0;
        for (let i = 0; i < truth.length; i++) {
          if (predicted[i] === c && truth[i] === c) tp++;
          else if (predicted[i] === c) fp++;
          else if (truth[i] === c) fn++;
        }
        return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
      });
      return { accuracy: correct / truth.length, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length, rows: truth.length };
    }
    case 'regression': {
      let abs = 0;
      let sq = 0;
      for (let i = 0; i < predictions.length; i++) {
        const d = finite(predictions[i], i + 1, 'prediction') - finite(labels[i], i + 1, 'label');
        abs += Math.abs(d);
        sq += d * d;
      }
      return { mae: abs / predictions.length, rmse: Math.sqrt(sq / predictions.length), rows: predictions.length };
    }
  }
}

function finite(v: unknown, row: number, what: string): number {
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(x)) throw new MetricsError(`row ${row}: ${what} "${String(v)}" is not a finite number`);
  return x;
}

/** How much worse a metric may get before the monitor raises `accuracy_drop` (per task type; `monitor.performance`). */
export interface PerformanceThresholds {
  /** binary / multiclass: accuracy below the holdout's by at least this (absolute). */
  accuracyDrop: number;
  /** binary: AUC below the holdout's by at least this. */
  aucDrop: number;
  /** multiclass: macro-F1 below the holdout's by at least this. */
  macroF1Drop: number;
  /** regression: MAE above the holdout's by at least this share of it (0.2 = 20% worse). */
  maeIncrease: number;
  /** regression: RMSE above the holdout's by at least this share of it. */
  rmseIncrease: number;
}

export interface PerformanceFinding {
  metric: string;
  current: number;
  baseline: number;
  /** How much worse (absolute for accuracy/AUC/F1, relative for errors); negative when better. */
  worse: number;
  breached: boolean;
  reason: string;
}

const COMPARED: Record<TaskConfig['type'], { metric: string; threshold: keyof PerformanceThresholds; higherIsBetter: boolean; label: string }[]> = {
  binary: [
    { metric: 'accuracy', threshold: 'accuracyDrop', higherIsBetter: true, label: 'accuracy' },
    { metric: 'auc', threshold: 'aucDrop', higherIsBetter: true, label: 'AUC' },
  ],
  multiclass: [
    { metric: 'accuracy', threshold: 'accuracyDrop', higherIsBetter: true, label: 'accuracy' },
    { metric: 'macroF1', threshold: 'macroF1Drop', higherIsBetter: true, label: 'macro-F1' },
  ],
  regression: [
    { metric: 'mae', threshold: 'maeIncrease', higherIsBetter: false, label: 'MAE' },
    { metric: 'rmse', threshold: 'rmseIncrease', higherIsBetter: false, label: 'RMSE' },
  ],
};

/**
 * The task type's metrics now against the version's holdout figures. A metric without a finite
 * baseline or current value is not compared (e.g. AUC on labels of one class).
 */
export function comparePerformance(
  task: TaskConfig['type'],
  current: Record<string, number>,
  baseline: Record<string, number>,
  thresholds: PerformanceThresholds,
  rows: number,
): PerformanceFinding[] {
  const out: PerformanceFinding[] = [];
  for (const c of COMPARED[task]) {
    const now = current[c.metric];
    const base = baseline[c.metric];
    if (now === undefined || base === undefined || !Number.isFinite(now) || !Number.isFinite(base)) continue;
    const limit = thresholds[c.threshold];
    const worse = c.higherIsBetter ? base - now : base > 0 ? (now - base) / base : now > 0 ? Infinity : 0;
    const breached = worse >= limit;
    const how = c.higherIsBetter
      ? `${c.label} ${now.toFixed(3)} is ${worse.toFixed(3)} ${worse >= 0 ? 'below' : 'above'} the holdout's ${base.toFixed(3)}`
      : `${c.label} ${fmt(now)} is ${(Math.abs(worse) * 100).toFixed(1)}% ${worse >= 0 ? 'above' : 'below'} the holdout's ${fmt(base)}`;
    const rule = c.higherIsBetter ? `${breached ? '≥' : '<'} ${limit}` : `${breached ? '≥' : '<'} ${(limit * 100).toFixed(0)}%`;
    out.push({ metric: c.metric, current: now, baseline: base, worse, breached, reason: `${how} (${rule}) on ${rows} labelled predictions` });
  }
  return out;
}

const fmt = (v: number) => Number(v.toPrecision(4)).toString();
