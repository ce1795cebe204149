/**
 * Runs training jobs as local child processes, detached from the worker so a worker crash does not
 * kill the job: a later attempt finds the job folder and watches the same process instead of
 * starting another. Each job's folder under `<jobsDir>/<jobId>/` holds:
 *   stdout.jsonl  the trainer's JSON-lines protocol output
 *   stderr.log    its human log
 *   spec.json     the job's command, kind (train / score) and environment variable names (never values)
 *   pid           the job's process-group leader (a small shell that records the exit code)
 *   process.json  that shell's identity (pid, start time, command line), so a pid the kernel has since
 *                 given to another program is never signalled (pid.stale: a pid file found to be stale)
 *   exit_code     written when the trainer exits
 *   cancelled     present once cancelled
 *
 * The trainer gets trainerEnvironment()'s environment, not the worker's (which holds its secrets).
 * stdout.jsonl is read incrementally: each status() reads only what was appended since the last one.
 * Failure messages take the last lines of stderr.log (its last 64 KiB at most), made safe to show.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileFollower, readFileTail } from '../files/fileFollower.js';
import { checkRecordedProcess, describeCommand, parseProcessIdentity, processIdentity, type ProcessIdentity } from '../process/processIdentity.js';
import { processOutputMessage } from '../process/processOutputMessage.js';
import { trainerEnvironment } from '../process/trainerEnvironment.js';
import type { TrainingBackend, TrainingJobKind, TrainingJobSpec, TrainingJobStatus } from '../../ports/trainingBackend.js';
import { TrainerProtocolReader, type ProtocolFields } from './trainerProtocolReader.js';
import { classifyTrainingFailure } from './trainingFailure.js';

export { parseProtocol } from './trainerProtocolReader.js';

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
/** How much of each log logs() returns: the failure classifier reads no more than its last 256 KiB. */
const LOG_TAIL_BYTES = 256 * 1024;
/** How much of stderr.log is read for the failure message's last lines. */
const STDERR_TAIL_BYTES = 64 * 1024;
const STDERR_TAIL_LINES = 5;
/** Jobs whose output is remembered between status reads; one forgotten is read again from the start. */
const MAX_FOLLOWED_JOBS = 256;

/** A job's stdout.jsonl as read so far. */
interface FollowedOutput {
  follower: FileFollower;
  reader: TrainerProtocolReader;
  ended: boolean;
}

/** The wrapper shell every job runs under: it records its own pid first and the trainer's exit code last. */
const WRAPPER_SCRIPT = 'echo $$ > pid; "$@" > stdout.jsonl 2> stderr.log; echo $? > exit_code.tmp; mv exit_code.tmp exit_code';
const WRAPPER_NAME = 'vigil-train';

