/**
 * The canary verdict when health checks cannot be evaluated (Prometheus down, a query with no data):
 * unknown health is never "no breach". It keeps the watch going, and at the window's end does what
 * `canary.onUnknownHealth` says — roll back by default, so a candidate is never promoted blind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeCanary, type CanaryEvidence, type LivePerformance } from '../../domain/canaryVerdict.js';
import { CanaryPolicy, type CanaryPolicy as CanaryPolicyT } from '../../domain/runbook.js';
import { isUnknownHealth, unknownHealthNote, type HealthCheckResult } from '../../monitoring/healthSignals.js';

const TARGET = 'built-in routing for credit-risk';
const POLICY = CanaryPolicy.parse({ minLabelled: 100, maxAccuracyDrop: 0.02 });
const UNREACHABLE = 'error rate: Prometheus at http://127.0.0.1:39091/ is unavailable: connection refused (ECONNREFUSED)';
const NO_DATA = 'p99 latency: no data for histogram_quantile(0.99, rate(latency_bucket[5m]))';
const GOOD = 'canary v5 accuracy 0.820 on 1000 labelled predictions vs stable v4 0.800 on 1000: not worse beyond 0.02';

const live = (labelled: number, accuracy?: number, predictions = labelled * 4): LivePerformance => ({ predictions, labelled, accuracy });

function judge(over: Partial<CanaryEvidence> = {}, policy: CanaryPolicyT = POLICY) {
  return judgeCanary(
    {
      version: 5,
      stableVersion: 4,
      canary: live(1000, 0.82),
      stable: live(1000, 0.8),
      routing: { target: TARGET, mode: 'model', ready: true, settled: true, routesCanary: true },
      healthBreaches: [],
      healthChecks: 2,
      final: false,
      checkedAt: '2025-03-01T09:10:00.000Z',
      ...over,
    },
    policy,
  );
}

/** Prometheus down for both checks: neither answered. */
const DOWN: Partial<CanaryEvidence> = { healthChecks: 2, healthUnknown: [UNREACHABLE, UNREACHABLE.replace('error rate', 'p99 latency')] };

describe('judgeCanary: health ok, breach, unknown', () => {
  it('every check answered without a breach: health ok, and the window promotes', () => {
    const j = judge({ final: true });
    assert.equal(j.health, 'ok');
    assert.equal(j.healthNotes, undefined);
    assert.equal(j.verdict, 'promote');
    assert.deepEqual(j.reasons, [GOOD, '2 health check(s) without a breach']);
  });

  it('a breach: health breach, rolled back at once', () => {
    const j = judge({ healthBreaches: ['error rate 0.2 > 0.05'], healthUnknown: [NO_DATA], healthChecks: 2 });
    assert.equal(j.health, 'breach');
    assert.equal(j.verdict, 'rollback');
    assert.deepEqual(j.reasons, ['health check breached during the canary: error rate 0.2 > 0.05']);
  });

  it('checks that errored or had no data are unknown, named with their cause — never counted without a breach', () => {
    const j = judge({ healthChecks: 3, healthUnknown: [UNREACHABLE, NO_DATA] });
    assert.equal(j.health, 'unknown');
    assert.deepEqual(j.healthNotes, [UNREACHABLE, NO_DATA]);
    assert.deepEqual(j.reasons, [
      `${GOOD} so far`,
      '1 health check(s) without a breach',
      `health check could not be evaluated: ${UNREACHABLE}`,
      `health check could not be evaluated: ${NO_DATA}`,
    ]);
  });
});

describe('judgeCanary: unknown health during the window', () => {
  it('an intermediate judgement with health unknown keeps watching: no promotion, no rollback on that alone', () => {
    const j = judge(DOWN);
    assert.equal(j.verdict, 'continue');
    assert.equal(j.health, 'unknown');
    assert.ok(!j.reasons.some((r) => /without a breach/.test(r)), `no check counted healthy: ${j.reasons.join(' | ')}`);
  });

  it('a canary clearly worse still rolls back early, whatever health says', () => {
    const j = judge({ ...DOWN, canary: live(1000, 0.6) });
    assert.equal(j.verdict, 'rollback');
    assert.match(j.reasons[0]!, /lower by 0\.200, beyond the allowed 0\.02/);
    assert.equal(j.health, 'unknown');
  });
});

