import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidateGates, inSlice, type GateResult, type HoldoutScores } from '../../domain/candidateGates.js';
import type { LabelledRow } from '../../domain/metrics.js';
import { ProtectedSlice } from '../../domain/runbook.js';

/** Ten rows, five negatives then five positives. */
const HOLDOUT: LabelledRow[] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1].map((label, i) => ({ features: { x: i }, label: label as 0 | 1 }));

const scored = (values: number[], threshold = 0.5): HoldoutScores => ({ scores: Float64Array.from(values), threshold });
/** Negatives at `neg`, positives at `pos`: AUC 1 when neg < pos, calibration error 0.5·neg + 0.5·(1 − pos). */
const split = (neg: number, pos: number): HoldoutScores => scored(HOLDOUT.map((r) => (r.label ? pos : neg)));

const gate = (gates: GateResult[], name: string): GateResult => {
  const g = gates.find((x) => x.name === name);
  assert.ok(g, `no gate ${name} in ${gates.map((x) => x.name).join(', ')}`);
  return g;
};
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

describe('candidateGates: AUC and calibration against the champion', () => {
  it('a candidate better than the champion passes both gates', () => {
    // Champion: one positive (0.35) ranked below one negative (0.4) → AUC 24/25; candidate separates perfectly.
    const champion = scored([0.1, 0.2, 0.2, 0.3, 0.4, 0.35, 0.7, 0.8, 0.8, 0.9]);
    const candidate = split(0.05, 0.95);
    const r = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0 });
    assert.deepEqual(
      r.gates.map((g) => g.name),
      ['auc', 'calibration_error'],
    );
    const auc = gate(r.gates, 'auc');
    close(auc.candidate, 1, 'candidate AUC');
    close(auc.champion, 0.96, 'champion AUC');
    assert.equal(auc.passed, true);
    assert.equal(auc.rule, 'candidate ≥ champion − 0');
    const cal = gate(r.gates, 'calibration_error');
    assert.ok(cal.candidate < cal.champion, `candidate calibration ${cal.candidate} should beat ${cal.champion}`);
    assert.equal(cal.passed, true);
    assert.equal(r.passed, true);
  });

  it('an AUC below the champion beyond maxAucDrop fails the auc gate; within the margin it passes', () => {
    const champion = split(0.05, 0.95); // AUC 1
    const candidate = scored([0.05, 0.05, 0.05, 0.05, 0.6, 0.55, 0.95, 0.95, 0.95, 0.95]); // one swapped pair: AUC 0.96
    const strict = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0.03, maxCalibrationIncrease: 1 });
    const a = gate(strict.gates, 'auc');
    close(a.candidate, 0.96, 'candidate AUC');
    close(a.champion, 1, 'champion AUC');
    assert.equal(a.passed, false);
    assert.equal(a.rule, 'candidate ≥ champion − 0.03');
    assert.equal(strict.passed, false, 'a failed gate fails the candidate');

    const lenient = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0.05, maxCalibrationIncrease: 1 });
    assert.equal(gate(lenient.gates, 'auc').passed, true);
    assert.equal(gate(lenient.gates, 'auc').rule, 'candidate ≥ champion − 0.05');
    assert.equal(lenient.passed, true);
  });

  it('an equal AUC passes with maxAucDrop 0', () => {
    const r = candidateGates(HOLDOUT, split(0.2, 0.8), split(0.05, 0.95), { maxAucDrop: 0, maxCalibrationIncrease: 1 });
    assert.equal(gate(r.gates, 'auc').passed, true);
  });

  it('calibration error higher than the champion beyond maxCalibrationIncrease fails; within it passes', () => {
    const champion = split(0.05, 0.95); // ECE 0.05
    const candidate = split(0.15, 0.85); // ECE 0.15, AUC still 1
    const fail = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.05 });
    const c = gate(fail.gates, 'calibration_error');
    close(c.candidate, 0.15, 'candidate ECE');
    close(c.champion, 0.05, 'champion ECE');
    assert.equal(c.passed, false);
    assert.equal(c.rule, 'candidate ≤ champion + 0.05');
    assert.equal(gate(fail.gates, 'auc').passed, true);
    assert.equal(fail.passed, false);

    const pass = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.15 });
    assert.equal(gate(pass.gates, 'calibration_error').passed, true);
    assert.equal(pass.passed, true);
  });

  it('a holdout smaller than minCalibrationRows shows calibration error but does not judge it', () => {
    const champion = split(0.05, 0.95); // ECE 0.05
    const candidate = split(0.15, 0.85); // ECE 0.15
    const small = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.05, minCalibrationRows: 11 });
    const c = gate(small.gates, 'calibration_error');
    close(c.candidate, 0.15, 'still measured');
    assert.deepEqual([c.passed, c.judged, c.rule], [true, false, 'only 10 holdout rows (need 11): not judged']);
    assert.equal(small.passed, true);
    const enough = candidateGates(HOLDOUT, candidate, champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.05, minCalibrationRows: 10 });
    assert.equal(gate(enough.gates, 'calibration_error').passed, false);
  });

  it('without maxCalibrationIncrease the old fixed margin 0.02 applies', () => {
    const champion = split(0.05, 0.95); // ECE 0.05
    const slightlyWorse = candidateGates(HOLDOUT, split(0.06, 0.94), champion, { maxAucDrop: 0 }); // ECE 0.06
    assert.equal(gate(slightlyWorse.gates, 'calibration_error').rule, 'candidate ≤ champion + 0.02');
    assert.equal(gate(slightlyWorse.gates, 'calibration_error').passed, true);
    const worse = candidateGates(HOLDOUT, split(0.1, 0.9), champion, { maxAucDrop: 0 }); // ECE 0.1
    assert.equal(gate(worse.gates, 'calibration_error').passed, false);
    assert.equal(worse.passed, false);
  });
});

