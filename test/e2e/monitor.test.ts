/**
 * The model monitor on real prediction logs: healthy traffic opens nothing, drifted traffic opens one
 * data-drift incident and feeds it on later runs, accuracy and drift breaches share one incident, and
 * a missing input column opens a data-quality incident.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { FEATURES } from '../../examples/credit-risk/dataset.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

describe('model monitor', () => {
  let env: VigilTestEnv;
  let runMonitor: ReturnType<typeof createMonitorActivities>['runMonitor'];
  const closeAll = async () => {
    for (const i of await env.services.incidents.list({ open: true })) {
      await waitFor(() => env.services.incidents.show(i.id), (s) => s.phase === 'awaiting_approval', 'awaiting_approval');
      await env.services.incidents.decide(i.id, { verdict: 'reject', by: 'alice', reason: 'test cleanup' });
      await waitFor(() => env.services.incidents.show(i.id), (s) => s.status === 'closed', 'closed');
    }
    await env.services.pool.query('DELETE FROM predictions');
  };

  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
    runMonitor = createMonitorActivities(env.services).runMonitor;
  });
  after(async () => env?.close());

  it('opens nothing on healthy traffic', async () => {
    await env.simulator.writeBatch({ n: 500, drift: 0 });
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.equal(r.samples, 500);
    assert.deepEqual(r.breaches, []);
    assert.equal((await env.services.incidents.list()).length, 0);
    await closeAll();
  });

  it('opens one data-drift incident on drifted traffic and feeds it on the next run', async () => {
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const first = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(first.breaches, ['data_drift']);
    assert.equal(first.incidents[0].created, true);
    const second = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(second.incidents, [{ ...first.incidents[0], created: false }]);

    const shown = await waitFor(() => env.services.incidents.show(first.incidents[0].id), (s) => s.state.evidence?.length === 2, 'two evidence entries');
    assert.equal(shown.failureMode, 'data_drift');
    assert.ok(Number(shown.state.evidence[0].values.psi_max) >= 0.2, JSON.stringify(shown.state.evidence[0].values));
    assert.match(String(shown.state.evidence[0].values.drifted_features), /income/);
    await closeAll();
  });

  it('feeds a drift breach into an open accuracy incident instead of opening a second one', async () => {
    const accuracy = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'accuracy_drop', source: 'test', evidence: { accuracy_drop: 0.08 } });
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['data_drift']);
    assert.deepEqual(r.incidents.map((i) => [i.id, i.created]), [[accuracy.id, false]]);
    assert.equal((await env.services.incidents.list({ open: true })).length, 1);
    await closeAll();
  });

  it('opens a data-quality incident when an input column disappears', async () => {
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    // The upstream stops sending `income`.
    await env.services.pool.query(`UPDATE predictions SET features = features - 'income'`);
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['schema_break']);
    const shown = await waitFor(() => env.services.incidents.show(r.incidents[0].id), (s) => s.phase === 'awaiting_approval', 'awaiting_approval');
    assert.equal(shown.failureMode, 'data_quality');
    assert.equal(shown.state.evidence[0].values.missing_columns, 'income');
    assert.ok(FEATURES.includes('income'));
    await closeAll();
  });
});
