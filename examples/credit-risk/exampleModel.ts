/**
 * Wires the example credit-risk model into Vigil: registers v1 as the healthy champion in the
 * registry (once), and tells the traffic simulator what is serving right now.
 */
import path from 'node:path';
import type { ModelRegistry } from '../../adapters/registry/modelRegistry.js';
import type { ModelConfig } from '../../domain/config.js';
import { cachedArtifact } from '../../monitoring/computeModelSignals.js';
import { ensureExampleBaseline } from './bootstrap.js';
import { readDatasetCsv } from './dataset.js';
import type { Serving } from './simulator.js';

export async function ensureExampleModel(opts: { registry: ModelRegistry; model: ModelConfig; stateDir: string }): Promise<{ championVersion: number }> {
  const { registry, model } = opts;
  await registry.ensureModel({ id: model.id, displayName: model.displayName, tier: model.tier });
  const champion = await registry.getAlias(model.id, 'champion');
  if (champion) return { championVersion: champion.version };

  const baseline = await ensureExampleBaseline(path.join(opts.stateDir, 'example', model.id));
  const v1 = await registry.registerVersion({
    modelId: model.id,
    artifactUri: baseline.artifactPath,
    metrics: { ...baseline.artifact.metrics, positiveRate: await positiveRate(baseline.trainCsv) },
    source: 'bootstrap',
    status: 'healthy',
    idempotencyKey: `bootstrap:${model.id}:v1`,
  });
  await registry.setAlias({
    modelId: model.id,
    alias: 'champion',
    version: v1.version,
    reason: 'bootstrap',
    idempotencyKey: `bootstrap:${model.id}:champion`,
  });
  return { championVersion: v1.version };
}

/** What the serving path uses right now: the champion's artifact, or the fallback rules. */
export function servingFromRegistry(registry: ModelRegistry, modelId: string): () => Promise<Serving> {
  return async () => {
    if ((await registry.getServingMode(modelId)) === 'fallback') return { mode: 'fallback' };
    const champion = await registry.getAlias(modelId, 'champion');
    if (!champion) return { mode: 'fallback' };
    return { mode: 'model', version: champion.version, artifact: await cachedArtifact(champion.artifactUri) };
  };
}

async function positiveRate(csv: string): Promise<number> {
  const { rows } = await readDatasetCsv(csv);
  return rows.filter((r) => r.label === 1).length / rows.length;
}
