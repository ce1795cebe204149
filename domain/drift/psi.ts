/**
 * Population Stability Index and the training-time reference profile the drift monitors compare live
 * traffic against. Pure numeric code, no I/O, fast on large arrays: Float64Array throughout, the
 * deciles by multi-quickselect instead of a full sort (like NumPy's introselect), one branch-free
 * binning pass per sample (~10 ms per million values). `sortedFinite` / `upperBound` / `lowerBound`
 * are there for statistics that need a sorted sample (KS).
 *
 * Definition (the one the monitors, the benchmarks and the NumPy reference implementation share):
 *
 *   edges   = the 9 inner deciles of the reference, `numpy.quantile(ref, [0.1, 0.2, …, 0.9])` with
 *             NumPy's default ('linear') interpolation;
 *   bin(x)  = `numpy.searchsorted(edges, x, side='right')`, i.e. the number of edges ≤ x: bins are
 *             half-open `[edge[i-1], edge[i])`, a value equal to an edge goes to the bin *above* it, the
 *             first bin `(-∞, edge[0])` and the last bin `[edge[8], +∞)` are open;
 *   share   = count in bin / number of values, then floored at 0.0001 (`numpy.maximum(share, 1e-4)`,
 *             not renormalised);
 *   PSI     = Σ over the 10 bins of (cur − ref) · ln(cur / ref).
 *
 * Non-finite values (NaN, ±Infinity) are ignored: missing or broken values are the data-quality
 * monitor's business, not drift's. An empty reference or current sample is an error.
 *
 * Rule of thumb: PSI < 0.1 stable, 0.1–0.2 moderate shift, ≥ 0.2 significant shift.
 */

/** Number of bins; the edges are the inner quantiles at 1/BINS … (BINS−1)/BINS. */
import { radixSortFloat64 } from './radixSort.js';

export const PSI_BINS = 10;
/** Floor applied to every bin share before the logarithm. */
export const PSI_SHARE_FLOOR = 1e-4;

export interface FeatureReference {
  /** The 9 inner decile cut points of the reference (NumPy 'linear' interpolation), ascending. */
  edges: number[];
  /** The reference's 10 bin shares (raw count / n, not floored; psi() floors them). */
  shares: number[];
  mean: number;
  /** Population standard deviation (ddof = 0, like `numpy.std`). */
  std: number;
  min: number;
  max: number;
  /** Finite values the reference was built from. */
  count: number;
}

