/**
 * Drift statistics against SciPy/NumPy reference values. The reference file is produced once by
 * test/fixtures/drift/make_reference.py (seeded NumPy generator, real SciPy); no Python at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ks2samp, kstwoSf } from '../../domain/drift/ks.js';
import { wassersteinDistance, normedWasserstein } from '../../domain/drift/wasserstein.js';
import { jensenShannonDistance, categoryFrequencies } from '../../domain/drift/jensenShannon.js';
import { chiSquareDrift } from '../../domain/drift/chiSquare.js';
import { proportionZDrift } from '../../domain/drift/proportionZ.js';
import { chi2Sf } from '../../domain/drift/special.js';

interface KsCase {
  name: string;
  a: number[];
  b: number[];
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
  wasserstein: number;
  normedWasserstein: number;
}
interface Reference {
  ks: KsCase[];
  kstwo: { x: number; n: number; sf: number }[];
  jensenShannon: { p: number[]; q: number[]; base: number | null; distance: number }[];
  categorical: {
    reference: string[];
    current: string[];
    categories: string[];
    referenceFreq: number[];
    currentFreq: number[];
    jensenShannon: number;
    chiSquare: { statistic: number; pValue: number };
  }[];
  proportionZ: { reference: string[]; current: string[]; statistic: number; pValue: number; pValueEvidently: number }[];
  chi2Sf: { x: number; dof: number; sf: number }[];
}

const ref = JSON.parse(readFileSync(new URL('../fixtures/drift/reference.json', import.meta.url), 'utf8')) as Reference;

function close(actual: number, expected: number, rel: number, what: string, abs = 0): void {
  const tol = Math.max(rel * Math.abs(expected), abs);
  assert.ok(
    Math.abs(actual - expected) <= tol || actual === expected,
    `${what}: got ${actual}, SciPy ${expected} (|diff| ${Math.abs(actual - expected)} > ${tol})`,
  );
}

for (const c of ref.ks) {
  test(`ks2samp matches scipy.stats.ks_2samp: ${c.name}`, () => {
    const r = ks2samp(Float64Array.from(c.a), c.b);
    close(r.statistic, c.statistic, 0, 'statistic', 1e-12);
    close(r.pValue, c.pValue, 0, 'p-value', 1e-6);
    assert.equal(r.method, c.method);
  });
  test(`wasserstein matches scipy.stats.wasserstein_distance: ${c.name}`, () => {
    close(wassersteinDistance(c.a, c.b), c.wasserstein, 1e-9, 'wasserstein');
    close(normedWasserstein(c.a, c.b), c.normedWasserstein, 1e-9, 'normed wasserstein');
  });
}

test('kstwoSf matches scipy.stats.kstwo.sf across its regimes', () => {
  for (const c of ref.kstwo) close(kstwoSf(c.x, c.n), c.sf, 0, `kstwo.sf(${c.x}, ${c.n})`, 1e-9);
});

test('ks2samp is symmetric and handles identical samples', () => {
  const a = [1, 2, 3, 4, 5, 6];
  const b = [2.5, 3.5, 9, 10];
  assert.deepEqual(ks2samp(a, b), ks2samp(b, a));
  const same = ks2samp(a, a);
  assert.equal(same.statistic, 0);
  assert.equal(same.pValue, 1);
  assert.throws(() => ks2samp([], a), RangeError);
});

test('jensenShannonDistance matches scipy.spatial.distance.jensenshannon', () => {
  for (const c of ref.jensenShannon) {
    close(jensenShannonDistance(c.p, c.q, c.base ?? undefined), c.distance, 1e-9, `js base=${c.base}`);
  }
});

test('categorical: frequencies, Jensen-Shannon and chi-square match SciPy', () => {
  for (const c of ref.categorical) {
    const f = categoryFrequencies(c.reference, c.current);
    assert.deepEqual(f.categories, c.categories);
    f.reference.forEach((v, i) => close(v, c.referenceFreq[i]!, 1e-12, 'reference share'));
    f.current.forEach((v, i) => close(v, c.currentFreq[i]!, 1e-12, 'current share'));
    close(jensenShannonDistance(f.reference, f.current), c.jensenShannon, 1e-9, 'categorical js');
    const chi = chiSquareDrift(c.reference, c.current);
    close(chi.statistic, c.chiSquare.statistic, 1e-9, 'chi-square statistic');
    close(chi.pValue, c.chiSquare.pValue, 1e-9, 'chi-square p-value');
  }
});

test('chi2Sf matches scipy.stats.chi2.sf', () => {
  for (const c of ref.chi2Sf) close(chi2Sf(c.x, c.dof), c.sf, 1e-9, `chi2.sf(${c.x}, ${c.dof})`, 1e-300);
});

test('proportion Z-test matches the Evidently formula with SciPy', () => {
  for (const c of ref.proportionZ) {
    const r = proportionZDrift(c.reference, c.current);
    close(r.statistic, c.statistic, 1e-9, 'z statistic');
    close(r.pValue, c.pValue, 1e-9, 'z p-value');
    close(r.pValue, c.pValueEvidently, 0, 'z p-value vs 2(1-cdf)', 1e-15);
  }
  assert.deepEqual(proportionZDrift(['a', 'a'], ['a']), { statistic: 0, pValue: 1 });
});
