import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binShares,
  buildFeatureReference,
  buildReferenceProfile,
  psi,
  psiByFeature,
  PSI_SHARE_FLOOR,
  quantile,
  quantiles,
  selectOrderStatistics,
  sortedFinite,
} from '../../domain/drift/psi.js';
import { createRng } from '../../examples/credit-risk/dataset.js';

/*
 * Reference numbers computed once with NumPy 2.4 (Python 3) and hard-coded here:
 *
 *   def psi(ref, cur):
 *       ref = np.asarray(ref, float); cur = np.asarray(cur, float)
 *       edges = np.quantile(ref, np.arange(1, 10) / 10)
 *       r = np.bincount(np.searchsorted(edges, ref, side='right'), minlength=10) / len(ref)
 *       c = np.bincount(np.searchsorted(edges, cur, side='right'), minlength=10) / len(cur)
 *       r = np.maximum(r, 1e-4); c = np.maximum(c, 1e-4)
 *       return edges, r, c, float(np.sum((c - r) * np.log(c / r)))
 */
const REF = [3.1, 0.5, 2.2, 7.9, 4.4, 1.0, 5.5, 6.0, 2.2, 9.3, 0.1, 3.3, 8.8, 4.4, 2.7];
const CUR = [2.2, 4.4, 4.4, 9.9, 10.5, 0.0, 3.3, 5.0, 7.5, 8.8, 6.0, 1.2];
const NUMPY_EDGES = [0.7000000000000001, 1.9600000000000004, 2.3000000000000003, 2.9400000000000004, 3.3, 4.4, 5.2799999999999985, 6.380000000000003, 8.44];
const NUMPY_REF_SHARES = [2, 1, 2, 1, 1, 1, 2, 2, 1, 2].map((c) => c / 15);
const NUMPY_CUR_SHARES = [1, 1, 1, 0, 0, 1, 3, 1, 1, 3].map((c) => c / 12); // 0 → floored to 1e-4
const NUMPY_PSI = 1.094004640566813;

// Heavy ties (a count feature): most deciles coincide at 0.
const REF_TIES = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
const CUR_TIES = [0, 0, 0, 1, 1, 1, 2, 2, 3, 0];
const NUMPY_EDGES_TIES = [0, 0, 0, 0, 0, 0, 0.2999999999999998, 1, 1.0999999999999996];
const NUMPY_PSI_TIES = 0.42815370492506505;

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

describe('quantile', () => {
  it("matches numpy.quantile's default linear interpolation", () => {
    const sorted = sortedFinite(REF);
    // np.quantile(REF, [0, 0.25, 0.37, 0.5, 0.999, 1])
    const expected = [0.1, 2.2, 2.7720000000000002, 3.3, 9.293000000000001, 9.3];
    [0, 0.25, 0.37, 0.5, 0.999, 1].forEach((q, i) => assert.equal(quantile(sorted, q), expected[i]));
    assert.equal(quantile([5], 0.3), 5);
    assert.throws(() => quantile([], 0.5), /empty/);
    assert.throws(() => quantile([1, 2], 1.5), /within/);
  });
});

describe('selectOrderStatistics / quantiles', () => {
  it('agree with a full sort on random, tied and already sorted data', () => {
    const rng = createRng(3);
    const inputs = [
      Float64Array.from({ length: 5_001 }, () => rng.normal()),
      Float64Array.from({ length: 5_000 }, () => rng.poisson(0.3)),
      Float64Array.from({ length: 3_000 }, (_, i) => i),
      Float64Array.from({ length: 3_000 }, (_, i) => -i),
      Float64Array.from({ length: 40 }, () => rng.int(3)),
    ];
    for (const input of inputs) {
      const sorted = Float64Array.from(input).sort();
      const ks = [0, 1, 7, Math.floor(input.length / 3), Math.floor(input.length / 2), input.length - 2, input.length - 1];
      const a = Float64Array.from(input);
      selectOrderStatistics(
        a,
        [...new Set(ks)].sort((x, y) => x - y),
      );
      for (const k of ks) assert.equal(a[k], sorted[k], `k=${k}`);
      const qs = [0, 0.1, 0.25, 0.5, 0.9, 0.999, 1];
      assert.deepEqual(
        quantiles(input, qs),
        qs.map((q) => quantile(sorted, q)),
      );
    }
  });
});

