/** What a model's prediction log says about it now, measured against its champion's profile (monitoring/computeModelSignals.ts). */
import type { DataQualityReport } from './dataQuality.js';
import type { FeedbackLoopCheck } from './labelQuality.js';
import type { TaskType } from './task.js';
import type { PerformanceFinding } from './taskMetrics.js';

export interface ModelSignals {
  modelId: string;
  championVersion?: number;
  servingMode: 'model' | 'fallback';
  /** Rows measured: the window, or an evenly spaced sample of it (see sampledFrom). */
  samples: number;
  /** Set when the window was longer than monitor.maxRows: the window length the sample was taken from. */
  sampledFrom?: number;
  /** When the oldest prediction measured was made (ISO): the problem a breach shows was there since at most then. */
  windowStart?: string;
  psi: Record<string, number>;
  psiMax: number;
  driftedFeatures: string[];
  dataQuality: DataQualityReport;
  feedback: FeedbackLoopCheck;
  labelled: number;
  accuracy?: number;
  baselineAccuracy?: number;
  accuracyDrop?: number;
  positiveRate?: number;
  baselinePositiveRate?: number;
  /** What the model predicts; performance is measured by it. */
  task?: TaskType;
  /** The task type's metrics on the labelled window (accuracy, auc, macroF1, mae, rmse, …). */
  metrics?: Record<string, number>;
  /** Those metrics against the champion's holdout figures, each with its verdict and sentence. */
  performance?: PerformanceFinding[];
  /** PSI of the predictions (scores, classes, values) against the champion's reference predictions. */
  predictionPsi?: number;
  /** PSI of the labels against the reference labels. */
  labelPsi?: number;
}
