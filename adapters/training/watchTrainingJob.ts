/**
 * The body of the activity that runs a training job: submit, watch, heartbeat, enforce the time limit,
 * and turn a failure into the right Temporal failure. Backend-neutral (local, Ray, Kubernetes), and
 * job-neutral: scoring jobs (trainer protocol v2, `trainerScorer.ts`) run through it exactly like
 * training jobs (messages then say "scoring job"). Outside an activity (a script, a test) it watches
 * the same way without heartbeats.
 *
 * Tries. A job that fails in a way a new job may fix (killed, lost, timed out; see
 * adapters/training/trainingFailure.ts) is run again as a *new* job with its own derived id —
 * `<jobId>` for the first try, `<jobId>-try2`, `<jobId>-try3` after — because resubmitting the same id
 * finds the failed job again (that is what makes a retry after a worker crash find the running job
 * instead of starting a second). The try number travels in the heartbeat; without one (a crash before
 * the first heartbeat) the activity starts from try 1 and walks forward past tries that already failed
 * retryably, so it lands on the same job either way.
 *
 * Failures: not retryable, or out of tries → `ApplicationFailure` with `nonRetryable: true`; retryable →
 * a retryable `ApplicationFailure`, after heartbeating the next try, so Temporal's retry policy (backoff,
 * maximumAttempts) paces the next job. Its `type` is `Training` + the kind in PascalCase
 * (`TrainingOutOfMemory`, `TrainingKilled`, `TrainingBadExit`, `TrainingBadInput`, `TrainingTimedOut`,
 * `TrainingLost`; `TrainingCancelled` when someone stopped the job outside Vigil) and its details are
 * `[{ jobId, try, tries, failure }]`.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { TrainingBackend, TrainingJobSpec, TrainingJobStatus, TrainingProgress } from '../../ports/trainingBackend.js';
import { processOutputMessage } from '../process/processOutputMessage.js';
import { classifyTrainingFailure, TRAINING_FAILURE_TRIES, type TrainingFailure } from './trainingFailure.js';

/** What the watching activity heartbeats; read back after a retry or a worker crash. */
export interface TrainingWatchHeartbeat {
  jobId: string;
  try: number;
  /** When this try was submitted (epoch ms): the time limit counts from here. */
  startedAt: number;
  /** The trainer's latest progress, its known numeric fields only (see heartbeatProgress). */
  progress?: TrainingProgress;
  /** This try was stopped by Vigil for running past the limit. */
  timedOut?: boolean;
}

/**
 * Heartbeat details are stored by Temporal with every heartbeat and shown in its UI: they stay small
 * whatever the trainer prints. 2 KiB holds the job id (at most ~210 characters), the try and the progress.
 */
export const MAX_HEARTBEAT_JSON_CHARS = 2048;

/**
 * The protocol's `progress` fields Vigil reads — `step`, `total`, `loss`, finite numbers — and nothing
 * else of the line: a trainer may put anything in it (a whole loss history, a config dump).
 */
export function heartbeatProgress(progress: TrainingProgress | undefined): TrainingProgress | undefined {
  if (!progress || typeof progress !== 'object') return undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const step = num(progress.step);
  const total = num(progress.total);
  const loss = num(progress.loss);
  if (step === undefined && total === undefined && loss === undefined) return undefined;
  return { ...(step !== undefined ? { step } : {}), ...(total !== undefined ? { total } : {}), ...(loss !== undefined ? { loss } : {}) } as TrainingProgress;
}

/** The heartbeat as sent: progress reduced to its known fields, and dropped if the whole would still exceed the bound. */
export function boundedHeartbeat(hb: TrainingWatchHeartbeat): TrainingWatchHeartbeat {
  const { progress, ...rest } = hb;
  const small = heartbeatProgress(progress);
  const out: TrainingWatchHeartbeat = small ? { ...rest, progress: small } : rest;
  return JSON.stringify(out).length <= MAX_HEARTBEAT_JSON_CHARS ? out : rest;
}

export interface WatchTrainingJobOptions {
  backend: TrainingBackend;
  /** The first try's job id, derived from the incident. */
  jobId: string;
  /** The job for a try (command, env, gpus); its id is given. */
  spec(jobId: string): Omit<TrainingJobSpec, 'jobId'>;
  /** Stop a try that runs longer than this and count it as `timed_out`. */
  timeoutMs: number;
  /** The limit as configured, for messages ('30m'). */
  timeout: string;
  pollMs?: number;
}

export interface WatchedTrainingJob {
  /** The try that succeeded. */
  jobId: string;
  try: number;
  status: TrainingJobStatus;
}

/** `<jobId>` for try 1, `<jobId>-try<n>` after. */
export function trainingTryJobId(jobId: string, tryNo: number): string {
  return tryNo <= 1 ? jobId : `${jobId}-try${tryNo}`;
}

const pascal = (kind: string) => kind.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());

function readHeartbeat(raw: unknown, jobId: string): TrainingWatchHeartbeat | undefined {
  const hb = raw as Partial<TrainingWatchHeartbeat> | undefined;
  if (!hb || typeof hb.try !== 'number' || !Number.isInteger(hb.try) || hb.try < 1 || hb.jobId !== trainingTryJobId(jobId, hb.try)) return undefined;
  return { jobId: hb.jobId, try: hb.try, startedAt: typeof hb.startedAt === 'number' ? hb.startedAt : Date.now(), timedOut: hb.timedOut === true };
}

