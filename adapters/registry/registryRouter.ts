/**
 * One registry for the whole service graph, delegating on the model id: models configured with
 * `registry.kind: "mlflow"` go to their MLflow registry, every other model to the built-in one.
 */
import type pg from 'pg';
import { durationMs } from '../../domain/runbook.js';
import type { VigilConfig } from '../../domain/config.js';
import { createBuiltinRegistry } from './builtinRegistry.js';
import { createMlflowRegistry } from './mlflowRegistry.js';
import type { RegistryWithServingMode } from './servingModeStore.js';

export function createRegistryRouter(opts: { fallback: RegistryWithServingMode; byModel: Record<string, RegistryWithServingMode> }): RegistryWithServingMode {
  const { fallback, byModel } = opts;
  const of = (modelId: string) => byModel[modelId] ?? fallback;
  const all = [...new Set([...Object.values(byModel), fallback])];
  return {
    ensureModel: (model) => of(model.id).ensureModel(model),
    registerVersion: (args) => of(args.modelId).registerVersion(args),
    getVersion: (modelId, version) => of(modelId).getVersion(modelId, version),
    listVersions: (modelId) => of(modelId).listVersions(modelId),
    getAlias: (modelId, alias) => of(modelId).getAlias(modelId, alias),
    setAlias: (args) => of(args.modelId).setAlias(args),
    // The key carries no model id: the first registry that made a change under it answers.
    async priorChange(idempotencyKey) {
      for (const registry of all) {
        const change = await registry.priorChange(idempotencyKey);
        if (change) return change;
      }
      return undefined;
    },
    aliasHistory: (modelId, alias, since) => of(modelId).aliasHistory(modelId, alias, since),
    markVersion: (modelId, version, status) => of(modelId).markVersion(modelId, version, status),
    lastGoodVersionBefore: (modelId, version) => of(modelId).lastGoodVersionBefore(modelId, version),
    getServingMode: (modelId) => of(modelId).getServingMode(modelId),
    setServingMode: (args) => of(args.modelId).setServingMode(args),
  };
}

/** The registry for a config: the built-in one alone, or a router when some models use MLflow. */
export function registryFromConfig(config: VigilConfig, pool: pg.Pool, env: NodeJS.ProcessEnv = process.env): RegistryWithServingMode {
  const builtin = createBuiltinRegistry(pool);
  const byModel: Record<string, RegistryWithServingMode> = {};
  for (const model of config.models) {
    const mlflow = model.registry.kind === 'mlflow' ? model.registry.mlflow : undefined;
    if (!mlflow) continue;
    byModel[model.id] = createMlflowRegistry({
      pool,
      trackingUri: mlflow.trackingUri,
      registeredModelNames: { [model.id]: mlflow.registeredModelName ?? model.id },
      timeoutMs: durationMs(mlflow.timeout),
      env,
    });
  }
  return Object.keys(byModel).length ? createRegistryRouter({ fallback: builtin, byModel }) : builtin;
}
