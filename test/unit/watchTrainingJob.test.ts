/**
 * The training-watch activity body against the real local backend (real processes, real signals), in
 * Temporal's activity test environment: heartbeats, resuming from a heartbeat, tries as new jobs,
 * the time limit, cancellation, and how each failure kind surfaces as an ApplicationFailure.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLocalProcessBackend } from '../../adapters/training/localProcessBackend.js';
import type { TrainingBackend } from '../../ports/trainingBackend.js';
import {
  MAX_HEARTBEAT_JSON_CHARS,
  trainingTryJobId,
  watchTrainingJob,
  type TrainingWatchHeartbeat,
  type WatchedTrainingJob,
} from '../../activities/watchTrainingJob.js';

let root: string;
let backend: TrainingBackend;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-watch-'));
  backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs') });
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every start of the script appends the job id to $COUNT_FILE. */
const ARTIFACT = `echo '{"type":"metrics","auc":0.8}'; echo "{\\"type\\":\\"artifact\\",\\"path\\":\\"/models/$VIGIL_JOB_ID.json\\"}"`;
const scripts = {
  ok: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; echo '{"type":"progress","step":1,"total":1,"loss":0.5}'; ${ARTIFACT}`,
  badInput: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; echo '{"type":"error","message":"train.csv: row 3, column \\"age\\": value is missing"}'; exit 2`,
  oom: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; echo 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB' >&2; exit 1`,
  /** The first try is SIGKILLed (preempted); later tries succeed. */
  killedOnce: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; case "$VIGIL_JOB_ID" in *-try*) ${ARTIFACT};; *) kill -9 $$;; esac`,
  killedAlways: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; kill -9 $$`,
  slow: `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; echo '{"type":"progress","step":1,"total":100,"loss":0.7}'; exec sleep 30`,
};

interface Run {
  result?: WatchedTrainingJob;
  error?: ApplicationFailure;
  heartbeats: TrainingWatchHeartbeat[];
}

