/**
 * A model's performance figures as incident evidence carries them, by task type: binary accuracy (and
 * AUC, log loss, calibration error), multiclass accuracy and macro-F1, regression MAE and RMSE. Each is
 * the current value under its snake_case key with the holdout figure under `<key>_baseline`, as the
 * monitor writes them (monitoring/computeModelSignals.ts, signalsAsEvidence); accuracy may also come
 * as an `accuracy_drop` alone (alerts, the CLI). Read by classification, Slack messages and reviews so
 * that each speaks the figures of the model's task type.
 */
import type { Evidence, EvidenceValue } from './incident.js';
import { TASK_TYPES, type TaskType } from './task.js';

export interface PerformanceMetric {
  /** The evidence key (snake_case): `mae`, its baseline `mae_baseline`. */
  key: string;
  /** How people write it: MAE, macro-F1, AUC. */
  label: string;
  higherIsBetter: boolean;
}

/** Every performance metric evidence may carry, in the order they are shown. */
export const PERFORMANCE_METRICS: readonly PerformanceMetric[] = [
  { key: 'accuracy', label: 'accuracy', higherIsBetter: true },
  { key: 'auc', label: 'AUC', higherIsBetter: true },
  { key: 'macro_f1', label: 'macro-F1', higherIsBetter: true },
  { key: 'log_loss', label: 'log loss', higherIsBetter: false },
  { key: 'calibration_error', label: 'calibration error', higherIsBetter: false },
  { key: 'mae', label: 'MAE', higherIsBetter: false },
  { key: 'rmse', label: 'RMSE', higherIsBetter: false },
];

/**
 * The metrics a task type's performance loss is judged by (classification's reasons and impact): a
 * binary model by its accuracy as always, a multiclass one by accuracy and macro-F1, a regression one by
 * MAE and RMSE. Other figures are shown, not judged.
 */
export const JUDGED_METRICS: Record<TaskType, readonly string[]> = {
  binary: ['accuracy'],
  multiclass: ['accuracy', 'macro_f1'],
  regression: ['mae', 'rmse'],
};

export interface PerformanceFigure extends PerformanceMetric {
  current?: number;
  baseline?: number;
  /**
   * How much worse than the baseline: for higher-is-better metrics the drop (absolute, 0.08 = eight
   * points), for lower-is-better ones the relative rise (0.5 = 50% worse); negative when better;
   * undefined when it cannot be told (no baseline, or a zero baseline for a relative rise).
   */
  worse?: number;
}

/**
 * The task type the evidence speaks of: a `task` value when present, else told from the keys (MAE or
 * RMSE: regression; macro-F1: multiclass), else binary.
 */
export function taskOfEvidence(values: Record<string, EvidenceValue>): TaskType {
  const declared = values.task;
  if (typeof declared === 'string' && (TASK_TYPES as readonly string[]).includes(declared)) return declared as TaskType;
  const has = (key: string) => num(values[key]) !== undefined || num(values[`${key}_baseline`]) !== undefined;
  if (has('mae') || has('rmse')) return 'regression';
  if (has('macro_f1')) return 'multiclass';
  return 'binary';
}

/** Every performance figure the evidence carries (a current value, a baseline or, for accuracy, a drop). */
export function performanceFigures(values: Record<string, EvidenceValue>): PerformanceFigure[] {
  const out: PerformanceFigure[] = [];
  for (const m of PERFORMANCE_METRICS) {
    const current = num(values[m.key]);
    const baseline = num(values[`${m.key}_baseline`]);
    const explicitDrop = m.key === 'accuracy' ? num(values.accuracy_drop) : undefined;
    if (current === undefined && baseline === undefined && explicitDrop === undefined) continue;
    let worse = explicitDrop;
    if (worse === undefined && current !== undefined && baseline !== undefined) {
      const raw = m.higherIsBetter ? baseline - current : baseline > 0 ? (current - baseline) / baseline : undefined;
      // Rounded past floating-point noise, so that a rise from 2 to 2.4 is 20%, not 19.99…%.
      worse = raw === undefined ? undefined : Math.round(raw * 1e9) / 1e9;
    }
    out.push({
      ...m,
      ...(current !== undefined ? { current } : {}),
      ...(baseline !== undefined ? { baseline } : {}),
      ...(worse !== undefined ? { worse } : {}),
    });
  }
  return out;
}

