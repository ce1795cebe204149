/**
 * The canary verdict: from what the deployment target routes, the health checks and the live
 * performance of canary and stable in the same window, whether to keep watching, promote, or roll back
 * — and why. Performance is the task type's metric: accuracy for binary and multiclass models (an
 * absolute drop, `canary.maxAccuracyDrop`), MAE for regression (a relative rise, the model's
 * `monitor.performance.maeIncrease`); either way a one-sided test at 95%, so noise alone never rolls back.
 * A health check that could not be evaluated is unknown, never healthy: it keeps the watch going, and at
 * the window's end unverified health does what `canary.onUnknownHealth` says (roll back by default).
 */
import type { CanaryPolicy } from './runbook.js';
import type { TaskType } from './task.js';

/**
 * A version's predictions in the canary window and how they did on the labels that arrived. Which
 * figures are there depends on the task type; each is absent without labels.
 */
export interface LivePerformance {
  predictions: number;
  labelled: number;
  /** binary, multiclass: share of labelled predictions that were right. */
  accuracy?: number;
  /** multiclass: macro-F1 over the model's classes (reported, not judged). */
  macroF1?: number;
  /** regression: mean absolute error. */
  mae?: number;
  /** regression: root mean squared error (with MAE, the spread of the absolute errors). */
  rmse?: number;
}

/** The metric a task type's canary is judged by. */
export type CanaryMetric = 'accuracy' | 'mae';

export const CANARY_METRIC: Record<TaskType, CanaryMetric> = { binary: 'accuracy', multiclass: 'accuracy', regression: 'mae' };

/** The regression margin when the evidence names none: the default of `monitor.performance.maeIncrease`. */
export const DEFAULT_MAX_MAE_INCREASE = 0.2;

/**
 * What the health checks said at one judgement: every check answered without a breach, one breached,
 * or some could not be evaluated (errored, timed out, no data, only NaN) and none breached.
 */
export type CanaryHealth = 'ok' | 'breach' | 'unknown';

export interface CanaryJudgement {
  /** continue: keep watching; promote / rollback: the window's verdict (rollback may come early). */
  verdict: 'continue' | 'promote' | 'rollback';
  reasons: string[];
  /** The metric judged (absent in judgements recorded before regression canaries were judged by MAE). */
  metric?: CanaryMetric;
  /**
   * The health checks at this judgement; absent when none ran (none configured, the canary not routed
   * yet) and in judgements recorded before health could be unknown.
   */
  health?: CanaryHealth;
  /** Each health check that could not be evaluated, and why (with `health: 'unknown'`). */
  healthNotes?: string[];
  canary: LivePerformance;
  stable: LivePerformance;
  checkedAt: string;
}

/** What the deployment target routes now, as far as the verdict cares. */
export interface CanaryRouting {
  /** For messages: e.g. "KServe InferenceService ml/credit-risk". */
  target: string;
  mode: 'model' | 'fallback';
  ready: boolean;
  settled: boolean;
  reason?: string;
  /** The target routes a canary or shadow share now. */
  routesCanary: boolean;
}

export interface CanaryEvidence {
  /** The model's task type, which names the metric judged (binary when absent). */
  task?: TaskType;
  /**
   * regression: roll back when the canary's MAE is above the stable's by more than this share of it
   * (0.2 = 20%), beyond noise; the model's `monitor.performance.maeIncrease`. Default 0.2.
   */
  maxMaeIncrease?: number;
  version: number;
  stableVersion?: number;
  canary: LivePerformance;
  stable: LivePerformance;
  routing: CanaryRouting;
  /** Messages of the health checks that breached during the canary. */
  healthBreaches: string[];
  /**
   * The health checks that could not be evaluated (errored, timed out, no data, only NaN), each naming
   * the check and why: they are unknown, never "no breach".
   */
  healthUnknown?: string[];
  /** How many health checks ran (breached, unknown and ok alike). */
  healthChecks: number;
  /** The window is over: decide now. */
  final: boolean;
  checkedAt: string;
}

/** One-sided 95% critical value: roll back only when the canary is worse beyond noise. */
export const Z_95_ONE_SIDED = 1.6449;

