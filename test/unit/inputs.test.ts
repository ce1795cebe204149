import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvidencePairs } from '../../domain/incident.js';
import { assessLabels } from '../../domain/labelQuality.js';

/** n labels with the given number of positives. */
const labels = (n: number, positives: number) => Array.from({ length: n }, (_, i) => (i < positives ? 1 : 0));

describe('assessLabels', () => {
  it('enough rows of both classes: ok, with a summary', () => {
    const q = assessLabels(labels(250, 50), { minRows: 200 });
    assert.equal(q.ok, true);
    assert.equal(q.rows, 250);
    assert.equal(q.positiveRate, 0.2);
    assert.deepEqual(q.reasons, ['250 rows, positive rate 0.200']);
  });

  it('too few rows', () => {
    const q = assessLabels(labels(199, 40), { minRows: 200 });
    assert.equal(q.ok, false);
    assert.deepEqual(q.reasons, ['only 199 labelled rows (need 200)']);
    assert.equal(assessLabels(labels(200, 40), { minRows: 200 }).ok, true);
  });

  it('no rows at all: too few, positive rate 0, no single-class complaint', () => {
    const q = assessLabels([], { minRows: 1 });
    assert.equal(q.ok, false);
    assert.equal(q.positiveRate, 0);
    assert.deepEqual(q.reasons, ['only 0 labelled rows (need 1)']);
  });

  it('a single class: all 0 or all 1', () => {
    const zeros = assessLabels(labels(300, 0), { minRows: 10 });
    assert.equal(zeros.ok, false);
    assert.deepEqual(zeros.reasons, ['all labels are 0']);
    const ones = assessLabels(labels(300, 300), { minRows: 10 });
    assert.equal(ones.ok, false);
    assert.equal(ones.positiveRate, 1);
    assert.deepEqual(ones.reasons, ['all labels are 1']);
  });

  it('a positive rate far from the baseline (default tolerance 0.3)', () => {
    const q = assessLabels(labels(100, 65), { minRows: 10, baselinePositiveRate: 0.2 });
    assert.equal(q.ok, false);
    assert.deepEqual(q.reasons, ['positive rate 0.650 is 0.450 away from the training baseline 0.200']);
  });

  it('the shift is absolute: a drop counts as much as a rise', () => {
    const q = assessLabels(labels(100, 5), { minRows: 10, baselinePositiveRate: 0.6 });
    assert.equal(q.ok, false);
    assert.match(q.reasons[0]!, /positive rate 0\.050 is 0\.550 away from the training baseline 0\.600/);
  });

  it('a shift within the tolerance is fine, and the tolerance is configurable', () => {
    assert.equal(assessLabels(labels(100, 45), { minRows: 10, baselinePositiveRate: 0.2 }).ok, true); // 0.25 ≤ 0.3
    const strict = assessLabels(labels(100, 45), { minRows: 10, baselinePositiveRate: 0.2, maxRateShift: 0.1 });
    assert.equal(strict.ok, false);
    assert.match(strict.reasons[0]!, /0\.250 away/);
  });

  it('without a baseline there is no shift check', () => {
    assert.equal(assessLabels(labels(100, 90), { minRows: 10 }).ok, true);
  });

  it('reports every problem at once', () => {
    const q = assessLabels(labels(20, 20), { minRows: 50, baselinePositiveRate: 0.1 });
    assert.equal(q.ok, false);
    assert.deepEqual(q.reasons, ['only 20 labelled rows (need 50)', 'all labels are 1', 'positive rate 1.000 is 0.900 away from the training baseline 0.100']);
  });
});

describe('parseEvidencePairs', () => {
  it('types numbers, booleans and strings', () => {
    assert.deepEqual(
      parseEvidencePairs([
        'psi_max=0.31',
        'rows=1200',
        'neg=-2.5',
        'sci=1e-3',
        'recent_deploy=true',
        'stable=false',
        'drifted_features=income,age',
        'model.version=v4',
      ]),
      {
        psi_max: 0.31,
        rows: 1200,
        neg: -2.5,
        sci: 0.001,
        recent_deploy: true,
        stable: false,
        drifted_features: 'income,age',
        'model.version': 'v4',
      },
    );
  });

  it('keeps values that only look like numbers or booleans as strings', () => {
    const v = parseEvidencePairs(['a=True', 'b=Infinity', 'c=NaN', 'd=12abc']);
    assert.deepEqual(v, { a: 'True', b: 'Infinity', c: 'NaN', d: '12abc' });
  });

  it('splits at the first =, so values may contain =', () => {
    assert.deepEqual(parseEvidencePairs(['query=a=b']), { query: 'a=b' });
  });

  it('trims the key and the value', () => {
    assert.deepEqual(parseEvidencePairs([' psi_max = 0.4 ']), { psi_max: 0.4 });
  });

  it('a later pair overrides an earlier one with the same key', () => {
    assert.deepEqual(parseEvidencePairs(['x=1', 'x=2']), { x: 2 });
  });

  it('only plain decimal numbers are typed as numbers (hex, octal-looking and blank are not)', () => {
    assert.deepEqual(parseEvidencePairs(['a=0x10', 'b=-1.5e3', 'c=.5']), { a: '0x10', b: -1500, c: 0.5 });
  });

  it('a value that is blank after trimming is refused naming the key', () => {
    assert.throws(() => parseEvidencePairs(['a= ']), /--evidence "a= ": the value of "a" is empty/);
  });

  it('no pairs: no values', () => {
    assert.deepEqual(parseEvidencePairs([]), {});
  });

  for (const bad of ['foo', '=1', 'a=']) {
    it(`"${bad}" is refused naming the item`, () => {
      assert.throws(
        () => parseEvidencePairs(['ok=1', bad]),
        (err: unknown) => err instanceof Error && err.message === `--evidence "${bad}": expected key=value with a non-empty key and value`,
      );
    });
  }

  it('"1bad=2" is refused naming the item and its key', () => {
    assert.throws(
      () => parseEvidencePairs(['1bad=2']),
      (err: unknown) => err instanceof Error && err.message === '--evidence "1bad=2": key "1bad" must start with a letter and use letters, digits, _ . -',
    );
  });

  it('keys with other characters are refused', () => {
    assert.throws(() => parseEvidencePairs(['a b=1']), /--evidence "a b=1": key "a b"/);
    assert.throws(() => parseEvidencePairs(['a/b=1']), /--evidence "a\/b=1": key "a\/b"/);
  });
});
