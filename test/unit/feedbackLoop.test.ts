import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessFeedbackLoop } from '../../domain/labelQuality.js';

const t = { maxPositiveRateShift: 0.2, maxPredictionAgreement: 0.98 };
/** n rows whose labels agree with predictions `agree` of the time and are positive `positive` of the time. */
function traffic(n: number, agree: number, positive: number) {
  const labels: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i < positive * n ? 1 : 0;
    labels.push(label);
    predicted.push((i * 7919) % n < agree * n ? label : 1 - label);
  }
  return { labels, predicted };
}

describe('feedback-loop checks on labelled traffic', () => {
  it('healthy labels: agreement near the holdout accuracy, stable positive rate', () => {
    const r = assessFeedbackLoop({ ...traffic(400, 0.8, 0.3), baselineAccuracy: 0.82, baselinePositiveRate: 0.3, inputsDrifted: false, minRows: 100 }, t);
    assert.equal(r.anomalous, false, r.reasons.join('; '));
    assert.equal(r.values.label_prediction_agreement, 0.8, 'agreement measured');
  });

  it('labels that echo the predictions are anomalous', () => {
    const r = assessFeedbackLoop({ ...traffic(400, 1, 0.3), baselineAccuracy: 0.82, baselinePositiveRate: 0.3, inputsDrifted: false, minRows: 100 }, t);
    assert.equal(r.anomalous, true, 'anomalous');
    assert.match(r.reasons.join('; '), /agree with the model's own predictions 100\.0% of the time \(holdout accuracy 0\.820\)/);
  });

  it('a positive rate far from the baseline is anomalous only while inputs are stable', () => {
    const base = { ...traffic(400, 0.8, 0.65), baselineAccuracy: 0.82, baselinePositiveRate: 0.3, minRows: 100 };
    const stable = assessFeedbackLoop({ ...base, inputsDrifted: false }, t);
    assert.match(stable.reasons.join('; '), /positive rate 0\.650 moved \+0\.350 from the training baseline 0\.300 while inputs are stable/);
    assert.equal(stable.values.label_positive_rate_shift, 0.35, 'shift');
    // Drifted inputs explain a moved positive rate: not a label problem.
    assert.equal(assessFeedbackLoop({ ...base, inputsDrifted: true }, t).anomalous, false, 'drift explains it');
  });

  it('labels that are not 0 or 1 are anomalous', () => {
    const { labels, predicted } = traffic(200, 0.8, 0.3);
    labels[3] = 2;
    labels[4] = -1;
    const r = assessFeedbackLoop({ labels, predicted, inputsDrifted: false, minRows: 100 }, t);
    assert.match(r.reasons.join('; '), /2 of 200 labels are not 0 or 1/);
    assert.equal(r.values.invalid_label_share, 0.01, 'share');
  });

  it('single-class labels are anomalous; too few rows say nothing', () => {
    assert.match(assessFeedbackLoop({ ...traffic(200, 0.8, 0), inputsDrifted: true, minRows: 100 }, t).reasons.join(), /all 200 labels are 0/);
    assert.equal(assessFeedbackLoop({ ...traffic(50, 1, 0), inputsDrifted: false, minRows: 100 }, t).anomalous, false, 'too few rows');
  });
});
