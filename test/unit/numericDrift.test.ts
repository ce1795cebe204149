import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ks2samp } from '../../domain/drift/ks.js';
import { numericDrift } from '../../domain/drift/numericDrift.js';
import { buildFeatureReference, psi } from '../../domain/drift/psi.js';
import { createRng } from '../../examples/credit-risk/dataset.js';

describe('numericDrift (sort once)', () => {
  const rng = createRng(11);
  const cases: [string, Float64Array, Float64Array][] = [
    ['continuous, shifted', Float64Array.from({ length: 20_000 }, () => rng.normal()), Float64Array.from({ length: 15_000 }, () => rng.normal() + 0.2)],
    [
      'heavy ties and duplicate decile edges',
      Float64Array.from({ length: 5000 }, () => (rng.next() < 0.6 ? 0 : Math.round(rng.normal() * 3))),
      Float64Array.from({ length: 4000 }, () => (rng.next() < 0.3 ? 0 : Math.round(rng.normal() * 3))),
    ],
    ['small exact-KS samples with NaN', Float64Array.from([1, 2, 2, 3, NaN, 5, 8, 13, 21, 34]), Float64Array.from([2, 3, 5, 7, 11, 13, 17])],
  ];
  for (const [name, ref, cur] of cases) {
    it(`matches ks2samp and psi(buildFeatureReference(...)): ${name}`, () => {
      const d = numericDrift(ref, cur);
      const ks = ks2samp(ref, cur);
      assert.equal(d.ks.statistic, ks.statistic);
      assert.equal(d.ks.pValue, ks.pValue);
      assert.equal(d.ks.method, ks.method);
      const expected = psi(buildFeatureReference(ref), cur);
      assert.ok(Math.abs(d.psi - expected) <= 1e-12, `psi ${d.psi} vs ${expected}`);
    });
  }
});
