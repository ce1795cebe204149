/**
 * The verdict follows the evidence while people decide: an incident opened as concept drift with stable
 * inputs is re-classified as data drift, high impact, when the monitor's drift evidence arrives — the
 * runbook, recommendation, severity, approvers and message follow — and a severity never drops below
 * what was shown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { auditKinds } from '../support/auditKinds.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

describe('re-classification while awaiting a decision', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
  });
  after(async () => env?.close());

  it('concept drift SEV3 becomes data drift SEV2 when the drift evidence arrives; the new verdict is what gets approved', async () => {
    // Healthy inputs in the log: the first report is a modest accuracy drop with stable inputs.
    await env.simulator.writeBatch({ n: 500, drift: 0 });
    const { id } = await env.services.incidents.open({
      modelId: TEST_MODEL,
      signal: 'accuracy_drop',
      source: 'monitor',
      evidence: { accuracy_drop: 0.063, psi_max: 0.045 },
    });
    const first = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.deepEqual([first.failureMode, first.severity], ['concept_drift', 'SEV3']);
    assert.match(first.state.classification!.reasons.join(' '), /while inputs are stable/);

    // A minute later the inputs have moved: the monitor feeds the open incident with what it measures.
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const run = await createMonitorActivities(env.services).runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(
      run.incidents.map((i) => [i.id, i.created]),
      [[id, false]],
      'fed the open incident',
    );
    const now = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.failureMode === 'data_drift' && s.state.recommendation?.action === 'retrain',
      're-classified and re-triaged',
    );
    assert.equal(now.phase, 'awaiting_approval');
    assert.equal(now.severity, 'SEV2', JSON.stringify(now.state.classification));
    assert.match(now.state.classification!.reasons.join(' '), /inputs drifted \(max PSI 0\.\d+ on [^)]+\)/);
    assert.match(now.state.runbookVersion, /^data_drift\//);
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('reclassified'), kinds.join(','));
    const reclassified = now.state.timeline.find((t) => t.event === 'reclassified');
    assert.match(reclassified?.detail ?? '', /^concept_drift SEV3 → data_drift SEV2: /);

    // It is the model's data-drift incident now: a data-drift alert joins it instead of opening a second one.
    const alert = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'data_drift', source: 'alertmanager', evidence: { psi_max: 0.6 } });
    assert.deepEqual(alert, { id, created: false });
    assert.deepEqual(
      (await env.services.incidents.list({ open: true, modelId: TEST_MODEL })).map((i) => i.id),
      [id],
    );

    // Calmer evidence afterwards does not lower what was shown.
    const calmer = await env.services.incidents.open({
      modelId: TEST_MODEL,
      signal: 'accuracy_drop',
      source: 'test',
      evidence: { psi_max: 0.21, accuracy_drop: 0.01 },
    });
    assert.deepEqual(calmer, { id, created: false });
    await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.state.evidence.length >= 4,
      'the calmer evidence attached',
    );
    const approved = await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'retrain on the new inputs' });
    assert.equal(approved.outcome, 'approved');
    const decided = await env.services.incidents.show(id);
    assert.equal(decided.severity, 'SEV2', 'never lowered');
    assert.equal(decided.state.decision?.action, 'retrain', 'the data-drift runbook’s recommendation was approved, not the concept-drift one');
    await saveHistoryIfRecording(env, id, 'reclassified-approve');
  });
});
