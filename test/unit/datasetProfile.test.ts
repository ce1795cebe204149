import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profileFromTags, profileTags } from '../../adapters/registry/mlflowRegistry.js';
import { computeDatasetProfile, MAX_PROFILE_CATEGORIES, ProfileError, profileColumn, psiReference } from '../../domain/datasetProfile.js';
import { buildFeatureReference } from '../../domain/drift/psi.js';
import { assessLabelEcho } from '../../domain/labelQuality.js';
import { comparePerformance, MetricsError, taskMetrics } from '../../domain/taskMetrics.js';
import { TaskConfig } from '../../domain/task.js';

describe('dataset profile', () => {
  it('profiles a numeric column as the PSI reference does, with its missing share', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, '', null, '11', 12];
    const p = profileColumn(values, 'numeric', 'x');
    assert.equal(p.type, 'numeric');
    if (p.type !== 'numeric') return;
    const expected = buildFeatureReference(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    assert.deepEqual(p.edges, expected.edges);
    assert.deepEqual(p.shares, expected.shares);
    assert.equal(p.count, 12);
    assert.ok(Math.abs(p.missingShare - 2 / 14) < 1e-12);
  });

  it('refuses a non-number in a numeric column, naming the column and row', () => {
    assert.throws(
      () => profileColumn([1, 'abc', 3], 'numeric', 'amount'),
      (e: Error) => e instanceof ProfileError && /amount: "abc" \(row 2\) is not a number/.test(e.message),
    );
  });

  it('profiles a categorical column: shares of the top categories, the rest as "other"', () => {
    const values = [...Array.from({ length: 60 }, (_, i) => `c${i}`), 'c0', 'c0', '', null];
    const p = profileColumn(values, 'categorical', 'cat');
    assert.equal(p.type, 'categorical');
    if (p.type !== 'categorical') return;
    assert.equal(Object.keys(p.shares).length, MAX_PROFILE_CATEGORIES);
    assert.equal(p.shares.c0, 3 / 62, 'the most frequent first');
    assert.equal(p.distinct, 60);
    assert.ok(Math.abs(Object.values(p.shares).reduce((a, b) => a + b, 0) + p.otherShare - 1) < 1e-12, 'shares and other add up to 1');
    assert.ok(Math.abs(p.missingShare - 2 / 64) < 1e-12);
  });

  it('profiles features, prediction and label; the PSI reference keeps the numeric features', () => {
    const profile = computeDatasetProfile({
      features: { age: { values: [20, 30, 40, 50], type: 'numeric' }, region: { values: ['n', 's', 'n', 'n'], type: 'categorical' } },
      prediction: { values: [0.1, 0.7, 0.4, 0.9], type: 'numeric' },
      label: { values: ['yes', 'no', 'no', 'yes'], type: 'categorical' },
    });
    assert.equal(profile.rows, 4);
    assert.deepEqual(Object.keys(psiReference(profile).features), ['age']);
    assert.equal(profile.label?.type === 'categorical' && profile.label.shares.yes, 0.5);
    assert.throws(() => computeDatasetProfile({ features: {} }), /no feature columns/);
  });

  it('survives the round trip through MLflow version tags, split in parts', () => {
    const big = computeDatasetProfile({
      features: Object.fromEntries(
        Array.from({ length: 30 }, (_, i) => [`f${i}`, { values: Array.from({ length: 100 }, (_, j) => Math.sin(i + j)), type: 'numeric' as const }]),
      ),
    });
    const tags = profileTags(big);
    assert.ok(tags.length > 2, 'split over several tags');
    assert.ok(
      tags.every((t) => t.value.length <= 4000),
      'each under MLflow’s tag limit',
    );
    const map = Object.fromEntries(tags.map((t) => [t.key, t.value]));
    assert.deepEqual(profileFromTags(map).profile, big);
    const { ['vigil.profile.1']: _dropped, ...incomplete } = map;
    assert.deepEqual(profileFromTags(incomplete), {}, 'an incomplete profile is no profile');
  });
});

