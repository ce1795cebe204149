/**
 * Classification: which of the six failure modes this is, and how bad, from the evidence and the
 * model's business tier. Every verdict carries its reasons and the numbers behind them.
 *
 * Evidence keys read here (all optional): psi_max, drifted_features, accuracy, accuracy_baseline,
 * accuracy_drop, macro_f1, macro_f1_baseline, mae, mae_baseline, rmse, rmse_baseline, task,
 * data_quality_issues, missing_share, missing_columns, new_columns, type_changes, out_of_range_share,
 * unseen_category_share, error_rate, latency_p99_ms, gpu_memory_util, queue_depth, upstream_error_rate,
 * prediction_confidence, label_anomalies, label_positive_rate_shift, label_prediction_agreement,
 * invalid_label_share.
 *
 * Performance loss speaks the model's task type (domain/performanceEvidence.ts): a binary model's by
 * its accuracy ("accuracy fell by 0.08"), a multiclass model's by accuracy and macro-F1, a regression
 * model's by MAE and RMSE ("MAE rose from 0.41 to 0.93 (+127%)"). A performance loss is concept drift
 * only when the inputs were measured stable; labels found anomalous make any incident a feedback loop;
 * a prediction confidence of 0.6 or less is high impact, 0.7 or less medium. Its impact: a drop in accuracy or
 * macro-F1 of at least 0.1 is high, of at least 0.05 medium (absolute); a rise in MAE or RMSE of at
 * least 50% of the holdout's is high, of at least 20% medium (relative: errors have the target's units,
 * so only their ratio to the holdout's compares across models).
 */
import {
  failureModeForSignal,
  type Classification,
  type Evidence,
  type EvidenceValue,
  type FailureMode,
  type ModelTier,
  type Severity,
  type SignalKind,
} from './incident.js';
import { degradationPhrase, judgedFigures, taskOfEvidence, type PerformanceFigure } from './performanceEvidence.js';
import type { TaskType } from './task.js';

export interface ClassifyInput {
  signal: SignalKind;
  evidence: Evidence[];
  tier: ModelTier;
  /** PSI at or above this counts as input drift. */
  psiThreshold?: number;
  /** The model's task type (models[].task.type); told from the evidence's keys when absent. */
  task?: TaskType;
}

type Impact = 'high' | 'medium' | 'low';
/** A measured value, its high and medium bounds, its label and (optionally) how to show it. */
type ImpactCheck = [value: number | undefined, high: number, medium: number, label: string, show?: (v: number) => string];

/** Severity by tier (rows) and measured impact (columns). SEV1 is reserved for critical models. */
const SEVERITY_MATRIX: Record<ModelTier, Record<Impact, Severity>> = {
  critical: { high: 'SEV1', medium: 'SEV2', low: 'SEV3' },
  high: { high: 'SEV2', medium: 'SEV3', low: 'SEV4' },
  medium: { high: 'SEV3', medium: 'SEV3', low: 'SEV4' },
  low: { high: 'SEV3', medium: 'SEV4', low: 'SEV4' },
};

const INFRA_SIGNALS: SignalKind[] = ['latency', 'error_rate', 'gpu_memory', 'queue_depth'];
const QUALITY_SIGNALS: SignalKind[] = ['schema_break', 'missing_values', 'out_of_range', 'unseen_category'];

export function classify(input: ClassifyInput): Classification {
  const psiThreshold = input.psiThreshold ?? 0.2;
  const facts = latestValues(input.evidence);
  if (input.task && facts.task === undefined) facts.task = input.task;
  const signals = new Set<SignalKind>([input.signal, ...input.evidence.map((e) => e.signal)]);
  const reasons: string[] = [];

  const mode = failureMode(signals, facts, psiThreshold, reasons);
  const { impact, why } = impactOf(mode, facts, psiThreshold);
  const severity = SEVERITY_MATRIX[input.tier][impact];
  reasons.push(`${impact} impact (${why}) on a ${input.tier}-tier model → ${severity}`);
  return { failureMode: mode, severity, reasons };
}

