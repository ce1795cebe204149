/**
 * A retrain's candidate gates for any task type, from predictions: candidate and champion scored on the
 * same labelled holdout, compared metric by metric with the runbook's margins.
 *
 *   binary      AUC, calibration error (candidateGates.ts, from scores) and accuracy at the threshold
 *   multiclass  accuracy and macro-F1 not lower than the champion's by more than maxAccuracyDrop / maxMacroF1Drop
 *   regression  MAE and RMSE not higher than the champion's by more than maxMaeIncrease / maxRmseIncrease (relative)
 *
 * Protected slices are judged by the task's first metric (binary and multiclass accuracy, regression
 * MAE). Without a champion every metric is reported and passes. Predictions whose shape does not fit
 * the task fail the scoring gate with the reason (the candidate is rejected, the workflow goes on).
 */
import { candidateGates, inSlice, type GateMargins, type GateResult } from './candidateGates.js';
import type { ScoredPrediction } from './ingest.js';
import type { TaskConfig } from './task.js';
import { MetricsError, taskMetrics } from './taskMetrics.js';

/** Margins beyond the binary ones; absent in runbooks written before them: the defaults apply. */
export interface TaskGateMargins extends GateMargins {
  maxAccuracyDrop?: number;
  maxMacroF1Drop?: number;
  /** Relative: 0.05 = the candidate's MAE may be at most 5% above the champion's. */
  maxMaeIncrease?: number;
  maxRmseIncrease?: number;
}

export const DEFAULT_TASK_GATE_MARGINS = { maxAccuracyDrop: 0.02, maxMacroF1Drop: 0.02, maxMaeIncrease: 0.05, maxRmseIncrease: 0.05 } as const;

/** One labelled holdout row: its features (for slices) and its label as the task states it. */
export interface GateRow {
  features: Record<string, unknown>;
  label: string | number;
}

/** What a prediction says, as taskMetrics reads it: the score, the class or the value. */
export function predictionValue(task: TaskConfig, p: ScoredPrediction, row: number): number | string {
  const fail = (what: string) => new MetricsError(`row ${row}: the prediction has no ${what} (a ${task.type} model's predictions are ${what}s)`);
  switch (task.type) {
    case 'binary':
      if (!('score' in p)) throw fail('score');
      return p.score;
    case 'multiclass':
      if (!('label' in p)) throw fail('label');
      return p.label;
    case 'regression':
      if (!('value' in p)) throw fail('value');
      return p.value;
  }
}