export function judgeCanary(e: CanaryEvidence, p: CanaryPolicy): CanaryJudgement {
  const { canary, stable, routing } = e;
  const task = e.task ?? 'binary';
  const metric = CANARY_METRIC[task];
  const shadow = p.mode === 'shadow';
  const name = shadow ? 'shadow' : 'canary';
  const unknown = e.healthUnknown ?? [];
  const health: CanaryHealth | undefined = e.healthBreaches.length ? 'breach' : unknown.length ? 'unknown' : e.healthChecks ? 'ok' : undefined;
  const judged = (verdict: CanaryJudgement['verdict'], reasons: string[]): CanaryJudgement => ({
    verdict,
    reasons,
    metric,
    ...(health ? { health } : {}),
    ...(health === 'unknown' ? { healthNotes: unknown } : {}),
    canary,
    stable,
    checkedAt: e.checkedAt,
  });

  // The target must actually route the canary: KServe needs a while to roll out a revision, and
  // someone may have ended the canary outside Vigil.
  if (routing.mode === 'fallback') return judged('rollback', [`${routing.target} was put into its fallback during the canary`]);
  if (!routing.routesCanary && routing.settled)
    return judged('rollback', [`${routing.target} no longer routes traffic to the canary (changed outside Vigil?)`]);
  if (!routing.ready || !routing.settled || !routing.routesCanary) {
    const why = `${routing.target} is not serving the canary yet: ${routing.reason ?? (routing.settled ? 'not ready' : 'the change is still rolling out')}`;
    return judged(e.final ? 'rollback' : 'continue', [e.final ? `${why} at the end of the window` : why]);
  }

  if (e.healthBreaches.length)
    return judged(
      'rollback',
      e.healthBreaches.map((m) => `health check breached during the canary: ${m}`),
    );
  // A check that could not be evaluated is unknown, never "without a breach": it is named with its cause.
  const answered = e.healthChecks - unknown.length;
  const healthNote = [
    ...(answered > 0 ? [`${answered} health check(s) without a breach`] : []),
    ...unknown.map((m) => `health check could not be evaluated: ${m}`),
  ];

  const enough = canary.labelled >= p.minLabelled && stable.labelled >= p.minLabelled;
  const compared = enough ? (metric === 'mae' ? compareMae(e, shadow) : compareAccuracy(e, p, shadow, task)) : undefined;
  // A worse canary rolls back whatever health says; unknown health alone never ends the watch early.
  if (compared?.worse) return judged('rollback', [compared.reason, ...healthNote]);
  const short = compared ? undefined : shortfall(e, p, metric, name, task);
  if (!e.final) return judged('continue', [short ?? `${compared!.reason} so far`, ...healthNote]);

  // The window's end. Health is unverified when more checks than the runbook tolerates gave no answer
  // (a policy recorded before the field existed tolerates none). No checks configured: nothing to verify.
  const unverified = e.healthChecks > 0 && unknown.length / e.healthChecks > (p.maxUnknownHealthShare ?? 0);
  const healthUnverified = `health could not be verified: ${unknown.length} of ${e.healthChecks} health check(s) could not be evaluated at the end of the window`;
  if (unverified && p.onUnknownHealth !== 'promote') {
    return judged('rollback', [
      `${healthUnverified}; the runbook does not promote blind (canary.onUnknownHealth: rollback)`,
      ...healthNote,
      short ?? compared!.reason,
    ]);
  }
  const withoutHealth = unverified ? [`${healthUnverified}; the runbook promotes without it (canary.onUnknownHealth: promote)`] : [];
  if (!short) return judged('promote', [compared!.reason, ...withoutHealth, ...healthNote]);
  return p.onInsufficientLabels === 'promote'
    ? judged('promote', [
        `${short}; the runbook promotes ${unverified ? 'without them' : 'on health alone'} (canary.onInsufficientLabels: promote)`,
        ...withoutHealth,
        ...healthNote,
      ])
    : judged('rollback', [`${short}; the runbook rolls back without them (canary.onInsufficientLabels: rollback)`, ...withoutHealth, ...healthNote]);
}

/** Why performance is not judged yet: too few labels on either side. */
function shortfall(e: CanaryEvidence, p: CanaryPolicy, metric: CanaryMetric, name: string, task: TaskType): string {
  const { canary, stable } = e;
  const what = metric === 'mae' ? 'live MAE' : 'live accuracy';
  // Shadow rows carry a binary decision only (domain/ingest.ts): other task types' shadows are never labelled.
  const shadowNote = p.mode === 'shadow' && task !== 'binary' ? ` (shadow answers are judged for binary models only; this model is ${task})` : '';
  return `too few labels to judge ${what}${shadowNote}: ${name} ${canary.labelled} labelled of ${canary.predictions} predictions, stable ${stable.labelled} of ${stable.predictions} (need ${p.minLabelled} each)`;
}