/** The figures the task type is judged by, in its order. */
export function judgedFigures(values: Record<string, EvidenceValue>, task: TaskType = taskOfEvidence(values)): PerformanceFigure[] {
  const figures = performanceFigures(values);
  return JUDGED_METRICS[task].flatMap((key) => figures.filter((f) => f.key === key));
}

/**
 * One figure as a sentence fragment of change: "MAE rose from 0.41 to 0.93 (+127%)", "macro-F1 fell
 * from 0.7 to 0.17 (−0.53)"; accuracy keeps its historical "accuracy fell by 0.08".
 */
export function degradationPhrase(f: PerformanceFigure): string {
  if (f.key === 'accuracy' || f.current === undefined || f.baseline === undefined) {
    const verb = f.higherIsBetter ? 'fell' : 'rose';
    return `${f.label} ${verb}${f.worse === undefined ? '' : ` by ${f.higherIsBetter ? round3(f.worse) : percent(f.worse)}`}`;
  }
  const verb = f.current < f.baseline ? 'fell' : 'rose';
  return `${f.label} ${verb} from ${round3(f.baseline)} to ${round3(f.current)}${f.worse === undefined ? '' : ` (${change(f)})`}`;
}

/** One figure against its holdout: "MAE 0.93 vs holdout 0.41 (+127%)", "accuracy 0.78 vs holdout 0.86 (−0.08)". */
export function describeFigure(f: PerformanceFigure): string {
  if (f.current === undefined) {
    if (f.baseline === undefined)
      return `${f.label} ${f.higherIsBetter ? 'drop' : 'rise'} ${f.worse === undefined ? '?' : f.higherIsBetter ? round3(f.worse) : percent(f.worse)}`;
    return `${f.label} holdout ${round3(f.baseline)}`;
  }
  const base = f.baseline !== undefined ? ` vs holdout ${round3(f.baseline)}` : '';
  return `${f.label} ${round3(f.current)}${base}${f.worse !== undefined && f.baseline !== undefined ? ` (${change(f)})` : ''}`;
}

/** The signed change of a figure: "+127%" for relative rises of errors, "−0.08" for drops in a score. */
function change(f: PerformanceFigure): string {
  const w = f.worse!;
  if (f.higherIsBetter) return w > 0 ? `−${round3(w)}` : `+${round3(-w)}`;
  return w >= 0 ? `+${Math.round(w * 100)}%` : `−${Math.round(-w * 100)}%`;
}

function percent(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.round(Math.abs(v) * 100)}%`;
}

function round3(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

function num(v: EvidenceValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * An incident's performance as its latest evidence shows it: the task type (as triage recorded it
 * from the model's config, else told from the keys) and every figure, for Slack messages and reviews.
 */
export function incidentPerformance(incident: { evidence: readonly Evidence[]; triageEvidence?: Record<string, unknown> }): {
  task: TaskType;
  /** Whether the task type is the model's declared one (not told from the evidence's keys). */
  declared: boolean;
  figures: PerformanceFigure[];
  /** The evidence keys the figures were read from (to leave out of other listings). */
  keys: Set<string>;
} {
  const latest: Record<string, EvidenceValue> = Object.assign({}, ...incident.evidence.map((e) => e.values));
  const performance = incident.triageEvidence?.performance;
  const recorded = performance && typeof performance === 'object' ? (performance as { task?: unknown }).task : undefined;
  const declared = typeof recorded === 'string' && (TASK_TYPES as readonly string[]).includes(recorded) ? (recorded as TaskType) : undefined;
  const figures = performanceFigures(latest);
  // `task` says how to read the figures; it is shown with them, not as a value of its own.
  const keys = new Set(['task', ...figures.flatMap((f) => [f.key, `${f.key}_baseline`, ...(f.key === 'accuracy' ? ['accuracy_drop'] : [])])]);
  return { task: declared ?? taskOfEvidence(latest), declared: declared !== undefined || typeof latest.task === 'string', figures, keys };
}
