/**
 * The example's starting point: the base dataset (healthy world, drift 0) and model v1 trained on it.
 * Idempotent: files already present and valid are reused, so every `vigil up` serves the same v1.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { generateApplicants, readDatasetCsv, writeDatasetCsv } from './dataset.js';
import {
  ArtifactError,
  DEFAULT_TRAIN_OPTIONS,
  loadArtifact,
  saveArtifact,
  splitHoldout,
  trainLogisticRegression,
  type ModelArtifact,
} from './logisticRegression.js';

export const BASELINE_SEED = 20240601;
export const BASELINE_ROWS = 5000;

export interface ExampleBaseline {
  trainCsv: string;
  holdoutCsv: string;
  artifactPath: string;
  artifact: ModelArtifact;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ensures `<dir>/train.csv` (4000 rows), `<dir>/holdout.csv` (1000 rows) and `<dir>/v1/model.json`
 * exist, generating the data (seed BASELINE_SEED, drift 0) and training v1 in-process when missing.
 * Files are written atomically, so a concurrent or interrupted call never leaves a half-written one.
 */
export async function ensureExampleBaseline(dir: string): Promise<ExampleBaseline> {
  const root = path.resolve(dir);
  const trainCsv = path.join(root, 'train.csv');
  const holdoutCsv = path.join(root, 'holdout.csv');
  const artifactPath = path.join(root, 'v1', 'model.json');

  if (!(await exists(trainCsv)) || !(await exists(holdoutCsv))) {
    const all = generateApplicants(BASELINE_ROWS, { seed: BASELINE_SEED, drift: 0 });
    const { train, holdout } = splitHoldout(all, 0.2, BASELINE_SEED);
    await writeDatasetCsv(trainCsv, train);
    await writeDatasetCsv(holdoutCsv, holdout);
  }

  if (await exists(artifactPath)) {
    try {
      return { trainCsv, holdoutCsv, artifactPath, artifact: await loadArtifact(artifactPath) };
    } catch (err) {
      if (!(err instanceof ArtifactError)) throw err;
      // An unreadable artifact (e.g. from an older format) is retrained below.
    }
  }
  const train = await readDatasetCsv(trainCsv);
  const holdout = await readDatasetCsv(holdoutCsv);
  const artifact = trainLogisticRegression(train.rows, {
    ...DEFAULT_TRAIN_OPTIONS,
    seed: BASELINE_SEED,
    features: train.features,
    holdout: holdout.rows,
  });
  await saveArtifact(artifactPath, artifact);
  return { trainCsv, holdoutCsv, artifactPath, artifact };
}