describe('candidateGates: no champion', () => {
  const slices = [ProtectedSlice.parse({ name: 'low-x', feature: 'x', max: 4 })];

  it('compares AUC with 0 and calibration with 1, and does not judge slices', () => {
    // A poor candidate (inverted ranking, badly calibrated) still passes when there is nothing to beat.
    const r = candidateGates(HOLDOUT, split(0.9, 0.1), undefined, { maxAucDrop: 0, protectedSlices: slices });
    const auc = gate(r.gates, 'auc');
    assert.equal(auc.champion, 0);
    close(auc.candidate, 0, 'inverted AUC');
    assert.equal(auc.passed, true);
    const cal = gate(r.gates, 'calibration_error');
    assert.equal(cal.champion, 1);
    close(cal.candidate, 0.9, 'candidate ECE');
    assert.equal(cal.passed, true);
    const s = gate(r.gates, 'slice:low-x');
    assert.equal(s.rule, 'no champion to compare with');
    assert.equal(s.judged, false);
    assert.equal(s.passed, true);
    assert.ok(Number.isNaN(s.champion), 'no champion accuracy');
    close(s.candidate, 0, 'candidate accuracy on the slice (all negatives scored 0.9)');
    assert.equal(r.passed, true);
  });

  it('a NaN AUC (the holdout holds one class only) fails the auc gate, with or without a champion', () => {
    const negatives: LabelledRow[] = Array.from({ length: 6 }, (_, i) => ({ features: { x: i }, label: 0 }));
    const cand = scored([0.1, 0.2, 0.3, 0.1, 0.2, 0.3]);
    const alone = candidateGates(negatives, cand, undefined, { maxAucDrop: 1 });
    assert.ok(Number.isNaN(gate(alone.gates, 'auc').candidate), 'AUC is NaN');
    assert.equal(gate(alone.gates, 'auc').passed, false);
    assert.equal(alone.passed, false);
    const vsChampion = candidateGates(negatives, cand, scored([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]), { maxAucDrop: 1 });
    assert.equal(gate(vsChampion.gates, 'auc').passed, false);
    assert.equal(vsChampion.passed, false);
  });

  it('constant scores give AUC 0.5 (not NaN): judged like any other AUC', () => {
    const r = candidateGates(HOLDOUT, scored(HOLDOUT.map(() => 0.5)), split(0.05, 0.95), { maxAucDrop: 0.4, maxCalibrationIncrease: 1 });
    close(gate(r.gates, 'auc').candidate, 0.5, 'AUC of constant scores');
    assert.equal(gate(r.gates, 'auc').passed, false);
  });
});

