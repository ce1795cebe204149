/**
 * KS and PSI of one numeric feature with each sample sorted once: the sorted reference gives PSI's
 * decile edges directly and both samples' bin shares by binary search, and the same sorted arrays
 * feed the KS merge. Same results as `ks2samp` and `psi(buildFeatureReference(ref), cur)`.
 */
import { ks2sampSorted, type KsResult } from './ks.js';
import { lowerBound, PSI_BINS, psiFromShares, quantile, sortedFinite } from './psi.js';

export interface NumericDrift {
  ks: KsResult;
  psi: number;
}

export function numericDrift(reference: ArrayLike<number>, current: ArrayLike<number>): NumericDrift {
  const ref = sortedFinite(reference);
  const cur = sortedFinite(current);
  if (ref.length === 0 || cur.length === 0) throw new RangeError('numericDrift needs two non-empty samples');
  const edges: number[] = [];
  for (let i = 1; i < PSI_BINS; i++) edges.push(quantile(ref, i / PSI_BINS));
  return { ks: ks2sampSorted(ref, cur), psi: psiFromShares(sortedShares(edges, ref), sortedShares(edges, cur)) };
}

/**
 * Bin shares of a sorted sample with `searchsorted(edges, x, side='right')` binning: a value's bin is
 * the number of edges ≤ it, and at least b edges are ≤ x exactly when x ≥ edges[b−1].
 */
function sortedShares(edges: number[], sorted: Float64Array): number[] {
  const n = sorted.length;
  const atLeast = (b: number) => (b === 0 ? n : b > edges.length ? 0 : n - lowerBound(sorted, edges[b - 1]!));
  const shares: number[] = [];
  for (let b = 0; b <= edges.length; b++) shares.push((atLeast(b) - atLeast(b + 1)) / n);
  return shares;
}
