import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeCanary, Z_95_ONE_SIDED, type CanaryEvidence, type CanaryRouting, type LivePerformance } from '../../domain/canaryVerdict.js';
import { CanaryPolicy, type CanaryPolicy as CanaryPolicyT } from '../../domain/runbook.js';

const TARGET = 'KServe InferenceService ml/credit-risk';
const POLICY = CanaryPolicy.parse({ minLabelled: 100, maxAccuracyDrop: 0.02 });
const SHADOW = CanaryPolicy.parse({ mode: 'shadow', minLabelled: 100, maxAccuracyDrop: 0.02 });

const live = (labelled: number, accuracy?: number, predictions = labelled * 4): LivePerformance => ({ predictions, labelled, accuracy });
const ROUTING: CanaryRouting = { target: TARGET, mode: 'model', ready: true, settled: true, routesCanary: true };

function evidence(over: Partial<CanaryEvidence> = {}, routing: Partial<CanaryRouting> = {}): CanaryEvidence {
  return {
    version: 5,
    stableVersion: 4,
    canary: live(1000, 0.8),
    stable: live(1000, 0.8),
    routing: { ...ROUTING, ...routing },
    healthBreaches: [],
    healthChecks: 0,
    final: false,
    checkedAt: '2025-03-01T09:10:00.000Z',
    ...over,
  };
}

const judge = (over: Partial<CanaryEvidence> = {}, routing: Partial<CanaryRouting> = {}, policy: CanaryPolicyT = POLICY) =>
  judgeCanary(evidence(over, routing), policy);

describe('judgeCanary: routing', () => {
  it('the policy parses with the defaults the tests rely on', () => {
    assert.equal(POLICY.mode, 'split');
    assert.equal(POLICY.onInsufficientLabels, 'promote');
    assert.equal(SHADOW.mode, 'shadow');
  });

  it('a target put into its fallback rolls back at once, whatever the accuracy', () => {
    const j = judge({ canary: live(1000, 0.95), stable: live(1000, 0.8) }, { mode: 'fallback' });
    assert.equal(j.verdict, 'rollback');
    assert.deepEqual(j.reasons, [`${TARGET} was put into its fallback during the canary`]);
  });

  it('a settled target that no longer routes the canary rolls back', () => {
    const j = judge({}, { routesCanary: false, settled: true });
    assert.equal(j.verdict, 'rollback');
    assert.deepEqual(j.reasons, [`${TARGET} no longer routes traffic to the canary (changed outside Vigil?)`]);
  });

  it('a target still rolling out: continue, and roll back when the window ends', () => {
    const j = judge({}, { settled: false, routesCanary: false });
    assert.equal(j.verdict, 'continue');
    assert.deepEqual(j.reasons, [`${TARGET} is not serving the canary yet: the change is still rolling out`]);
    const end = judge({ final: true }, { settled: false, routesCanary: false });
    assert.equal(end.verdict, 'rollback');
    assert.deepEqual(end.reasons, [`${TARGET} is not serving the canary yet: the change is still rolling out at the end of the window`]);
  });

  it('a settled target that is not ready says so; the target’s own reason wins when given', () => {
    const notReady = judge({}, { ready: false });
    assert.equal(notReady.verdict, 'continue');
    assert.deepEqual(notReady.reasons, [`${TARGET} is not serving the canary yet: not ready`]);
    const withReason = judge({ final: true }, { ready: false, reason: 'predictor pod CrashLoopBackOff' });
    assert.equal(withReason.verdict, 'rollback');
    assert.deepEqual(withReason.reasons, [`${TARGET} is not serving the canary yet: predictor pod CrashLoopBackOff at the end of the window`]);
  });

  it('carries the evidence’s accuracies and check time into the judgement', () => {
    const e = evidence({ canary: live(300, 0.81), stable: live(900, 0.8) });
    const j = judgeCanary(e, POLICY);
    assert.equal(j.canary, e.canary);
    assert.equal(j.stable, e.stable);
    assert.equal(j.checkedAt, '2025-03-01T09:10:00.000Z');
  });
});

