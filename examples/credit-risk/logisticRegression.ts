/**
 * A small, real logistic-regression model: standardised features, mini-batch gradient descent with L2,
 * deterministic for a seed. The artifact is plain JSON (weights, standardisation, decision threshold,
 * the training data's reference profile for drift monitoring and the holdout metrics), validated with
 * zod when loaded.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { buildReferenceProfile, type ReferenceProfile } from '../../domain/drift/psi.js';
import { evaluateScores, type Evaluation, type LabelledRow } from '../../domain/metrics.js';
import { createRng } from './dataset.js';

const EPS = 1e-15;

export interface ModelMetrics {
  auc: number;
  accuracy: number;
  logLoss: number;
  calibrationError: number;
  trainRows: number;
  holdoutRows: number;
}

export interface ModelArtifact {
  kind: 'logistic-regression/v1';
  features: string[];
  weights: number[];
  bias: number;
  /** Standardisation: z = (x − mean) / std, per feature. */
  mean: number[];
  std: number[];
  /** predicted = score ≥ threshold. */
  threshold: number;
  /** The training rows' per-feature reference (decile edges, shares, summary) for drift monitors. */
  reference: ReferenceProfile;
  /** Measured on the holdout. */
  metrics: ModelMetrics;
  trainedAt: string;
  seed: number;
}

export interface TrainOptions {
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
  /** Mini-batch size (default 256); rows are shuffled each epoch with the seed. */
  batchSize?: number;
  /** Evaluate on these rows and train on all of `rows`; without it, a deterministic 80/20 split. */
  holdout?: readonly LabelledRow[];
  /** Share held out when no `holdout` is given (default 0.2). */
  holdoutFraction?: number;
  /** Feature order (default: the keys of the first row). */
  features?: readonly string[];
  threshold?: number;
  now?: () => Date;
  onEpoch?(epoch: number, loss: number): void;
}

export const DEFAULT_TRAIN_OPTIONS = { epochs: 40, learningRate: 0.5, l2: 1e-4, seed: 1 } as const;

export class TrainingDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDataError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Training

/** Deterministic split: a seeded shuffle, then the last `fraction` of it is the holdout. */
export function splitHoldout<T>(rows: readonly T[], fraction: number, seed: number): { train: T[]; holdout: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`holdout fraction must be within (0, 1), got ${fraction}`);
  const order = shuffledIndices(rows.length, createRng(seed ^ 0x5f3759df));
  const nHold = Math.max(1, Math.round(rows.length * fraction));
  const cut = rows.length - nHold;
  return { train: order.slice(0, cut).map((i) => rows[i]!), holdout: order.slice(cut).map((i) => rows[i]!) };
}

function shuffledIndices(n: number, rng: ReturnType<typeof createRng>): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

