/**
 * Runs training jobs as local child processes, detached from the worker so a worker crash does not
 * kill the job: a later attempt finds the job folder and watches the same process instead of
 * starting another. Each job's folder under `<jobsDir>/<jobId>/` holds:
 *   stdout.jsonl  the trainer's JSON-lines protocol output
 *   stderr.log    its human log
 *   spec.json     the job's command, kind (train / score) and environment variable names
 *   pid           the job's process-group leader (a small shell that records the exit code)
 *   exit_code     written when the trainer exits
 *   cancelled     present once cancelled
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../process/isAlive.js';
import type { TrainingBackend, TrainingJobKind, TrainingJobSpec, TrainingJobStatus, TrainingProgress } from '../../ports/trainingBackend.js';
import { classifyTrainingFailure } from './trainingFailure.js';

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export function createLocalProcessBackend(opts: { jobsDir: string }): TrainingBackend {
  const dirOf = (jobId: string) => {
    if (!JOB_ID.test(jobId)) throw new Error(`training job id "${jobId}" must be letters, digits, . _ -`);
    return path.join(opts.jobsDir, jobId);
  };
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

  async function waitForPid(dir: string, ms: number): Promise<number | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const pid = Number(read(path.join(dir, 'pid'))?.trim());
      if (pid > 0) return pid;
      if (Date.now() > until) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function launch(dir: string, spec: TrainingJobSpec) {
    // The wrapper shell records its own pid first and the trainer's exit code last, so both survive
    // the worker that launched it.
    const script = 'echo $$ > pid; "$@" > stdout.jsonl 2> stderr.log; echo $? > exit_code.tmp; mv exit_code.tmp exit_code';
    const child = spawn('/bin/sh', ['-c', script, 'vigil-train', ...spec.command], {
      cwd: dir,
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        ...spec.env,
        // The job's GPUs ('' = none, CPU only); without `gpus` the worker's own setting is inherited.
        ...(spec.gpus !== undefined ? { CUDA_VISIBLE_DEVICES: spec.gpus } : {}),
        VIGIL_JOB_ID: spec.jobId,
      },
    });
    child.unref();
  }

  const backend: TrainingBackend = {
    async submit(spec) {
      const dir = dirOf(spec.jobId);
      fs.mkdirSync(opts.jobsDir, { recursive: true });
      try {
        fs.mkdirSync(dir); // atomic: only one submitter creates the job folder
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Launched before: the pid appears within moments of launch. If it never does, the
        // launcher died between creating the folder and spawning, so launch now.
        if ((await waitForPid(dir, 2000)) !== undefined || fs.existsSync(path.join(dir, 'exit_code'))) {
          return { jobId: spec.jobId, alreadySubmitted: true };
        }
      }
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, env: Object.keys(spec.env ?? {}) }, null, 2));
      launch(dir, spec);
      await waitForPid(dir, 5000);
      return { jobId: spec.jobId, alreadySubmitted: false };
    },

    async status(jobId) {
      const dir = dirOf(jobId);
      if (!fs.existsSync(dir)) throw new Error(`training job "${jobId}" does not exist`);
      const parsed = parseProtocol(read(path.join(dir, 'stdout.jsonl')) ?? '');
      const base: TrainingJobStatus = { jobId, state: 'running', ...parsed };
      const exit = read(path.join(dir, 'exit_code'));
      const cancelled = fs.existsSync(path.join(dir, 'cancelled'));
      if (exit !== undefined) {
        const code = Number(exit.trim());
        if (cancelled) return { ...base, state: 'cancelled', exitCode: code };
        const kind = jobKind(read(path.join(dir, 'spec.json')));
        if (code === 0 && reportedResult(kind, parsed)) return { ...base, state: 'succeeded', exitCode: 0 };
        const stderr = read(path.join(dir, 'stderr.log')) ?? '';
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        return {
          ...base,
          state: 'failed',
          exitCode: code,
          error: parsed.error ?? (code === 0 ? missingResultError(kind) : `trainer exited with code ${code}${tail ? `: ${tail}` : ''}`),
          failure: classifyTrainingFailure({ exitCode: code, logs: await backend.logs(jobId), error: parsed.error, job: kind }),
        };
      }
      const pid = Number(read(path.join(dir, 'pid'))?.trim());
      if (pid > 0 && isAlive(pid)) return base;
      if (!(pid > 0)) return base; // launching
      if (cancelled) return { ...base, state: 'cancelled' };
      return {
        ...base,
        state: 'failed',
        error: 'trainer process vanished without an exit code',
        failure: classifyTrainingFailure({ logs: await backend.logs(jobId), error: parsed.error }),
      };
    },

    async logs(jobId) {
      const dir = dirOf(jobId);
      return [read(path.join(dir, 'stdout.jsonl')) ?? '', read(path.join(dir, 'stderr.log')) ?? ''].join('\n');
    },

    async cancel(jobId) {
      const dir = dirOf(jobId);
      // A job that already finished keeps its outcome.
      if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, 'exit_code'))) return;
      fs.writeFileSync(path.join(dir, 'cancelled'), new Date().toISOString());
      const pid = Number(read(path.join(dir, 'pid'))?.trim());
      if (pid > 0 && isAlive(pid)) {
        try {
          process.kill(-pid, 'SIGTERM'); // the whole process group: the shell and the trainer
        } catch {
          /* already gone */
        }
      }
    },
  };
  return backend;
}

/** The job's kind as recorded in its spec.json (`train` when absent: jobs from before protocol v2). */
function jobKind(specJson: string | undefined): TrainingJobKind {
  try {
    return specJson !== undefined && (JSON.parse(specJson) as { kind?: unknown }).kind === 'score' ? 'score' : 'train';
  } catch {
    return 'train';
  }
}

/** Whether a job that exited 0 reported its result: a training job its `artifact`, a scoring job its `scored` output. */
export function reportedResult(kind: TrainingJobKind | undefined, parsed: Pick<TrainingJobStatus, 'artifactPath' | 'outputPath'>): boolean {
  return kind === 'score' ? parsed.outputPath !== undefined : parsed.artifactPath !== undefined;
}

/** The error of a job that exited 0 without its result line (a protocol failure). */
export function missingResultError(kind: TrainingJobKind | undefined): string {
  return kind === 'score' ? 'scorer exited 0 without a "scored" line' : 'trainer exited 0 without reporting an artifact';
}

type ProtocolFields = Pick<TrainingJobStatus, 'progress' | 'metrics' | 'artifactPath' | 'outputPath' | 'error'>;

/** Reads the trainer protocol's JSON lines (v1 training, v2 scoring); lines that are not JSON are ignored. */
export function parseProtocol(text: string): ProtocolFields {
  const out: ProtocolFields = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.type === 'progress') out.progress = msg as unknown as TrainingProgress;
    else if (msg.type === 'metrics') {
      const { type: _t, ...rest } = msg;
      out.metrics = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    } else if (msg.type === 'artifact' && typeof msg.path === 'string') out.artifactPath = msg.path;
    else if (msg.type === 'scored' && typeof msg.path === 'string') out.outputPath = msg.path;
    else if (msg.type === 'error' && typeof msg.message === 'string') out.error = msg.message;
  }
  return out;
}
