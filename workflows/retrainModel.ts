/**
 * Retraining as a child of the incident: snapshot labelled data → check label quality → train
 * (heartbeating job) → evaluate the candidate against the champion on the holdout, with the runbook's
 * gates → register → canary (a share of live traffic, judged for a window) → promote, or roll back and
 * say why. The champion moves only after every gate and the canary pass.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType, type Duration } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import ms from 'ms';
import type { VigilActivities } from '../contracts/activities.js';
import type { RetrainInput, RetrainResult } from '../contracts/retrainWorkflow.js';
import type { CanaryJudgement } from '../domain/canaryVerdict.js';
import { failureMessage } from '../domain/errors.js';
import type { CanaryPolicy } from '../domain/runbook.js';
import { boundedBackoff } from './retryPolicies.js';

/** How long a step waits for its worker host to poll before the retrain gives up on that host. */
const HOST_WAIT = '10 minutes';

/**
 * Short steps; their start-to-close limit comes from the runbook (histories from before it used 2
 * minutes). `hostQueue`: on that worker host's own queue (see `host` in retrainModel).
 */
function steps(input: RetrainInput, hostQueue?: string) {
  return wf.proxyActivities<VigilActivities>({
    startToCloseTimeout: (input.retrain.stepTimeout ?? '2 minutes') as Duration,
    retry: boundedBackoff(10),
    ...(hostQueue ? { taskQueue: hostQueue, scheduleToStartTimeout: HOST_WAIT } : {}),
  });
}

/**
 * The training job heartbeats; a worker crash is noticed within the heartbeat timeout. The job's own
 * limit (`training.timeout`, per try) is enforced by the activity, so this bound only has to exceed it.
 */
function trainingSteps(hostQueue?: string) {
  return wf.proxyActivities<VigilActivities>({
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
    ...(hostQueue ? { taskQueue: hostQueue, scheduleToStartTimeout: HOST_WAIT } : {}),
  });
}

