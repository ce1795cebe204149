/**
 * The example's logistic regression behind Vigil's model-evaluation port: its artifact (plain JSON)
 * carries the reference profile, holdout metrics and threshold, and it scores rows in-process. Wired in
 * at the composition root (workers/vigilServices.ts), like any team's model would be.
 */
import type { ModelEvaluation } from '../../ports/modelEvaluation.js';
import { loadArtifact, scoreProbability, type ModelArtifact } from './logisticRegression.js';

const cache = new Map<string, Promise<ModelArtifact>>();

/** Artifacts are immutable once registered, so they are cached by path (a failed load is not kept). */
export function cachedArtifact(uri: string): Promise<ModelArtifact> {
  let hit = cache.get(uri);
  if (!hit) {
    hit = loadArtifact(uri);
    hit.catch(() => cache.delete(uri));
    cache.set(uri, hit);
  }
  return hit;
}

export function createLogisticRegressionEvaluation(): ModelEvaluation {
  const artifact = cachedArtifact;
  return {
    async profile(uri) {
      const a = await artifact(uri);
      return { features: a.features, reference: a.reference, metrics: { ...a.metrics }, threshold: a.threshold };
    },
    async score(uri, rows) {
      const a = await artifact(uri);
      return Float64Array.from(rows, (r) => scoreProbability(a, r));
    },
  };
}
