/**
 * The canary verdict: from what the deployment target routes, the health checks and the live accuracy
 * of canary and stable in the same window, whether to keep watching, promote, or roll back — and why.
 */
import type { CanaryPolicy } from './runbook.js';

export interface LiveAccuracy {
  predictions: number;
  labelled: number;
  /** Share of labelled predictions that were right; absent without labels. */
  accuracy?: number;
}

export interface CanaryJudgement {
  /** continue: keep watching; promote / rollback: the window's verdict (rollback may come early). */
  verdict: 'continue' | 'promote' | 'rollback';
  reasons: string[];
  canary: LiveAccuracy;
  stable: LiveAccuracy;
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
  version: number;
  stableVersion?: number;
  canary: LiveAccuracy;
  stable: LiveAccuracy;
  routing: CanaryRouting;
  /** Messages of the health checks that breached during the canary. */
  healthBreaches: string[];
  /** How many health checks ran. */
  healthChecks: number;
  /** The window is over: decide now. */
  final: boolean;
  checkedAt: string;
}

/** One-sided 95% critical value: roll back only when the canary is worse beyond noise. */
export const Z_95_ONE_SIDED = 1.6449;

export function judgeCanary(e: CanaryEvidence, p: CanaryPolicy): CanaryJudgement {
  const { canary, stable, routing } = e;
  const shadow = p.mode === 'shadow';
  const name = shadow ? 'shadow' : 'canary';
  const judged = (verdict: CanaryJudgement['verdict'], reasons: string[]): CanaryJudgement => ({ verdict, reasons, canary, stable, checkedAt: e.checkedAt });

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
  const healthNote = e.healthChecks ? [`${e.healthChecks} health check(s) without a breach`] : [];

  const enough = canary.labelled >= p.minLabelled && stable.labelled >= p.minLabelled;
  if (enough && canary.accuracy !== undefined && stable.accuracy !== undefined) {
    const drop = stable.accuracy - canary.accuracy;
    const se = Math.sqrt((canary.accuracy * (1 - canary.accuracy)) / canary.labelled + (stable.accuracy * (1 - stable.accuracy)) / stable.labelled);
    const z = se > 0 ? (drop - p.maxAccuracyDrop) / se : drop > p.maxAccuracyDrop ? Infinity : -Infinity;
    const figures = shadow
      ? `shadow v${e.version} accuracy ${canary.accuracy.toFixed(3)} on ${canary.labelled} labelled requests vs stable v${e.stableVersion} ${stable.accuracy.toFixed(3)} on the same requests`
      : `canary v${e.version} accuracy ${canary.accuracy.toFixed(3)} on ${canary.labelled} labelled predictions vs stable v${e.stableVersion} ${stable.accuracy.toFixed(3)} on ${stable.labelled}`;
    if (z > Z_95_ONE_SIDED) {
      return judged('rollback', [
        `${figures}: lower by ${drop.toFixed(3)}, beyond the allowed ${p.maxAccuracyDrop} (z = ${z.toFixed(2)} > ${Z_95_ONE_SIDED.toFixed(2)})`,
        ...healthNote,
      ]);
    }
    if (!e.final) return judged('continue', [`${figures}: not worse beyond ${p.maxAccuracyDrop} so far`, ...healthNote]);
    return judged('promote', [`${figures}: not worse beyond ${p.maxAccuracyDrop}`, ...healthNote]);
  }
  const shortfall = `too few labels to judge live accuracy: ${name} ${canary.labelled} labelled of ${canary.predictions} predictions, stable ${stable.labelled} of ${stable.predictions} (need ${p.minLabelled} each)`;
  if (!e.final) return judged('continue', [shortfall, ...healthNote]);
  return p.onInsufficientLabels === 'promote'
    ? judged('promote', [`${shortfall}; the runbook promotes on health alone (canary.onInsufficientLabels: promote)`, ...healthNote])
    : judged('rollback', [`${shortfall}; the runbook rolls back without them (canary.onInsufficientLabels: rollback)`, ...healthNote]);
}
