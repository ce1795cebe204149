import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataQualityIssue, DataQualityReport } from '../../domain/dataQuality.js';
import type { SignalKind } from '../../domain/incident.js';
import type { ModelSignals } from '../../domain/modelSignals.js';
import { detectBreaches, MIN_MONITOR_SAMPLES } from '../../domain/monitorBreaches.js';

const CFG = { psiThreshold: 0.2, accuracyDropThreshold: 0.05, minLabelled: 100 };
const NO_HEALTH = { breaches: [] as { signal: SignalKind; message: string }[] };

const quality = (issues: DataQualityIssue[] = []): DataQualityReport => ({
  rows: 500,
  missingColumns: [],
  newColumns: [],
  typeChanges: [],
  columns: [],
  issues,
});

/** Healthy signals: 500 samples, no drift, accuracy at baseline, clean data and labels. */
function signals(over: Partial<ModelSignals> = {}): ModelSignals {
  return {
    modelId: 'credit-risk',
    championVersion: 3,
    servingMode: 'model',
    samples: 500,
    psi: { income: 0.05, age: 0.03 },
    psiMax: 0.05,
    driftedFeatures: [],
    dataQuality: quality(),
    feedback: { anomalous: false, rows: 300, reasons: [], values: {} },
    labelled: 300,
    accuracy: 0.8,
    baselineAccuracy: 0.8,
    accuracyDrop: 0,
    ...over,
  };
}

const DRIFTED: Partial<ModelSignals> = { psi: { income: 0.312, age: 0.25, tenure: 0.01 }, psiMax: 0.312, driftedFeatures: ['income', 'age'] };
const DROPPED: Partial<ModelSignals> = { accuracy: 0.71, baselineAccuracy: 0.8, accuracyDrop: 0.09 };
const LABELS_BAD: Partial<ModelSignals> = {
  feedback: { anomalous: true, rows: 300, reasons: ['labels agree with predictions 99.0% of the time', 'positive rate 0.600 vs baseline 0.210'], values: {} },
};
const HEALTH = {
  breaches: [
    { signal: 'latency' as const, message: 'p99 latency 850ms > 500ms' },
    { signal: 'error_rate' as const, message: 'error rate 4.0% > 1%' },
  ],
};

const signalsOf = (b: { signal: SignalKind }[]) => b.map((x) => x.signal);

