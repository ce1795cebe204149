/**
 * The example credit-risk dataset: loan applicants with seven numeric features and a default label
 * (1 = the applicant defaulted), generated deterministically from a seed.
 *
 * Labels come from a ground-truth logistic function of the features. `drift` (0..1) moves the world
 * away from the one the model was trained on, in two ways at once:
 *
 * - data drift: incomes fall, debt-to-income and credit utilisation rise, loans get larger relative
 *   to income (the input distribution moves; PSI against the training reference rises);
 * - concept drift: the input→label relation changes: utilisation and loan size start to matter much
 *   more, income and age much less (a model trained on drift 0 loses accuracy even where inputs look
 *   familiar; retraining on drifted labelled data recovers it).
 *
 * Everything is a pure function of (seed, n, drift): the same call gives the same rows on any machine.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const FEATURES = [
  'income', // yearly income, thousands
  'debt_to_income', // monthly debt payments / monthly income
  'credit_utilization', // revolving balance / limit, 0..1
  'age', // years
  'open_credit_lines', // count
  'recent_delinquencies', // late payments in the last two years, count
  'loan_amount', // requested loan, thousands
] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface LabelledRow {
  features: Record<string, number>;
  label: 0 | 1;
}

export interface GenerateOptions {
  seed: number;
  /** 0 = the training world; 1 = fully drifted (data and concept drift). Clamped to [0, 1]. */
  drift?: number;
}