function failureMode(signals: Set<SignalKind>, f: Record<string, EvidenceValue>, psiThreshold: number, reasons: string[]): FailureMode {
  const has = (list: SignalKind[]) => list.find((s) => signals.has(s));
  // Order matters: a failing dependency explains the broken inputs it sends, so upstream comes first;
  // a broken input schema explains drift and accuracy loss, so it wins over them; infrastructure faults
  // come next because retraining cannot fix them; corrupted labels make accuracy figures untrustworthy.
  if (signals.has('upstream_error')) {
    const rate = num(f.upstream_error_rate);
    reasons.push(
      `a dependency is failing${rate !== undefined ? ` (upstream error rate ${fmt(rate)})` : ''}${f.alertname ? ` (alert ${f.alertname})` : ''}${f.missing_columns || f.type_changes ? ' and the inputs it feeds changed shape' : ''}`,
    );
    return 'upstream';
  }
  const quality = has(QUALITY_SIGNALS);
  if (quality) {
    const detail =
      typeof f.data_quality_issues === 'string'
        ? f.data_quality_issues
        : [
            f.missing_columns ? `missing columns: ${f.missing_columns}` : '',
            f.type_changes ? `type changes: ${f.type_changes}` : '',
            f.new_columns ? `new columns: ${f.new_columns}` : '',
            num(f.missing_share) !== undefined ? `missing share ${fmt(f.missing_share)}` : '',
          ]
            .filter(Boolean)
            .join(', ');
    reasons.push(`data quality: ${quality}${detail ? ` (${detail})` : ''}`);
    return 'data_quality';
  }
  const infra = has(INFRA_SIGNALS);
  if (infra) {
    const shown = INFRA_KEYS.filter(([k]) => num(f[k]) !== undefined).map(([k, label]) => `${label} ${fmt(f[k])}`);
    reasons.push(`infrastructure signal: ${infra}${shown.length ? ` (${shown.join(', ')})` : ''}${f.alertname ? ` (alert ${f.alertname})` : ''}`);
    return 'infrastructure';
  }
  // Labels that echo the model's own predictions (or whose rate jumped) make every other figure suspect,
  // whatever signal opened the incident: a feedback loop, never retrained on.
  if (signals.has('label_anomaly') || typeof f.label_anomalies === 'string') {
    const detail =
      typeof f.label_anomalies === 'string'
        ? f.label_anomalies
        : f.label_positive_rate_shift !== undefined
          ? `positive-rate shift ${fmt(f.label_positive_rate_shift)}`
          : '';
    reasons.push(`labels look anomalous${detail ? ` (${detail})` : ''}: possible feedback-loop corruption`);
    return 'feedback_loop';
  }
  const psiMax = num(f.psi_max);
  const inputsDrifted = psiMax !== undefined && psiMax >= psiThreshold;
  if (signals.has('accuracy_drop') && !signals.has('data_drift') && !inputsDrifted) {
    reasons.push(
      psiMax === undefined
        ? `${performanceLoss(f)}; the inputs were not measured (no predictions logged to compare with the reference), so drift is not ruled out`
        : `${performanceLoss(f)} while inputs are stable (max PSI ${fmt(psiMax)} < ${psiThreshold})`,
    );
    return 'concept_drift';
  }
  const confidence = num(f.prediction_confidence);
  reasons.push(
    `inputs drifted (max PSI ${psiMax === undefined ? 'not given' : fmt(psiMax)}${f.drifted_features ? ` on ${f.drifted_features}` : ''})` +
      `${confidence !== undefined ? `, prediction confidence ${fmt(confidence)}` : ''}${signals.has('accuracy_drop') ? ` and ${performanceLoss(f)}` : ''}`,
  );
  // `signals` is never empty: classify() seeds it with input.signal.
  return signals.has('data_drift') || inputsDrifted ? 'data_drift' : failureModeForSignal([...signals][0]!);
}