describe('judgeCanary: health checks', () => {
  it('a health breach rolls back with one reason per breach, even when accuracy is fine', () => {
    const j = judge({ healthBreaches: ['p99 latency 850ms > 500ms', 'error rate 4.0% > 1%'], healthChecks: 3, canary: live(1000, 0.9) });
    assert.equal(j.verdict, 'rollback');
    assert.deepEqual(j.reasons, [
      'health check breached during the canary: p99 latency 850ms > 500ms',
      'health check breached during the canary: error rate 4.0% > 1%',
    ]);
  });

  it('health checks without a breach are noted after the accuracy reason; none run, no note', () => {
    const j = judge({ healthChecks: 2 });
    assert.equal(j.verdict, 'continue');
    assert.equal(j.reasons.length, 2);
    assert.equal(j.reasons[1], '2 health check(s) without a breach');
    const none = judge({ healthChecks: 0 });
    assert.equal(none.reasons.length, 1);
    assert.ok(!none.reasons.some((r) => /health check/.test(r)), none.reasons.join(' | '));
  });
});

describe('judgeCanary: live accuracy', () => {
  it('a canary clearly worse than stable rolls back early, with the figures and z', () => {
    // drop 0.2, se = √(0.24/1000 + 0.16/1000) = 0.02 → z = (0.2 − 0.02) / 0.02 = 9
    const j = judge({ canary: live(1000, 0.6), stable: live(1000, 0.8), healthChecks: 2 });
    assert.equal(j.verdict, 'rollback');
    assert.equal(
      j.reasons[0],
      'canary v5 accuracy 0.600 on 1000 labelled predictions vs stable v4 0.800 on 1000: lower by 0.200, beyond the allowed 0.02 (z = 9.00 > 1.64)',
    );
    assert.equal(j.reasons[1], '2 health check(s) without a breach');
    assert.equal(Z_95_ONE_SIDED, 1.6449);
  });

  it('a drop beyond maxAccuracyDrop but within noise keeps watching, and promotes at the end', () => {
    // drop 0.04 on 200 each: se ≈ 0.0414, z ≈ 0.48 < 1.64
    const ev = { canary: live(200, 0.76), stable: live(200, 0.8) };
    const j = judge(ev);
    assert.equal(j.verdict, 'continue');
    assert.deepEqual(j.reasons, ['canary v5 accuracy 0.760 on 200 labelled predictions vs stable v4 0.800 on 200: not worse beyond 0.02 so far']);
    const end = judge({ ...ev, final: true });
    assert.equal(end.verdict, 'promote');
    assert.deepEqual(end.reasons, ['canary v5 accuracy 0.760 on 200 labelled predictions vs stable v4 0.800 on 200: not worse beyond 0.02']);
  });

  it('the same drop on more labels is beyond noise and rolls back', () => {
    // drop 0.04 on 5000 each: se ≈ 0.00828, z ≈ 2.42
    const j = judge({ canary: live(5000, 0.76), stable: live(5000, 0.8) });
    assert.equal(j.verdict, 'rollback');
    assert.match(j.reasons[0]!, /lower by 0\.040, beyond the allowed 0\.02 \(z = 2\.4\d > 1\.64\)$/);
  });

  it('a better canary promotes at the end of the window', () => {
    const j = judge({ canary: live(500, 0.85), stable: live(2000, 0.8), final: true, healthChecks: 10 });
    assert.equal(j.verdict, 'promote');
    assert.deepEqual(j.reasons, [
      'canary v5 accuracy 0.850 on 500 labelled predictions vs stable v4 0.800 on 2000: not worse beyond 0.02',
      '10 health check(s) without a breach',
    ]);
  });

  it('zero variance: a total drop is an infinite z; no drop never rolls back', () => {
    const worst = judge({ canary: live(100, 0), stable: live(100, 1) });
    assert.equal(worst.verdict, 'rollback');
    assert.match(worst.reasons[0]!, /lower by 1\.000, beyond the allowed 0\.02 \(z = Infinity > 1\.64\)/);
    const perfect = judge({ canary: live(100, 1), stable: live(100, 1), final: true });
    assert.equal(perfect.verdict, 'promote');
  });

  it('shadow mode words the figures as the same requests', () => {
    const bad = judge({ canary: live(1000, 0.6), stable: live(1000, 0.8) }, {}, SHADOW);
    assert.equal(bad.verdict, 'rollback');
    assert.equal(
      bad.reasons[0],
      'shadow v5 accuracy 0.600 on 1000 labelled requests vs stable v4 0.800 on the same requests: lower by 0.200, beyond the allowed 0.02 (z = 9.00 > 1.64)',
    );
    const ok = judge({ canary: live(1000, 0.8), stable: live(1000, 0.8), final: true }, {}, SHADOW);
    assert.equal(ok.verdict, 'promote');
    assert.match(ok.reasons[0]!, /^shadow v5 accuracy 0\.800 on 1000 labelled requests vs stable v4 0\.800 on the same requests: not worse beyond 0\.02$/);
  });
});