describe('detectBreaches', () => {
  it('healthy signals breach nothing', () => {
    assert.deepEqual(detectBreaches(signals(), NO_HEALTH, CFG), []);
  });

  it('below MIN_MONITOR_SAMPLES the traffic checks say nothing, but health breaches still count', () => {
    assert.equal(MIN_MONITOR_SAMPLES, 50);
    const everythingWrong = signals({
      samples: MIN_MONITOR_SAMPLES - 1,
      ...DRIFTED,
      ...DROPPED,
      ...LABELS_BAD,
      dataQuality: quality([{ signal: 'schema_break', column: 'income', message: 'column "income" is missing from all 49 rows' }]),
    });
    assert.deepEqual(detectBreaches(everythingWrong, NO_HEALTH, CFG), []);
    assert.deepEqual(detectBreaches(everythingWrong, HEALTH, CFG), [
      { signal: 'latency', reason: 'p99 latency 850ms > 500ms' },
      { signal: 'error_rate', reason: 'error rate 4.0% > 1%' },
    ]);
    // At exactly the minimum the traffic checks run.
    assert.deepEqual(signalsOf(detectBreaches(signals({ samples: MIN_MONITOR_SAMPLES, ...DRIFTED }), NO_HEALTH, CFG)), ['data_drift']);
  });

  it('PSI at or over the threshold is data drift, naming the features and the figure', () => {
    const b = detectBreaches(signals(DRIFTED), NO_HEALTH, CFG);
    assert.deepEqual(b, [{ signal: 'data_drift', reason: 'max PSI 0.312 ≥ 0.2 on income, age (500 predictions)' }]);
    const atThreshold = detectBreaches(signals({ psiMax: 0.2, driftedFeatures: ['age'] }), NO_HEALTH, CFG);
    assert.deepEqual(signalsOf(atThreshold), ['data_drift']);
    assert.match(atThreshold[0]!.reason, /^max PSI 0\.200 ≥ 0\.2 on age \(500 predictions\)$/);
    assert.deepEqual(detectBreaches(signals({ psiMax: 0.199 }), NO_HEALTH, CFG), []);
  });

  it('drift takes precedence over an accuracy drop (one of the two, not both)', () => {
    assert.deepEqual(signalsOf(detectBreaches(signals({ ...DRIFTED, ...DROPPED }), NO_HEALTH, CFG)), ['data_drift']);
  });

  it('a data-quality issue masks drift and accuracy: only the primary quality signal, with its messages', () => {
    const dq = quality([
      { signal: 'schema_break', column: 'income', message: 'column "income" is declared numeric but 40.0% of values are categorical' },
      { signal: 'schema_break', column: 'promo', message: 'undeclared column "promo" appeared in 100.0% of rows' },
      { signal: 'missing_values', column: 'age', message: 'column "age" is missing in 20.0% of rows (reference 0.0%)' },
    ]);
    const b = detectBreaches(signals({ ...DRIFTED, ...DROPPED, dataQuality: dq }), NO_HEALTH, CFG);
    assert.deepEqual(b, [
      {
        signal: 'schema_break',
        reason: 'column "income" is declared numeric but 40.0% of values are categorical; undeclared column "promo" appeared in 100.0% of rows',
      },
    ]);
  });

  it('the quality signal is the first issue’s', () => {
    const dq = quality([{ signal: 'out_of_range', column: 'age', message: '5.0% of "age" values are outside [18, 120] (observed -1..130)' }]);
    assert.deepEqual(detectBreaches(signals({ ...DROPPED, dataQuality: dq }), NO_HEALTH, CFG), [
      { signal: 'out_of_range', reason: '5.0% of "age" values are outside [18, 120] (observed -1..130)' },
    ]);
  });

  it('an accuracy drop with enough labels and PSI under the threshold is accuracy_drop', () => {
    const b = detectBreaches(signals(DROPPED), NO_HEALTH, CFG);
    assert.deepEqual(b, [
      { signal: 'accuracy_drop', reason: 'accuracy 0.710 is 0.090 below the baseline 0.800 on 300 labelled predictions while max PSI is 0.050' },
    ]);
    // At exactly the thresholds it still breaches.
    const edge = detectBreaches(signals({ ...DROPPED, accuracyDrop: 0.05, labelled: 100 }), NO_HEALTH, CFG);
    assert.deepEqual(signalsOf(edge), ['accuracy_drop']);
    assert.match(edge[0]!.reason, / is 0\.050 below the baseline 0\.800 on 100 labelled predictions /);
  });

  it('a small accuracy drop does not breach', () => {
    assert.deepEqual(detectBreaches(signals({ accuracy: 0.76, accuracyDrop: 0.04 }), NO_HEALTH, CFG), []);
  });

  it('without enough labels there is no accuracy_drop, however large the drop', () => {
    assert.deepEqual(detectBreaches(signals({ ...DROPPED, accuracyDrop: 0.5, labelled: 99 }), NO_HEALTH, CFG), []);
  });

  it('no accuracy measured (accuracyDrop absent) is no accuracy_drop', () => {
    assert.deepEqual(detectBreaches(signals({ accuracy: undefined, accuracyDrop: undefined, baselineAccuracy: undefined }), NO_HEALTH, CFG), []);
  });

  it('anomalous feedback is label_anomaly, alongside drift or a quality signal', () => {
    assert.deepEqual(detectBreaches(signals(LABELS_BAD), NO_HEALTH, CFG), [
      { signal: 'label_anomaly', reason: 'labels agree with predictions 99.0% of the time; positive rate 0.600 vs baseline 0.210' },
    ]);
    assert.deepEqual(signalsOf(detectBreaches(signals({ ...DRIFTED, ...LABELS_BAD }), NO_HEALTH, CFG)), ['data_drift', 'label_anomaly']);
    assert.deepEqual(signalsOf(detectBreaches(signals({ ...DROPPED, ...LABELS_BAD }), NO_HEALTH, CFG)), ['accuracy_drop', 'label_anomaly']);
    const dq = quality([{ signal: 'unseen_category', column: 'region', message: '3.0% of "region" values are categories the model never saw ("west")' }]);
    assert.deepEqual(signalsOf(detectBreaches(signals({ ...LABELS_BAD, dataQuality: dq }), NO_HEALTH, CFG)), ['unseen_category', 'label_anomaly']);
  });

  it('health breaches are appended after the traffic breaches, in their order', () => {
    const b = detectBreaches(signals({ ...DRIFTED, ...LABELS_BAD }), HEALTH, CFG);
    assert.deepEqual(signalsOf(b), ['data_drift', 'label_anomaly', 'latency', 'error_rate']);
    assert.deepEqual(b.slice(2), [
      { signal: 'latency', reason: 'p99 latency 850ms > 500ms' },
      { signal: 'error_rate', reason: 'error rate 4.0% > 1%' },
    ]);
    const reversed = detectBreaches(signals(), { breaches: [...HEALTH.breaches].reverse() }, CFG);
    assert.deepEqual(signalsOf(reversed), ['error_rate', 'latency']);
  });
});
