/**
 * How the core reaches a model without knowing what it is: the reference profile its training data
 * had, its holdout metrics, and its scores for rows of inputs. The example's logistic regression
 * implements it (examples/credit-risk/logisticRegressionEvaluation.ts), wired in at the composition root.
 */
import type { ReferenceProfile } from '../domain/drift/psi.js';

export interface ModelProfile {
  /** The input features the model was trained on. */
  features: string[];
  /** The training rows' per-feature reference, for drift and data-quality checks. */
  reference: ReferenceProfile;
  /** Measured on the training holdout (accuracy, auc, calibrationError, …). */
  metrics: Record<string, number>;
  /** predicted = score ≥ threshold. */
  threshold: number;
}

export interface ModelEvaluation {
  /** The profile of the model stored at `artifactUri` (artifacts are immutable: callers may cache). */
  profile(artifactUri: string): Promise<ModelProfile>;
  /** The positive-class score of each row, in order. */
  score(artifactUri: string, rows: readonly Record<string, unknown>[]): Promise<Float64Array>;
}