export async function retrainModel(input: RetrainInput): Promise<RetrainResult> {
  const act = steps(input);
  const jobId = `${input.incidentId}-train`;
  const ids = { incidentId: input.incidentId, modelId: input.modelId };

  // The snapshot, the job's folder and the candidate's artifact live on the worker host that made them:
  // those steps go to that host's own queue, so a retry after a crash goes back to it (and finds the
  // job) instead of training again on a host without them. Retrains from before ran on any worker.
  const hostQueue = wf.patched('retrain-on-one-host')
    ? await act.workerHostQueue.executeWithOptions({ summary: "Pick the worker host that keeps this retrain's files" }, [])
    : undefined;
  const onHost = hostQueue ? steps(input, hostQueue) : act;
  const training = trainingSteps(hostQueue);
  const host = <T>(step: () => Promise<T>) => (hostQueue ? onWorkerHost(hostQueue, step) : step());

  const fresh = input.retrain.waitForFreshRows;
  if (fresh && fresh.rows > 0 && input.since && wf.patched('wait-for-fresh-rows')) await waitForFreshRows(act, input.modelId, input.since, fresh);

  const snapshot = await host(() =>
    onHost.snapshotTrainingData.executeWithOptions({ summary: 'Snapshot labelled training window' }, [
      { ...ids, jobId, minLabelledRows: input.retrain.minLabelledRows, since: input.since },
    ]),
  );
  if (!snapshot.labelQuality.ok) {
    return { outcome: 'label_quality_rejected', reason: `refused to train: ${snapshot.labelQuality.reasons.join('; ')}` };
  }

  const job = await host(() =>
    training.runTrainingJob.executeWithOptions({ summary: `Train candidate (job ${jobId})` }, [
      { ...ids, jobId, trainCsv: snapshot.trainCsv, holdoutCsv: snapshot.holdoutCsv },
    ]),
  );

  // Scoring candidate and champion with a team's trainer runs two jobs on its backend, as long as they
  // take: the step heartbeats like training instead of being cut at the short-step limit.
  const evaluate = wf.patched('evaluate-as-job') ? training : onHost;
  const evaluation = await host(() =>
    evaluate.evaluateCandidate.executeWithOptions({ summary: 'Evaluate candidate vs champion' }, [
      {
        modelId: input.modelId,
        artifactPath: job.artifactPath,
        holdoutCsv: snapshot.holdoutCsv,
        maxAucDrop: input.retrain.maxAucDrop,
        maxCalibrationIncrease: input.retrain.maxCalibrationIncrease,
        // Absent from retrains whose runbook predates it: their calibration gate judges every holdout.
        ...(input.retrain.minCalibrationRows !== undefined ? { minCalibrationRows: input.retrain.minCalibrationRows } : {}),
        maxSliceDrop: input.retrain.maxSliceDrop,
        protectedSlices: input.retrain.protectedSlices,
        // The task types' own margins (gates computed from a trainer's scores); older retrains ran without them.
        ...(wf.patched('task-gate-margins')
          ? {
              maxAccuracyDrop: input.retrain.maxAccuracyDrop,
              maxMacroF1Drop: input.retrain.maxMacroF1Drop,
              maxMaeIncrease: input.retrain.maxMaeIncrease,
              maxRmseIncrease: input.retrain.maxRmseIncrease,
            }
          : {}),
      },
    ]),
  );
  if (!evaluation.passed) {
    const failed = evaluation.gates.filter((g) => !g.passed).map((g) => `${g.name} ${g.candidate.toFixed(3)} vs champion ${g.champion.toFixed(3)} (${g.rule})`);
    return { outcome: 'gates_failed', reason: `candidate failed gates: ${failed.join('; ')}`, jobId, gates: evaluation.gates, candidateMetrics: job.metrics };
  }

  const registered = await host(() =>
    onHost.registerCandidate.executeWithOptions({ summary: 'Register candidate version' }, [
      // The training labels' positive rate is the baseline later label-quality checks compare against.
      { ...ids, artifactPath: job.artifactPath, metrics: { ...job.metrics, positiveRate: snapshot.labelQuality.positiveRate } },
    ]),
  );
  const result = { jobId, version: registered.version, candidateMetrics: job.metrics, gates: evaluation.gates };

  // Retrains started before canaries existed carry no canary policy: they promote directly.
  const canaryPolicy: CanaryPolicy | undefined = input.retrain.canary;
  let canary: RetrainResult['canary'];
  const canaried = canaryPolicy?.enabled && wf.patched('canary-before-promote');
  let promoted: Awaited<ReturnType<VigilActivities['promoteCandidate']>>;
  try {
    if (canaried) {
      canary = await runCanary(act, ids, registered.version, canaryPolicy);
      if (canary.judgement.verdict !== 'promote') {
        const reason = `canary rolled back: ${canary.judgement.reasons.join('; ')}`;
        await act.rollbackCanary.executeWithOptions({ summary: `Roll back canary v${registered.version}` }, [{ ...ids, version: registered.version, reason }]);
        return { outcome: 'canary_rolled_back', reason, ...result, canary };
      }
    }
    promoted = await act.promoteCandidate.executeWithOptions({ summary: `Promote v${registered.version} to champion` }, [
      { ...ids, version: registered.version, ...(canary ? { canaried: true } : {}) },
    ]);
  } catch (err) {
    // Once a canary may be routing traffic, a step that fails for good (judging, promoting) or a
    // cancelled retrain takes it back before the failure goes up: never a candidate left serving a
    // share of traffic that nobody watches.
    if (canaried && wf.patched('canary-compensated-on-failure')) await compensateCanary(act, ids, registered.version, err);
    throw err;
  }
  return {
    outcome: 'promoted',
    reason: canary ? `all gates passed; canary passed: ${canary.judgement.reasons.join('; ')}` : 'all gates passed',
    ...result,
    previousVersion: promoted.from,
    ...(canary ? { canary } : {}),
  };
}

