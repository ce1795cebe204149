/**
 * Changes to what serves: rollback, fallback and their undo. Each is keyed on workflow id + activity
 * id, so a retried or re-run activity changes the registry once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ServingMode } from '../adapters/registry/modelRegistry.js';
import { activityKey } from './activityKey.js';
import type { ActivityDeps } from './activityDeps.js';

export function createRemediationActivities(deps: ActivityDeps) {
  const { registry } = deps;
  return {
    /** Moves `champion` to the newest earlier version not marked bad, and marks the current one bad. */
    async rollbackModel(args: { incidentId: string; modelId: string }): Promise<{ from: number; to: number; restoredMetrics: Record<string, number> }> {
      const key = activityKey();
      const done = await registry.priorChange(key);
      if (done?.from !== undefined && done.to !== undefined) {
        const v = await registry.getVersion(args.modelId, done.to);
        return { from: done.from, to: done.to, restoredMetrics: v?.metrics ?? {} };
      }
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
      return { from: moved.from ?? champion.version, to: moved.to, restoredMetrics: target.metrics };
    },

    async markChampionHealthy(args: { incidentId: string; modelId: string }): Promise<{ version?: number }> {
      const champion = await registry.getAlias(args.modelId, 'champion');
      if (champion && champion.status !== 'bad') await registry.markVersion(args.modelId, champion.version, 'healthy');
      return { version: champion?.version };
    },

    async restoreChampion(args: { incidentId: string; modelId: string; version: number; reason: string }): Promise<{ from?: number; to: number }> {
      return registry.setAlias({
        modelId: args.modelId,
        alias: 'champion',
        version: args.version,
        reason: `${args.reason} (${args.incidentId})`,
        idempotencyKey: activityKey(),
      });
    },

    /**
     * Through the model's deployment target where it has a fallback; otherwise (KServe has none) the
     * registry's serving mode, which Vigil's own serving path honours.
     */
    async setServingMode(args: { incidentId: string; modelId: string; mode: ServingMode; reason: string }): Promise<{ from: ServingMode; to: ServingMode }> {
      const idempotencyKey = activityKey();
      const target = deps.deploymentFor(args.modelId);
      if (!target.setFallback) return registry.setServingMode({ modelId: args.modelId, mode: args.mode, reason: args.reason, idempotencyKey });
      const change = await target.setFallback({ modelId: args.modelId, on: args.mode === 'fallback', reason: args.reason, idempotencyKey });
      return { from: change.before.mode ?? 'model', to: change.after.mode ?? args.mode };
    },
  };
}
