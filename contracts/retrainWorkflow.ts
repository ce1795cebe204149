/** The retrain child workflow's contract (v1): input and result. The workflow is workflows/retrainModel.ts. */
import type { CanaryJudgement } from '../domain/canaryVerdict.js';
import type { GateResult } from '../domain/candidateGates.js';
import type { RunbookPolicy } from '../domain/runbook.js';

export interface RetrainInput {
  incidentId: string;
  modelId: string;
  retrain: RunbookPolicy['retrain'];
  /** When the incident opened: training prefers labelled data from the drifted regime, after it. */
  since?: string;
}

export interface RetrainResult {
  outcome: 'promoted' | 'gates_failed' | 'label_quality_rejected' | 'canary_rolled_back';
  reason: string;
  jobId?: string;
  version?: number;
  previousVersion?: number;
  candidateMetrics?: Record<string, number>;
  gates?: GateResult[];
  /** The canary's last judgement, when the candidate was canaried. */
  canary?: { percent: number; target: string; judgement: CanaryJudgement; mode?: 'split' | 'shadow' };
}
