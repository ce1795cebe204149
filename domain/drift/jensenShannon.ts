/**
 * Jensen–Shannon distance, as `scipy.spatial.distance.jensenshannon(p, q, base=None)`: both vectors
 * are normalised to sum 1, m = (p + q)/2, JS = sqrt((Σ rel_entr(p, m) + Σ rel_entr(q, m)) / 2),
 * natural log unless `base` is given (then divided by ln(base) before the square root).
 * rel_entr(x, y) = x·ln(x/y) for x, y > 0, 0 for x = 0 (y ≥ 0), +∞ otherwise.
 *
 * For categorical drift, build the vectors with `categoryFrequencies(ref, cur)` (union of
 * categories, Evidently's `get_binned_data` without zero filling, which is what its
 * `jensenshannon` stat test uses).
 */
export { categoryFrequencies } from './categorical.js';

function relEntr(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  const n = p.length;
  if (q.length !== n) throw new RangeError(`jensenShannonDistance: length mismatch ${n} vs ${q.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  let left = 0;
  let right = 0;
  for (let i = 0; i < n; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(js / 2);
}
