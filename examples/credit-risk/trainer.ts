/**
 * The example trainer: a command-line program that trains the credit-risk logistic-regression model
 * from a CSV file. Vigil's local training backend runs it as a child process; any other trainer that
 * follows the same protocol can take its place.
 *
 *     node --import tsx examples/credit-risk/trainer.ts --data train.csv --out ./artifacts/job-1
 *     node --import tsx examples/credit-risk/trainer.ts score --model ./artifacts/job-1/model.json \
 *         --data input.csv --out predictions.jsonl
 *
 * ## Trainer protocol (v2: v1 training, and `score`)
 *
 * The full, language-neutral specification is docs/trainer-protocol.md (artifact format, failure
 * classes, GPUs); examples/credit-risk/trainer.py (NumPy) and trainer_torch.py (PyTorch) follow it too.
 * In short:
 *
 * Inputs (command-line arguments appended by Vigil, and the environment):
 *
 *   --data <csv>          labelled training data, required. Header: feature names + a `label` column
 *                         (0/1); every other cell a finite number. The model's features are the
 *                         header's columns other than `label`, in order.
 *   --holdout <csv>       labelled holdout with the same columns; without it a deterministic 80/20
 *                         split of --data (seeded by --seed) trains on 80% and holds out 20%.
 *   --out <dir>           where the artifact goes, required; the trainer writes `<dir>/model.json`
 *                         (created if missing, replaced atomically when it exists).
 *   --epochs <n>          training epochs (default 40).
 *   --seed <n>            seed for the split, the shuffling and --sabotage (default 1).
 *   --learning-rate <x>   (default 0.5)     --l2 <x>   L2 penalty (default 0.0001)
 *   --step-delay-ms <n>   sleep n ms after every epoch, so tests can make training last a while.
 *   --sabotage            deliberately train a bad model, for gate tests: the training labels are
 *                         shuffled (the holdout keeps the true labels, so the metrics show it).
 *   --flip-labels         a label-encoding bug, for canary tests: the training labels are inverted,
 *                         so the model ranks applicants backwards (the holdout keeps the truth).
 *   VIGIL_JOB_ID          the job's id; echoed in every output line as `jobId` (null when unset).
 *
 * Output: stdout carries JSON lines only, one object per line, in this order:
 *
 *   {"type":"started","jobId":…,"rows":N,"trainRows":T,"holdoutRows":H,"features":[…],"sabotage":false}
 *   {"type":"progress","jobId":…,"step":i,"total":n,"loss":x}          one per epoch, i = 1..n
 *   {"type":"metrics","jobId":…,"auc":…,"accuracy":…,"logLoss":…,"calibrationError":…,
 *                     "holdoutRows":H,"trainRows":T}                    measured on the holdout
 *   {"type":"artifact","jobId":…,"path":"/abs/dir/model.json"}
 *
 * Human-readable logs go to stderr. Exit codes: 0 success (the artifact line was the last line);
 * 2 bad input (missing or malformed argument, missing / ragged / non-numeric CSV, one-class data):
 * the last stdout line is `{"type":"error","jobId":…,"message":…}` naming the file, row and column;
 * 1 unexpected failure (also an error line when possible); 143 terminated by SIGTERM (128 + 15) —
 * the trainer stops between epochs, promptly, and writes no artifact. Re-running a job with the same
 * inputs and seed produces the same weights (only `trainedAt` differs).
 *
 * Scoring (protocol v2): `score --model <model.json> --data <input.csv> --out <predictions.jsonl>`. The
 * input's header names the features (any order, extra columns ignored; every model feature required),
 * RFC 4180 quoting, an empty cell is a missing value (imputed with the training mean). The output has
 * one `{"score": p}` line per input row, in order, written atomically. stdout: `started` (rows), one
 * `progress` per block of rows, then `{"type":"scored","jobId":…,"rows":N,"path":"/abs/predictions.jsonl"}`.
 * Same exit codes; a missing or invalid artifact, a missing column or a non-numeric cell is bad input (2).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CsvError, readCsvTable } from '../../adapters/files/csvTable.js';
import { createRng, DatasetCsvError, readDatasetCsv, type LabelledRow } from './dataset.js';
import {
  ArtifactError,
  DEFAULT_TRAIN_OPTIONS,
  loadArtifact,
  saveArtifact,
  scoreProbability,
  splitHoldout,
  trainLogisticRegressionSteps,
  TrainingDataError,
  type ModelArtifact,
} from './logisticRegression.js';

/** Absolute path of this script, for runners that spawn it. */
export const TRAINER_SCRIPT = fileURLToPath(import.meta.url);
export const ARTIFACT_FILE = 'model.json';