describe('candidateGates: protected slices', () => {
  // 20 young applicants (age 20..29 twice) and 20 older ones (age 50..69), labels alternating.
  const ROWS: LabelledRow[] = Array.from({ length: 40 }, (_, i) => ({
    features: { age: i < 20 ? 20 + (i % 10) : 30 + i, region: i % 4 },
    label: (i % 2) as 0 | 1,
  }));
  const champion = scored(ROWS.map((r) => (r.label ? 0.95 : 0.05)));
  /** Like the champion, but `wrong` young positives scored 0.45: below the threshold, still above every negative (AUC stays 1). */
  const youngMisses = (wrong: number): HoldoutScores => {
    let left = wrong;
    return scored(ROWS.map((r) => (r.label && r.features.age! < 30 && left-- > 0 ? 0.45 : r.label ? 0.95 : 0.05)));
  };
  const young = (extra: Partial<ProtectedSlice> = {}) => ProtectedSlice.parse({ name: 'young', feature: 'age', min: 18, max: 29, minRows: 10, ...extra });

  it('an accuracy drop on the slice beyond maxSliceDrop fails, and the rule names the row count', () => {
    const r = candidateGates(ROWS, youngMisses(2), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, maxSliceDrop: 0.05, protectedSlices: [young()] });
    assert.equal(gate(r.gates, 'auc').passed, true, 'ranking unchanged');
    assert.equal(gate(r.gates, 'calibration_error').passed, true);
    const s = gate(r.gates, 'slice:young');
    close(s.candidate, 18 / 20, 'candidate accuracy on the slice');
    close(s.champion, 1, 'champion accuracy on the slice');
    assert.equal(s.rule, 'accuracy ≥ champion − 0.05 on 20 rows');
    assert.equal(s.passed, false);
    assert.equal(s.judged, undefined, 'a judged gate carries no judged: false');
    assert.equal(r.passed, false, 'one failed slice fails the candidate');
  });

  it('a drop within maxSliceDrop passes', () => {
    const r = candidateGates(ROWS, youngMisses(2), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, maxSliceDrop: 0.15, protectedSlices: [young()] });
    assert.equal(gate(r.gates, 'slice:young').rule, 'accuracy ≥ champion − 0.15 on 20 rows');
    assert.equal(gate(r.gates, 'slice:young').passed, true);
    assert.equal(r.passed, true);
  });

  it('maxSliceDrop defaults to 0.05', () => {
    const one = candidateGates(ROWS, youngMisses(1), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, protectedSlices: [young()] });
    assert.equal(gate(one.gates, 'slice:young').rule, 'accuracy ≥ champion − 0.05 on 20 rows');
    assert.equal(gate(one.gates, 'slice:young').passed, true, '1 of 20 wrong: drop 0.05, at the margin');
    const two = candidateGates(ROWS, youngMisses(2), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, protectedSlices: [young()] });
    assert.equal(gate(two.gates, 'slice:young').passed, false, '2 of 20 wrong: drop 0.1');
  });

  it('the drop is measured on the slice only: other slices are unaffected', () => {
    const old = ProtectedSlice.parse({ name: 'old', feature: 'age', min: 50, minRows: 10 });
    const r = candidateGates(ROWS, youngMisses(2), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, protectedSlices: [old, young()] });
    assert.deepEqual(
      r.gates.map((g) => g.name),
      ['auc', 'calibration_error', 'slice:old', 'slice:young'],
    );
    const o = gate(r.gates, 'slice:old');
    assert.equal(o.rule, 'accuracy ≥ champion − 0.05 on 20 rows');
    close(o.candidate, 1, 'candidate accuracy on old');
    assert.equal(o.passed, true);
    assert.equal(gate(r.gates, 'slice:young').passed, false);
  });

  it('an `equals` slice selects rows by value', () => {
    // region === 1 holds rows 1, 5, 9, …, 37: 10 rows. Three misses hit rows 1, 3 and 5; rows 1 and 5 are in region 1.
    const region = ProtectedSlice.parse({ name: 'region-1', feature: 'region', equals: 1, minRows: 5 });
    const r = candidateGates(ROWS, youngMisses(3), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, protectedSlices: [region] });
    const s = gate(r.gates, 'slice:region-1');
    assert.equal(s.rule, 'accuracy ≥ champion − 0.05 on 10 rows');
    close(s.candidate, 8 / 10, 'two of the missed young positives are in region 1');
    assert.equal(s.passed, false);
    const region3 = ProtectedSlice.parse({ name: 'region-3', feature: 'region', equals: '3', minRows: 5 });
    const r3 = candidateGates(ROWS, youngMisses(3), champion, { maxAucDrop: 0, maxCalibrationIncrease: 0.1, maxSliceDrop: 0.1, protectedSlices: [region3] });
    close(gate(r3.gates, 'slice:region-3').candidate, 9 / 10, 'a string `equals` matches the numeric feature; one miss (row 3)');
    assert.equal(gate(r3.gates, 'slice:region-3').passed, true, 'drop 0.1 within maxSliceDrop 0.1');
  });

  it('a slice with fewer rows than minRows is reported, not judged, and passes', () => {
    const r = candidateGates(ROWS, youngMisses(10), champion, { maxAucDrop: 0, maxCalibrationIncrease: 1, protectedSlices: [young({ minRows: 30 })] });
    const s = gate(r.gates, 'slice:young');
    assert.equal(s.rule, 'only 20 holdout rows in the slice (need 30): not judged');
    assert.equal(s.judged, false);
    assert.equal(s.passed, true);
    close(s.candidate, 0.5, 'candidate accuracy is still reported');
    close(s.champion, 1, 'champion accuracy is still reported');
    assert.equal(r.passed, true);
  });

  it('the default minRows (30) applies when the slice does not set it', () => {
    const slice = ProtectedSlice.parse({ name: 'young', feature: 'age', max: 29 });
    assert.equal(slice.minRows, 30);
    const r = candidateGates(ROWS, youngMisses(10), champion, { maxAucDrop: 0, maxCalibrationIncrease: 1, protectedSlices: [slice] });
    assert.match(gate(r.gates, 'slice:young').rule, /^only 20 holdout rows in the slice \(need 30\)/);
  });

  it('an empty slice reports NaN accuracies and passes unjudged', () => {
    const none = ProtectedSlice.parse({ name: 'senior', feature: 'age', min: 100, minRows: 1 });
    const r = candidateGates(ROWS, champion, champion, { maxAucDrop: 0, protectedSlices: [none] });
    const s = gate(r.gates, 'slice:senior');
    assert.equal(s.rule, 'only 0 holdout rows in the slice (need 1): not judged');
    assert.ok(Number.isNaN(s.candidate) && Number.isNaN(s.champion), 'NaN accuracies');
    assert.equal(s.passed, true);
    assert.equal(s.judged, false);
  });
});

