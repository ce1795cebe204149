/**
 * The canary steps of a retrain: send a share of traffic to the registered candidate through the
 * model's deployment target, judge it on live traffic, then promote it or roll it back. Every change
 * is keyed on workflow id + activity id, so a retried activity changes the target and the registry once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { CanaryActivities } from '../contracts/activities.js';
import { judgeCanary, type LivePerformance } from '../domain/canaryVerdict.js';
import { computeHealthSignals, isUnknownHealth, unknownHealthNote } from '../monitoring/healthSignals.js';
import { activityKey } from './activityKey.js';
import { claimModelChange } from './modelChangeClaim.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

export function createCanaryActivities(deps: ActivityDeps): CanaryActivities {
  const { registry } = deps;

  return {
    async startCanary(args) {
      const key = activityKey();
      await claimModelChange(deps.ledger, args.modelId, args.incidentId);
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
     * once; a check that cannot be evaluated is unknown, and unverified health at the window's end
     * follows canary.onUnknownHealth), then the live performance of the canary's labelled predictions against the stable
     * model's in the same window, by the model's task type (accuracy, or MAE for regression within
     * the model's monitor.performance.maeIncrease), when both have enough labels. Versions are
     * registry versions on every target: a KServe route names its storageUri, and the serving path
     * logs the registry version it resolved from it (domain/servedVersion.ts).
     */
    async judgeCanary(args) {
      const model = modelConfig(deps, args.modelId);
      const checkedAt = new Date().toISOString();
      const since = new Date(args.since);
      const none: LivePerformance = { predictions: 0, labelled: 0 };
      let canary: LivePerformance;
      let stable: LivePerformance;
      if (args.policy.mode === 'shadow') {
        ({ canary, stable } = await deps.predictions.shadowAccuracy(args.modelId, args.version, since));
      } else {
        const versions = args.stableVersion !== undefined ? [args.version, args.stableVersion] : [args.version];
        const live = await deps.predictions.livePerformance(args.modelId, model.task, since, versions);
        canary = live.get(args.version) ?? none;
        stable = (args.stableVersion !== undefined ? live.get(args.stableVersion) : undefined) ?? none;
      }
      const traffic = await deps.deploymentFor(args.modelId).currentTraffic(args.modelId);
      const routing = {
        target: traffic.target,
        mode: traffic.mode,
        ready: traffic.ready,
        settled: traffic.settled,
        ...(traffic.reason !== undefined ? { reason: traffic.reason } : {}),
        routesCanary: traffic.routes.some((r) => r.role === 'canary' || r.role === 'shadow'),
      };
      // Health is asked only of a canary that is routed: the verdict does not need it otherwise.
      const health =
        routing.routesCanary && routing.ready && routing.settled && routing.mode !== 'fallback' ? await computeHealthSignals(deps, model) : undefined;
      return judgeCanary(
        {
          task: model.task.type,
          maxMaeIncrease: model.monitor.performance.maeIncrease,
          version: args.version,
          ...(args.stableVersion !== undefined ? { stableVersion: args.stableVersion } : {}),
          canary,
          stable,
          routing,
          healthBreaches: health?.breaches.map((b) => b.message) ?? [],
          // A check that errored, timed out or had no data is unknown, not "no breach": the verdict never promotes blind.
          healthUnknown: health?.checks.filter(isUnknownHealth).map(unknownHealthNote) ?? [],
          healthChecks: health?.checks.length ?? 0,
          final: args.final,
          checkedAt,
        },
        args.policy,
      );
    },

    /** All traffic back to the stable model; the candidate is marked bad so no rollback ever restores it. */
    async rollbackCanary(args) {
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
