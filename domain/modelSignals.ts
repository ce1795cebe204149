/** What a model's prediction log says about it now, measured against its champion's profile (monitoring/computeModelSignals.ts). */
import type { DataQualityReport } from './dataQuality.js';
import type { FeedbackLoopCheck } from './labelQuality.js';

export interface ModelSignals {
  modelId: string;
  championVersion?: number;
  servingMode: 'model' | 'fallback';
  samples: number;
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
}
