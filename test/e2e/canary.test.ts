/**
 * The canary step of a retrain on the built-in deployment target: the candidate serves half the
 * example's traffic for a window, then is promoted, or rolled back with the reason in the review.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { auditKinds } from '../support/auditKinds.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { feedCanary, openApprovedDriftIncident, untilIncident } from '../support/driftIncident.js';
import { createVigilTestEnv, TEST_CANARY, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

async function deploymentOps(env: VigilTestEnv, id: string): Promise<string[]> {
  const r = await env.services.pool.query<{ op: string }>('SELECT op FROM deployment_changes WHERE starts_with(idempotency_key, $1) ORDER BY created_at', [id]);
  return r.rows.map((row) => row.op);
}

async function servedVersions(env: VigilTestEnv): Promise<Map<number, number>> {
  const r = await env.services.pool.query<{ v: number; n: string }>(
    "SELECT model_version AS v, count(*) AS n FROM predictions WHERE model_id = $1 AND served_by = 'model' GROUP BY 1",
    [TEST_MODEL],
  );
  return new Map(r.rows.map((row) => [row.v, Number(row.n)]));
}

describe('a retrained candidate under canary', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({ config: (q) => testConfig({ canary: TEST_CANARY }, q) });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('serves its share of live traffic, passes on live accuracy and is promoted', async () => {
    const id = await openApprovedDriftIncident(env);
    const canary = await feedCanary(env);
    assert.equal(canary.version, 2, 'the registered candidate is the canary');
    assert.equal(canary.percent, 50, 'at the runbook share');
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'challenger'))?.version, 2, 'the candidate is the challenger');
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1, 'the champion has not moved during the canary');
    const served = await servedVersions(env);
    const share = served.get(2)! / (served.get(2)! + (served.get(1) ?? 0) - 600); // 600 rows before the canary were v1's
    assert.ok(share > 0.4 && share < 0.6, `about half the canary-window traffic went to v2: ${JSON.stringify([...served])}`);

    const validating = await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 120_000);
    const retrain = validating.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'promoted', JSON.stringify(validating.state.remediation));
    assert.equal(retrain.canary?.judgement.verdict, 'promote', 'the canary passed');
    assert.ok(
      retrain.canary!.judgement.canary.accuracy! > retrain.canary!.judgement.stable.accuracy!,
      `the candidate beat the drifted champion live: ${JSON.stringify(retrain.canary)}`,
    );
    assert.match(retrain.reason, /canary passed: canary v2 accuracy 0\.\d+ on \d+ labelled predictions vs stable v1/);

    const traffic = await env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL);
    assert.deepEqual(
      traffic.routes.map((r) => [r.role, r.version, r.percent]),
      [['stable', 2, 100]],
      'all traffic on v2 after promotion',
    );
    assert.deepEqual(await deploymentOps(env, id), ['startCanary', 'promoteCanary'], 'one canary start and one rollout');

    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
    assert.equal(closed.state.remediation?.summary, 'retrained: v1 → v2 after a 50% canary');
    const review = await env.services.incidents.review(id);
    assert.match(review, /## Retrain: gates and canary/, 'the review has the gates and the canary');
    assert.match(review, /\| auc \| 0\.\d+ \| 0\.\d+ \| candidate ≥ champion − 0 \| passed \|/, 'with each gate');
    assert.match(review, /Canary at 50% on built-in routing for credit-risk: \*\*promoted\*\*/, 'and the canary verdict');
    const history = await env.services.registry.aliasHistory(TEST_MODEL, 'champion', new Date(0));
    assert.deepEqual(
      history.map((h) => [h.fromVersion, h.toVersion]),
      [
        [undefined, 1],
        [1, 2],
      ],
      'bootstrap, then exactly one promotion',
    );
    await saveHistoryIfRecording(env, `${id}-retrain`, 'retrain-canary-promoted');
  });
});