export interface ReferenceProfile {
  rows: number;
  features: Record<string, FeatureReference>;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of ascending `sortedValues`, NumPy's default 'linear' method
 * (`numpy.quantile(a, q)`): virtual index q·(n−1), linear interpolation between its neighbours, using
 * NumPy's own lerp formula so results agree to the last bit.
 */
export function quantile(sortedValues: ArrayLike<number>, q: number): number {
  const n = sortedValues.length;
  if (n === 0) throw new RangeError('quantile of an empty array');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be within [0, 1], got ${q}`);
  const virtualIndex = q * (n - 1);
  const lo = Math.floor(virtualIndex);
  const hi = Math.min(lo + 1, n - 1);
  const t = virtualIndex - lo;
  const a = sortedValues[lo]!;
  const b = sortedValues[hi]!;
  // numpy.lib._function_base_impl._lerp: a + (b−a)·t, or b − (b−a)·(1−t) when t ≥ 0.5.
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Finite values of `values`, sorted ascending (radix sort), in a fresh Float64Array. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) out[m++] = v;
  }
  const finite = m === out.length ? out : out.slice(0, m);
  return radixSortFloat64(finite);
}

/** Index of the first element of ascending `sorted` that is > x (numpy.searchsorted side='right'). */
export function upperBound(sorted: ArrayLike<number>, x: number, from = 0, to = sorted.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of ascending `sorted` that is ≥ x (numpy.searchsorted side='left'). */
export function lowerBound(sorted: ArrayLike<number>, x: number, from = 0, to = sorted.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Bin shares (raw count / n of finite values, not floored) of unsorted `values` against ascending
 * `edges`, with `searchsorted(edges, x, side='right')` binning. O(n · log(edges)), no sort, no copy.
 */
export function binShares(edges: ArrayLike<number>, values: ArrayLike<number>): number[] {
  const k = edges.length;
  const counts = new Float64Array(k + 1);
  let n = 0;
  if (k === 9) {
    // Unrolled, branch-free count of edges ≤ x for the usual 9 deciles: the hot loop of the drift
    // monitors and benchmarks (unpredictable branches of a search tree cost ~3× more here).
    const e0 = edges[0]!,
      e1 = edges[1]!,
      e2 = edges[2]!,
      e3 = edges[3]!,
      e4 = edges[4]!;
    const e5 = edges[5]!,
      e6 = edges[6]!,
      e7 = edges[7]!,
      e8 = edges[8]!;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (!(x - x === 0)) continue; // NaN or ±Infinity
      n++;
      counts[+(x >= e0) + +(x >= e1) + +(x >= e2) + +(x >= e3) + +(x >= e4) + +(x >= e5) + +(x >= e6) + +(x >= e7) + +(x >= e8)]!++;
    }
  } else {
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (!(x - x === 0)) continue;
      n++;
      counts[upperBound(edges, x)]!++;
    }
  }
  if (n === 0) throw new RangeError('no finite values to bin');
  return Array.from(counts, (c) => c / n);
}

/** Finite values of `values` copied into a fresh Float64Array (unsorted), with their min and max. */
function finiteCopy(values: ArrayLike<number>): { data: Float64Array; min: number; max: number } {
  const out = new Float64Array(values.length);
  let m = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v === 0) {
      out[m++] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { data: m === out.length ? out : out.slice(0, m), min, max };
}

/**
 * Rearranges `a` in place so that a[k] is the k-th smallest value for every k in `ks` (ascending,
 * distinct): multi-quickselect with three-way partitioning (so heavy ties stay linear) and a
 * deterministic pseudo-random pivot. Expected O(n · log |ks|), like NumPy's introselect-based
 * quantile, instead of a full O(n log n) sort.
 */
export function selectOrderStatistics(a: Float64Array, ks: readonly number[]): void {
  let seed = 0x2545f491;
  const stack: number[] = [0, a.length - 1, 0, ks.length - 1];
  while (stack.length > 0) {
    const kHi = stack.pop()!;
    const kLo = stack.pop()!;
    const hi = stack.pop()!;
    const lo = stack.pop()!;
    if (kLo > kHi || lo >= hi) continue;
    if (hi - lo < 24) {
      for (let i = lo + 1; i <= hi; i++) {
        const v = a[i]!;
        let j = i - 1;
        while (j >= lo && a[j]! > v) {
          a[j + 1] = a[j]!;
          j--;
        }
        a[j + 1] = v;
      }
      continue;
    }
    // Median of three pseudo-random elements as the pivot.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const span = hi - lo + 1;
    const x = a[lo + ((seed >>> 0) % span)]!;
    const y = a[lo + ((seed >>> 7) % span)]!;
    const z = a[lo + ((seed >>> 14) % span)]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // Three-way partition: [lo, lt) < pivot, [lt, gt] = pivot, (gt, hi] > pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i]!;
      if (v < pivot) {
        a[i++] = a[lt]!;
        a[lt++] = v;
      } else if (v > pivot) {
        a[i] = a[gt]!;
        a[gt--] = v;
      } else {
        i++;
      }
    }
    // Requested ks below lt go left, above gt go right; those in [lt, gt] are settled.
    let leftEnd = kLo - 1;
    while (leftEnd + 1 <= kHi && ks[leftEnd + 1]! < lt) leftEnd++;
    let rightStart = kHi + 1;
    while (rightStart - 1 >= kLo && ks[rightStart - 1]! > gt) rightStart--;
    if (leftEnd >= kLo) stack.push(lo, lt - 1, kLo, leftEnd);
    if (rightStart <= kHi) stack.push(gt + 1, hi, rightStart, kHi);
  }
}

/**
 * `numpy.quantile(values, qs)` (default 'linear' method) of unsorted values, ignoring non-finite ones,
 * without sorting. Throws on no finite values.
 */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const { data } = finiteCopy(values);
  if (data.length === 0) throw new RangeError('no finite values');
  return quantilesInPlace(data, qs);
}

function quantilesInPlace(data: Float64Array, qs: readonly number[]): number[] {
  const n = data.length;
  const ks = new Set<number>();
  for (const q of qs) {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be within [0, 1], got ${q}`);
    const lo = Math.floor(q * (n - 1));
    ks.add(lo);
    ks.add(Math.min(lo + 1, n - 1));
  }
  selectOrderStatistics(
    data,
    [...ks].sort((x, y) => x - y),
  );
  // With every needed order statistic in place, quantile() reads exactly those two positions.
  return qs.map((q) => quantile(data, q));
}

