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
import type { LabelledRow } from '../../domain/metrics.js';
import { datasetToCsv as labelledRowsToCsv, writeDatasetCsv as writeLabelledCsv } from '../../adapters/files/labelledCsv.js';

export { DatasetCsvError, parseDatasetCsv, readDatasetCsv, type ParsedDataset } from '../../adapters/files/labelledCsv.js';

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

export type { LabelledRow };

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
export function trueLogit(f: Readonly<Record<FeatureName, number>>, drift = 0): number {
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
  const dti = clamp(0.3 + 0.07 * d - (0.04 * (logIncome - Math.log(55))) / 0.45 + 0.115 * rng.normal(), 0, 1.5);
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
// CSV (the trainer protocol's format: adapters/files/labelledCsv.ts), with the example's columns first

/** The CSV text of `rows`, the example's FEATURES first in their order. */
export function datasetToCsv(rows: readonly LabelledRow[]): string {
  return labelledRowsToCsv(rows, FEATURES);
}

/** Writes `rows` as CSV (atomically), the example's FEATURES first in their order. */
export function writeDatasetCsv(file: string, rows: readonly LabelledRow[]): Promise<void> {
  return writeLabelledCsv(file, rows, FEATURES);
}
