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
