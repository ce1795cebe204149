/**
 * Per-feature drift between a reference and a current dataset, with the test chosen per column the
 * way Evidently does by default, and a dataset-level verdict by the share of drifted features.
 *
 * Default choice (reference ≤ 1000 rows):
 *   numeric with > 5 unique values → Kolmogorov–Smirnov, drift when p < 0.05
 *   otherwise, > 2 categories → chi-square, p < 0.05; ≤ 2 categories → two-proportion Z-test, p < 0.05
 * Larger reference:
 *   numeric with > 5 unique values → Wasserstein distance normed by the reference std, drift when ≥ 0.1
 *   otherwise → Jensen–Shannon distance, drift when ≥ 0.1
 * PSI (≥ 0.1) is available by name. The dataset drifts when the share of drifted features ≥ 0.5.
 */
import { categoryFrequencies, type Category } from './categorical.js';
import { chiSquareDrift } from './chiSquare.js';
import { jensenShannonDistance } from './jensenShannon.js';
import { ks2samp } from './ks.js';
import { proportionZDrift } from './proportionZ.js';
import { buildFeatureReference, psi } from './psi.js';
import { normedWasserstein } from './wasserstein.js';
import { ownValue } from '../ownValue.js';

export const DRIFT_TESTS = ['ks', 'psi', 'wasserstein', 'jensenshannon', 'chisquare', 'z'] as const;
export type DriftTestName = (typeof DRIFT_TESTS)[number];

/** Tests that compare p-values (drift when p < threshold) rather than distances (drift when ≥). */
const P_VALUE_TESTS: ReadonlySet<DriftTestName> = new Set(['ks', 'chisquare', 'z']);

export const DEFAULT_THRESHOLDS: Record<DriftTestName, number> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

export type FeatureColumn = { type: 'numeric'; values: Float64Array } | { type: 'categorical'; values: Category[] };

export interface FeatureDrift {
  feature: string;
  type: 'numeric' | 'categorical';
  test: DriftTestName;
  statistic: number;
  pValue?: number;
  threshold: number;
  drift: boolean;
}

export interface DatasetDrift {
  features: FeatureDrift[];
  driftedFeatures: number;
  share: number;
  shareThreshold: number;
  datasetDrift: boolean;
}

export interface DriftOptions {
  /** One test for every column (it must suit the column type), else the default choice. */
  test?: DriftTestName;
  /** Per-feature test overrides (own keys only: a feature named "constructor" has none unless given). */
  perFeature?: Record<string, DriftTestName>;
  thresholds?: Partial<Record<DriftTestName, number>>;
  /** Dataset drift when the share of drifted features reaches this (default 0.5). */
  shareThreshold?: number;
}

const NUMERIC_ONLY: ReadonlySet<DriftTestName> = new Set(['ks', 'psi', 'wasserstein']);

export function defaultTest(column: FeatureColumn, referenceRows: number): DriftTestName {
  const unique = new Set<unknown>(column.values as ArrayLike<unknown> as unknown[]).size;
  const numeric = column.type === 'numeric' && unique > 5;
  if (referenceRows <= 1000) return numeric ? 'ks' : unique > 2 ? 'chisquare' : 'z';
  return numeric ? 'wasserstein' : 'jensenshannon';
}

export function featureDrift(feature: string, reference: FeatureColumn, current: FeatureColumn, test: DriftTestName, threshold: number): FeatureDrift {
  if (reference.type !== current.type) {
    throw new RangeError(`feature "${feature}": reference is ${reference.type} but current is ${current.type}`);
  }
  if (reference.type === 'categorical' && NUMERIC_ONLY.has(test)) {
    throw new RangeError(`feature "${feature}": the ${test} test needs a numeric column`);
  }
  const num = (c: FeatureColumn) => c.values as Float64Array;
  const cat = (c: FeatureColumn) => (c.type === 'numeric' ? Array.from(c.values) : c.values);
  let statistic: number;
  let pValue: number | undefined;
  switch (test) {
    case 'ks': {
      const r = ks2samp(num(reference), num(current));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
    case 'psi':
      statistic = psi(buildFeatureReference(num(reference)), num(current));
      break;
    case 'wasserstein':
      statistic = normedWasserstein(num(reference), num(current));
      break;
    case 'jensenshannon': {
      const f = categoryFrequencies(cat(reference), cat(current));
      statistic = jensenShannonDistance(f.reference, f.current);
      break;
    }
    case 'chisquare': {
      const r = chiSquareDrift(cat(reference), cat(current));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
    case 'z': {
      const r = proportionZDrift(cat(reference), cat(current));
      statistic = r.statistic;
      pValue = r.pValue;
      break;
    }
  }
  const drift = P_VALUE_TESTS.has(test) ? pValue! < threshold : statistic >= threshold;
  return { feature, type: reference.type, test, statistic, pValue, threshold, drift };
}

/** Columns by feature name: a Map, or an object whose own keys are the features. */
export type FeatureColumns = ReadonlyMap<string, FeatureColumn> | Readonly<Record<string, FeatureColumn>>;

export function datasetDrift(reference: FeatureColumns, current: FeatureColumns, referenceRows: number, opts: DriftOptions = {}): DatasetDrift {
  const currentByName = current instanceof Map ? current : new Map(Object.entries(current));
  const referenceEntries = reference instanceof Map ? [...reference] : Object.entries(reference);
  const features = referenceEntries.map(([name, ref]) => {
    const cur = currentByName.get(name);
    if (!cur) throw new RangeError(`feature "${name}": missing from the current data`);
    const test = ownValue(opts.perFeature, name) ?? opts.test ?? defaultTest(ref, referenceRows);
    const threshold = opts.thresholds?.[test] ?? DEFAULT_THRESHOLDS[test];
    return featureDrift(name, ref, cur, test, threshold);
  });
  const driftedFeatures = features.filter((f) => f.drift).length;
  const share = features.length ? driftedFeatures / features.length : 0;
  const shareThreshold = opts.shareThreshold ?? 0.5;
  return { features, driftedFeatures, share, shareThreshold, datasetDrift: share >= shareThreshold };
}