describe('a bad candidate that the gates let through', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({
      config: (q) => {
        // Gates wide open: only the canary stands between this candidate and the champion.
        const c = testConfig({ canary: TEST_CANARY, retrain: { maxAucDrop: 1, maxCalibrationIncrease: 1 } }, q);
        c.models[0]!.training.command = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT, '--flip-labels'];
        return c;
      },
    });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('is rolled back after the canary: champion kept, candidate marked bad, the reason in the review', async () => {
    const id = await openApprovedDriftIncident(env);
    await feedCanary(env, 1200);
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 120_000);
    assert.equal(closed.outcome, 'remediation_failed', JSON.stringify(closed.state.remediation));
    const retrain = closed.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'canary_rolled_back', 'rolled back by the canary, not stopped by the gates');
    assert.ok(
      retrain.gates?.every((g) => g.passed),
      'the gates passed',
    );
    assert.match(
      closed.state.remediation?.summary ?? '',
      /retrain stopped: canary rolled back: canary v2 accuracy 0\.\d+ on \d+ labelled predictions vs stable v1 0\.\d+ on \d+: lower by 0\.\d+, beyond the allowed 0\.02/,
    );

    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1, 'the champion stayed');
    assert.equal((await env.services.registry.getVersion(TEST_MODEL, 2))?.status, 'bad', 'the candidate is marked bad');
    const traffic = await env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL);
    assert.deepEqual(
      traffic.routes.map((r) => [r.role, r.version, r.percent]),
      [['stable', 1, 100]],
      'all traffic back on v1',
    );
    assert.deepEqual(await deploymentOps(env, id), ['startCanary', 'rollbackCanary'], 'one canary start and one rollback');
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('remediation_failed') && kinds.includes('escalated'), kinds.join(','));
    const review = await env.services.incidents.review(id);
    assert.match(review, /canary rolled back: canary v2 accuracy/, 'the reason in the summary');
    assert.match(
      review,
      /Canary at 50% on built-in routing for credit-risk: \*\*rolled back\*\*\n\n- canary v2 accuracy 0\.\d+ .*lower by/,
      'and in the canary section',
    );
    await saveHistoryIfRecording(env, `${id}-retrain`, 'retrain-canary-rolled-back');
  });
});

describe('a canary ended outside Vigil', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({ config: (q) => testConfig({ canary: TEST_CANARY }, q) });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('is not promoted: the remediation fails, saying the target no longer routes to it', async () => {
    const id = await openApprovedDriftIncident(env);
    await feedCanary(env, 100);
    // Someone takes the candidate out of rotation by hand.
    await env.services.pool.query('DELETE FROM model_canaries WHERE model_id = $1', [TEST_MODEL]);
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'remediation_failed', JSON.stringify(closed.state.remediation));
    assert.match(closed.state.remediation?.summary ?? '', /canary rolled back: built-in routing for credit-risk no longer routes traffic to the canary/);
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1, 'the champion stayed');
  });
});

describe('a retrained candidate in shadow', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({ config: (q) => testConfig({ canary: { ...TEST_CANARY, mode: 'shadow' } }, q) });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('scores a copy of the requests without answering any, is judged on the same requests and promoted', async () => {
    const id = await openApprovedDriftIncident(env);
    const route = await feedCanary(env);
    assert.deepEqual([route.role, route.version, route.percent], ['shadow', 2, 50], 'the candidate shadows half the requests');
    const served = await servedVersions(env);
    assert.equal(served.get(2), undefined, `no request was answered by the shadow: ${JSON.stringify([...served])}`);
    const shadowed = await env.services.pool.query<{ n: string; matched: string }>(
      `SELECT count(*) AS n, count(p.id) AS matched FROM shadow_predictions s
         LEFT JOIN predictions p ON p.model_id = s.model_id AND p.request_id = s.request_id
        WHERE s.model_id = $1 AND s.model_version = 2`,
      [TEST_MODEL],
    );
    const n = Number(shadowed.rows[0]!.n);
    assert.ok(n > 300 && n < 500, `about half of 800 requests shadowed: ${n}`);
    assert.equal(Number(shadowed.rows[0]!.matched), n, 'each shadow answer matches a served request');

    const validating = await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 120_000);
    const retrain = validating.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'promoted', JSON.stringify(validating.state.remediation));
    assert.equal(retrain.canary?.mode, 'shadow', 'tried in shadow');
    assert.equal(retrain.canary?.judgement.canary.labelled, retrain.canary?.judgement.stable.labelled, 'a paired comparison: the same requests on both sides');
    assert.match(retrain.reason, /shadow v2 accuracy 0\.\d+ on \d+ labelled requests vs stable v1 0\.\d+ on the same requests/);
    assert.equal(validating.state.remediation?.summary, 'retrained: v1 → v2 after shadowing 50% of requests');
    assert.deepEqual(
      (await env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL)).routes.map((r) => [r.role, r.version, r.percent]),
      [['stable', 2, 100]],
      'v2 answers everything now',
    );
  });
});