/** The comparison of both sides on the task's metric: worse beyond the margin and noise, and why. */
interface Comparison {
  worse: boolean;
  /** Without " so far": the caller adds it while the window runs. */
  reason: string;
}

/** Accuracy (binary, multiclass): an absolute drop beyond `maxAccuracyDrop`, one-sided z-test on two proportions. */
function compareAccuracy(e: CanaryEvidence, p: CanaryPolicy, shadow: boolean, task: TaskType): Comparison | undefined {
  const { canary, stable } = e;
  if (canary.accuracy === undefined || stable.accuracy === undefined) return undefined;
  const drop = stable.accuracy - canary.accuracy;
  const se = Math.sqrt((canary.accuracy * (1 - canary.accuracy)) / canary.labelled + (stable.accuracy * (1 - stable.accuracy)) / stable.labelled);
  const z = se > 0 ? (drop - p.maxAccuracyDrop) / se : drop > p.maxAccuracyDrop ? Infinity : -Infinity;
  const f1 = (l: LivePerformance) => (task === 'multiclass' && l.macroF1 !== undefined ? ` (macro-F1 ${l.macroF1.toFixed(3)})` : '');
  const figures = shadow
    ? `shadow v${e.version} accuracy ${canary.accuracy.toFixed(3)}${f1(canary)} on ${canary.labelled} labelled requests vs stable v${e.stableVersion} ${stable.accuracy.toFixed(3)}${f1(stable)} on the same requests`
    : `canary v${e.version} accuracy ${canary.accuracy.toFixed(3)}${f1(canary)} on ${canary.labelled} labelled predictions vs stable v${e.stableVersion} ${stable.accuracy.toFixed(3)}${f1(stable)} on ${stable.labelled}`;
  if (z > Z_95_ONE_SIDED)
    return {
      worse: true,
      reason: `${figures}: lower by ${drop.toFixed(3)}, beyond the allowed ${p.maxAccuracyDrop} (z = ${z.toFixed(2)} > ${Z_95_ONE_SIDED.toFixed(2)})`,
    };
  return { worse: false, reason: `${figures}: not worse beyond ${p.maxAccuracyDrop}` };
}

/**
 * MAE (regression): a rise beyond `maxMaeIncrease` of the stable's MAE. One-sided z-test on
 * canary MAE − (1 + margin) · stable MAE, each mean's variance from its absolute errors' spread
 * (RMSE² − MAE², the variance of |error|) over its labelled count.
 */
function compareMae(e: CanaryEvidence, shadow: boolean): Comparison | undefined {
  const { canary, stable } = e;
  if (canary.mae === undefined || stable.mae === undefined) return undefined;
  const margin = e.maxMaeIncrease ?? DEFAULT_MAX_MAE_INCREASE;
  // Without an RMSE the absolute errors count as all alike (no spread): the margin alone decides.
  const spread = (mae: number, l: LivePerformance) => Math.max(0, (l.rmse ?? mae) ** 2 - mae ** 2) / l.labelled;
  const excess = canary.mae - (1 + margin) * stable.mae;
  const se = Math.sqrt(spread(canary.mae, canary) + (1 + margin) ** 2 * spread(stable.mae, stable));
  const z = se > 0 ? excess / se : excess > 0 ? Infinity : -Infinity;
  const rise = stable.mae > 0 ? `${signed((canary.mae / stable.mae - 1) * 100)}%` : `${signed(canary.mae - stable.mae)}`;
  const side = shadow ? 'shadow' : 'canary';
  const figures = `${side} v${e.version} MAE ${num(canary.mae)} vs stable v${e.stableVersion} ${num(stable.mae)} (${rise}) on ${canary.labelled} / ${stable.labelled} labelled predictions`;
  const allowed = `${Number((margin * 100).toPrecision(4))}%`;
  if (z > Z_95_ONE_SIDED)
    return { worse: true, reason: `${figures}: higher beyond the allowed ${allowed} (z = ${z.toFixed(2)} > ${Z_95_ONE_SIDED.toFixed(2)})` };
  return { worse: false, reason: `${figures}: not higher beyond ${allowed}` };
}

/** A figure in 4 significant digits, without trailing zeros (4.1, 0.02031, 1234). */
const num = (v: number) => Number(v.toPrecision(4)).toString();
const signed = (v: number) => `${v >= 0 ? '+' : '-'}${Number(Math.abs(v).toPrecision(3))}`;
