/**
 * How the core gets any model's predictions for rows it chooses — a retrain's holdout, the recent
 * labelled window — without knowing what the model is. Two implementations, chosen per model at the
 * composition root: the trainer's own `score` command (trainer protocol v2, docs/trainer-protocol.md),
 * run as a job through the model's training backend (local, Ray, Kubernetes) exactly like training;
 * and, for models whose trainer speaks only protocol v1, the in-process `ModelEvaluation` (binary
 * scores only: the example's logistic regression).
 */
import type { ScoredPrediction } from '../domain/ingest.js';

export type { ScoredPrediction };

export interface ScoreRequest {
  modelId: string;
  /** The artifact to score with (a registered version's, or a candidate's). */
  artifactUri: string;
  /** The input rows, features only, in order. */
  rows: readonly Record<string, unknown>[];
  /** The feature columns, in the order the model was trained with. */
  features: readonly string[];
  /**
   * The job's id, derived from the incident and the step (`<incident>-score-candidate`), so a retried
   * activity finds the same job instead of scoring twice.
   */
  jobId: string;
}

/** The scorer's output broke the protocol (wrong row count, a non-finite value, a missing field): the reason names it. */
export class ScoringOutputError extends Error {
  override readonly name = 'ScoringOutputError';
}

export interface ModelScorer {
  /**
   * One prediction per row, in order. Throws ScoringOutputError for output that breaks the protocol;
   * other failures (the job failed, was cancelled) as the training job's failures are thrown.
   */
  score(req: ScoreRequest): Promise<ScoredPrediction[]>;
}
