import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify } from '../../domain/classify.js';
import type { Evidence, EvidenceValue, ModelTier, SignalKind } from '../../domain/incident.js';

let clock = Date.parse('2025-03-01T10:00:00.000Z');
/** One evidence item; each call is one second after the previous one. */
function ev(signal: SignalKind, values: Record<string, EvidenceValue> = {}): Evidence {
  clock += 1000;
  return { source: 'test', signal, observedAt: new Date(clock).toISOString(), values };
}

function run(signal: SignalKind, values: Record<string, EvidenceValue>, tier: ModelTier = 'high', psiThreshold?: number) {
  return classify({ signal, evidence: [ev(signal, values)], tier, psiThreshold });
}

const allReasons = (r: { reasons: string[] }) => r.reasons.join('\n');

describe('classify: the six failure modes from their signals', () => {
  it('data_drift from a data_drift signal with PSI over the threshold', () => {
    const r = run('data_drift', { psi_max: 0.31, drifted_features: 'income,age' });
    assert.equal(r.failureMode, 'data_drift');
    assert.match(allReasons(r), /max PSI 0\.31 on income,age/);
  });

  it('concept_drift from an accuracy drop with stable inputs', () => {
    const r = run('accuracy_drop', { accuracy: 0.78, accuracy_baseline: 0.86, psi_max: 0.05 });
    assert.equal(r.failureMode, 'concept_drift');
    // The drop is derived from accuracy and its baseline when not given explicitly.
    assert.match(allReasons(r), /accuracy fell by 0\.08 while inputs are stable \(max PSI 0\.05 < 0\.2\)/);
  });

  for (const signal of ['schema_break', 'missing_values', 'out_of_range', 'unseen_category'] as const) {
    it(`data_quality from ${signal}`, () => {
      const r = run(signal, {});
      assert.equal(r.failureMode, 'data_quality');
      assert.match(allReasons(r), new RegExp(`data quality: ${signal}`));
    });
  }

  for (const signal of ['latency', 'error_rate', 'gpu_memory', 'queue_depth'] as const) {
    it(`infrastructure from ${signal}`, () => {
      const r = run(signal, {});
      assert.equal(r.failureMode, 'infrastructure');
      assert.match(allReasons(r), new RegExp(`infrastructure signal: ${signal}`));
    });
  }

  it('feedback_loop from a label anomaly, with the positive-rate shift in the reason', () => {
    const r = run('label_anomaly', { label_positive_rate_shift: 0.4 });
    assert.equal(r.failureMode, 'feedback_loop');
    assert.match(allReasons(r), /positive-rate shift 0\.4/);
  });

  it("feedback_loop carries the monitor's label findings, and labels echoing predictions are high impact", () => {
    const r = run(
      'label_anomaly',
      { label_anomalies: "labels agree with the model's own predictions 99.6% of the time", label_prediction_agreement: 0.996 },
      'critical',
    );
    assert.equal(r.failureMode, 'feedback_loop');
    assert.match(allReasons(r), /agree with the model's own predictions 99\.6%/);
    assert.equal(r.severity, 'SEV1');
  });

  it("data_quality carries the monitor's issue list with the numbers", () => {
    const r = run('out_of_range', { data_quality_issues: '12.0% of "age" values are outside [18, 120] (observed -3..140)', out_of_range_share: 0.12 });
    assert.match(allReasons(r), /12\.0% of "age" values are outside \[18, 120\]/);
    assert.match(r.reasons.at(-1)!, /medium impact \(out-of-range share 0\.12\)/);
  });

  it('infrastructure names the measured values', () => {
    const r = run('latency', { latency_p99_ms: 812, error_rate: 0.002 });
    assert.match(allReasons(r), /infrastructure signal: latency \(p99 latency ms 812, error rate 0\.002\)/);
  });

  it('upstream from an upstream error', () => {
    const r = run('upstream_error', {});
    assert.equal(r.failureMode, 'upstream');
    assert.match(allReasons(r), /dependency/);
  });
});

describe('classify: accuracy drop — concept drift or data drift', () => {
  it('stable inputs (psi_max below the threshold) → concept_drift', () => {
    assert.equal(run('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.19 }).failureMode, 'concept_drift');
  });

  it('unmeasured inputs: concept_drift by the signal, but the reason says drift is not ruled out', () => {
    const r = run('accuracy_drop', { accuracy_drop: 0.08 });
    assert.equal(r.failureMode, 'concept_drift');
    assert.match(allReasons(r), /accuracy fell by 0\.08; the inputs were not measured .* so drift is not ruled out/);
    assert.doesNotMatch(allReasons(r), /inputs are stable/);
  });

  it('labels found anomalous make any incident a feedback loop, never retrained on', () => {
    const r = run('data_drift', { psi_max: 0.5, label_anomalies: 'labels agree with predictions 99.5% of the time', label_prediction_agreement: 0.995 });
    assert.equal(r.failureMode, 'feedback_loop');
    assert.match(allReasons(r), /labels look anomalous \(labels agree with predictions 99\.5% of the time\)/);
  });

  it('a collapsing prediction confidence counts toward impact', () => {
    assert.equal(run('data_drift', { psi_max: 0.25, prediction_confidence: 0.55 }, 'high').severity, 'SEV2');
    assert.equal(run('data_drift', { psi_max: 0.25, prediction_confidence: 0.95 }, 'high').severity, 'SEV3');
    assert.match(run('data_drift', { psi_max: 0.25, prediction_confidence: 0.55 }, 'high').reasons.at(-1)!, /prediction confidence 0\.55/);
  });

  it('drifted inputs (psi_max exactly at the threshold) → data_drift', () => {
    const r = run('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.2 });
    assert.equal(r.failureMode, 'data_drift');
    assert.match(allReasons(r), /inputs drifted \(max PSI 0\.2\) and accuracy fell by 0\.08/);
  });

  it('drifted inputs (psi_max above the threshold) → data_drift', () => {
    assert.equal(run('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.45 }).failureMode, 'data_drift');
  });

  it('the psiThreshold option moves the boundary', () => {
    assert.equal(run('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.25 }, 'high', 0.3).failureMode, 'concept_drift');
    assert.equal(run('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.25 }, 'high', 0.1).failureMode, 'data_drift');
  });

  it('a data_drift signal in the evidence makes an accuracy drop data drift even with low PSI', () => {
    const r = classify({
      signal: 'accuracy_drop',
      evidence: [ev('accuracy_drop', { accuracy_drop: 0.08 }), ev('data_drift', { psi_max: 0.1 })],
      tier: 'high',
    });
    assert.equal(r.failureMode, 'data_drift');
  });
});

describe('classify: precedence', () => {
  it('a schema break wins over drift and an accuracy drop', () => {
    const r = classify({
      signal: 'data_drift',
      evidence: [ev('data_drift', { psi_max: 0.9 }), ev('accuracy_drop', { accuracy_drop: 0.2 }), ev('schema_break', { missing_columns: 'income' })],
      tier: 'medium',
    });
    assert.equal(r.failureMode, 'data_quality');
    assert.match(allReasons(r), /missing columns: income/);
  });

  it('infrastructure wins over drift', () => {
    const r = classify({
      signal: 'data_drift',
      evidence: [ev('data_drift', { psi_max: 0.6 }), ev('latency', { latency_p99_ms: 900 })],
      tier: 'high',
    });
    assert.equal(r.failureMode, 'infrastructure');
  });

  it('data quality wins over infrastructure', () => {
    const r = classify({ signal: 'latency', evidence: [ev('latency'), ev('missing_values', { missing_share: 0.1 })], tier: 'high' });
    assert.equal(r.failureMode, 'data_quality');
    assert.match(allReasons(r), /missing share 0\.1/);
  });

  it('upstream wins over infrastructure and data quality (a failing dependency explains both), over a label anomaly; a label anomaly over drift', () => {
    assert.equal(
      classify({ signal: 'error_rate', evidence: [ev('error_rate'), ev('upstream_error', { upstream_error_rate: 0.2 })], tier: 'high' }).failureMode,
      'upstream',
    );
    const r = classify({
      signal: 'schema_break',
      evidence: [ev('schema_break', { missing_columns: 'income' }), ev('upstream_error', { upstream_error_rate: 0.2 })],
      tier: 'high',
    });
    assert.equal(r.failureMode, 'upstream');
    assert.match(allReasons(r), /upstream error rate 0\.2\) and the inputs it feeds changed shape/);
    assert.equal(classify({ signal: 'label_anomaly', evidence: [ev('upstream_error')], tier: 'high' }).failureMode, 'upstream');
    assert.equal(
      classify({ signal: 'data_drift', evidence: [ev('label_anomaly'), ev('data_drift', { psi_max: 0.7 })], tier: 'high' }).failureMode,
      'feedback_loop',
    );
  });

  it('the incident signal counts even when no evidence carries it', () => {
    assert.equal(classify({ signal: 'schema_break', evidence: [ev('data_drift', { psi_max: 0.9 })], tier: 'high' }).failureMode, 'data_quality');
  });
});

describe('classify: severity by tier × impact', () => {
  it('critical + accuracy drop 0.12 (high impact) → SEV1', () => {
    const r = run('accuracy_drop', { accuracy_drop: 0.12, psi_max: 0.05 }, 'critical');
    assert.equal(r.severity, 'SEV1');
    assert.match(r.reasons.at(-1)!, /^high impact \(accuracy drop 0\.12, max PSI 0\.05\) on a critical-tier model → SEV1$/);
  });

  it('high + psi 0.3 (medium impact) → SEV3', () => {
    const r = run('data_drift', { psi_max: 0.3 }, 'high');
    assert.equal(r.severity, 'SEV3');
    assert.match(r.reasons.at(-1)!, /^medium impact \(max PSI 0\.3\) on a high-tier model → SEV3$/);
  });

  it('the full matrix, using accuracy drops of 0.12 / 0.07 / 0.01 for high / medium / low impact', () => {
    const drops = { high: 0.12, medium: 0.07, low: 0.01 } as const;
    const expected: Record<ModelTier, Record<keyof typeof drops, string>> = {
      critical: { high: 'SEV1', medium: 'SEV2', low: 'SEV3' },
      high: { high: 'SEV2', medium: 'SEV3', low: 'SEV4' },
      medium: { high: 'SEV3', medium: 'SEV3', low: 'SEV4' },
      low: { high: 'SEV3', medium: 'SEV4', low: 'SEV4' },
    };
    for (const tier of Object.keys(expected) as ModelTier[]) {
      for (const impact of Object.keys(drops) as (keyof typeof drops)[]) {
        const r = run('accuracy_drop', { accuracy_drop: drops[impact] }, tier);
        assert.equal(r.severity, expected[tier][impact], `${tier} × ${impact}`);
        assert.match(r.reasons.at(-1)!, new RegExp(`^${impact} impact`), `${tier} × ${impact}`);
      }
    }
  });

  it('a low-tier model is never SEV1 or SEV2, whatever the impact', () => {
    const worst = classify({
      signal: 'schema_break',
      evidence: [
        ev('schema_break', { missing_columns: 'a,b', missing_share: 0.9, error_rate: 0.5, psi_max: 3, accuracy_drop: 0.5 }),
        ev('gpu_memory', { gpu_memory_util: 1, latency_p99_ms: 10_000 }),
      ],
      tier: 'low',
    });
    assert.equal(worst.severity, 'SEV3');
    for (const signal of ['data_drift', 'accuracy_drop', 'error_rate', 'latency', 'label_anomaly', 'upstream_error'] as const) {
      const r = run(signal, { accuracy_drop: 0.4, psi_max: 2, error_rate: 0.3, latency_p99_ms: 5000 }, 'low');
      assert.ok(!['SEV1', 'SEV2'].includes(r.severity), `${signal}: ${r.severity}`);
    }
  });

  it('each impact measure has its own thresholds (high impact on a critical model → SEV1)', () => {
    assert.equal(run('data_drift', { psi_max: 0.5 }, 'critical').severity, 'SEV1');
    assert.equal(run('error_rate', { error_rate: 0.05 }, 'critical').severity, 'SEV1');
    assert.equal(run('missing_values', { missing_share: 0.2 }, 'critical').severity, 'SEV1');
    assert.equal(run('gpu_memory', { gpu_memory_util: 0.97 }, 'critical').severity, 'SEV1');
    assert.equal(run('latency', { latency_p99_ms: 2000 }, 'critical').severity, 'SEV1');
    // Just under each high bound is medium impact → SEV2.
    assert.equal(run('error_rate', { error_rate: 0.049 }, 'critical').severity, 'SEV2');
    assert.equal(run('latency', { latency_p99_ms: 1999 }, 'critical').severity, 'SEV2');
    assert.equal(run('gpu_memory', { gpu_memory_util: 0.9 }, 'critical').severity, 'SEV2');
    // Under every medium bound: low impact.
    assert.equal(run('latency', { latency_p99_ms: 499 }, 'critical').severity, 'SEV3');
  });

  it('the highest impact among the measures wins, in any order', () => {
    // low accuracy drop, then high latency
    assert.equal(run('latency', { accuracy_drop: 0.01, latency_p99_ms: 2500 }, 'critical').severity, 'SEV1');
    // high accuracy drop, then a medium PSI must not downgrade it
    assert.equal(run('accuracy_drop', { accuracy_drop: 0.2, psi_max: 0.3 }, 'critical').severity, 'SEV1');
  });

  it('the PSI medium bound follows psiThreshold', () => {
    assert.equal(run('data_drift', { psi_max: 0.15 }, 'critical').severity, 'SEV3');
    assert.equal(run('data_drift', { psi_max: 0.15 }, 'critical', 0.1).severity, 'SEV2');
  });

  it('a schema break (missing columns) is high impact even with no numbers', () => {
    const r = run('schema_break', { missing_columns: 'income' }, 'critical');
    assert.equal(r.severity, 'SEV1');
    assert.match(r.reasons.at(-1)!, /high impact \(schema break \(income\)\)/);
  });

  it('no measured impact → low impact, and says so', () => {
    const r = run('upstream_error', {}, 'high');
    assert.equal(r.severity, 'SEV4');
    assert.match(r.reasons.at(-1)!, /low impact \(no measured impact\) on a high-tier model → SEV4/);
  });

  it('non-numeric values for numeric keys are ignored', () => {
    const r = run('accuracy_drop', { accuracy_drop: 'lots', psi_max: 'high' }, 'critical');
    assert.equal(r.failureMode, 'concept_drift');
    assert.equal(r.severity, 'SEV3');
    assert.match(r.reasons.at(-1)!, /no measured impact/);
  });
});

describe('classify: reasons carry the numbers', () => {
  it('rounds to three decimals', () => {
    const r = run('data_drift', { psi_max: 0.123456, drifted_features: 'income' }, 'high');
    assert.match(allReasons(r), /max PSI 0\.123 on income/);
    assert.doesNotMatch(allReasons(r), /0\.123456/);
  });

  it('mentions error rate and p99 latency among the impact measures', () => {
    const r = run('error_rate', { error_rate: 0.02, latency_p99_ms: 750 }, 'medium');
    assert.match(r.reasons.at(-1)!, /error rate 0\.02, p99 latency ms 750/);
  });
});

describe('classify: later evidence overrides earlier values', () => {
  it('a later, larger accuracy drop raises the severity', () => {
    const r = classify({
      signal: 'accuracy_drop',
      evidence: [ev('accuracy_drop', { accuracy_drop: 0.02, psi_max: 0.05 }), ev('accuracy_drop', { accuracy_drop: 0.12 })],
      tier: 'critical',
    });
    assert.equal(r.severity, 'SEV1');
    assert.match(allReasons(r), /accuracy fell by 0\.12/);
    // Keys not repeated keep their earlier value.
    assert.match(allReasons(r), /max PSI 0\.05/);
  });

  it('a later, lower PSI turns an earlier drift reading into stable inputs', () => {
    const r = classify({
      signal: 'accuracy_drop',
      evidence: [ev('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.4 }), ev('accuracy_drop', { psi_max: 0.1 })],
      tier: 'high',
    });
    assert.equal(r.failureMode, 'concept_drift');
    assert.match(allReasons(r), /max PSI 0\.1 < 0\.2/);
  });

  it('the reverse order gives the reverse verdict', () => {
    const r = classify({
      signal: 'accuracy_drop',
      evidence: [ev('accuracy_drop', { accuracy_drop: 0.08, psi_max: 0.1 }), ev('accuracy_drop', { psi_max: 0.4 })],
      tier: 'high',
    });
    assert.equal(r.failureMode, 'data_drift');
  });
});

describe('classify: performance loss in the task type’s metrics', () => {
  it('regression: names MAE and RMSE with their rise, and rates impact by the relative rise', () => {
    const r = run('accuracy_drop', { mae: 0.93, mae_baseline: 0.41, rmse: 1.1, rmse_baseline: 0.6, psi_max: 0.04 }, 'high');
    assert.equal(r.failureMode, 'concept_drift');
    assert.match(
      allReasons(r),
      /MAE rose from 0\.41 to 0\.93 \(\+127%\) and RMSE rose from 0\.6 to 1\.1 \(\+83%\) while inputs are stable \(max PSI 0\.04 < 0\.2\)/,
    );
    assert.doesNotMatch(allReasons(r), /accuracy/);
    assert.equal(r.severity, 'SEV2');
    assert.match(r.reasons.at(-1)!, /^high impact \(MAE rise \+127%, RMSE rise \+83%, max PSI 0\.04\) on a high-tier model → SEV2$/);
  });

  it('regression impact bounds: a rise of ≥ 50% is high, ≥ 20% medium, less low', () => {
    const sev = (mae: number) => run('accuracy_drop', { mae, mae_baseline: 2, psi_max: 0.01 }, 'critical').severity;
    assert.equal(sev(3), 'SEV1', '+50%');
    assert.equal(sev(2.98), 'SEV2', '+49%');
    assert.equal(sev(2.4), 'SEV2', '+20%');
    assert.equal(sev(2.38), 'SEV3', '+19%');
    assert.equal(run('accuracy_drop', { rmse: 5, rmse_baseline: 2 }, 'critical').severity, 'SEV1', 'RMSE alone');
  });

  it('regression with drifted inputs: data drift, and the MAE rise is in the reason', () => {
    const r = run('accuracy_drop', { mae: 5, mae_baseline: 2, psi_max: 0.6, drifted_features: 'temperature' }, 'medium');
    assert.equal(r.failureMode, 'data_drift');
    assert.match(allReasons(r), /inputs drifted \(max PSI 0\.6 on temperature\) and MAE rose from 2 to 5 \(\+150%\)/);
  });

  it('an improved metric is not called a loss when another got worse', () => {
    const r = run('accuracy_drop', { mae: 1.9, mae_baseline: 2, rmse: 3, rmse_baseline: 2 }, 'high');
    assert.match(allReasons(r), /RMSE rose from 2 to 3 \(\+50%\); the inputs were not measured/);
    assert.doesNotMatch(allReasons(r), /MAE rose/);
    assert.match(r.reasons.at(-1)!, /MAE rise −5%, RMSE rise \+50%/);
  });

  it('the declared task type wins over the keys; without figures, the words of the task type', () => {
    assert.match(allReasons(run('accuracy_drop', { task: 'regression' })), /errors rose; the inputs were not measured/);
    assert.match(allReasons(run('accuracy_drop', {})), /accuracy fell; the inputs were not measured/);
  });

  it('multiclass: accuracy keeps its sentence, macro-F1 names its figures, the larger drop sets the impact', () => {
    const r = run(
      'accuracy_drop',
      { accuracy: 0.66, accuracy_baseline: 0.7, accuracy_drop: 0.04, macro_f1: 0.52, macro_f1_baseline: 0.68, psi_max: 0.02 },
      'high',
    );
    assert.equal(r.failureMode, 'concept_drift');
    assert.match(allReasons(r), /accuracy fell by 0\.04 and macro-F1 fell from 0\.68 to 0\.52 \(−0\.16\) while inputs are stable/);
    assert.equal(r.severity, 'SEV2', 'macro-F1 drop 0.16 is high impact');
    assert.match(r.reasons.at(-1)!, /^high impact \(accuracy drop 0\.04, macro-F1 drop 0\.16, max PSI 0\.02\)/);
    assert.equal(run('accuracy_drop', { macro_f1: 0.62, macro_f1_baseline: 0.68 }, 'high').severity, 'SEV3', 'macro-F1 drop 0.06: medium');
  });

  it('a binary model is judged by accuracy only, as before: AUC in the evidence changes nothing', () => {
    const r = run('accuracy_drop', { accuracy: 0.78, accuracy_baseline: 0.86, auc: 0.6, auc_baseline: 0.9, psi_max: 0.05 }, 'high');
    assert.match(allReasons(r), /accuracy fell by 0\.08 while inputs are stable/);
    assert.match(r.reasons.at(-1)!, /^medium impact \(accuracy drop 0\.08, max PSI 0\.05\) on a high-tier model → SEV3$/);
  });
});

describe('classify: the declared task type', () => {
  it('judges a regression model by MAE/RMSE; with only an accuracy drop in the evidence, by that', () => {
    const mae = classify({ signal: 'accuracy_drop', evidence: [ev('accuracy_drop', { mae: 3, mae_baseline: 2 })], tier: 'high', task: 'regression' });
    assert.match(allReasons(mae), /MAE rose from 2 to 3 \(\+50%\)/);
    assert.equal(mae.severity, 'SEV2');
    const alert = classify({ signal: 'accuracy_drop', evidence: [ev('accuracy_drop', { accuracy_drop: 0.12 })], tier: 'high', task: 'regression' });
    assert.match(allReasons(alert), /accuracy fell by 0\.12/);
    assert.equal(alert.severity, 'SEV2');
    const none = classify({ signal: 'accuracy_drop', evidence: [ev('accuracy_drop', { psi_max: 0.01 })], tier: 'high', task: 'regression' });
    assert.match(allReasons(none), /errors rose while inputs are stable/);
  });
});