describe('metrics by task type', () => {
  const binary = TaskConfig.parse({ type: 'binary', threshold: 0.5, positiveClass: 'fraud', negativeClass: 'legit' });
  it('binary: accuracy at the threshold, AUC, log loss, calibration from scores and named classes', () => {
    const m = taskMetrics(binary, [0.9, 0.8, 0.3, 0.2], ['fraud', 'legit', 'legit', 'legit']);
    assert.equal(m.accuracy, 0.75);
    assert.equal(m.auc, 1);
    assert.equal(typeof m.logLoss, 'number');
    assert.throws(
      () => taskMetrics(binary, [0.9], ['maybe']),
      (e: Error) => e instanceof MetricsError && /row 1: label "maybe"/.test(e.message),
    );
  });
  it('multiclass: accuracy and macro-F1', () => {
    const task = TaskConfig.parse({ type: 'multiclass', classes: ['a', 'b', 'c'] });
    const m = taskMetrics(task, ['a', 'b', 'b', 'c'], ['a', 'b', 'c', 'c']);
    assert.equal(m.accuracy, 0.75);
    // F1: a 1, b 2/3, c 2/3.
    assert.ok(Math.abs(m.macroF1! - (1 + 2 / 3 + 2 / 3) / 3) < 1e-12);
  });
  it('regression: MAE and RMSE', () => {
    const m = taskMetrics(TaskConfig.parse({ type: 'regression' }), [1, 2, 3], [2, 2, 5]);
    assert.equal(m.mae, 1);
    assert.ok(Math.abs(m.rmse! - Math.sqrt(5 / 3)) < 1e-12);
    assert.throws(() => taskMetrics(TaskConfig.parse({ type: 'regression' }), ['x'], [1]), /row 1: prediction "x" is not a finite number/);
  });
});

describe('performance against the holdout', () => {
  const thresholds = { accuracyDrop: 0.05, aucDrop: 0.05, macroF1Drop: 0.05, maeIncrease: 0.2, rmseIncrease: 0.2 };
  it('multiclass: accuracy and macro-F1 drops, each with its verdict and sentence', () => {
    const f = comparePerformance('multiclass', { accuracy: 0.6, macroF1: 0.66 }, { accuracy: 0.7, macroF1: 0.68 }, thresholds, 300);
    assert.deepEqual(
      f.map((x) => [x.metric, x.breached]),
      [
        ['accuracy', true],
        ['macroF1', false],
      ],
    );
    assert.match(f[0]!.reason, /accuracy 0\.600 is 0\.100 below the holdout's 0\.700 \(≥ 0\.05\) on 300 labelled predictions/);
  });
  it('regression: errors compared relative to the holdout', () => {
    const f = comparePerformance('regression', { mae: 2.3, rmse: 3.1 }, { mae: 2, rmse: 3 }, thresholds, 50);
    assert.deepEqual(
      f.map((x) => [x.metric, x.breached]),
      [
        ['mae', false],
        ['rmse', false],
      ],
    );
    assert.ok(Math.abs(f[0]!.worse - 0.15) < 1e-12);
    const worse = comparePerformance('regression', { mae: 3, rmse: 3.1 }, { mae: 2, rmse: 3 }, thresholds, 50);
    assert.equal(worse[0]!.breached, true);
    assert.match(worse[0]!.reason, /MAE 3 is 50\.0% above the holdout's 2 \(≥ 20%\)/);
  });
  it('leaves out metrics without a finite baseline or value', () => {
    assert.deepEqual(
      comparePerformance('binary', { accuracy: 0.8, auc: Number.NaN }, { accuracy: 0.8 }, thresholds, 10).map((x) => x.metric),
      ['accuracy'],
    );
  });
});

describe('label echo (multiclass and regression feedback)', () => {
  const t = { maxPositiveRateShift: 0.2, maxPredictionAgreement: 0.98 };
  it('flags labels that repeat the predictions, beyond what the holdout accuracy explains', () => {
    const echoes = Array.from({ length: 200 }, (_, i) => i !== 0);
    const c = assessLabelEcho({ echoes, baselineAccuracy: 0.7, minRows: 100, kind: 'class' }, t);
    assert.equal(c.anomalous, true);
    assert.match(c.reasons[0]!, /99\.5% of 200 labels are the same class as the model predicted/);
    assert.equal(assessLabelEcho({ echoes, baselineAccuracy: 0.97, minRows: 100, kind: 'class' }, t).anomalous, false, 'a model that good explains it');
    assert.equal(assessLabelEcho({ echoes: echoes.slice(0, 50), minRows: 100, kind: 'value' }, t).anomalous, false, 'too few rows');
  });
});