describe('judgeCanary: unknown health at the window’s end', () => {
  it('by default rolls back: the reasons say health could not be verified, why, and what performance showed', () => {
    assert.equal(POLICY.onUnknownHealth, 'rollback', 'the default');
    assert.equal(POLICY.maxUnknownHealthShare, 0, 'the default');
    const j = judge({ ...DOWN, final: true });
    assert.equal(j.verdict, 'rollback');
    assert.equal(j.health, 'unknown');
    assert.deepEqual(j.reasons, [
      'health could not be verified: 2 of 2 health check(s) could not be evaluated at the end of the window; the runbook does not promote blind (canary.onUnknownHealth: rollback)',
      `health check could not be evaluated: ${UNREACHABLE}`,
      `health check could not be evaluated: ${UNREACHABLE.replace('error rate', 'p99 latency')}`,
      GOOD,
    ]);
  });

  it('onUnknownHealth: promote promotes on the rest of the evidence, saying health was not verified', () => {
    const j = judge({ ...DOWN, final: true }, CanaryPolicy.parse({ minLabelled: 100, onUnknownHealth: 'promote' }));
    assert.equal(j.verdict, 'promote');
    assert.equal(j.health, 'unknown');
    assert.equal(j.reasons[0], GOOD);
    assert.equal(
      j.reasons[1],
      'health could not be verified: 2 of 2 health check(s) could not be evaluated at the end of the window; the runbook promotes without it (canary.onUnknownHealth: promote)',
    );
  });

  it('unknown health rolls back even when too few labels would promote; with both set to promote, it says it promotes without either', () => {
    const few = { canary: live(50, 0.9, 400), stable: live(900, 0.8, 3600) };
    const j = judge({ ...DOWN, ...few, final: true });
    assert.equal(POLICY.onInsufficientLabels, 'promote');
    assert.equal(j.verdict, 'rollback');
    assert.match(j.reasons[0]!, /^health could not be verified: /);
    assert.match(j.reasons.at(-1)!, /^too few labels to judge live accuracy: canary 50 labelled/);
    const both = judge({ ...DOWN, ...few, final: true }, CanaryPolicy.parse({ minLabelled: 100, onUnknownHealth: 'promote' }));
    assert.equal(both.verdict, 'promote');
    assert.match(both.reasons[0]!, /; the runbook promotes without them \(canary\.onInsufficientLabels: promote\)$/);
    assert.match(both.reasons[1]!, /^health could not be verified: .*\(canary\.onUnknownHealth: promote\)$/);
  });

  it('a share of unknown checks: none tolerated by default, up to maxUnknownHealthShare when set', () => {
    const partly = { healthChecks: 3, healthUnknown: [NO_DATA], final: true };
    const strict = judge(partly);
    assert.equal(strict.verdict, 'rollback');
    assert.match(strict.reasons[0]!, /^health could not be verified: 1 of 3 health check\(s\) could not be evaluated/);
    const tolerant = CanaryPolicy.parse({ minLabelled: 100, maxUnknownHealthShare: 0.5 });
    const j = judge(partly, tolerant);
    assert.equal(j.verdict, 'promote', '1 of 3 is within a tolerated half');
    assert.equal(j.health, 'unknown');
    assert.deepEqual(j.reasons, [GOOD, '2 health check(s) without a breach', `health check could not be evaluated: ${NO_DATA}`]);
    assert.equal(judge({ ...DOWN, final: true }, tolerant).verdict, 'rollback', 'all unknown is beyond any tolerated share');
  });

  it('a policy recorded before the fields existed rolls back too', () => {
    const { onUnknownHealth: _o, maxUnknownHealthShare: _m, ...recorded } = POLICY;
    const j = judge({ ...DOWN, final: true }, recorded as CanaryPolicyT);
    assert.equal(j.verdict, 'rollback');
  });

  it('no health checks configured: nothing to verify, promoted as before; the same window with its check unknown is not', () => {
    const none = judge({ healthChecks: 0, final: true });
    assert.equal(none.verdict, 'promote');
    assert.equal(none.health, undefined);
    assert.deepEqual(none.reasons, [GOOD]);
    const blind = judge({ healthChecks: 1, healthUnknown: [UNREACHABLE], final: true });
    assert.equal(blind.verdict, 'rollback');
  });
});

describe('health checks that cannot be evaluated', () => {
  const check = (status: HealthCheckResult['status'], message = 'x'): HealthCheckResult => ({
    metric: 'error_rate',
    signal: 'error_rate',
    query: 'sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))',
    status,
    threshold: 0.05,
    direction: 'above',
    message,
  });

  it('no data, only NaN and errors are unknown; ok and breach are verdicts', () => {
    assert.deepEqual(
      (['ok', 'breach', 'no_data', 'nan', 'error'] as const).map((s) => isUnknownHealth(check(s))),
      [false, false, true, true, true],
    );
  });

  it('the note names the check and why: the query with no data, or the error', () => {
    assert.equal(unknownHealthNote(check('no_data')), 'error rate: no data for sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))');
    assert.equal(unknownHealthNote(check('nan')), 'error rate: only NaN for sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) (no traffic: 0/0?)');
    assert.equal(unknownHealthNote(check('error', UNREACHABLE)), UNREACHABLE);
  });
});
