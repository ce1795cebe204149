/**
 * Why a training job failed, and whether running it again can help — decided from what every backend
 * can report: the exit code or signal, the backend's own reason (Kubernetes container `reason`, Ray job
 * `message`), whether Vigil stopped it for taking too long, and the job's logs. One classification for
 * the local, Ray and Kubernetes backends, so the retrain activity treats their failures alike.
 *
 *   kind           retryable  tries  when
 *   out_of_memory  no         1      CUDA / host out-of-memory in the logs (torch OutOfMemoryError,
 *                                    CUDA_ERROR_OUT_OF_MEMORY, Python MemoryError, std::bad_alloc,
 *                                    the kernel's OOM killer), Kubernetes `OOMKilled`
 *   bad_input      no         1      exit 2: the protocol's "bad input" (arguments, CSV, one-class data);
 *                                    with the trainer's own error line it wins over any OOM-like text
 *   bad_exit       no         1      any other non-zero exit, a crash (SIGSEGV, SIGABRT), or exit 0
 *                                    without an artifact (a scoring job: without its `scored` line)
 *   killed         yes        3      SIGKILL / SIGTERM / SIGINT / SIGHUP (exit 137, 143, 130, 129, or a
 *                                    negative code) that Vigil did not send: preemption, eviction, a
 *                                    node drain, an operator's kill
 *   timed_out      yes        2      Vigil stopped it after `training.timeout`, or Kubernetes'
 *                                    `DeadlineExceeded`; tried once more, a slow machine may be to blame
 *   lost           yes        3      no exit code at all: the process, pod or Ray driver vanished
 *
 * Out of memory is not retried: the same job on the same hardware asks for the same memory, so a retry
 * would fail again after the same wait. It needs a change (smaller batches, a larger GPU via
 * `training.gpus` / the pod's resources) and a new decision. A kill that leaves no OOM trace in the
 * logs (the OOM killer only writes to the kernel log) is classed `killed` and retried; a job that runs
 * out of memory every time then fails each try and stops after `tries`.
 */

import { processOutputMessage } from '../process/processOutputMessage.js';

export type TrainingFailureKind = 'out_of_memory' | 'killed' | 'bad_exit' | 'bad_input' | 'timed_out' | 'lost';

export interface TrainingFailure {
  kind: TrainingFailureKind;
  /** Whether a new job with the same inputs may succeed (see the table above). */
  retryable: boolean;
  /** One line for people: what happened, the evidence, and what happens next. */
  message: string;
}

export interface TrainingFailureEvidence {
  /** The trainer's exit code; a negative code −n means killed by signal n (Python's convention). */
  exitCode?: number;
  /** The signal that ended it, by name ('SIGKILL') or number, when the backend reports one. */
  signal?: string | number;
  /** stdout + stderr, or their tail; only the last 256 KiB is read. */
  logs: string;
  /** Vigil stopped the job because it ran past its time limit. */
  timedOut?: boolean;
  /** The limit, for the message (e.g. '30m'). */
  timeout?: string;
  /** The backend's own terminal reason: Kubernetes container `reason` / condition, Ray job `message`. */
  reason?: string;
  /** The trainer's protocol error message when the caller already parsed it (else read from the logs). */
  error?: string;
  /** What the job did (default `train`): says which result line an exit 0 lacked. */
  job?: 'train' | 'score';
}

/** How many jobs Vigil runs in all for one training step when each fails with this kind. */
export const TRAINING_FAILURE_TRIES: Record<TrainingFailureKind, number> = {
  out_of_memory: 1,
  bad_input: 1,
  bad_exit: 1,
  killed: 3,
  timed_out: 2,
  lost: 3,
};

const LOG_WINDOW = 256 * 1024;

/** Out-of-memory traces of the common stacks, GPU first (the message says which memory ran out). */
const OOM_PATTERNS: { re: RegExp; gpu: boolean }[] = [
  {
    re: /CUDA out of memory|CUDA_ERROR_OUT_OF_MEMORY|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation|hipErrorOutOfMemory|(?:torch\.(?:cuda\.)?)?OutOfMemoryError: CUDA/i,
    gpu: true,
  },
  { re: /\bOOMKilled\b|Out of memory: Kill(?:ed)? process|\boom[-_ ]kill(?:er|ed)?\b/i, gpu: false },
  {
    re: /\b(?:MemoryError|OutOfMemoryError)\b|std::bad_alloc|Cannot allocate memory|\bout of memory\b|RESOURCE_EXHAUSTED: OOM|running low on memory/i,
    gpu: false,
  },
];

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};
/** Signals that stop a healthy process from outside; the others are the process crashing itself. */
const KILL_SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

function signalName(evidence: TrainingFailureEvidence): string | undefined {
  const { signal, exitCode } = evidence;
  if (typeof signal === 'string' && signal.trim() !== '') {
    const s = signal.trim().toUpperCase();
    if (/^\d+$/.test(s)) return SIGNALS[Number(s)] ?? `signal ${s}`;
    return s.startsWith('SIG') ? s : `SIG${s}`;
  }
  if (typeof signal === 'number') return SIGNALS[signal] ?? `signal ${signal}`;
  if (exitCode === undefined) return undefined;
  if (exitCode < 0) return SIGNALS[-exitCode] ?? `signal ${-exitCode}`;
  // Shells and container runtimes report death by signal n as 128 + n.
  if (exitCode > 128 && exitCode <= 128 + 64) return SIGNALS[exitCode - 128];
  return undefined;
}