export function taskCandidateGates(
  task: TaskConfig,
  holdout: readonly GateRow[],
  candidate: readonly ScoredPrediction[],
  champion: readonly ScoredPrediction[] | undefined,
  margins: TaskGateMargins,
): { passed: boolean; gates: GateResult[] } {
  for (const [who, preds] of [
    ['candidate', candidate],
    ['champion', champion],
  ] as const) {
    if (preds && preds.length !== holdout.length) return scoringFailed(`${who}: ${preds.length} predictions for ${holdout.length} holdout rows`);
  }
  let cand: (string | number)[];
  let champ: (string | number)[] | undefined;
  try {
    cand = candidate.map((p, i) => predictionValue(task, p, i + 1));
    champ = champion?.map((p, i) => predictionValue(task, p, i + 1));
  } catch (err) {
    if (err instanceof MetricsError) return scoringFailed(err.message);
    throw err;
  }
  const labels = holdout.map((r) => r.label);
  const m = { ...DEFAULT_TASK_GATE_MARGINS, ...definedOnly(margins) };

  if (task.type === 'binary') {
    const outcomes = holdout.map((r) => ({ features: r.features as Record<string, number>, label: binaryLabel(task, r.label) }));
    const scores = (v: (string | number)[]) => ({ scores: Float64Array.from(v, Number), threshold: task.threshold });
    const base = candidateGates(outcomes, scores(cand), champ ? scores(champ) : undefined, margins);
    const measure = (v: (string | number)[]) => taskMetrics(task, v, labels).accuracy!;
    const accuracy = gate('accuracy', measure(cand), champ ? measure(champ) : undefined, 'higher', m.maxAccuracyDrop);
    // Slices and their accuracies come from candidateGates; AUC and calibration first, as before.
    const gates = [...base.gates.filter((g) => !g.name.startsWith('slice:')), accuracy, ...base.gates.filter((g) => g.name.startsWith('slice:'))];
    return { passed: gates.every((g) => g.passed), gates };
  }

  const measure = (v: (string | number)[], rows?: number[]) =>
    rows
      ? taskMetrics(
          task,
          rows.map((i) => v[i]!),
          rows.map((i) => labels[i]!),
        )
      : taskMetrics(task, v, labels);
  let c: Record<string, number>;
  let ch: Record<string, number> | undefined;
  try {
    c = measure(cand);
    ch = champ ? measure(champ) : undefined;
  } catch (err) {
    if (err instanceof MetricsError) return scoringFailed(err.message);
    throw err;
  }
  const gates: GateResult[] =
    task.type === 'multiclass'
      ? [gate('accuracy', c.accuracy!, ch?.accuracy, 'higher', m.maxAccuracyDrop), gate('macro_f1', c.macroF1!, ch?.macroF1, 'higher', m.maxMacroF1Drop)]
      : [gate('mae', c.mae!, ch?.mae, 'lower', m.maxMaeIncrease), gate('rmse', c.rmse!, ch?.rmse, 'lower', m.maxRmseIncrease)];

  const [metric, direction, margin] =
    task.type === 'multiclass' ? (['accuracy', 'higher', m.maxSliceDrop ?? 0.05] as const) : (['mae', 'lower', m.maxMaeIncrease] as const);
  for (const slice of margins.protectedSlices ?? []) {
    const rows = holdout.flatMap((r, i) => (inSlice(slice, r.features[slice.feature]) ? [i] : []));
    const name = `slice:${slice.name}`;
    const cv = rows.length ? measure(cand, rows)[metric]! : NaN;
    const chv = champ && rows.length ? measure(champ, rows)[metric]! : undefined;
    if (rows.length < slice.minRows || chv === undefined) {
      gates.push({
        name,
        candidate: cv,
        champion: chv ?? NaN,
        rule: !champ ? 'no champion to compare with' : `only ${rows.length} holdout rows in the slice (need ${slice.minRows}): not judged`,
        passed: true,
        judged: false,
      });
      continue;
    }
    const g = gate(metric, cv, chv, direction, margin);
    gates.push({ ...g, name, rule: `${g.rule} on ${rows.length} rows` });
  }
  return { passed: gates.every((g) => g.passed), gates };
}

/** A gate for one metric: higher-is-better by an absolute margin, lower-is-better by a relative one. */
function gate(name: string, candidate: number, champion: number | undefined, better: 'higher' | 'lower', margin: number): GateResult {
  if (champion === undefined) return { name, candidate, champion: NaN, rule: 'no champion to compare with', passed: Number.isFinite(candidate), judged: false };
  if (better === 'higher') {
    return { name, candidate, champion, rule: `candidate ≥ champion − ${margin}`, passed: Number.isFinite(candidate) && candidate >= champion - margin };
  }
  return {
    name,
    candidate,
    champion,
    rule: `candidate ≤ champion × (1 + ${margin})`,
    passed: Number.isFinite(candidate) && candidate <= champion * (1 + margin) + 1e-12,
  };
}

function scoringFailed(reason: string): { passed: boolean; gates: GateResult[] } {
  return { passed: false, gates: [{ name: 'scoring', candidate: NaN, champion: NaN, rule: `the predictions cannot be judged: ${reason}`, passed: false }] };
}

function binaryLabel(task: Extract<TaskConfig, { type: 'binary' }>, label: string | number): 0 | 1 {
  if (String(label) === String(task.positiveClass) || label === 1 || label === '1') return 1;
  return 0;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