export function createLocalProcessBackend(opts: { jobsDir: string; log?: (m: string) => void }): TrainingBackend {
  const log = opts.log ?? ((m: string) => console.error(`[vigil] ${m}`));
  const dirOf = (jobId: string) => {
    if (!JOB_ID.test(jobId)) throw new Error(`training job id "${jobId}" must be letters, digits, . _ -`);
    return path.join(opts.jobsDir, jobId);
  };
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
  const followed = new Map<string, FollowedOutput>();

  /** The protocol fields in the job's stdout so far, reading only what was appended since the last call. */
  function protocolOf(jobId: string, dir: string, exited: boolean): TrainerProtocolReader {
    let out = followed.get(jobId);
    if (!out) {
      if (followed.size >= MAX_FOLLOWED_JOBS) followed.delete(followed.keys().next().value!);
      out = { follower: new FileFollower(path.join(dir, 'stdout.jsonl')), reader: new TrainerProtocolReader(), ended: false };
      followed.set(jobId, out);
    }
    const current = out;
    current.follower.readNew({
      restart: () => {
        current.reader = new TrainerProtocolReader();
        current.ended = false;
      },
      text: (chunk) => current.reader.push(chunk),
    });
    // Once the trainer exited its output is complete: a last line without a newline counts too.
    if (exited && !current.ended) {
      current.reader.end();
      current.ended = true;
    }
    return current.reader;
  }

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
    const child = spawn('/bin/sh', ['-c', WRAPPER_SCRIPT, WRAPPER_NAME, ...spec.command], {
      cwd: dir,
      detached: true,
      stdio: 'ignore',
      // Never the worker's whole environment: it holds DATABASE_URL and every token.
      env: trainerEnvironment({ passEnv: spec.passEnv, env: spec.env, gpus: spec.gpus, jobId: spec.jobId }),
    });
    child.unref();
    // spawn() returns once the shell runs (exec done), so its identity is its own, not this process's.
    const identity = child.pid ? processIdentity(child.pid) : undefined;
    if (identity) writeFileAtomic(path.join(dir, 'process.json'), JSON.stringify(identity));
  }

  /**
   * Whether the job's pid file still names its wrapper shell: by the identity recorded at launch, or,
   * when there is none (the launcher died right after spawning; jobs from before it was recorded), by
   * the wrapper's command line and working folder. A pid that now belongs to another program is
   * reported and its file set aside as pid.stale, so nothing ever signals it.
   */
  function jobProcess(jobId: string, dir: string): { state: 'none' } | { state: 'running'; pid: number } | { state: 'gone' } {
    const pid = Number(read(path.join(dir, 'pid'))?.trim());
    if (!(pid > 0)) return fs.existsSync(path.join(dir, 'pid.stale')) ? { state: 'gone' } : { state: 'none' };
    const recorded = readRecordedIdentity(dir);
    const verdict = recorded?.pid === pid ? checkRecordedProcess(recorded) : checkWrapperProcess(pid, dir);
    if (verdict.state === 'same') return { state: 'running', pid };
    if (verdict.state === 'other') {
      log(`training job ${jobId}: its pid file is stale (${verdict.reason}); nothing signalled, the file is set aside as pid.stale`);
      try {
        fs.renameSync(path.join(dir, 'pid'), path.join(dir, 'pid.stale'));
      } catch {
        /* set aside concurrently */
      }
    }
    return { state: 'gone' };
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
        const launched = ['exit_code', 'pid.stale'].some((f) => fs.existsSync(path.join(dir, f)));
        if (launched || (await waitForPid(dir, 2000)) !== undefined) {
          return { jobId: spec.jobId, alreadySubmitted: true };
        }
      }
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ ...spec, env: Object.keys(spec.env ?? {}) }, null, 2));
      followed.delete(spec.jobId);
      launch(dir, spec);
      await waitForPid(dir, 5000);
      return { jobId: spec.jobId, alreadySubmitted: false };
    },

    async status(jobId) {
      const dir = dirOf(jobId);
      if (!fs.existsSync(dir)) throw new Error(`training job "${jobId}" does not exist`);
      let exit = read(path.join(dir, 'exit_code'));
      let job: ReturnType<typeof jobProcess> = { state: 'none' };
      if (exit === undefined) {
        job = jobProcess(jobId, dir);
        // One that exited since the first look has written its exit code by now.
        if (job.state !== 'running') exit = read(path.join(dir, 'exit_code'));
      }
      const protocol = protocolOf(jobId, dir, exit !== undefined);
      const parsed: ProtocolFields = { ...protocol.fields };
      const base: TrainingJobStatus = { jobId, state: 'running', ...parsed };
      const cancelled = fs.existsSync(path.join(dir, 'cancelled'));
      if (exit !== undefined) {
        const code = Number(exit.trim());
        if (cancelled) return { ...base, state: 'cancelled', exitCode: code };
        const kind = jobKind(read(path.join(dir, 'spec.json')));
        if (code === 0 && reportedResult(kind, parsed)) return { ...base, state: 'succeeded', exitCode: 0 };
        const tail = stderrTail(path.join(dir, 'stderr.log'));
        const note = protocol.note();
        const error = parsed.error ?? (code === 0 ? missingResultError(kind) : `trainer exited with code ${code}${tail ? `: ${tail}` : ''}`);
        return {
          ...base,
          state: 'failed',
          exitCode: code,
          error: note ? `${error} (${note})` : error,
          failure: classifyTrainingFailure({ exitCode: code, logs: await backend.logs(jobId), error: parsed.error, job: kind }),
        };
      }
      if (job.state === 'running') return base;
      if (job.state === 'none') return base; // launching
      if (cancelled) return { ...base, state: 'cancelled' };
      return {
        ...base,
        state: 'failed',
        error: 'trainer process vanished without an exit code',
        failure: classifyTrainingFailure({ logs: await backend.logs(jobId), error: parsed.error }),
      };
    },

    /** The tail of stdout and of stderr (at most 256 KiB each): a long job's logs are never read whole. */
    async logs(jobId) {
      const dir = dirOf(jobId);
      return [readFileTail(path.join(dir, 'stdout.jsonl'), LOG_TAIL_BYTES), readFileTail(path.join(dir, 'stderr.log'), LOG_TAIL_BYTES)].join('\n');
    },

    async cancel(jobId) {
      const dir = dirOf(jobId);
      // A job that already finished keeps its outcome.
      if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, 'exit_code'))) return;
      fs.writeFileSync(path.join(dir, 'cancelled'), new Date().toISOString());
      const job = jobProcess(jobId, dir);
      if (job.state === 'running') {
        try {
          process.kill(-job.pid, 'SIGTERM'); // the whole process group: the shell and the trainer
        } catch {
          /* already gone */
        }
      }
    },
  };
  return backend;
}

function readRecordedIdentity(dir: string): ProcessIdentity | undefined {
  try {
    return parseProcessIdentity(JSON.parse(fs.readFileSync(path.join(dir, 'process.json'), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Without a recorded identity: is `pid` a job wrapper shell, in this job's folder? */
function checkWrapperProcess(pid: number, dir: string): ReturnType<typeof checkRecordedProcess> {
  const now = processIdentity(pid);
  if (!now) return { state: 'gone' };
  const isWrapper = now.command[1] === '-c' && now.command[2] === WRAPPER_SCRIPT && now.command[3] === WRAPPER_NAME;
  if (!isWrapper) return { state: 'other', reason: `pid ${pid} now runs ${describeCommand(now.command)}, not the job's wrapper shell` };
  let cwd: string | undefined;
  try {
    cwd = fs.realpathSync(`/proc/${pid}/cwd`);
  } catch {
    cwd = undefined; // no /proc (macOS), or another user's process: the command line has to do
  }
  if (cwd !== undefined && cwd !== fs.realpathSync(dir)) return { state: 'other', reason: `pid ${pid} is the wrapper of another job (${cwd})` };
  return { state: 'same' };
}

function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
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

/** The last lines of the trainer's stderr, for the failure message: control characters and secrets removed, bounded. */
function stderrTail(file: string): string {
  const lines = readFileTail(file, STDERR_TAIL_BYTES).trim().split('\n').slice(-STDERR_TAIL_LINES);
  return processOutputMessage(lines.join('\n'), { keep: 'end' });
}