function checkRows(rows: readonly LabelledRow[], features: readonly string[], what: string): void {
  if (rows.length === 0) throw new TrainingDataError(`${what} has no rows`);
  let pos = 0;
  rows.forEach((r, i) => {
    for (const f of features) {
      if (!Number.isFinite(r.features[f])) {
        throw new TrainingDataError(`${what} row ${i + 1}: feature "${f}" is missing or not a finite number`);
      }
    }
    if (r.label !== 0 && r.label !== 1) throw new TrainingDataError(`${what} row ${i + 1}: label must be 0 or 1`);
    pos += r.label;
  });
  if (pos === 0 || pos === rows.length) {
    throw new TrainingDataError(`${what} holds only label ${pos === 0 ? 0 : 1}; both classes are needed`);
  }
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export interface TrainStep {
  epoch: number;
  total: number;
  /** Mean training log-loss after this epoch (without the L2 term). */
  loss: number;
}

/**
 * Training as a generator: yields after every epoch, returns the artifact. Lets a caller pace, report
 * or abandon training between epochs (the trainer CLI does); trainLogisticRegression drives it.
 */
export function* trainLogisticRegressionSteps(rows: readonly LabelledRow[], options: TrainOptions): Generator<TrainStep, ModelArtifact> {
  const { epochs, learningRate, l2, seed } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${epochs}`);
  if (!(learningRate > 0)) throw new RangeError(`learningRate must be positive, got ${learningRate}`);
  if (!(l2 >= 0)) throw new RangeError(`l2 must be ≥ 0, got ${l2}`);
  const batchSize = options.batchSize ?? 256;
  if (rows.length === 0) throw new TrainingDataError('training data has no rows');
  const features = [...(options.features ?? Object.keys(rows[0]!.features))];
  if (features.length === 0) throw new TrainingDataError('training data has no features');

  let train: readonly LabelledRow[];
  let holdout: readonly LabelledRow[];
  if (options.holdout) {
    train = rows;
    holdout = options.holdout;
  } else {
    ({ train, holdout } = splitHoldout(rows, options.holdoutFraction ?? 0.2, seed));
  }
  checkRows(train, features, 'training data');
  checkRows(holdout, features, 'holdout');

  const n = train.length;
  const k = features.length;
  const mean = new Array<number>(k).fill(0);
  const std = new Array<number>(k).fill(0);
  for (let j = 0; j < k; j++) {
    // checkRows() made sure every row has every feature as a finite number.
    const f = features[j]!;
    let s = 0;
    for (let i = 0; i < n; i++) s += train[i]!.features[f]!;
    const mu = s / n;
    mean[j] = mu;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const d = train[i]!.features[f]! - mu;
      sq += d * d;
    }
    const sd = Math.sqrt(sq / n);
    std[j] = sd > 1e-12 ? sd : 1;
  }
  const X = new Float64Array(n * k);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = train[i]!;
    for (let j = 0; j < k; j++) X[i * k + j] = (row.features[features[j]!]! - mean[j]!) / std[j]!;
    y[i] = row.label;
  }

  const w = new Float64Array(k);
  let b = 0;
  const grad = new Float64Array(k);
  const rng = createRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      grad.fill(0);
      let gb = 0;
      for (let p = start; p < end; p++) {
        const i = order[p]!;
        const off = i * k;
        let z = b;
        for (let j = 0; j < k; j++) z += w[j]! * X[off + j]!;
        const err = sigmoid(z) - y[i]!;
        for (let j = 0; j < k; j++) grad[j]! += err * X[off + j]!;
        gb += err;
      }
      const m = end - start;
      for (let j = 0; j < k; j++) w[j]! -= learningRate * (grad[j]! / m + l2 * w[j]!);
      b -= learningRate * (gb / m);
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const off = i * k;
      let z = b;
      for (let j = 0; j < k; j++) z += w[j]! * X[off + j]!;
      const p = Math.min(1 - EPS, Math.max(EPS, sigmoid(z)));
      loss -= y[i]! * Math.log(p) + (1 - y[i]!) * Math.log(1 - p);
    }
    loss /= n;
    options.onEpoch?.(epoch, loss);
    yield { epoch, total: epochs, loss };
  }

  const partial: ModelArtifact = {
    kind: 'logistic-regression/v1',
    features,
    weights: Array.from(w),
    bias: b,
    mean,
    std,
    threshold: options.threshold ?? 0.5,
    reference: buildReferenceProfile(
      train.map((r) => r.features),
      features,
    ),
    metrics: { auc: 0, accuracy: 0, logLoss: 0, calibrationError: 0, trainRows: n, holdoutRows: holdout.length },
    trainedAt: (options.now?.() ?? new Date()).toISOString(),
    seed,
  };
  const ev = evaluate(partial, holdout);
  partial.metrics = {
    auc: ev.auc,
    accuracy: ev.accuracy,
    logLoss: ev.logLoss,
    calibrationError: ev.calibrationError,
    trainRows: n,
    holdoutRows: holdout.length,
  };
  return partial;
}

/** Trains a model on `rows` (see TrainOptions); deterministic for the same rows and options. */
export function trainLogisticRegression(rows: readonly LabelledRow[], options: TrainOptions): ModelArtifact {
  const steps = trainLogisticRegressionSteps(rows, options);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

// ---------------------------------------------------------------------------------------------------
// Scoring and evaluation

/**
 * Probability of default for one applicant. A missing or non-finite feature is imputed with the
 * training mean (it contributes nothing), as a serving path would; data-quality monitors catch it.
 */
export function scoreProbability(artifact: ModelArtifact, features: Record<string, unknown>): number {
  let z = artifact.bias;
  for (let j = 0; j < artifact.features.length; j++) {
    const v = features[artifact.features[j]!];
    if (typeof v === 'number' && Number.isFinite(v)) z += artifact.weights[j]! * ((v - artifact.mean[j]!) / artifact.std[j]!);
  }
  return sigmoid(z);
}

/** 1 when the score reaches the artifact's threshold. */
export function predictLabel(artifact: ModelArtifact, score: number): 0 | 1 {
  return score >= artifact.threshold ? 1 : 0;
}

/** Scores `rows` with `artifact` and measures AUC, accuracy, log-loss and calibration error. */
export function evaluate(artifact: ModelArtifact, rows: readonly LabelledRow[]): Evaluation {
  const scores = new Float64Array(rows.length);
  const labels = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    scores[i] = scoreProbability(artifact, r.features);
    labels[i] = r.label;
  });
  return evaluateScores(scores, labels, artifact.threshold);
}

// ---------------------------------------------------------------------------------------------------
// Artifact files

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const FeatureReferenceSchema = z
  .object({
    edges: z.array(finite),
    shares: z.array(finite.refine((v) => v >= 0 && v <= 1, 'must be within [0, 1]')),
    mean: finite,
    std: finite,
    min: finite,
    max: finite,
    count: z.number().int().min(1),
  })
  .refine((r) => r.shares.length === r.edges.length + 1, { message: 'shares must have one more entry than edges', path: ['shares'] });

export const ModelArtifactSchema = z
  .object({
    kind: z.literal('logistic-regression/v1'),
    features: z.array(z.string().min(1)).min(1),
    weights: z.array(finite),
    bias: finite,
    mean: z.array(finite),
    std: z.array(finite.refine((v) => v > 0, 'must be positive')),
    threshold: finite.refine((v) => v > 0 && v < 1, 'must be within (0, 1)'),
    reference: z.object({ rows: z.number().int().min(1), features: z.record(z.string(), FeatureReferenceSchema) }),
    metrics: z.object({
      auc: finite,
      accuracy: finite,
      logLoss: finite,
      calibrationError: finite,
      trainRows: z.number().int().min(1),
      holdoutRows: z.number().int().min(1),
    }),
    trainedAt: z.string().datetime({ offset: true }),
    seed: z.number().int(),
  })
  .superRefine((a, ctx) => {
    for (const key of ['weights', 'mean', 'std'] as const) {
      if (a[key].length !== a.features.length) {
        ctx.addIssue({ code: 'custom', path: [key], message: `must have one entry per feature (${a.features.length}), got ${a[key].length}` });
      }
    }
    for (const f of a.features) {
      if (!a.reference.features[f]) ctx.addIssue({ code: 'custom', path: ['reference', 'features', f], message: 'missing reference for feature' });
    }
  });

export class ArtifactError extends Error {
  constructor(
    readonly file: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`invalid model artifact ${file}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'ArtifactError';
  }
}

/** Validates a parsed artifact; throws ArtifactError naming each bad field. */
export function parseArtifact(raw: unknown, source = '(artifact)'): ModelArtifact {
  const r = ModelArtifactSchema.safeParse(raw);
  if (!r.success) {
    throw new ArtifactError(
      source,
      r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  return r.data as ModelArtifact;
}

export async function loadArtifact(file: string): Promise<ModelArtifact> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ArtifactError(file, [{ path: '', message: e.code === 'ENOENT' ? 'file does not exist' : `cannot read: ${e.message}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ArtifactError(file, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  return parseArtifact(raw, file);
}

/** Validates and writes the artifact as JSON (atomically: a temporary file renamed into place). */
export async function saveArtifact(file: string, artifact: ModelArtifact): Promise<void> {
  parseArtifact(artifact, file);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(artifact, null, 2) + '\n');
  await rename(tmp, file);
}
