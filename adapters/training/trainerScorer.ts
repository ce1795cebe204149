/**
 * ModelScorer by the trainer's own `score` command (trainer protocol v2, docs/trainer-protocol.md):
 *
 *   <command…> score --model <artifact> --data <stateDir>/scoring/<jobId>/input.csv
 *                    --out <stateDir>/scoring/<jobId>/predictions.jsonl
 *
 * run as a job through the model's training backend (local process, Ray Jobs, Kubernetes Job) exactly as
 * training runs: through watchTrainingJob, so the job id is the request's (derived from the incident and
 * step: a retried activity finds the same job instead of scoring twice), the watch heartbeats inside an
 * activity, runs past the model's `training.timeout` are stopped, and failures are classified and thrown
 * as training failures are (`TrainingBadExit`, `TrainingKilled`, …; a retry that needs a new job is
 * `<jobId>-try2`, writing `predictions-try2.jsonl`). A job that exits 0 without its `scored` line is a
 * protocol failure (`TrainingBadExit`).
 *
 * The input CSV and the predictions file live under Vigil's state folder, like training snapshots and
 * artifacts: Ray and Kubernetes jobs reach them at the same paths, so for those backends the state folder
 * must be shared storage (`training.kubernetes.volume` mounted at the state folder; the same path on the
 * Ray nodes).
 *
 * The predictions are checked against the model's task type (scoringOutput.ts): bad output is a
 * ScoringOutputError naming the job, the file, the line and the reason — the caller rejects the
 * candidate with it rather than failing the workflow.
 */
import fs from 'node:fs';
import path from 'node:path';
import { csvRecord } from '../files/csvTable.js';
import { processOutputMessage } from '../process/processOutputMessage.js';
import { durationMs } from '../../domain/runbook.js';
import type { TaskConfig } from '../../domain/task.js';
import { ScoringOutputError, type ModelScorer, type ScoredPrediction, type ScoreRequest } from '../../ports/modelScorer.js';
import type { TrainingBackend } from '../../ports/trainingBackend.js';
import { parseScoringOutput } from './scoringOutput.js';
import { watchTrainingJob } from './watchTrainingJob.js';

export interface TrainerScorerOptions {
  /** The model's training backend: its scoring jobs run there too. */
  backendFor(modelId: string): TrainingBackend;
  /** The model's trainer command (it must speak protocol v2); `score --model … --data … --out …` is appended. */
  commandFor(modelId: string): readonly string[];
  /** The model's task type: the shape each prediction must have. */
  taskFor(modelId: string): TaskConfig;
  /** Vigil's state folder; each job's input and output go to `<stateDir>/scoring/<jobId>/`. */
  stateDir: string;
  /**
   * The job's settings, as the model's `training` section gives them: environment (values, and names of
   * the worker's variables to pass), GPUs (CUDA_VISIBLE_DEVICES), and the time limit per try (default
   * 30m). Absent: none, and 30m.
   */
  jobFor?(modelId: string): { env?: Record<string, string>; passEnv?: string[]; gpus?: string; timeout?: string };
  /** How often the job's status is read (default 500 ms). */
  pollMs?: number;
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const DEFAULT_TIMEOUT = '30m';

export function createTrainerScorer(opts: TrainerScorerOptions): ModelScorer {
  return {
    async score(req: ScoreRequest): Promise<ScoredPrediction[]> {
      if (!JOB_ID.test(req.jobId)) throw new Error(`scoring job id "${req.jobId}" must be letters, digits, . _ -`);
      if (req.rows.length === 0) return [];
      if (req.features.length === 0) throw new Error(`scoring job ${req.jobId}: no feature columns to score`);
      const dir = path.join(opts.stateDir, 'scoring', req.jobId);
      const input = path.join(dir, 'input.csv');
      writeInput(req, input);

      const job = opts.jobFor?.(req.modelId) ?? {};
      const timeout = job.timeout ?? DEFAULT_TIMEOUT;
      const command = opts.commandFor(req.modelId);
      // Each try writes its own file: predictions.jsonl, predictions-try2.jsonl, …
      const outFor = (tryJobId: string) => path.join(dir, `predictions${tryJobId.slice(req.jobId.length)}.jsonl`);
      const watched = await watchTrainingJob({
        backend: opts.backendFor(req.modelId),
        jobId: req.jobId,
        timeoutMs: durationMs(timeout),
        timeout,
        ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
        spec: (tryJobId) => ({
          kind: 'score',
          command: [...command, 'score', '--model', req.artifactUri, '--data', input, '--out', outFor(tryJobId)],
          ...(job.env ? { env: job.env } : {}),
          ...(job.passEnv?.length ? { passEnv: job.passEnv } : {}),
          ...(job.gpus !== undefined ? { gpus: job.gpus } : {}),
        }),
      });

      const out = outFor(watched.jobId);
      // `why` quotes the scorer's output: made safe to show (no escapes, no secrets, bounded).
      const bad = (why: string) =>
        new ScoringOutputError(`scoring job ${watched.jobId} (model "${req.modelId}") broke the protocol: ${processOutputMessage(why, { maxChars: 1000 })}`);
      const reported = watched.status.outputPath;
      if (reported !== undefined && path.resolve(reported) !== out) throw bad(`its "scored" line names ${reported}, not the --out it was given (${out})`);
      let text: string;
      try {
        text = fs.readFileSync(out, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw bad(code === 'ENOENT' ? `it reported success but wrote no predictions file at ${out}` : `cannot read ${out}: ${code ?? (err as Error).message}`);
      }
      try {
        return parseScoringOutput(text, opts.taskFor(req.modelId), req.rows.length);
      } catch (err) {
        if (err instanceof ScoringOutputError) throw bad(`${out}: ${err.message}`);
        throw err;
      }
    },
  };
}

/** The scoring input: header of the features in training order, one record per row (csvTable's dialect). */
export function scoringInputCsv(rows: ScoreRequest['rows'], features: readonly string[]): string {
  const lines = [csvRecord(features)];
  rows.forEach((row, i) => lines.push(csvRecord(features.map((f) => cellText(row[f], i, f)))));
  return lines.join('\n') + '\n';
}

/** A number as JavaScript writes it (shortest round trip); missing, null and non-finite as an empty cell. */
function cellText(v: unknown, row: number, feature: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw new TypeError(`row ${row + 1}, feature "${feature}": ${Array.isArray(v) ? 'an array' : `a ${typeof v}`} cannot be a CSV cell`);
}

/**
 * Written once, atomically. The job id names one scoring of one set of rows: a retry that finds the
 * input already there must bring the same rows, else the job it finds answered other ones.
 */
function writeInput(req: ScoreRequest, file: string): void {
  const csv = scoringInputCsv(req.rows, req.features);
  if (fs.existsSync(file)) {
    if (fs.readFileSync(file, 'utf8') === csv) return;
    throw new Error(
      `scoring job ${req.jobId}: ${file} was written by an earlier attempt with other rows or features; a scoring job id must name one set of rows (derive it from the step and what is scored)`,
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, csv);
  fs.renameSync(tmp, file);
}