/** A piece of the job's output (or the backend's reason) as one safe line: no escapes, no secrets, bounded. */
const clip = (s: string, n = 300) => processOutputMessage(s, { maxChars: n, oneLine: true });

/** The last protocol error line's message in the logs, if any. */
function protocolError(logs: string): string | undefined {
  let found: string | undefined;
  for (const line of logs.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{') || !t.includes('"error"')) continue;
    try {
      const msg = JSON.parse(t) as { type?: unknown; message?: unknown };
      if (msg.type === 'error' && typeof msg.message === 'string') found = msg.message;
    } catch {
      /* not a protocol line */
    }
  }
  return found;
}

/** The last human (non-JSON) log line, for the message when the trainer gave no error line. */
function lastLogLine(logs: string): string | undefined {
  const lines = logs.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    // A line of nothing but terminal escapes says nothing.
    if (line !== '' && !line.startsWith('{') && clip(line) !== '') return line;
  }
  return undefined;
}

/** The line of `text` holding the first match of the OOM patterns, and whether it is GPU memory. */
function findOom(text: string): { line: string; gpu: boolean } | undefined {
  for (const { re, gpu } of OOM_PATTERNS) {
    const m = re.exec(text);
    if (!m) continue;
    const start = text.lastIndexOf('\n', m.index) + 1;
    const end = text.indexOf('\n', m.index);
    const line = text.slice(start, end < 0 ? undefined : end);
    // A GPU pattern, or a generic one on a line that names the GPU.
    return { line, gpu: gpu || /\b(?:CUDA|GPU|cuDNN|CUBLAS|HIP)\b/i.test(line) };
  }
  return undefined;
}

/** Classifies a failed (not cancelled-by-Vigil) training job; see the module comment for the rules. */
export function classifyTrainingFailure(evidence: TrainingFailureEvidence): TrainingFailure {
  const logs = evidence.logs.length > LOG_WINDOW ? evidence.logs.slice(-LOG_WINDOW) : evidence.logs;
  const reason = evidence.reason?.trim() || undefined;
  const trainerError = evidence.error ?? protocolError(logs);
  const sig = signalName(evidence);
  const exit =
    evidence.exitCode === undefined
      ? sig
        ? `killed by ${sig}`
        : 'no exit code'
      : sig && evidence.exitCode !== 0
        ? `exit ${evidence.exitCode}, ${sig}`
        : `exit ${evidence.exitCode}`;
  const make = (kind: TrainingFailureKind, what: string, next: string): TrainingFailure => {
    const retryable = TRAINING_FAILURE_TRIES[kind] > 1;
    return { kind, retryable, message: `${what} — ${next}` };
  };

  if (evidence.timedOut || (reason && /\bDeadlineExceeded\b/.test(reason))) {
    const limit = evidence.timeout ? ` after ${evidence.timeout}` : '';
    return make('timed_out', `timed out${limit} (${reason && !evidence.timedOut ? reason : 'stopped by Vigil'})`, 'retried once as a new job');
  }
  if (evidence.exitCode === 0 && !sig) {
    return make(
      'bad_exit',
      `${evidence.job === 'score' ? 'scorer exited 0 without a "scored" line' : 'trainer exited 0 without reporting an artifact'}${trainerError ? `: ${clip(trainerError)}` : ''}`,
      'not retried: the trainer does not follow the protocol',
    );
  }
  // The trainer itself said its input is bad: trust that over words in the message (a column named oom_…).
  if (evidence.exitCode === 2 && trainerError) {
    return make('bad_input', `bad input (exit 2): ${clip(trainerError)}`, 'not retried: fix the data or the trainer arguments');
  }
  const oom =
    (reason && /\bOOMKilled\b/i.test(reason) ? { line: reason, gpu: false } : undefined) ?? findOom([trainerError ?? '', reason ?? '', logs].join('\n'));
  if (oom) {
    return make(
      'out_of_memory',
      `out of ${oom.gpu ? 'GPU ' : ''}memory (${exit}): ${clip(oom.line)}`,
      `not retried: the same job needs the same memory; lower the batch size or give it ${oom.gpu ? 'a GPU with more memory' : 'more memory'}, then decide again`,
    );
  }
  if (evidence.exitCode === 2) {
    return make('bad_input', `bad input (exit 2)${trainerError ? `: ${clip(trainerError)}` : ''}`, 'not retried: fix the data or the trainer arguments');
  }
  if (sig && KILL_SIGNALS.has(sig)) {
    return make(
      'killed',
      `killed by ${sig} (${exit}), not by Vigil${reason ? `: ${clip(reason)}` : ''}`,
      'retried as a new job (preemption, eviction or an operator’s kill)',
    );
  }
  if (reason && /\b(?:Evicted|Preempt(?:ed|ion|ing))\b/i.test(reason)) {
    return make('killed', `evicted (${exit}): ${clip(reason)}`, 'retried as a new job');
  }
  if (evidence.exitCode === undefined && !sig) {
    return make(
      'lost',
      `the job vanished without an exit code${reason ? `: ${clip(reason)}` : ''}`,
      'retried as a new job (its process, pod or driver is gone)',
    );
  }
  const detail = trainerError ?? reason ?? lastLogLine(logs);
  return make('bad_exit', `trainer failed (${exit})${detail ? `: ${clip(detail)}` : ''}`, 'not retried: a bug or an environment problem, see the job logs');
}