describe('judgeCanary: too few labels', () => {
  const SHORT = `too few labels to judge live accuracy: canary 50 labelled of 400 predictions, stable 900 of 3600 (need 100 each)`;
  const few = { canary: live(50, 0.2, 400), stable: live(900, 0.8, 3600) };

  it('keeps watching without judging accuracy, however bad it looks', () => {
    const j = judge({ ...few, healthChecks: 2 });
    assert.equal(j.verdict, 'continue');
    assert.deepEqual(j.reasons, [SHORT, '2 health check(s) without a breach']);
  });

  it('the stable side needs enough labels too', () => {
    const j = judge({ canary: live(500, 0.5, 600), stable: live(99, 0.9, 600) });
    assert.equal(j.verdict, 'continue');
    assert.match(j.reasons[0]!, /canary 500 labelled of 600 predictions, stable 99 of 600 \(need 100 each\)/);
  });

  it('enough labels but no accuracy measured is a shortfall too', () => {
    const j = judge({ canary: live(200, undefined), stable: live(200, 0.8) });
    assert.equal(j.verdict, 'continue');
    assert.match(j.reasons[0]!, /^too few labels to judge live accuracy/);
  });

  it('at the end of the window: promote on health alone by default', () => {
    const j = judge({ ...few, final: true });
    assert.equal(j.verdict, 'promote');
    assert.deepEqual(j.reasons, [`${SHORT}; the runbook promotes on health alone (canary.onInsufficientLabels: promote)`]);
  });

  it('at the end of the window: roll back when the runbook says so', () => {
    const policy = CanaryPolicy.parse({ minLabelled: 100, maxAccuracyDrop: 0.02, onInsufficientLabels: 'rollback' });
    const j = judge({ ...few, final: true, healthChecks: 1 }, {}, policy);
    assert.equal(j.verdict, 'rollback');
    assert.deepEqual(j.reasons, [
      `${SHORT}; the runbook rolls back without them (canary.onInsufficientLabels: rollback)`,
      '1 health check(s) without a breach',
    ]);
  });

  it('shadow mode names the shadow in the shortfall', () => {
    const j = judge(few, {}, SHADOW);
    assert.match(j.reasons[0]!, /^too few labels to judge live accuracy: shadow 50 labelled of 400 predictions/);
  });
});

