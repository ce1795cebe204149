/**
 * The canary steps of a retrain: send a share of traffic to the registered candidate through the
 * model's deployment target, judge it on live traffic, then promote it or roll it back. Every change
 * is keyed on workflow id + activity id, so a retried activity changes the target and the registry once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { DeploymentChange } from '../adapters/deployment/deploymentTarget.js';
import type { CanaryPolicy } from '../domain/runbook.js';
import { computeHealthSignals } from '../monitoring/healthSignals.js';
import { activityKey } from './activityKey.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

export interface CanaryStart {
  /** The champion serving the rest of the traffic. */
  stableVersion?: number;
  target: string;
  change: DeploymentChange;
}

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

/** One-sided 95% critical value: roll back only when the canary is worse beyond noise. */
const Z_95_ONE_SIDED = 1.6449;

export function createCanaryActivities(deps: ActivityDeps) {
  const { registry } = deps;

  return {
    /** Marks the candidate `challenger` in the registry and sends it `percent` of the traffic. */
    async startCanary(args: { incidentId: string; modelId: string; version: number; percent: number; shadow?: boolean }): Promise<CanaryStart> {
      const key = activityKey();
      const target = deps.deploymentFor(args.modelId);
      const candidate = await registry.getVersion(args.modelId, args.version);
      if (!candidate) throw ApplicationFailure.nonRetryable(`v${args.version} of ${args.modelId} is not in the registry`, 'UnknownVersion');
      const champion = await registry.getAlias(args.modelId, 'champion');
      await registry.setAlias({
        modelId: args.modelId,
        alias: 'challenger',
        version: args.version,
        reason: `canary for ${args.incidentId}`,
        idempotencyKey: `${key}:challenger`,
      });
      const change = await target.startCanary({
        modelId: args.modelId,
        artifactUri: candidate.artifactUri,
        percent: args.percent,
        version: args.version,
        idempotencyKey: key,
        ...(args.shadow ? { shadow: true } : {}),
      });
      const traffic = await target.currentTraffic(args.modelId);
      return { stableVersion: champion?.version, target: traffic.target, change };
    },

    /**
     * Judges the canary on what happened since it started: health checks (any breach rolls back at
     * once), then live accuracy of the canary's labelled predictions against the stable model's in
     * the same window, when both have enough labels.
     */
    async judgeCanary(args: {
      incidentId: string;
      modelId: string;
      version: number;
      stableVersion?: number;
      since: string;
      /** The window is over: decide now. */
      final: boolean;
      policy: CanaryPolicy;
    }): Promise<CanaryJudgement> {
      const model = modelConfig(deps, args.modelId);
      const checkedAt = new Date().toISOString();
      const shadow = args.policy.mode === 'shadow';
      let canary: LiveAccuracy;
      let stable: LiveAccuracy;
      if (shadow) {
        ({ canary, stable } = await shadowAccuracy(deps, args.modelId, args.version, new Date(args.since)));
      } else {
        const live = await liveAccuracy(deps, args.modelId, new Date(args.since), [args.version, args.stableVersion]);
        canary = live.get(args.version) ?? { predictions: 0, labelled: 0 };
        stable = (args.stableVersion !== undefined ? live.get(args.stableVersion) : undefined) ?? { predictions: 0, labelled: 0 };
      }
      const name = shadow ? 'shadow' : 'canary';
      const judged = (verdict: CanaryJudgement['verdict'], reasons: string[]): CanaryJudgement => ({ verdict, reasons, canary, stable, checkedAt });

      // The target must actually route the canary: KServe needs a while to roll out a revision, and
      // someone may have ended the canary outside Vigil.
      const traffic = await deps.deploymentFor(args.modelId).currentTraffic(args.modelId);
      const route = traffic.routes.find((r) => r.role === 'canary' || r.role === 'shadow');
      if (traffic.mode === 'fallback') return judged('rollback', [`${traffic.target} was put into its fallback during the canary`]);
      if (!route && traffic.settled) return judged('rollback', [`${traffic.target} no longer routes traffic to the canary (changed outside Vigil?)`]);
      if (!traffic.ready || !traffic.settled || !route) {
        const why = `${traffic.target} is not serving the canary yet: ${traffic.reason ?? (traffic.settled ? 'not ready' : 'the change is still rolling out')}`;
        return judged(args.final ? 'rollback' : 'continue', [args.final ? `${why} at the end of the window` : why]);
      }

      const health = await computeHealthSignals(deps, model);
      if (health.breaches.length) {
        return judged('rollback', health.breaches.map((b) => `health check breached during the canary: ${b.message}`));
      }
      const healthNote = health.checks.length ? [`${health.checks.length} health check(s) without a breach`] : [];

      const p = args.policy;
      const enough = canary.labelled >= p.minLabelled && stable.labelled >= p.minLabelled;
      if (enough) {
        const drop = stable.accuracy! - canary.accuracy!;
        const se = Math.sqrt((canary.accuracy! * (1 - canary.accuracy!)) / canary.labelled + (stable.accuracy! * (1 - stable.accuracy!)) / stable.labelled);
        const z = se > 0 ? (drop - p.maxAccuracyDrop) / se : drop > p.maxAccuracyDrop ? Infinity : -Infinity;
        const figures = shadow
          ? `shadow v${args.version} accuracy ${canary.accuracy!.toFixed(3)} on ${canary.labelled} labelled requests vs stable v${args.stableVersion} ${stable.accuracy!.toFixed(3)} on the same requests`
          : `canary v${args.version} accuracy ${canary.accuracy!.toFixed(3)} on ${canary.labelled} labelled predictions vs stable v${args.stableVersion} ${stable.accuracy!.toFixed(3)} on ${stable.labelled}`;
        if (z > Z_95_ONE_SIDED) {
          return judged('rollback', [`${figures}: lower by ${drop.toFixed(3)}, beyond the allowed ${p.maxAccuracyDrop} (z = ${z.toFixed(2)} > ${Z_95_ONE_SIDED.toFixed(2)})`, ...healthNote]);
        }
        if (!args.final) return judged('continue', [`${figures}: not worse beyond ${p.maxAccuracyDrop} so far`, ...healthNote]);
        return judged('promote', [`${figures}: not worse beyond ${p.maxAccuracyDrop}`, ...healthNote]);
      }
      const shortfall = `too few labels to judge live accuracy: ${name} ${canary.labelled} labelled of ${canary.predictions} predictions, stable ${stable.labelled} of ${stable.predictions} (need ${p.minLabelled} each)`;
      if (!args.final) return judged('continue', [shortfall, ...healthNote]);
      return p.onInsufficientLabels === 'promote'
        ? judged('promote', [`${shortfall}; the runbook promotes on health alone (canary.onInsufficientLabels: promote)`, ...healthNote])
        : judged('rollback', [`${shortfall}; the runbook rolls back without them (canary.onInsufficientLabels: rollback)`, ...healthNote]);
    },

    /** All traffic back to the stable model; the candidate is marked bad so no rollback ever restores it. */
    async rollbackCanary(args: { incidentId: string; modelId: string; version: number; reason: string }): Promise<DeploymentChange> {
      const change = await deps.deploymentFor(args.modelId).rollbackCanary({
        modelId: args.modelId,
        idempotencyKey: activityKey(),
        reason: `${args.reason} (${args.incidentId})`,
      });
      await registry.markVersion(args.modelId, args.version, 'bad');
      return change;
    },
  };
}