/** Builds one feature's reference: decile edges, reference bin shares and summary statistics. */
export function buildFeatureReference(values: ArrayLike<number>): FeatureReference {
  const { data, min, max } = finiteCopy(values);
  const n = data.length;
  if (n === 0) throw new RangeError('cannot build a reference from no finite values');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += data[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = data[i]! - mean;
    sq += d * d;
  }
  const qs: number[] = [];
  for (let i = 1; i < PSI_BINS; i++) qs.push(i / PSI_BINS);
  const edges = quantilesInPlace(data, qs);
  return { edges, shares: binShares(edges, data), mean, std: Math.sqrt(sq / n), min, max, count: n };
}

/** PSI between two share vectors of equal length, both floored at PSI_SHARE_FLOOR. */
export function psiFromShares(refShares: ArrayLike<number>, curShares: ArrayLike<number>): number {
  if (refShares.length !== curShares.length) {
    throw new RangeError(`share vectors differ in length (${refShares.length} vs ${curShares.length})`);
  }
  let total = 0;
  for (let i = 0; i < refShares.length; i++) {
    const r = Math.max(refShares[i]!, PSI_SHARE_FLOOR);
    const c = Math.max(curShares[i]!, PSI_SHARE_FLOOR);
    total += (c - r) * Math.log(c / r);
  }
  return total;
}

/** PSI of `current` against the reference (see the module comment for the exact definition). */
export function psi(ref: FeatureReference, current: ArrayLike<number>): number {
  return psiFromShares(ref.shares, binShares(ref.edges, current));
}

/** Builds the reference profile of `features` over `rows` (the model's training data). */
export function buildReferenceProfile(rows: readonly Record<string, number>[], features: readonly string[]): ReferenceProfile {
  const out: Record<string, FeatureReference> = {};
  const column = new Float64Array(rows.length);
  for (const f of features) {
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![f];
      column[i] = typeof v === 'number' ? v : Number.NaN;
    }
    try {
      out[f] = buildFeatureReference(column);
    } catch (err) {
      throw new RangeError(`feature "${f}": ${(err as Error).message}`);
    }
  }
  return { rows: rows.length, features: out };
}

/**
 * PSI per feature of `rows` against `profile` (features the profile knows; a feature with no finite
 * value in `rows` is reported as NaN so a data-quality monitor can tell it apart from "no drift").
 */
export function psiByFeature(profile: ReferenceProfile, rows: readonly Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  const column = new Float64Array(rows.length);
  for (const [f, ref] of Object.entries(profile.features)) {
    let finite = 0;
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![f];
      column[i] = typeof v === 'number' ? v : Number.NaN;
      if (Number.isFinite(column[i])) finite++;
    }
    out[f] = finite === 0 ? Number.NaN : psi(ref, column);
  }
  return out;
}
