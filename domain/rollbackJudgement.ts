/**
 * Would rolling back help? The rollback target and the champion scored on the same recent labelled
 * predictions, by the task's metric (binary and multiclass accuracy, regression MAE): a rollback is
 * recommended only when the target beats the champion by the runbook's margin (absolute for accuracy,
 * relative for MAE). Its training-time holdout says nothing about today's traffic.
 */
import type { ScoredPrediction } from './ingest.js';
import type { TaskConfig } from './task.js';
import { predictionValue } from './taskGates.js';
import { MetricsError, taskMetrics } from './taskMetrics.js';

export interface RollbackJudgement {
  metric: 'accuracy' | 'mae';
  /** Labelled recent predictions both versions were scored on. */
  rows: number;
  /** Fewer rows than needed to judge: then neither figure is trusted and rollback is not preferred. */
  enough: boolean;
  minRows: number;
  champion?: number;
  target?: number;
  /** The target beats the champion by the margin. */
  better: boolean;
  /** One sentence with both figures. */
  summary: string;
}

export function judgeRollback(args: {
  task: TaskConfig;
  labels: readonly (string | number)[];
  champion: { version: number; predictions: readonly ScoredPrediction[] };
  target: { version: number; predictions: readonly ScoredPrediction[] };
  minRows: number;
  minImprovement: number;
}): RollbackJudgement {
  const { task, labels, champion, target, minRows, minImprovement } = args;
  const metric = task.type === 'regression' ? 'mae' : 'accuracy';
  const rows = labels.length;
  const base = { metric, rows, minRows } as const;
  if (rows < minRows) {
    return {
      ...base,
      enough: false,
      better: false,
      summary: `only ${rows} labelled recent predictions (need ${minRows}) to compare v${target.version} with v${champion.version}`,
    };
  }
  const measure = (preds: readonly ScoredPrediction[]) =>
    taskMetrics(
      task,
      preds.map((p, i) => predictionValue(task, p, i + 1)),
      labels,
    )[metric]!;
  let c: number;
  let t: number;
  try {
    c = measure(champion.predictions);
    t = measure(target.predictions);
  } catch (err) {
    if (!(err instanceof MetricsError)) throw err;
    return { ...base, enough: false, better: false, summary: `v${target.version} and v${champion.version} could not be compared: ${err.message}` };
  }
  const better = metric === 'mae' ? t <= c * (1 - minImprovement) : t >= c + minImprovement;
  const fmt = (v: number) => v.toFixed(3);
  return {
    ...base,
    enough: true,
    champion: c,
    target: t,
    better,
    summary: `on the last ${rows} labelled predictions v${target.version} scores ${metric === 'mae' ? 'MAE' : 'accuracy'} ${fmt(t)} against v${champion.version}'s ${fmt(c)}`,
  };
}