describe('psi', () => {
  it('matches the NumPy reference on a small case, including values equal to an edge', () => {
    const ref = buildFeatureReference(REF);
    assert.deepEqual(ref.edges, NUMPY_EDGES); // bit-for-bit
    ref.shares.forEach((s, i) => close(s, NUMPY_REF_SHARES[i]!));
    // 3.3 equals edge 4 and 4.4 equals edge 5: searchsorted side='right' puts them in the bin above.
    binShares(ref.edges, CUR).forEach((s, i) => close(s, NUMPY_CUR_SHARES[i]!));
    close(psi(ref, CUR), NUMPY_PSI);
    assert.equal(ref.min, 0.1);
    assert.equal(ref.max, 9.3);
    assert.equal(ref.count, 15);
  });

  it('matches the NumPy reference with heavily tied values', () => {
    const ref = buildFeatureReference(REF_TIES);
    assert.deepEqual(ref.edges, NUMPY_EDGES_TIES);
    assert.deepEqual(ref.shares, [0, 0, 0, 0, 0, 0, 0.7, 0, 0.2, 0.1]);
    close(psi(ref, CUR_TIES), NUMPY_PSI_TIES);
  });

  it('floors empty bins at 0.0001 instead of dividing by zero', () => {
    const ref = buildFeatureReference(REF);
    const value = psi(ref, [100, 200, 300]); // all in the last bin
    assert.ok(Number.isFinite(value) && value > 1, String(value));
    assert.equal(PSI_SHARE_FLOOR, 1e-4);
  });

  it('is ~0 for identical distributions and large for a shifted one', () => {
    const rng = createRng(42);
    const ref = Float64Array.from({ length: 20_000 }, () => rng.normal());
    const same = Float64Array.from({ length: 20_000 }, () => rng.normal());
    const shifted = Float64Array.from({ length: 20_000 }, () => rng.normal() + 1);
    const r = buildFeatureReference(ref);
    assert.equal(psi(r, ref), 0);
    assert.ok(psi(r, same) < 0.01, `same distribution: ${psi(r, same)}`);
    assert.ok(psi(r, shifted) > 0.5, `shifted by one sd: ${psi(r, shifted)}`);
    close(r.mean, 0, 0.03);
    close(r.std, 1, 0.03);
  });

  it('ignores non-finite values and rejects empty input', () => {
    const ref = buildFeatureReference([...REF, Number.NaN, Number.POSITIVE_INFINITY]);
    assert.deepEqual(ref.edges, NUMPY_EDGES);
    close(psi(ref, [...CUR, Number.NaN]), NUMPY_PSI);
    assert.throws(() => buildFeatureReference([]), /no finite values/);
    assert.throws(() => psi(ref, [Number.NaN]), /no finite values/);
  });

  it('builds a profile per feature and PSI per feature', () => {
    const rows = REF.map((v, i) => ({ a: v, b: REF_TIES[i % REF_TIES.length]! }));
    const profile = buildReferenceProfile(rows, ['a', 'b']);
    assert.equal(profile.rows, REF.length);
    assert.deepEqual(profile.features.a!.edges, NUMPY_EDGES);
    const cur = CUR.map((v) => ({ a: v, c: 1 }));
    const byFeature = psiByFeature(profile, cur);
    close(byFeature.a!, NUMPY_PSI);
    assert.ok(Number.isNaN(byFeature.b), 'a feature absent from the current rows is NaN');
  });

  it('is fast on a million values', () => {
    const rng = createRng(7);
    const n = 1_000_000;
    const ref = Float64Array.from({ length: n }, () => rng.normal());
    const cur = Float64Array.from({ length: n }, () => rng.normal() + 0.1);
    const t0 = performance.now();
    const r = buildFeatureReference(ref);
    const value = psi(r, cur);
    const elapsed = performance.now() - t0;
    assert.ok(value > 0.005 && value < 0.05, String(value));
    // Generous bound: it is ~100 ms; this only catches an accidental O(n²) or per-value allocation.
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });
});
