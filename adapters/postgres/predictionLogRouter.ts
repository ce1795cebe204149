/**
 * One prediction log for the whole service graph, delegating on the model id: models configured with
 * `source.kind: "postgres"` are read from their team's own table (sourcePredictionLog.ts), every other
 * model from Vigil's own log (predictionLog.ts).
 */
import type pg from 'pg';
import type { VigilConfig } from '../../domain/config.js';
import type { PredictionLog } from '../../ports/predictionLog.js';
import { createPredictionLog } from './predictionLog.js';
import { createSourcePools, createSourcePredictionLog, isSourcedModel } from './sourcePredictionLog.js';

export function createPredictionLogRouter(opts: { fallback: PredictionLog; byModel: Record<string, PredictionLog> }): PredictionLog {
  const { fallback, byModel } = opts;
  const of = (modelId: string) => (Object.hasOwn(byModel, modelId) ? byModel[modelId]! : fallback);
  return {
    recent: (modelId, o) => of(modelId).recent(modelId, o),
    livePerformance: (modelId, task, since, versions) => of(modelId).livePerformance(modelId, task, since, versions),
    shadowAccuracy: (modelId, version, since) => of(modelId).shadowAccuracy(modelId, version, since),
    ingestPredictions: (modelId, rows) => of(modelId).ingestPredictions(modelId, rows),
    ingestLabels: (modelId, labels, o) => of(modelId).ingestLabels(modelId, labels, o),
  };
}

/**
 * The prediction log for a config: the built-in one alone, or a router when some models read their own
 * tables. `close` ends the pools to those tables (created on first use, one per distinct URL); the pool
 * passed in stays the caller's.
 */
export function predictionLogFromConfig(
  config: Pick<VigilConfig, 'models'>,
  pool: pg.Pool,
  env: NodeJS.ProcessEnv = process.env,
): { log: PredictionLog; close(): Promise<void> } {
  const builtin = createPredictionLog(pool);
  const sourced = config.models.filter(isSourcedModel);
  if (sourced.length === 0) return { log: builtin, close: async () => undefined };
  const pools = createSourcePools({ env });
  const byModel = Object.fromEntries(sourced.map((model) => [model.id, createSourcePredictionLog({ model, pools })]));
  return { log: createPredictionLogRouter({ fallback: builtin, byModel }), close: () => pools.close() };
}