describe('inSlice', () => {
  const range = ProtectedSlice.parse({ name: 'r', feature: 'age', min: 18, max: 25 });

  it('numeric ranges are inclusive on both ends; open ends are unbounded', () => {
    assert.equal(inSlice(range, 18), true);
    assert.equal(inSlice(range, 25), true);
    assert.equal(inSlice(range, 21.5), true);
    assert.equal(inSlice(range, 17.999), false);
    assert.equal(inSlice(range, 25.001), false);
    assert.equal(inSlice(ProtectedSlice.parse({ name: 'r', feature: 'age', min: 65 }), 1e9), true);
    assert.equal(inSlice(ProtectedSlice.parse({ name: 'r', feature: 'age', max: 0 }), -1e9), true);
  });

  it('a range slice never contains non-numeric or non-finite values', () => {
    for (const v of [undefined, null, '20', true, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, { age: 20 }]) {
      assert.equal(inSlice(ProtectedSlice.parse({ name: 'r', feature: 'age', min: -1e12, max: 1e12 }), v), false, `value ${String(v)}`);
    }
    assert.equal(inSlice(ProtectedSlice.parse({ name: 'r', feature: 'age', min: 0 }), Number.POSITIVE_INFINITY), false);
  });

  it('equals matches the value or its string form', () => {
    const code = ProtectedSlice.parse({ name: 'e', feature: 'region', equals: 1 });
    assert.equal(inSlice(code, 1), true);
    assert.equal(inSlice(code, '1'), true);
    assert.equal(inSlice(code, 2), false);
    assert.equal(inSlice(code, undefined), false);
    const named = ProtectedSlice.parse({ name: 'e', feature: 'region', equals: 'north' });
    assert.equal(inSlice(named, 'north'), true);
    assert.equal(inSlice(named, 'North'), false);
    assert.equal(inSlice(named, 'south'), false);
    assert.equal(inSlice(named, Number.NaN), false);
  });

  it('equals takes precedence over min/max', () => {
    const both = ProtectedSlice.parse({ name: 'b', feature: 'x', equals: 5, min: 0, max: 3 });
    assert.equal(inSlice(both, 5), true);
    assert.equal(inSlice(both, 2), false);
  });
});
