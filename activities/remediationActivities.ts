/**
 * Changes to what serves: rollback, fallback and their undo, in the registry and on the model's
 * deployment target. Each is keyed on workflow id + activity id, so a retried or re-run activity
 * changes each system once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { RemediationActivities } from '../contracts/activities.js';
import type { ModelVersion } from '../ports/modelRegistry.js';
import { activityKey } from './activityKey.js';
import type { ActivityDeps } from './activityDeps.js';

export function createRemediationActivities(deps: ActivityDeps): RemediationActivities {
  const { registry } = deps;
  const rollOut = (modelId: string, version: ModelVersion, idempotencyKey: string, reason: string) =>
    deps.deploymentFor(modelId).rollout({ modelId, artifactUri: version.artifactUri, version: version.version, idempotencyKey, reason });
  return {
    async rollbackModel(args) {
      const key = activityKey();
      const done = await registry.priorChange(key);
      let result: { from: number; to: number; restored: ModelVersion };
      if (done?.from !== undefined && done.to !== undefined) {
        const restored = await registry.getVersion(args.modelId, done.to);
        if (!restored) throw ApplicationFailure.nonRetryable(`v${done.to} of ${args.modelId} vanished from the registry mid-rollback`, 'NoRollbackTarget');
        result = { from: done.from, to: done.to, restored };
      } else {
        const champion = await registry.getAlias(args.modelId, 'champion');
        if (!champion) throw ApplicationFailure.nonRetryable(`model ${args.modelId} has no champion to roll back`, 'NoChampion');
        const target = await registry.lastGoodVersionBefore(args.modelId, champion.version);
        if (!target) {
          throw ApplicationFailure.nonRetryable(`no version of ${args.modelId} older than v${champion.version} is fit to restore`, 'NoRollbackTarget');
        }
        const moved = await registry.setAlias({
          modelId: args.modelId,
          alias: 'champion',
          version: target.version,
          reason: `rollback for ${args.incidentId}`,
          idempotencyKey: key,
        });
        await registry.markVersion(args.modelId, champion.version, 'bad');
        result = { from: moved.from ?? champion.version, to: moved.to, restored: target };
      }
      // Also on a retry that found the alias moved: the worker may have died before the rollout.
      await rollOut(args.modelId, result.restored, `${key}:rollout`, `rollback for ${args.incidentId}`);
      return { from: result.from, to: result.to, restoredMetrics: result.restored.metrics };
    },

    async markChampionHealthy(args) {
      const champion = await registry.getAlias(args.modelId, 'champion');
      if (champion && champion.status !== 'bad') await registry.markVersion(args.modelId, champion.version, 'healthy');
      return { version: champion?.version };
    },

    async restoreChampion(args) {
      const key = activityKey();
      const moved = await registry.setAlias({
        modelId: args.modelId,
        alias: 'champion',
        version: args.version,
        reason: `${args.reason} (${args.incidentId})`,
        idempotencyKey: key,
      });
      const restored = await registry.getVersion(args.modelId, args.version);
      if (restored) await rollOut(args.modelId, restored, `${key}:rollout`, `${args.reason} (${args.incidentId})`);
      return moved;
    },

    /** Through the model's deployment target, which owns the serving mode (once per idempotency key). */
    async setServingMode(args) {
      const change = await deps.deploymentFor(args.modelId).setFallback({
        modelId: args.modelId,
        on: args.mode === 'fallback',
        reason: args.reason,
        idempotencyKey: activityKey(),
      });
      return { from: change.before.mode ?? 'model', to: change.after.mode ?? args.mode };
    },
  };
}
