/**
 * Category counting shared by the categorical drift tests (Jensen–Shannon, chi-square, Z-test),
 * Evidently-style: the categories are the union of the values seen in the reference and the current
 * sample (missing values — null, undefined, NaN — are left out of the union and of the counts' keys,
 * like Evidently's `get_unique_not_nan_values_list_from_series`, but they still count in the sample
 * sizes, as `len(series)` does there). Categories are listed in a deterministic order (sorted by
 * their string form), since the sums that use them are order-independent.
 */

export type Category = string | number | boolean;

export interface CategoryCounts {
  /** Union of the categories of both samples, sorted. */
  categories: Category[];
  /** Count of each category in the reference sample, aligned with `categories` (0 if absent). */
  reference: number[];
  /** Count of each category in the current sample, aligned with `categories` (0 if absent). */
  current: number[];
  /** Sample sizes, missing values included (Evidently's `len(series)`). */
  referenceSize: number;
  currentSize: number;
}

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

function count(values: ArrayLike<Category | null | undefined>): Map<Category, number> {
  const m = new Map<Category, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissing(v)) continue;
    const c = v as Category;
    m.set(c, (m.get(c) ?? 0) + 1);
  }
  return m;
}

export function categoryCounts(reference: ArrayLike<Category | null | undefined>, current: ArrayLike<Category | null | undefined>): CategoryCounts {
  const r = count(reference);
  const c = count(current);
  const categories = [...new Set<Category>([...r.keys(), ...c.keys()])].sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
  return {
    categories,
    reference: categories.map((k) => r.get(k) ?? 0),
    current: categories.map((k) => c.get(k) ?? 0),
    referenceSize: reference.length,
    currentSize: current.length,
  };
}

export interface CategoryFrequencies {
  categories: Category[];
  /** Reference share of each category (count / reference size). */
  reference: number[];
  /** Current share of each category (count / current size). */
  current: number[];
}

/**
 * Frequency vectors over the union of categories, Evidently's `get_binned_data` for categorical
 * columns: count / sample size. With `fillZeroes` (Evidently's `feel_zeroes=True`, used by its PSI
 * and KL tests, not by Jensen–Shannon), a zero share is replaced by min(non-zero share) / 1e6 when
 * that minimum is ≤ 1e-4, else by 1e-4, separately in each vector.
 */
export function categoryFrequencies(
  reference: ArrayLike<Category | null | undefined>,
  current: ArrayLike<Category | null | undefined>,
  options: { fillZeroes?: boolean } = {},
): CategoryFrequencies {
  const c = categoryCounts(reference, current);
  const ref = c.reference.map((x) => x / c.referenceSize);
  const cur = c.current.map((x) => x / c.currentSize);
  if (options.fillZeroes) {
    fillZeroes(ref);
    fillZeroes(cur);
  }
  return { categories: c.categories, reference: ref, current: cur };
}

function fillZeroes(shares: number[]): void {
  const nonZero = shares.filter((s) => s !== 0);
  if (nonZero.length === 0) return;
  const min = Math.min(...nonZero);
  const fill = min <= 0.0001 ? min / 1e6 : 0.0001;
  for (let i = 0; i < shares.length; i++) if (shares[i] === 0) shares[i] = fill;
}
