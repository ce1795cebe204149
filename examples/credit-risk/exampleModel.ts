/**
 * Wires the example credit-risk model into Vigil: registers v1 as the healthy champion in the
 * registry (once), and tells the traffic simulator what is serving right now (canary split included).
 */
import path from 'node:path';
import type { DeploymentTarget } from '../../ports/deploymentTarget.js';
import type { ModelRegistry } from '../../ports/modelRegistry.js';
import type { ModelConfig } from '../../domain/config.js';
import { versionServing } from '../../domain/servedVersion.js';
import { readCsvTable } from '../../adapters/files/csvTable.js';
import { createModelService } from '../../client/modelService.js';
import { cachedArtifact } from './logisticRegressionEvaluation.js';
import { ensureExampleBaseline } from './bootstrap.js';
import { readDatasetCsv } from './dataset.js';
import type { Serving } from './simulator.js';

export async function ensureExampleModel(opts: { registry: ModelRegistry; model: ModelConfig; stateDir: string }): Promise<{ championVersion: number }> {
  const { registry, model } = opts;
  await registry.ensureModel({ id: model.id, displayName: model.displayName, tier: model.tier });
  const champion = await registry.getAlias(model.id, 'champion');
  if (champion) return { championVersion: champion.version };

  // Registered the way `vigil model register` registers any team's model: Vigil profiles the training
  // rows itself; the holdout metrics the trainer measured are given as --metric would give them.
  const baseline = await ensureExampleBaseline(path.join(opts.stateDir, 'example', model.id));
  const { version } = await createModelService({ config: { models: [model] }, registry }).register({
    modelId: model.id,
    artifactUri: baseline.artifactPath,
    reference: readCsvTable(baseline.trainCsv),
    metrics: { ...baseline.artifact.metrics, positiveRate: await positiveRate(baseline.trainCsv) },
    alias: 'champion',
    source: 'bootstrap',
    status: 'healthy',
  });
  return { championVersion: version.version };
}

/**
 * What the serving path uses right now, as the model's deployment target routes it: the fallback
 * rules, or the stable version with (during a canary) the candidate and its share of traffic.
 */
export function servingFromDeployment(
  services: { registry: ModelRegistry; deploymentFor(modelId: string): DeploymentTarget },
  modelId: string,
): () => Promise<Serving> {
  return async () => {
    const traffic = await services.deploymentFor(modelId).currentTraffic(modelId);
    if (traffic.mode === 'fallback') return { mode: 'fallback' };
    const stable = traffic.routes.find((r) => r.role === 'stable');
    const canary = traffic.routes.find((r) => r.role === 'canary' || r.role === 'shadow');
    // KServe routes name what they serve by storage URI, not registry version: look the version up
    // (domain/servedVersion.ts), so the canary judge finds each side's predictions by version.
    const byUri = (stable && stable.version === undefined) || (canary && canary.version === undefined);
    const versions = byUri ? await services.registry.listVersions(modelId) : [];
    const challenger = byUri && canary ? await services.registry.getAlias(modelId, 'challenger') : undefined;

    const champion = await services.registry.getAlias(modelId, 'champion');
    const version = versionServing(stable, versions, champion) ?? champion?.version;
    const uri = stable?.artifactUri ?? champion?.artifactUri;
    if (version === undefined || !uri) return { mode: 'fallback' };
    const serving: Serving = { mode: 'model', version, artifact: await cachedArtifact(uri) };
    const canaryVersion = versionServing(canary, versions, challenger);
    if (canary?.artifactUri && canaryVersion !== undefined && canary.percent > 0) {
      serving.canary = {
        version: canaryVersion,
        percent: canary.percent,
        artifact: await cachedArtifact(canary.artifactUri),
        ...(canary.role === 'shadow' ? { shadow: true } : {}),
      };
    }
    return serving;
  };
}

async function positiveRate(csv: string): Promise<number> {
  const { rows } = await readDatasetCsv(csv);
  return rows.filter((r) => r.label === 1).length / rows.length;
}
