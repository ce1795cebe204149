import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { radixSortFloat64 } from '../../domain/drift/radixSort.js';
import { createRng } from '../../examples/credit-risk/dataset.js';

describe('radixSortFloat64', () => {
  it('orders like the built-in numeric sort: negatives, zeros, subnormals, extremes and ties', () => {
    const rng = createRng(3);
    const a = Float64Array.from({ length: 50_000 }, (_, i) =>
      i % 11 === 0 ? Math.round(rng.normal() * 10) : i % 7 === 0 ? rng.normal() * 1e-300 : rng.normal() * 1e6,
    );
    a.set([-0, 0, -Number.MAX_VALUE, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE], 0);
    const expected = a.slice().sort();
    const sorted = radixSortFloat64(a);
    assert.equal(sorted, a, 'sorts in place');
    for (let i = 0; i < a.length; i++) assert.ok(a[i] === expected[i], `index ${i}: ${a[i]} vs ${expected[i]}`);
  });

  it('handles data whose low bits are all equal (skipped passes) and small arrays', () => {
    const a = Float64Array.from({ length: 5000 }, (_, i) => (i * 7919) % 1000);
    const expected = a.slice().sort();
    assert.deepEqual(Array.from(radixSortFloat64(a)), Array.from(expected));
    assert.deepEqual(Array.from(radixSortFloat64(Float64Array.from([3, -1, 2]))), [-1, 2, 3]);
  });
});