/**
 * A step on the retrain's worker host. When no worker of that host polls for HOST_WAIT (the host is gone
 * for good, and the files with it), the retrain fails saying so; the incident escalates with the reason.
 */
async function onWorkerHost<T>(hostQueue: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
      throw ApplicationFailure.nonRetryable(
        `no worker of the host that holds this retrain's files (task queue ${hostQueue}) took its next step within ${HOST_WAIT}; ` +
          'that host is gone with its snapshot and job: retrain again',
        'WorkerHostGone',
      );
    }
    throw err;
  }
}

async function compensateCanary(act: ReturnType<typeof steps>, ids: { incidentId: string; modelId: string }, version: number, cause: unknown) {
  const why = wf.isCancellation(cause) ? 'the retrain was cancelled' : `the retrain failed: ${failureMessage(cause)}`;
  // Runs even when the retrain is being cancelled.
  await wf.CancellationScope.nonCancellable(() =>
    act.rollbackCanary.executeWithOptions({ summary: `Compensate: roll back canary v${version}` }, [{ ...ids, version, reason: `canary rolled back: ${why}` }]),
  );
}

/** Waits, with durable timers, for enough labelled traffic since the incident opened, or until `atMost`. */
async function waitForFreshRows(
  act: ReturnType<typeof steps>,
  modelId: string,
  since: string,
  fresh: NonNullable<RetrainInput['retrain']['waitForFreshRows']>,
): Promise<void> {
  const deadline = Date.now() + ms(fresh.atMost as ms.StringValue);
  for (;;) {
    const n = await act.countFreshLabelledRows.executeWithOptions({ summary: `Count labelled rows since the incident opened (want ${fresh.rows})` }, [
      { modelId, since, atLeast: fresh.rows },
    ]);
    if (n >= fresh.rows || Date.now() >= deadline) return;
    wf.setCurrentDetails(`**waiting for fresh labelled data**: ${n} of ${fresh.rows} since the incident opened (until ${new Date(deadline).toISOString()})`);
    await wf.sleep(Math.min(ms(fresh.checkEvery as ms.StringValue), Math.max(1, deadline - Date.now())));
  }
}

/**
 * Sends the canary its share and judges it every `checkEvery` until the window ends; a clear failure
 * ends the watch early. Durable timers: a worker crash mid-window resumes the watch, not the canary.
 */
async function runCanary(
  act: ReturnType<typeof steps>,
  ids: { incidentId: string; modelId: string },
  version: number,
  policy: CanaryPolicy,
): Promise<NonNullable<RetrainResult['canary']>> {
  const since = new Date(Date.now()).toISOString(); // workflow time: deterministic on replay
  const shadow = policy.mode === 'shadow';
  const started = await act.startCanary.executeWithOptions(
    { summary: shadow ? `Shadow v${version} on ${policy.percent}% of requests` : `Canary v${version} at ${policy.percent}% of traffic` },
    [{ ...ids, version, percent: policy.percent, ...(shadow ? { shadow } : {}) }],
  );
  const windowMs = ms(policy.window as ms.StringValue);
  const checks = Math.max(1, Math.ceil(windowMs / ms(policy.checkEvery as ms.StringValue)));
  const interval = Math.floor(windowMs / checks);
  let judgement: CanaryJudgement | undefined;
  for (let i = 1; i <= checks; i++) {
    await wf.sleep(interval);
    judgement = await act.judgeCanary.executeWithOptions({ summary: `Judge canary v${version} (${i}/${checks})` }, [
      { ...ids, version, stableVersion: started.stableVersion, since, final: i === checks, policy },
    ]);
    if (judgement.verdict !== 'continue') break;
  }
  return { percent: policy.percent, ...(shadow ? { mode: 'shadow' as const } : {}), target: started.target, judgement: judgement! };
}
