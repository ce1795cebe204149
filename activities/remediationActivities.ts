/**
 * Changes to what serves: rollback, fallback and their undo, in the registry and on the model's
 * deployment target. Each is keyed on workflow id + activity id, so a retried or re-run activity
 * changes each system once.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { RemediationActivities } from '../contracts/activities.js';
import type { ModelVersion } from '../ports/modelRegistry.js';
import { activityKey } from './activityKey.js';
import { claimModelChange } from './modelChangeClaim.js';
import type { ActivityDeps } from './activityDeps.js';

export function createRemediationActivities(deps: ActivityDeps): RemediationActivities {
  const { registry } = deps;
  const rollOut = (modelId: string, version: ModelVersion, idempotencyKey: string, reason: string) =>
    deps.deploymentFor(modelId).rollout({ modelId, artifactUri: version.artifactUri, version: version.version, idempotencyKey, reason });
  return {
    async rollbackModel(args) {
      const key = activityKey();
      await claimModelChange(deps.ledger, args.modelId, args.incidentId);
      // Decided once, before anything moves, and followed by every retry: a retry must not re-read a
      // champion its first attempt already moved (a move whose answer was lost looks undone) and mark
      // the restored, good version bad.
      let plan = await deps.ledger.planFor(key);
      if (!plan) {
        const done = await registry.priorChange(key); // a rollback begun before plans were kept
        if (done?.from !== undefined && done.to !== undefined) {
          plan = await deps.ledger.plan(key, { modelId: args.modelId, action: 'rollback', from: done.from, to: done.to });
        } else {
          const champion = await registry.getAlias(args.modelId, 'champion');
          if (!champion) throw ApplicationFailure.nonRetryable(`model ${args.modelId} has no champion to roll back`, 'NoChampion');
          const target = await registry.lastGoodVersionBefore(args.modelId, champion.version);
          if (!target) {
            throw ApplicationFailure.nonRetryable(`no version of ${args.modelId} older than v${champion.version} is fit to restore`, 'NoRollbackTarget');
          }
          plan = await deps.ledger.plan(key, { modelId: args.modelId, action: 'rollback', from: champion.version, to: target.version });
        }
      }
      const restored = await registry.getVersion(args.modelId, plan.to);
      if (!restored) throw ApplicationFailure.nonRetryable(`v${plan.to} of ${args.modelId} vanished from the registry mid-rollback`, 'NoRollbackTarget');
      await registry.setAlias({ modelId: args.modelId, alias: 'champion', version: plan.to, reason: `rollback for ${args.incidentId}`, idempotencyKey: key });
      // Every attempt: a worker that died after the move must still leave the culprit marked.
      await registry.markVersion(args.modelId, plan.from, 'bad');
      // Also on a retry that found the alias moved: the worker may have died before the rollout.
      await rollOut(args.modelId, restored, `${key}:rollout`, `rollback for ${args.incidentId}`);
      return { from: plan.from, to: plan.to, restoredMetrics: restored.metrics };
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