/** The protocol's output lines, for runners that parse them. */
export const TrainerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), jobId: z.string().nullable(), rows: z.number().int().min(0) }).loose(),
  z.object({ type: z.literal('progress'), step: z.number().int().min(0), total: z.number().int().min(0), loss: z.number() }).loose(),
  z
    .object({
      type: z.literal('metrics'),
      auc: z.number(),
      accuracy: z.number(),
      logLoss: z.number(),
      calibrationError: z.number(),
      holdoutRows: z.number().int().min(0),
    })
    .loose(),
  z.object({ type: z.literal('artifact'), path: z.string().min(1) }).loose(),
  z.object({ type: z.literal('scored'), rows: z.number().int().min(0), path: z.string().min(1) }).loose(),
  z.object({ type: z.literal('error'), message: z.string() }).loose(),
]);
export type TrainerEvent = z.infer<typeof TrainerEvent>;

export const EXIT_BAD_INPUT = 2;
export const EXIT_SIGTERM = 143;

/** Bad input: reported as an error line and exit code 2. */
class UsageError extends Error {}

interface TrainerArgs {
  data: string;
  holdout?: string;
  out: string;
  epochs: number;
  seed: number;
  learningRate: number;
  l2: number;
  stepDelayMs: number;
  sabotage: boolean;
  flipLabels: boolean;
}