describe('judgeCanary: by task type', () => {
  /** A regression version: MAE, and RMSE (√(MAE² + spread²): the absolute errors' standard deviation is `spread`). */
  const errors = (labelled: number, mae: number, spread = 0, predictions = labelled): LivePerformance => ({
    predictions,
    labelled,
    mae,
    rmse: Math.sqrt(mae * mae + spread * spread),
  });
  const regression = (over: Partial<CanaryEvidence> = {}, policy: CanaryPolicyT = POLICY) =>
    judgeCanary(evidence({ task: 'regression', maxMaeIncrease: 0.2, ...over }), policy);

  it('binary is judged by accuracy, and says so', () => {
    const j = judge({ task: 'binary' });
    assert.equal(j.metric, 'accuracy');
    assert.equal(judge().metric, 'accuracy', 'binary when the evidence names no task');
  });

  it('regression: a canary whose MAE rose beyond the margin rolls back, naming MAE and both figures', () => {
    // excess = 4.1 − 1.2 · 2 = 1.7; se = √(1/120 + 1.44 · 1/118) ≈ 0.141 → z ≈ 12
    const j = regression({ canary: errors(120, 4.1, 1, 480), stable: errors(118, 2, 1, 470), healthChecks: 1 });
    assert.equal(j.verdict, 'rollback');
    assert.equal(j.metric, 'mae');
    assert.match(
      j.reasons[0]!,
      /^canary v5 MAE 4\.1 vs stable v4 2 \(\+105%\) on 120 \/ 118 labelled predictions: higher beyond the allowed 20% \(z = 1\d\.\d\d > 1\.64\)$/,
    );
    assert.equal(j.reasons[1], '1 health check(s) without a breach');
  });

  it('regression: a rise within the margin keeps watching, then promotes', () => {
    const ev = { canary: errors(200, 2.3, 1), stable: errors(200, 2, 1) };
    const j = regression(ev);
    assert.equal(j.verdict, 'continue');
    assert.deepEqual(j.reasons, ['canary v5 MAE 2.3 vs stable v4 2 (+15%) on 200 / 200 labelled predictions: not higher beyond 20% so far']);
    const end = regression({ ...ev, final: true });
    assert.equal(end.verdict, 'promote');
    assert.deepEqual(end.reasons, ['canary v5 MAE 2.3 vs stable v4 2 (+15%) on 200 / 200 labelled predictions: not higher beyond 20%']);
  });

  it('regression: a rise beyond the margin but within noise does not roll back; on more labels it does', () => {
    // excess = 2.6 − 2.4 = 0.2; se = √(4/100 + 1.44 · 4/100) ≈ 0.312 → z ≈ 0.64
    const noisy = regression({ canary: errors(100, 2.6, 2), stable: errors(100, 2, 2) });
    assert.equal(noisy.verdict, 'continue');
    // on 5000 each: se ≈ 0.0442 → z ≈ 4.5
    const clear = regression({ canary: errors(5000, 2.6, 2), stable: errors(5000, 2, 2) });
    assert.equal(clear.verdict, 'rollback');
    assert.match(clear.reasons[0]!, /\(\+30%\) on 5000 \/ 5000 labelled predictions: higher beyond the allowed 20% \(z = 4\.\d\d > 1\.64\)$/);
  });

  it('regression: a better canary promotes; the margin comes from the evidence (default 20%)', () => {
    assert.equal(regression({ canary: errors(300, 1.5, 1), stable: errors(300, 2, 1), final: true }).verdict, 'promote');
    const strict = regression({ canary: errors(5000, 2.2, 1), stable: errors(5000, 2, 1), maxMaeIncrease: 0.05 });
    assert.equal(strict.verdict, 'rollback', 'a 10% rise beyond a 5% margin');
    assert.match(strict.reasons[0]!, /beyond the allowed 5%/);
    const byDefault = judgeCanary(evidence({ task: 'regression', canary: errors(5000, 2.2, 1), stable: errors(5000, 2, 1) }), POLICY);
    assert.equal(byDefault.verdict, 'continue', 'a 10% rise within the default 20%');
  });

  it('regression: a perfect stable model (MAE 0) shows the rise in units; zero spread is an infinite z', () => {
    const j = regression({ canary: errors(100, 0.5), stable: errors(100, 0) });
    assert.equal(j.verdict, 'rollback');
    assert.match(
      j.reasons[0]!,
      /^canary v5 MAE 0\.5 vs stable v4 0 \(\+0\.5\) on 100 \/ 100 labelled predictions: higher beyond the allowed 20% \(z = Infinity > 1\.64\)$/,
    );
  });

  it('regression: too few labels, or no MAE, is a shortfall named for MAE', () => {
    const few = regression({ canary: errors(50, 9, 0, 400), stable: errors(900, 2, 0, 3600) });
    assert.equal(few.verdict, 'continue');
    assert.deepEqual(few.reasons, ['too few labels to judge live MAE: canary 50 labelled of 400 predictions, stable 900 of 3600 (need 100 each)']);
    const accuracyOnly = regression({ canary: live(500, 0.5), stable: live(500, 0.9), final: true });
    assert.equal(accuracyOnly.verdict, 'promote', 'accuracy is not the metric of a regression model');
    assert.match(accuracyOnly.reasons[0]!, /^too few labels to judge live MAE/);
  });

  it('multiclass is judged by accuracy, with macro-F1 in the figures', () => {
    const j = judge({
      task: 'multiclass',
      canary: { predictions: 4000, labelled: 1000, accuracy: 0.6, macroF1: 0.55 },
      stable: { predictions: 4000, labelled: 1000, accuracy: 0.8, macroF1: 0.78 },
    });
    assert.equal(j.verdict, 'rollback');
    assert.equal(j.metric, 'accuracy');
    assert.equal(
      j.reasons[0],
      'canary v5 accuracy 0.600 (macro-F1 0.550) on 1000 labelled predictions vs stable v4 0.800 (macro-F1 0.780) on 1000: lower by 0.200, beyond the allowed 0.02 (z = 9.00 > 1.64)',
    );
    const fine = judge({ task: 'multiclass', canary: live(1000, 0.81), stable: live(1000, 0.8), final: true });
    assert.equal(fine.verdict, 'promote');
  });

  it('a shadow of a non-binary model is never labelled, and the shortfall says why', () => {
    const j = judge({ task: 'regression', canary: { predictions: 300, labelled: 0 }, stable: { predictions: 300, labelled: 0 }, final: true }, {}, SHADOW);
    assert.equal(j.verdict, 'promote');
    assert.match(
      j.reasons[0]!,
      /^too few labels to judge live MAE \(shadow answers are judged for binary models only; this model is regression\): shadow 0 labelled/,
    );
  });
});
