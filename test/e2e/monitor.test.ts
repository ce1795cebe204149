/**
 * The model monitor on real prediction logs: healthy traffic opens nothing, drifted traffic opens one
 * data-drift incident and feeds it on later runs, accuracy and drift breaches share one incident, and
 * a missing input column opens a data-quality incident.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { FEATURES } from '../../examples/credit-risk/dataset.js';
import { InputSchema } from '../../domain/dataQuality.js';
import { CREDIT_RISK_INPUT_SCHEMA } from '../../examples/credit-risk/inputSchema.js';
import { formatIncident } from '../../cli/formatIncident.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { waitFor } from '../support/waitFor.js';

describe('model monitor', () => {
  let env: VigilTestEnv;
  let runMonitor: ReturnType<typeof createMonitorActivities>['runMonitor'];
  const closeAll = async () => {
    for (const i of await env.services.incidents.list({ open: true })) {
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.phase === 'awaiting_approval',
        'awaiting_approval',
      );
      await env.services.incidents.decide(i.id, { verdict: 'reject', by: 'alice', reason: 'test cleanup' });
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.status === 'closed',
        'closed',
      );
    }
    await env.services.pool.query('DELETE FROM predictions');
  };

  before(async () => {
    // The example's declared input schema: healthy and drifted traffic must both pass it.
    env = await createVigilTestEnv({
      config: (taskQueue) => {
        const c = testConfig({}, taskQueue);
        c.models[0]!.inputSchema = InputSchema.parse(CREDIT_RISK_INPUT_SCHEMA);
        return c;
      },
    });
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
    // Served two minutes ago: the incident was observable since then, so that is when it was observed.
    const servedAt = new Date(Date.now() - 120_000);
    await env.simulator.writeBatch({ n: 500, drift: 1, at: servedAt });
    const first = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(first.breaches, ['data_drift']);
    assert.equal(first.incidents[0]!.created, true);
    const second = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(second.incidents, [{ ...first.incidents[0], created: false }]);

    const shown = await waitFor(
      () => env.services.incidents.show(first.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval' && s.state.evidence?.length === 2,
      'classified, with two evidence entries',
    );
    assert.equal(shown.failureMode, 'data_drift');
    assert.ok(Number(shown.state.evidence[0]!.values.psi_max) >= 0.2, JSON.stringify(shown.state.evidence[0]!.values));
    assert.match(String(shown.state.evidence[0]!.values.drifted_features), /income/);
    assert.equal(shown.state.evidence[0]!.observedAt, servedAt.toISOString(), 'observed at the oldest prediction of the breaching window');
    const detectMs = Date.parse(shown.state.openedAt) - servedAt.getTime();
    assert.ok(detectMs >= 120_000 && detectMs < 600_000, `opened when the monitor ran, ${detectMs} ms after: the time to detect`);
    await closeAll();
  });

  it('feeds a drift breach into an open accuracy incident instead of opening a second one', async () => {
    const accuracy = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'accuracy_drop', source: 'test', evidence: { accuracy_drop: 0.08 } });
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['data_drift']);
    assert.deepEqual(
      r.incidents.map((i) => [i.id, i.created]),
      [[accuracy.id, false]],
    );
    assert.equal((await env.services.incidents.list({ open: true })).length, 1);
    await closeAll();
  });

  it('opens a data-quality incident when an input column disappears', async () => {
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    // The upstream stops sending `income`.
    await env.services.pool.query(`UPDATE predictions SET features = features - 'income'`);
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['schema_break']);
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(shown.failureMode, 'data_quality');
    assert.equal(shown.state.evidence[0]!.values.missing_columns, 'income');
    assert.ok(FEATURES.includes('income'));
    await closeAll();
  });

  it('opens a schema-break incident when a numeric input starts arriving as text, and skips drift for it', async () => {
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    await env.services.pool.query(`UPDATE predictions SET features = jsonb_set(features, '{age}', to_jsonb((features->>'age')::text))`);
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['schema_break'], JSON.stringify(r));
    assert.match(r.reasons[0]!, /"age" is declared numeric but 100\.0% of values are categorical/);
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(shown.failureMode, 'data_quality');
    assert.equal(shown.state.evidence[0]!.values.type_changes, 'age');
    await closeAll();
  });

  it('opens a data-quality incident for out-of-range values and for an undeclared column, with the numbers in show', async () => {
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    // A unit change upstream: a tenth of the applicants' ages arrive in months.
    await env.services.pool.query(`UPDATE predictions SET features = jsonb_set(features, '{age}', to_jsonb((features->>'age')::float * 12)) WHERE id % 10 = 0`);
    await env.services.pool.query(`UPDATE predictions SET features = features || '{"customer_segment": "b"}'`);
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['schema_break'], JSON.stringify(r));
    assert.match(r.reasons[0]!, /undeclared column "customer_segment" appeared in 100\.0% of rows/);
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    const values = shown.state.evidence[0]!.values;
    assert.equal(values.new_columns, 'customer_segment');
    assert.equal(values.out_of_range_column, 'age');
    assert.ok(Number(values.out_of_range_share) > 0.05, `out-of-range share ${values.out_of_range_share}`);
    const printed = formatIncident(shown);
    assert.match(printed, /data quality: schema_break \(.*undeclared column "customer_segment".*of "age" values are outside \[18, 120\]/, printed);
    await closeAll();
  });

  it("opens a feedback-loop incident when the labels echo the model's own predictions", async () => {
    await env.simulator.writeBatch({ n: 500, drift: 0 });
    // The outcome pipeline starts writing the decision back as the outcome.
    await env.services.pool.query(`UPDATE predictions SET label = predicted`);
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, ['label_anomaly'], JSON.stringify(r));
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(shown.failureMode, 'feedback_loop');
    assert.equal(shown.state.evidence[0]!.values.label_prediction_agreement, 1);
    assert.match(
      formatIncident(shown),
      /labels look anomalous \(labels agree with the model's own predictions 100\.0% of the time \(holdout accuracy 0\.\d+\)/,
    );
    await closeAll();
    // The post-incident review carries the same reasons and numbers.
    const review = await waitFor(
      () => env.services.incidents.review(r.incidents[0]!.id).catch(() => ''),
      (text) => text.length > 0,
      'review written',
    );
    assert.match(review, /Classification reasons:[\s\S]*labels agree with the model's own predictions 100\.0%/, review);
  });

  it('the monitorModel workflow runs one monitor and returns its outcome (history recorded for replay)', async () => {
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const workflowId = `monitor-${TEST_MODEL}-test-${Date.now()}`;
    const outcome = await env.services.temporal.workflow.execute('monitorModel', { workflowId, taskQueue: env.taskQueue, args: [{ modelId: TEST_MODEL }] });
    assert.deepEqual(outcome.breaches, ['data_drift'], JSON.stringify(outcome));
    assert.equal(outcome.incidents.length, 1, 'one incident');
    await saveHistoryIfRecording(env, workflowId, 'monitor-model-run');
    await closeAll();
  });
});
