/**
 * Retraining as a child of the incident: snapshot labelled data → check label quality → train
 * (heartbeating job) → evaluate the candidate against the champion on the holdout, with the runbook's
 * gates → register → promote. The champion moves only after every gate passes.
 */
import type { Duration } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { VigilActivities } from '../activities/createActivities.js';
import type { RunbookPolicy } from '../domain/runbook.js';

export interface RetrainInput {
  incidentId: string;
  modelId: string;
  retrain: RunbookPolicy['retrain'];
  /** When the incident opened: training prefers labelled data from the drifted regime, after it. */
  since?: string;
  /** Extra trainer arguments, e.g. `--sabotage` in gate tests. */
  trainerArgs?: string[];
}

export interface GateResult {
  name: string;
  candidate: number;
  champion: number;
  passed: boolean;
  rule: string;
}

export interface RetrainResult {
  outcome: 'promoted' | 'gates_failed' | 'label_quality_rejected';
  reason: string;
  jobId?: string;
  version?: number;
  previousVersion?: number;
  candidateMetrics?: Record<string, number>;
  gates?: GateResult[];
}

/** Short steps; their start-to-close limit comes from the runbook (histories from before it used 2 minutes). */
function steps(input: RetrainInput) {
  return wf.proxyActivities<VigilActivities>({
    startToCloseTimeout: (input.retrain.stepTimeout ?? '2 minutes') as Duration,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
}

/** The training job heartbeats; a worker crash is noticed within the heartbeat timeout. */
const training = wf.proxyActivities<VigilActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export async function retrainModel(input: RetrainInput): Promise<RetrainResult> {
  const act = steps(input);
  const jobId = `${input.incidentId}-train`;
  const ids = { incidentId: input.incidentId, modelId: input.modelId };

  const snapshot = await act.snapshotTrainingData.executeWithOptions({ summary: 'Snapshot labelled training window' }, [
    { ...ids, jobId, minLabelledRows: input.retrain.minLabelledRows, since: input.since },
  ]);
  if (!snapshot.labelQuality.ok) {
    return { outcome: 'label_quality_rejected', reason: `refused to train: ${snapshot.labelQuality.reasons.join('; ')}` };
  }

  const job = await training.runTrainingJob.executeWithOptions({ summary: `Train candidate (job ${jobId})` }, [
    { ...ids, jobId, trainCsv: snapshot.trainCsv, holdoutCsv: snapshot.holdoutCsv, extraArgs: input.trainerArgs ?? [] },
  ]);

  const evaluation = await act.evaluateCandidate.executeWithOptions({ summary: 'Evaluate candidate vs champion' }, [
    { modelId: input.modelId, artifactPath: job.artifactPath, holdoutCsv: snapshot.holdoutCsv, maxAucDrop: input.retrain.maxAucDrop },
  ]);
  if (!evaluation.passed) {
    const failed = evaluation.gates.filter((g) => !g.passed).map((g) => `${g.name} ${g.candidate.toFixed(3)} vs champion ${g.champion.toFixed(3)} (${g.rule})`);
    return { outcome: 'gates_failed', reason: `candidate failed gates: ${failed.join('; ')}`, jobId, gates: evaluation.gates, candidateMetrics: job.metrics };
  }

  const registered = await act.registerCandidate.executeWithOptions({ summary: 'Register candidate version' }, [
    // The training labels' positive rate is the baseline later label-quality checks compare against.
    { ...ids, artifactPath: job.artifactPath, metrics: { ...job.metrics, positiveRate: snapshot.labelQuality.positiveRate } },
  ]);
  const promoted = await act.promoteCandidate.executeWithOptions({ summary: `Promote v${registered.version} to champion` }, [
    { ...ids, version: registered.version },
  ]);
  return {
    outcome: 'promoted',
    reason: 'all gates passed',
    jobId,
    version: registered.version,
    previousVersion: promoted.from,
    candidateMetrics: job.metrics,
    gates: evaluation.gates,
  };
}
