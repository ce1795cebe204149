/**
 * Two-proportion Z-test for binary categorical columns, as Evidently's `z` stat test:
 *
 *   key     = one category of the union (we take the first in sorted order; Evidently takes the
 *             first of its unordered union, so only the sign of the statistic can differ);
 *   p1, p2  = share of `key` in reference / current (over all rows, missing included, `len(series)`);
 *   P       = (p1·n1 + p2·n2) / (n1 + n2);
 *   z       = (p1 − p2) / sqrt(P(1 − P)(1/n1 + 1/n2));
 *   p-value = two-sided. Evidently writes 2·(1 − Φ(|z|)); we compute the same quantity as
 *             2·sf(|z|) = erfc(|z|/√2), equal to within ~1e-16 absolute but accurate in the far
 *             tail (where 1 − Φ rounds to 0).
 *
 * If both samples hold one and the same single value, Evidently returns p-value 1 without a
 * statistic; we return statistic 0, p-value 1.
 */
import { categoryCounts, type Category } from './categorical.js';
import { erfc } from './special.js';
import type { TestResult } from './chiSquare.js';

/** z statistic and two-sided p-value from the success counts of two samples. */
export function proportionZTest(successes1: number, n1: number, successes2: number, n2: number): TestResult {
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const statistic = (p1 - p2) / Math.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2));
  return { statistic, pValue: Math.min(1, erfc(Math.abs(statistic) / Math.SQRT2)) };
}

/** Evidently-style Z-test drift of two binary categorical samples. */
export function proportionZDrift(reference: ArrayLike<Category | null | undefined>, current: ArrayLike<Category | null | undefined>): TestResult {
  const c = categoryCounts(reference, current);
  if (c.categories.length === 0) throw new RangeError('proportionZDrift: no non-missing values');
  if (c.categories.length > 2) throw new RangeError('proportionZDrift is for binary columns');
  const refUnique = c.reference.filter((x) => x > 0).length;
  const curUnique = c.current.filter((x) => x > 0).length;
  if (c.categories.length === 1 && refUnique === 1 && curUnique === 1) return { statistic: 0, pValue: 1 };
  return proportionZTest(c.reference[0]!, c.referenceSize, c.current[0]!, c.currentSize);
}