/** Predictions per version since `since`; a label counts once it has arrived (labeled_at passed). */
async function liveAccuracy(deps: ActivityDeps, modelId: string, since: Date, versions: (number | undefined)[]): Promise<Map<number, LiveAccuracy>> {
  const wanted = versions.filter((v): v is number => v !== undefined);
  const r = await deps.pool.query<{ version: number; predictions: string; labelled: string; correct: string }>(
    `SELECT model_version AS version,
            count(*) AS predictions,
            count(*) FILTER (WHERE label IS NOT NULL AND labeled_at <= now()) AS labelled,
            count(*) FILTER (WHERE label IS NOT NULL AND labeled_at <= now() AND label = predicted) AS correct
       FROM predictions
      WHERE model_id = $1 AND served_by = 'model' AND ts >= $2 AND model_version = ANY($3::int[])
      GROUP BY model_version`,
    [modelId, since, wanted],
  );
  const out = new Map<number, LiveAccuracy>();
  for (const row of r.rows) {
    const labelled = Number(row.labelled);
    out.set(row.version, {
      predictions: Number(row.predictions),
      labelled,
      ...(labelled > 0 ? { accuracy: Number(row.correct) / labelled } : {}),
    });
  }
  return out;
}

/**
 * A shadow's answers against the served ones on the same requests: both judged on the label the
 * served request got (a paired comparison, so the stable side is exactly as many requests).
 */
async function shadowAccuracy(deps: ActivityDeps, modelId: string, version: number, since: Date): Promise<{ canary: LiveAccuracy; stable: LiveAccuracy }> {
  const r = await deps.pool.query<{ predictions: string; labelled: string; shadow_correct: string; served_correct: string }>(
    `SELECT count(*) AS predictions,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now()) AS labelled,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now() AND p.label = s.predicted) AS shadow_correct,
            count(*) FILTER (WHERE p.label IS NOT NULL AND p.labeled_at <= now() AND p.label = p.predicted) AS served_correct
       FROM shadow_predictions s
       JOIN predictions p ON p.model_id = s.model_id AND p.request_id = s.request_id AND p.served_by = 'model'
      WHERE s.model_id = $1 AND s.model_version = $2 AND s.ts >= $3`,
    [modelId, version, since],
  );
  const row = r.rows[0];
  const predictions = Number(row?.predictions ?? 0);
  const labelled = Number(row?.labelled ?? 0);
  const of = (correct: string | undefined): LiveAccuracy => ({ predictions, labelled, ...(labelled > 0 ? { accuracy: Number(correct) / labelled } : {}) });
  return { canary: of(row?.shadow_correct), stable: of(row?.served_correct) };
}
