/**
 * 1-Wasserstein (earth mover's) distance between two empirical distributions, the same computation
 * as `scipy.stats.wasserstein_distance(u, v)` (unweighted): ∫ |F_u(x) − F_v(x)| dx over the pooled
 * sorted values, with the ECDFs taken by `searchsorted(side='right')`. Both samples are sorted once
 * and merged in one pass, O((n + m) log(n + m)).
 *
 * Non-finite values are dropped first, as everywhere in the drift code (SciPy would return NaN or
 * raise). Empty samples are an error.
 */
import { sortedFinite } from './psi.js';

/** `wasserstein_distance` of two ascending samples. */
export function wassersteinSorted(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const nu = u.length;
  const nv = v.length;
  if (nu === 0 || nv === 0) throw new RangeError('wasserstein distance needs two non-empty samples');
  let i = 0;
  let j = 0;
  let sum = 0;
  let comp = 0; // Neumaier compensation: agrees with NumPy's pairwise/blocked sum to ~1e-15
  let prev = NaN;
  while (i < nu || j < nv) {
    const x = j >= nv || (i < nu && u[i]! <= v[j]!) ? u[i]! : v[j]!;
    if (i + j > 0) {
      // Interval [prev, x): the ECDFs at prev (counts of values ≤ prev).
      const term = Math.abs(i / nu - j / nv) * (x - prev);
      const t = sum + term;
      comp += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
      sum = t;
    }
    while (i < nu && u[i]! <= x) i++;
    while (j < nv && v[j]! <= x) j++;
    prev = x;
  }
  return sum + comp;
}

/** `scipy.stats.wasserstein_distance(u, v)`. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  return wassersteinSorted(sortedFinite(u), sortedFinite(v));
}

/**
 * Evidently's "normed" Wasserstein drift score: wasserstein_distance(ref, cur) / std(ref), where
 * std is the *population* standard deviation (ddof = 0, `numpy.std`'s default, which is what
 * Evidently's `np.std(reference_data)` computes). A constant reference (std 0) gives Infinity for a
 * non-zero distance and NaN (0/0) for identical constant samples.
 */
export function normedWasserstein(ref: ArrayLike<number>, cur: ArrayLike<number>): number {
  const r = sortedFinite(ref);
  return wassersteinSorted(r, sortedFinite(cur)) / populationStd(r);
}

/** Population standard deviation (ddof = 0), two-pass like NumPy. */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) throw new RangeError('std of an empty sample');
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i]!;
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}