/** What the watch uses of the activity context; outside an activity, a stand-in without heartbeats. */
type WatchContext = Pick<Context, 'heartbeat' | 'sleep'> & { info: { heartbeatDetails?: unknown }; log: Pick<Context['log'], 'info' | 'warn'> };

function watchContext(): WatchContext {
  try {
    return Context.current();
  } catch {
    return {
      info: {},
      log: { info: () => undefined, warn: () => undefined },
      heartbeat: () => undefined,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, typeof ms === 'number' ? ms : 500)),
    };
  }
}

export async function watchTrainingJob(opts: WatchTrainingJobOptions): Promise<WatchedTrainingJob> {
  const ctx = watchContext();
  const pollMs = opts.pollMs ?? 500;
  const resumed = readHeartbeat(ctx.info.heartbeatDetails, opts.jobId);
  if (resumed) ctx.log.info('resuming the watch of a training job after a retry', { jobId: resumed.jobId, try: resumed.try });

  let tryNo = resumed?.try ?? 1;
  let startedAt = resumed?.startedAt ?? Date.now();
  let timedOutBefore = resumed?.timedOut === true;
  let progress: TrainingProgress | undefined;
  // Sent before every backend call as well as after each status read: a call's requests time out within
  // a fraction of the heartbeat timeout (timeoutWithinHeartbeat), so no gap between heartbeats holds more than one call.
  const beat = (extra: Partial<TrainingWatchHeartbeat> = {}) =>
    ctx.heartbeat(
      boundedHeartbeat({
        jobId: trainingTryJobId(opts.jobId, tryNo),
        try: tryNo,
        startedAt,
        ...(progress ? { progress } : {}),
        ...(timedOutBefore ? { timedOut: true } : {}),
        ...extra,
      }),
    );

  for (;;) {
    const jobId = trainingTryJobId(opts.jobId, tryNo);
    const spec = opts.spec(jobId);
    const what = spec.kind === 'score' ? 'scoring job' : 'training job';
    progress = undefined;
    beat();
    const { alreadySubmitted } = await opts.backend.submit({ ...spec, jobId });
    if (!alreadySubmitted) {
      startedAt = Date.now();
      ctx.log.info(`submitted a ${what}`, { jobId, try: tryNo });
    }
    // A failure this attempt watched happen is handed to Temporal's retry policy; one that happened
    // while no worker watched (found at the start of an attempt) moves straight on to the next try.
    let watched = !alreadySubmitted;
    let failure: TrainingFailure | undefined;
    for (;;) {
      beat();
      const status = await opts.backend.status(jobId);
      progress = heartbeatProgress(status.progress);
      beat();
      if (status.state === 'succeeded') return { jobId, try: tryNo, status };
      if (status.state === 'failed') {
        failure =
          status.failure ?? classifyTrainingFailure({ exitCode: status.exitCode, logs: await opts.backend.logs(jobId), error: status.error, job: spec.kind });
        break;
      }
      if (status.state === 'cancelled') {
        // Vigil cancels a job only when the activity is cancelled (it then ends) or for the time limit.
        if (timedOutBefore || Date.now() - startedAt > opts.timeoutMs) {
          failure = classifyTrainingFailure({ timedOut: true, timeout: opts.timeout, logs: '' });
          break;
        }
        throw ApplicationFailure.create({
          message: `${what} ${jobId} was cancelled outside Vigil${status.error ? `: ${processOutputMessage(status.error)}` : ''}`,
          type: 'TrainingCancelled',
          nonRetryable: true,
          details: [{ jobId, try: tryNo }],
        });
      }
      watched = true;
      if (Date.now() - startedAt > opts.timeoutMs) {
        beat({ timedOut: true });
        await opts.backend.cancel(jobId);
        failure = classifyTrainingFailure({ timedOut: true, timeout: opts.timeout, logs: '' });
        break;
      }
      try {
        await ctx.sleep(pollMs);
      } catch (err) {
        if (err instanceof CancelledFailure) await opts.backend.cancel(jobId);
        throw err;
      }
    }

    const tries = TRAINING_FAILURE_TRIES[failure.kind];
    const message = `${what} ${jobId} (try ${tryNo}) failed: ${failure.message}`;
    const details = [{ jobId, try: tryNo, tries, failure }];
    if (!failure.retryable || tryNo >= tries) {
      throw ApplicationFailure.create({
        message: failure.retryable ? `${message}; gave up after ${tryNo} tries` : message,
        type: `Training${pascal(failure.kind)}`,
        nonRetryable: true,
        details,
      });
    }
    tryNo++;
    startedAt = Date.now();
    timedOutBefore = false;
    progress = undefined;
    if (watched) {
      beat();
      throw ApplicationFailure.create({
        message: `${message}; the next try is ${trainingTryJobId(opts.jobId, tryNo)}`,
        type: `Training${pascal(failure.kind)}`,
        nonRetryable: false,
        details,
      });
    }
    ctx.log.warn(`a ${what} failed while no worker watched; starting the next try`, { jobId, kind: failure.kind });
  }
}