/** One activity attempt: resumes from `heartbeat` like a retry after a crash or a retryable failure. */
async function attempt(
  jobId: string,
  script: string,
  opts: { heartbeat?: TrainingWatchHeartbeat; timeoutMs?: number; onHeartbeat?: (hb: TrainingWatchHeartbeat, env: MockActivityEnvironment) => void } = {},
): Promise<Run> {
  const env = new MockActivityEnvironment({ heartbeatDetails: opts.heartbeat }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: TrainingWatchHeartbeat[] = [];
  env.on('heartbeat', (hb: TrainingWatchHeartbeat) => {
    heartbeats.push(hb);
    opts.onHeartbeat?.(hb, env);
  });
  const count = path.join(root, `${jobId}.count`);
  try {
    const watch = (): Promise<WatchedTrainingJob> =>
      watchTrainingJob({
        backend,
        jobId,
        spec: () => ({ command: ['/bin/sh', '-c', script], env: { COUNT_FILE: count } }),
        timeoutMs: opts.timeoutMs ?? 60_000,
        timeout: opts.timeoutMs ? `${opts.timeoutMs}ms` : '1m',
        pollMs: 50,
      });
    const result = await env.run<[], WatchedTrainingJob, typeof watch>(watch);
    return { result, heartbeats };
  } catch (err) {
    if (!(err instanceof ApplicationFailure)) throw err;
    return { error: err, heartbeats };
  }
}

const starts = (jobId: string) => {
  const f = path.join(root, `${jobId}.count`);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
};

/** The job's state once it has left `running`. */
async function settled(jobId: string): Promise<string> {
  const until = Date.now() + 5000;
  for (;;) {
    const { state } = await backend.status(jobId);
    if (state !== 'running' || Date.now() > until) return state;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const failureOf = (e: ApplicationFailure) =>
  (e.details?.[0] as { failure: { kind: string; retryable: boolean }; try: number; tries: number }) ?? assert.fail('no details');

describe('watchTrainingJob (local backend)', { concurrency: true }, () => {
  it('watches a job to success, heartbeating the job id, the try and progress', async () => {
    const run = await attempt('w-ok', scripts.ok);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.result?.jobId, 'w-ok');
    assert.equal(run.result?.try, 1);
    assert.equal(run.result?.status.artifactPath, '/models/w-ok.json');
    assert.ok(run.heartbeats.length >= 1, 'no heartbeat');
    assert.ok(
      run.heartbeats.every((hb) => hb.jobId === 'w-ok' && hb.try === 1 && hb.startedAt > 0),
      JSON.stringify(run.heartbeats),
    );
    assert.equal(run.heartbeats.at(-1)?.progress?.step, 1, 'the last heartbeat carries progress');
    // A retry of the same attempt (worker crash after success) finds the same job: no second start.
    const again = await attempt('w-ok', scripts.ok, { heartbeat: run.heartbeats.at(-1) });
    assert.equal(again.result?.jobId, 'w-ok');
    assert.deepEqual(starts('w-ok'), ['w-ok'], 'one job started');
  });

  it('heartbeats stay small whatever the progress line holds: its known fields only, at most 2 KiB', async () => {
    // A progress line of ~40 KB: a loss history and a config dump ride along with step and total.
    const fat = `printf '{"type":"progress","step":1,"total":1,"loss":0.5,"history":[%s0],"config":"%s"}\\n' "$(seq -s, 1 5000)," "$(head -c 10000 /dev/zero | tr '\\0' c)"`;
    const run = await attempt('w-fat', `echo "$VIGIL_JOB_ID" >> "$COUNT_FILE"; ${fat}; ${ARTIFACT}`);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.result?.status.progress?.step, 1, 'the status still has the progress');
    const largest = Math.max(...run.heartbeats.map((hb) => JSON.stringify(hb).length));
    assert.ok(largest <= MAX_HEARTBEAT_JSON_CHARS, `a heartbeat of ${largest} characters`);
    assert.deepEqual(run.heartbeats.at(-1)?.progress, { step: 1, total: 1, loss: 0.5 });
  });

  it('bad input is not retried: TrainingBadInput, non-retryable, with the trainer’s message', async () => {
    const run = await attempt('w-bad', scripts.badInput);
    assert.ok(run.error, 'expected a failure');
    assert.equal(run.error.type, 'TrainingBadInput');
    assert.equal(run.error.nonRetryable, true);
    assert.match(run.error.message, /^training job w-bad \(try 1\) failed: bad input \(exit 2\): train\.csv: row 3, column "age": value is missing/);
    assert.deepEqual(failureOf(run.error).failure.kind, 'bad_input');
  });

  it('out of GPU memory is not retried: TrainingOutOfMemory', async () => {
    const run = await attempt('w-oom', scripts.oom);
    assert.equal(run.error?.type, 'TrainingOutOfMemory', run.error?.message);
    assert.equal(run.error?.nonRetryable, true);
    assert.match(run.error!.message, /out of GPU memory \(exit 1\): torch\.OutOfMemoryError: CUDA out of memory/);
    assert.deepEqual(starts('w-oom'), ['w-oom']);
  });

  it('a job killed from outside is retried as a new job: retryable failure, then the next attempt runs -try2', async () => {
    const first = await attempt('w-kill', scripts.killedOnce);
    assert.equal(first.error?.type, 'TrainingKilled', first.error?.message);
    assert.equal(first.error?.nonRetryable, false);
    assert.match(first.error!.message, /killed by SIGKILL \(exit 137, SIGKILL\), not by Vigil.*the next try is w-kill-try2/);
    const last = first.heartbeats.at(-1)!;
    assert.deepEqual({ jobId: last.jobId, try: last.try }, { jobId: 'w-kill-try2', try: 2 }, 'the last heartbeat names the next try');

    const second = await attempt('w-kill', scripts.killedOnce, { heartbeat: last });
    assert.equal(second.error, undefined, second.error?.message);
    assert.equal(second.result?.jobId, 'w-kill-try2');
    assert.equal(second.result?.try, 2);
    assert.equal(second.result?.status.artifactPath, '/models/w-kill-try2.json');
    assert.deepEqual(starts('w-kill'), ['w-kill', 'w-kill-try2'], 'exactly one job per try');
  });

  it('without a heartbeat (crash before the first one) an attempt walks past failed tries to the same job', async () => {
    const first = await attempt('w-walk', scripts.killedOnce);
    assert.equal(first.error?.type, 'TrainingKilled');
    const second = await attempt('w-walk', scripts.killedOnce, { heartbeat: first.heartbeats.at(-1) });
    assert.equal(second.result?.jobId, 'w-walk-try2');
    // A third attempt with no heartbeat at all finds try 1 failed, try 2 succeeded: nothing new starts.
    const third = await attempt('w-walk', scripts.killedOnce);
    assert.equal(third.error, undefined, third.error?.message);
    assert.equal(third.result?.jobId, 'w-walk-try2');
    assert.deepEqual(starts('w-walk'), ['w-walk', 'w-walk-try2']);
  });

  it('gives up after the kind’s tries: the third kill is non-retryable', async () => {
    let hb: TrainingWatchHeartbeat | undefined;
    const errors: ApplicationFailure[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await attempt('w-kill3', scripts.killedAlways, { heartbeat: hb });
      assert.ok(run.error, `attempt ${i + 1} should fail`);
      errors.push(run.error);
      hb = run.heartbeats.at(-1);
    }
    assert.deepEqual(
      errors.map((e) => e.nonRetryable),
      [false, false, true],
    );
    assert.match(errors[2]!.message, /^training job w-kill3-try3 \(try 3\) failed: killed by SIGKILL.*; gave up after 3 tries$/);
    assert.deepEqual(starts('w-kill3'), ['w-kill3', 'w-kill3-try2', 'w-kill3-try3']);
  });

  it('stops a job past the time limit: TrainingTimedOut, retried once, then given up', async () => {
    const first = await attempt('w-slow', scripts.slow, { timeoutMs: 400 });
    assert.equal(first.error?.type, 'TrainingTimedOut', first.error?.message);
    assert.equal(first.error?.nonRetryable, false);
    assert.match(first.error!.message, /timed out after 400ms \(stopped by Vigil\)/);
    assert.equal(await settled('w-slow'), 'cancelled', 'the slow job was stopped');

    const second = await attempt('w-slow', scripts.slow, { timeoutMs: 400, heartbeat: first.heartbeats.at(-1) });
    assert.equal(second.error?.type, 'TrainingTimedOut');
    assert.equal(second.error?.nonRetryable, true, 'timed_out is tried twice in all');
    assert.match(second.error!.message, /gave up after 2 tries/);
    assert.deepEqual(starts('w-slow'), ['w-slow', 'w-slow-try2']);
    assert.equal(await settled(trainingTryJobId('w-slow', 2)), 'cancelled', 'the second try was stopped');
  });

  it('a job cancelled outside Vigil is not rerun', async () => {
    const run = await attempt('w-ext', scripts.slow, {
      onHeartbeat: (hb) => {
        if (hb.progress) void backend.cancel('w-ext');
      },
    });
    assert.equal(run.error?.type, 'TrainingCancelled', run.error?.message);
    assert.equal(run.error?.nonRetryable, true);
  });

  it('cancelling the activity stops the job', async () => {
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    env.on('heartbeat', (hb: TrainingWatchHeartbeat) => {
      if (hb.progress) env.cancel();
    });
    await assert.rejects(
      env.run(() =>
        watchTrainingJob({
          backend,
          jobId: 'w-cancel',
          spec: () => ({ command: ['/bin/sh', '-c', scripts.slow], env: { COUNT_FILE: path.join(root, 'w-cancel.count') } }),
          timeoutMs: 60_000,
          timeout: '1m',
          pollMs: 50,
        }),
      ),
      (err: Error) => err.name === 'CancelledFailure',
      'the activity ends cancelled',
    );
    assert.equal(await settled('w-cancel'), 'cancelled', 'the job was stopped');
  });
});
