/**
 * Chi-square goodness-of-fit test for categorical drift, as Evidently's `chisquare` stat test does
 * it: over the union of categories, observed = current counts, expected = reference count ·
 * (n_current / n_reference) (= reference proportion · n_current), then
 * `scipy.stats.chisquare(f_obs=observed, f_exp=expected)`: statistic Σ (o − e)²/e, p-value the
 * chi-square survival function with k − 1 degrees of freedom. A category absent from the
 * reference but present in the current sample gives statistic +∞ and p-value 0, as in SciPy.
 */
import { categoryCounts, type Category } from './categorical.js';
import { chi2Sf } from './special.js';

export interface TestResult {
  statistic: number;
  pValue: number;
}

/** `scipy.stats.chisquare(observed, expected)` with ddof = 0. */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>): TestResult {
  const k = observed.length;
  if (expected.length !== k) throw new RangeError('chiSquareTest: length mismatch');
  if (k < 2) throw new RangeError('chiSquareTest needs at least two categories');
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const d = observed[i]! - expected[i]!;
    statistic += (d * d) / expected[i]!;
  }
  return { statistic, pValue: chi2Sf(statistic, k - 1) };
}

/** Evidently-style chi-square drift test of two categorical samples. */
export function chiSquareDrift(reference: ArrayLike<Category | null | undefined>, current: ArrayLike<Category | null | undefined>): TestResult {
  const c = categoryCounts(reference, current);
  const kNorm = c.currentSize / c.referenceSize;
  return chiSquareTest(
    c.current,
    c.reference.map((r) => r * kNorm),
  );
}