// ---------------------------------------------------------------------------------------------------
// Seeded randomness

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Poisson-distributed count (Knuth; fine for the small means used here). */
  poisson(mean: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

/** mulberry32 uniform generator with Box–Muller normals; deterministic for a 32-bit seed. */
export function createRng(seed: number): Rng {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    poisson(mean: number) {
      const limit = Math.exp(-mean);
      let k = 0;
      let p = next();
      while (p > limit) {
        k++;
        p *= next();
      }
      return k;
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The world

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Ground-truth log-odds of default for an applicant, in the world at `drift`. */
export function trueLogit(f: Record<string, number>, drift = 0): number {
  const d = clamp(drift, 0, 1);
  const zIncome = (Math.log(Math.max(f.income, 1)) - Math.log(55)) / 0.45;
  const zDti = (f.debt_to_income - 0.3) / 0.12;
  const zUtil = (f.credit_utilization - 0.35) / 0.2;
  const zAge = (f.age - 42) / 12;
  const zLines = (f.open_credit_lines - 4) / 2;
  const zLoan = (Math.log(Math.max(f.loan_amount, 0.1)) - Math.log(15)) / 0.6;
  return (
    lerp(-1.1, -2.4, d) +
    lerp(-1.1, -0.1, d) * zIncome +
    lerp(1.0, 0.3, d) * zDti +
    lerp(0.9, 2.1, d) * zUtil +
    lerp(-0.4, 0.6, d) * zAge +
    lerp(-0.15, -0.15, d) * zLines +
    lerp(0.8, 0.8, d) * f.recent_delinquencies +
    lerp(0.25, 1.4, d) * zLoan
  );
}

/** One applicant's features drawn from the world at `drift`. */
export function sampleFeatures(rng: Rng, drift = 0): Record<FeatureName, number> {
  const d = clamp(drift, 0, 1);
  const logIncome = Math.log(55) - 0.4 * d + 0.45 * rng.normal();
  const income = Math.exp(logIncome);
  const age = clamp(42 - 3 * d + 12 * rng.normal(), 18, 85);
  const dti = clamp(0.3 + 0.07 * d - 0.04 * (logIncome - Math.log(55)) / 0.45 + 0.115 * rng.normal(), 0, 1.5);
  const util = clamp(0.35 + 0.16 * d + 0.2 * rng.normal(), 0, 1);
  const lines = Math.min(rng.poisson(4 + 0.05 * (age - 42)), 30);
  const delinquencies = Math.min(rng.poisson(0.3 + 0.2 * d), 10);
  const loan = Math.exp(Math.log(15) + 0.3 * d + 0.4 * (logIncome - Math.log(55)) + 0.55 * rng.normal());
  return {
    income: round(income, 2),
    debt_to_income: round(dti, 4),
    credit_utilization: round(util, 4),
    age: Math.round(age),
    open_credit_lines: lines,
    recent_delinquencies: delinquencies,
    loan_amount: round(loan, 2),
  };
}

/** One labelled applicant from the world at `drift`, drawing from `rng`. */
export function sampleApplicant(rng: Rng, drift = 0): LabelledRow {
  const features = sampleFeatures(rng, drift);
  const p = 1 / (1 + Math.exp(-trueLogit(features, drift)));
  return { features, label: rng.next() < p ? 1 : 0 };
}

/** `n` labelled applicants, deterministic for (n, seed, drift). */
export function generateApplicants(n: number, { seed, drift = 0 }: GenerateOptions): LabelledRow[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const rng = createRng(seed);
  const rows: LabelledRow[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = sampleApplicant(rng, drift);
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// CSV

/** A malformed dataset file; names the file, the 1-based data row (and line) and the column. */
export class DatasetCsvError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly row?: number,
    readonly column?: string,
    readonly line?: number,
  ) {
    const where = [
      row !== undefined ? `row ${row}` : undefined,
      line !== undefined ? `line ${line}` : undefined,
      column !== undefined ? `column "${column}"` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${file}${where ? `: ${where}` : ''}: ${reason}`);
    this.name = 'DatasetCsvError';
  }
}

/**
 * The CSV text of `rows`. Header: every feature name found in any row (the FEATURES ones first, in
 * FEATURES order, then others in order of appearance; key order of the row objects does not matter,
 * e.g. rows read back from jsonb) + `label`. A feature a row lacks is written as an empty cell, which
 * readDatasetCsv reports as a missing value naming row and column.
 */
export function datasetToCsv(rows: readonly LabelledRow[]): string {
  const present = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.features)) present.add(k);
  const header: string[] = rows.length === 0 ? [...FEATURES] : FEATURES.filter((f) => present.has(f));
  for (const k of present) if (!header.includes(k)) header.push(k);
  const lines = [[...header, 'label'].join(',')];
  for (const r of rows) {
    const cells = header.map((h) => {
      const v = r.features[h];
      return v === undefined || v === null ? '' : String(v);
    });
    lines.push([...cells, String(r.label)].join(','));
  }
  return lines.join('\n') + '\n';
}

/** Writes `rows` as CSV (atomically: a temporary file renamed into place). */
export async function writeDatasetCsv(file: string, rows: readonly LabelledRow[]): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, datasetToCsv(rows));
  await rename(tmp, file);
}

export interface ParsedDataset {
  features: string[];
  rows: LabelledRow[];
}

/**
 * Parses dataset CSV text: a header of feature names plus a `label` column (any position), then one
 * row per applicant with finite numbers and a 0/1 label. Blank lines are skipped. Throws
 * DatasetCsvError naming the file, row and column of the first problem.
 */
export function parseDatasetCsv(text: string, file = '(csv)'): ParsedDataset {
  const lines = text.split(/\r?\n/);
  let headerLine = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '') {
      headerLine = i;
      break;
    }
  }
  if (headerLine < 0) throw new DatasetCsvError(file, 'file is empty (expected a header with feature names and "label")');
  const header = lines[headerLine].replace(/^\uFEFF/, '').split(',').map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new DatasetCsvError(file, `header column ${i + 1} has no name`, undefined, undefined, headerLine + 1);
    if (seen.has(h)) throw new DatasetCsvError(file, `duplicate header column "${h}"`, undefined, h, headerLine + 1);
    seen.add(h);
  });
  const labelIdx = header.indexOf('label');
  if (labelIdx < 0) throw new DatasetCsvError(file, 'header has no "label" column', undefined, undefined, headerLine + 1);
  const features = header.filter((_, i) => i !== labelIdx);
  if (features.length === 0) throw new DatasetCsvError(file, 'header has no feature columns besides "label"', undefined, undefined, headerLine + 1);

  const rows: LabelledRow[] = [];
  let rowNo = 0;
  for (let li = headerLine + 1; li < lines.length; li++) {
    const line = lines[li];
    if (line.trim() === '') continue;
    rowNo++;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      throw new DatasetCsvError(file, `expected ${header.length} columns, got ${cells.length}`, rowNo, undefined, li + 1);
    }
    const feats: Record<string, number> = {};
    let label: 0 | 1 = 0;
    for (let c = 0; c < cells.length; c++) {
      const raw = cells[c].trim();
      const value = raw === '' ? Number.NaN : Number(raw);
      if (c === labelIdx) {
        if (value !== 0 && value !== 1) throw new DatasetCsvError(file, `label must be 0 or 1, got "${raw}"`, rowNo, 'label', li + 1);
        label = value;
      } else {
        if (!Number.isFinite(value)) {
          throw new DatasetCsvError(file, raw === '' ? 'value is missing' : `"${raw}" is not a finite number`, rowNo, header[c], li + 1);
        }
        feats[header[c]] = value;
      }
    }
    rows.push({ features: feats, label });
  }
  return { features, rows };
}

/** Reads a dataset CSV file (see parseDatasetCsv); a missing file is a DatasetCsvError too. */
export async function readDatasetCsv(file: string): Promise<ParsedDataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DatasetCsvError(file, e.code === 'ENOENT' ? 'file does not exist' : `cannot read: ${e.message}`);
  }
  return parseDatasetCsv(text, file);
}