function impactOf(mode: FailureMode, f: Record<string, EvidenceValue>, psiThreshold: number): { impact: Impact; why: string } {
  const checks: ImpactCheck[] = [
    ...performanceImpact(f),
    [num(f.psi_max), 0.5, psiThreshold, 'max PSI'],
    [num(f.error_rate), 0.05, 0.01, 'error rate'],
    [num(f.missing_share), 0.2, 0.05, 'missing share'],
    [num(f.gpu_memory_util), 0.97, 0.9, 'GPU memory use'],
    [num(f.latency_p99_ms), 2000, 500, 'p99 latency ms'],
    [num(f.upstream_error_rate), 0.05, 0.01, 'upstream error rate'],
    [num(f.out_of_range_share), 0.2, 0.05, 'out-of-range share'],
    [num(f.unseen_category_share), 0.2, 0.05, 'unseen-category share'],
    [absolute(num(f.label_positive_rate_shift)), 0.3, 0.15, 'label positive-rate shift'],
    // A collapsing confidence (mean top-class probability) means the model no longer knows its inputs.
    [collapse(num(f.prediction_confidence)), 0.4, 0.3, 'prediction confidence', (v) => fmt(1 - v)],
    [num(f.invalid_label_share), 0.05, 0.01, 'invalid label share'],
  ];
  let impact: Impact = 'low';
  const why: string[] = [];
  for (const [value, high, medium, label, show] of checks) {
    if (value === undefined) continue;
    const level: Impact = value >= high ? 'high' : value >= medium ? 'medium' : 'low';
    why.push(`${label} ${show ? show(value) : fmt(value)}`);
    if (level === 'high' || (level === 'medium' && impact === 'low')) impact = level;
  }
  if (mode === 'data_quality' && (f.missing_columns || f.type_changes)) {
    impact = 'high';
    why.push(`schema break (${[f.missing_columns, f.type_changes].filter(Boolean).join(', ')})`);
  }
  // Labels echoing predictions poison every retrain: treat as high impact.
  if (mode === 'feedback_loop' && num(f.label_prediction_agreement) !== undefined && num(f.label_prediction_agreement)! >= 0.98) {
    impact = 'high';
    why.push(`label/prediction agreement ${fmt(f.label_prediction_agreement)}`);
  }
  return { impact, why: why.join(', ') || 'no measured impact' };
}

const INFRA_KEYS: [string, string][] = [
  ['latency_p99_ms', 'p99 latency ms'],
  ['error_rate', 'error rate'],
  ['gpu_memory_util', 'GPU memory use'],
  ['queue_depth', 'queue depth'],
];

/** How far confidence fell below certainty (1 − c), for confidences in [0, 1]. */
function collapse(c: number | undefined): number | undefined {
  return c === undefined || c < 0 || c > 1 ? undefined : 1 - c;
}

function absolute(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.abs(v);
}

function latestValues(evidence: Evidence[]): Record<string, EvidenceValue> {
  return Object.assign({}, ...evidence.map((e) => e.values));
}

function num(v: EvidenceValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Impact bounds (high, medium) of the judged metrics: absolute drops of scores, relative rises of errors. */
const PERFORMANCE_IMPACT: Record<string, { high: number; medium: number }> = {
  accuracy: { high: 0.1, medium: 0.05 },
  macro_f1: { high: 0.1, medium: 0.05 },
  mae: { high: 0.5, medium: 0.2 },
  rmse: { high: 0.5, medium: 0.2 },
};

/** The task type's performance loss as impact checks: "accuracy drop 0.08", "MAE rise +127%". */
function performanceImpact(f: Record<string, EvidenceValue>): ImpactCheck[] {
  return performanceFiguresOf(f).figures.flatMap((fig): ImpactCheck[] => {
    const bounds = PERFORMANCE_IMPACT[fig.key];
    if (!bounds || fig.worse === undefined) return [];
    return fig.higherIsBetter
      ? [[fig.worse, bounds.high, bounds.medium, `${fig.label} drop`]]
      : [[fig.worse, bounds.high, bounds.medium, `${fig.label} rise`, (v) => `${v >= 0 ? '+' : '−'}${Math.round(Math.abs(v) * 100)}%`]];
  });
}

/**
 * The judged figures of the task type (declared, else told from the keys); when the evidence has none
 * of them (an alert with only an accuracy drop for a regression model), those of the task type its keys tell.
 */
function performanceFiguresOf(f: Record<string, EvidenceValue>): { task: TaskType; figures: PerformanceFigure[] } {
  const task = taskOfEvidence(f);
  const figures = judgedFigures(f, task);
  if (figures.length || f.task === undefined) return { task, figures };
  const { task: _declared, ...keys } = f;
  const told = taskOfEvidence(keys);
  const toldFigures = judgedFigures(keys, told);
  return toldFigures.length ? { task: told, figures: toldFigures } : { task, figures };
}

/**
 * What the performance loss was, in the task type's metrics: the judged figures that got worse (all
 * judged figures when none did, so the numbers still show), else the task type's words without numbers.
 */
function performanceLoss(f: Record<string, EvidenceValue>): string {
  const { task, figures } = performanceFiguresOf(f);
  const worse: PerformanceFigure[] = figures.filter((fig) => (fig.worse ?? 0) > 0);
  const shown = worse.length ? worse : figures;
  if (shown.length) return shown.map(degradationPhrase).join(' and ');
  return task === 'regression' ? 'errors rose' : task === 'multiclass' ? 'accuracy or macro-F1 fell' : 'accuracy fell';
}

function fmt(v: EvidenceValue | undefined): string {
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
}