function parseNumberArg(name: string, raw: string | undefined, fallback: number, check: (v: number) => boolean, expect: string): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} "${raw}": must be ${expect}`);
  return v;
}

export function parseTrainerArgs(argv: string[]): TrainerArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        holdout: { type: 'string' },
        out: { type: 'string' },
        epochs: { type: 'string' },
        seed: { type: 'string' },
        'learning-rate': { type: 'string' },
        l2: { type: 'string' },
        'step-delay-ms': { type: 'string' },
        sabotage: { type: 'boolean' },
        'flip-labels': { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const data = str('data');
  const out = str('out');
  if (!data) throw new UsageError('--data <csv> is required');
  if (!out) throw new UsageError('--out <dir> is required');
  const isInt = (v: number) => Number.isInteger(v);
  return {
    data,
    holdout: str('holdout'),
    out,
    epochs: parseNumberArg('epochs', str('epochs'), DEFAULT_TRAIN_OPTIONS.epochs, (v) => isInt(v) && v >= 1 && v <= 100_000, 'an integer from 1 to 100000'),
    seed: parseNumberArg('seed', str('seed'), DEFAULT_TRAIN_OPTIONS.seed, (v) => isInt(v) && Math.abs(v) <= 2 ** 31, 'an integer'),
    learningRate: parseNumberArg('learning-rate', str('learning-rate'), DEFAULT_TRAIN_OPTIONS.learningRate, (v) => v > 0 && v <= 100, 'a number in (0, 100]'),
    l2: parseNumberArg('l2', str('l2'), DEFAULT_TRAIN_OPTIONS.l2, (v) => v >= 0, 'a number ≥ 0'),
    stepDelayMs: parseNumberArg(
      'step-delay-ms',
      str('step-delay-ms'),
      0,
      (v) => isInt(v) && v >= 0 && v <= 600_000,
      'an integer number of milliseconds from 0 to 600000',
    ),
    sabotage: values.sabotage === true,
    flipLabels: values['flip-labels'] === true,
  };
}

/** Shuffles the labels across rows (keeping the class balance): a model that learns nothing real. */
export function sabotageLabels(rows: readonly LabelledRow[], seed: number): LabelledRow[] {
  const labels = rows.map((r) => r.label);
  const rng = createRng(seed ^ 0x0bad5eed);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = labels[i]!;
    labels[i] = labels[j]!;
    labels[j] = t;
  }
  return rows.map((r, i) => ({ features: r.features, label: labels[i]! }));
}

export interface TrainerIo {
  emit(event: Record<string, unknown>): void;
  log(message: string): void;
  /** Checked between epochs; true stops training without writing an artifact. */
  stopped(): boolean;
}

/** Runs one training job per the protocol; returns the exit code. */
export async function runTrainer(argv: string[], env: NodeJS.ProcessEnv, io: TrainerIo): Promise<number> {
  const jobId = env.VIGIL_JOB_ID && env.VIGIL_JOB_ID.length > 0 ? env.VIGIL_JOB_ID : null;
  const emit = (e: Record<string, unknown>) => io.emit({ type: e.type, jobId, ...e });
  try {
    const args = parseTrainerArgs(argv);
    const data = await readDatasetCsv(args.data);
    if (data.rows.length === 0) throw new DatasetCsvError(args.data, 'no data rows after the header');
    let holdout: LabelledRow[] | undefined;
    if (args.holdout) {
      const h = await readDatasetCsv(args.holdout);
      if (h.rows.length === 0) throw new DatasetCsvError(args.holdout, 'no data rows after the header');
      const missing = data.features.filter((f) => !h.features.includes(f));
      const extra = h.features.filter((f) => !data.features.includes(f));
      if (missing.length > 0 || extra.length > 0) {
        throw new DatasetCsvError(
          args.holdout,
          `columns differ from ${args.data}` +
            (missing.length ? `; missing: ${missing.join(', ')}` : '') +
            (extra.length ? `; unexpected: ${extra.join(', ')}` : ''),
        );
      }
      holdout = h.rows;
    }
    let train: LabelledRow[] = data.rows;
    if (!holdout) ({ train, holdout } = splitHoldout(data.rows, 0.2, args.seed));
    // Sabotage corrupts the training labels only: the holdout keeps the truth, so the reported
    // metrics show how bad the model really is.
    if (args.sabotage) train = sabotageLabels(train, args.seed);
    if (args.flipLabels) train = train.map((r) => ({ features: r.features, label: r.label === 1 ? 0 : 1 }));
    emit({
      type: 'started',
      rows: data.rows.length,
      trainRows: train.length,
      holdoutRows: holdout.length,
      features: data.features,
      sabotage: args.sabotage,
      ...(args.flipLabels ? { flipLabels: true } : {}),
    });
    io.log(
      `training on ${args.data} (${train.length} rows, ${data.features.length} features${args.sabotage ? ', SABOTAGED labels' : ''}${args.flipLabels ? ', FLIPPED labels' : ''}), ` +
        `holdout ${args.holdout ?? '80/20 split'}, ${args.epochs} epochs, seed ${args.seed}`,
    );

    const started = Date.now();
    const steps = trainLogisticRegressionSteps(train, {
      epochs: args.epochs,
      learningRate: args.learningRate,
      l2: args.l2,
      seed: args.seed,
      features: data.features,
      holdout,
    });
    let artifact: ModelArtifact;
    for (;;) {
      const r = steps.next();
      if (r.done) {
        artifact = r.value;
        break;
      }
      emit({ type: 'progress', step: r.value.epoch, total: r.value.total, loss: r.value.loss });
      // Yield to the event loop every epoch so SIGTERM is handled promptly.
      if (args.stepDelayMs > 0) await sleep(args.stepDelayMs);
      else await new Promise((resolve) => setImmediate(resolve));
      if (io.stopped()) {
        io.log('stopped before finishing; no artifact written');
        return EXIT_SIGTERM;
      }
    }
    const m = artifact.metrics;
    emit({
      type: 'metrics',
      auc: m.auc,
      accuracy: m.accuracy,
      logLoss: m.logLoss,
      calibrationError: m.calibrationError,
      holdoutRows: m.holdoutRows,
      trainRows: m.trainRows,
    });
    const file = path.resolve(args.out, ARTIFACT_FILE);
    await saveArtifact(file, artifact);
    io.log(`trained in ${Date.now() - started} ms: holdout AUC ${m.auc.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}; wrote ${file}`);
    emit({ type: 'artifact', path: file });
    return 0;
  } catch (err) {
    const bad = err instanceof UsageError || err instanceof DatasetCsvError || err instanceof TrainingDataError;
    const message = err instanceof Error ? err.message : String(err);
    emit({ type: 'error', message });
    io.log(`error: ${message}`);
    return bad ? EXIT_BAD_INPUT : 1;
  }
}

/** Rows scored between progress lines (and SIGTERM checks). */
const SCORE_BLOCK = 5000;

function parseScorerArgs(argv: string[]): { model: string; data: string; out: string } {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' } },
    }));
  } catch (err) {
    throw new UsageError(`score: ${(err as Error).message}`);
  }
  const { model, data, out } = values;
  if (!model) throw new UsageError('score: --model <artifact> is required');
  if (!data) throw new UsageError('score: --data <csv> is required');
  if (!out) throw new UsageError('score: --out <file> is required');
  return { model, data, out };
}

/**
 * `score` (protocol v2): one `{"score": p}` line per row of --data, in order, written atomically to
 * --out; returns the exit code.
 */
export async function runScorer(argv: string[], env: NodeJS.ProcessEnv, io: TrainerIo): Promise<number> {
  const jobId = env.VIGIL_JOB_ID && env.VIGIL_JOB_ID.length > 0 ? env.VIGIL_JOB_ID : null;
  const emit = (e: Record<string, unknown>) => io.emit({ type: e.type, jobId, ...e });
  try {
    const args = parseScorerArgs(argv);
    const artifact = await loadArtifact(args.model);
    const table = readCsvTable(args.data);
    const missing = artifact.features.filter((f) => !table.columns.includes(f));
    if (missing.length > 0) {
      throw new CsvError(args.data, undefined, undefined, `missing feature column${missing.length > 1 ? 's' : ''} ${missing.map((f) => `"${f}"`).join(', ')}`);
    }
    emit({ type: 'started', rows: table.rows, features: artifact.features });
    const columns = artifact.features.map((f) => table.cells.get(f)!);
    const lines: string[] = [];
    const total = Math.ceil(table.rows / SCORE_BLOCK);
    for (let block = 0; block < total; block++) {
      for (let i = block * SCORE_BLOCK; i < Math.min(table.rows, (block + 1) * SCORE_BLOCK); i++) {
        const features: Record<string, number> = {};
        artifact.features.forEach((f, j) => {
          const cell = columns[j]![i]!;
          if (cell === '') return; // missing: imputed with the training mean
          const v = Number(cell);
          if (!Number.isFinite(v)) throw new CsvError(args.data, table.rowLines[i], f, `"${cell}" is not a finite number`);
          features[f] = v;
        });
        lines.push(JSON.stringify({ score: scoreProbability(artifact, features) }));
      }
      emit({ type: 'progress', step: block + 1, total });
      await new Promise((resolve) => setImmediate(resolve));
      if (io.stopped()) {
        io.log('stopped before finishing; no predictions written');
        return EXIT_SIGTERM;
      }
    }
    const file = path.resolve(args.out);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, lines.map((l) => `${l}\n`).join(''));
    await rename(tmp, file);
    io.log(`scored ${table.rows} rows of ${args.data} with ${args.model}; wrote ${file}`);
    emit({ type: 'scored', rows: table.rows, path: file });
    return 0;
  } catch (err) {
    const bad = err instanceof UsageError || err instanceof CsvError || err instanceof ArtifactError;
    const message = err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err);
    emit({ type: 'error', message });
    io.log(`error: ${message}`);
    return bad ? EXIT_BAD_INPUT : 1;
  }
}

async function main(): Promise<void> {
  let stop = false;
  process.on('SIGTERM', () => {
    if (stop) return;
    stop = true;
    process.stderr.write('trainer: SIGTERM received, stopping\n');
    // Stop at the next epoch boundary; if that does not come quickly (a long read), exit anyway.
    setTimeout(() => process.exit(EXIT_SIGTERM), 500).unref();
  });
  const argv = process.argv.slice(2);
  const run = argv[0] === 'score' ? (a: string[], e: NodeJS.ProcessEnv, io: TrainerIo) => runScorer(a.slice(1), e, io) : runTrainer;
  const code = await run(argv, process.env, {
    emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
    log: (m) => process.stderr.write(`trainer: ${m}\n`),
    stopped: () => stop,
  });
  process.exitCode = code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void main();
}
