/**
 * Graceful degradation: with `degrade.whileAwaitingApproval`, the model serves its rules-based fallback
 * while the incident waits for a human, and the decision lifts it — unless the decision is the fallback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDriftIncident, untilIncident } from '../support/driftIncident.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { auditKinds } from '../support/auditKinds.js';
import { waitFor } from '../support/waitFor.js';

describe('degradation while awaiting approval', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({
      config: (q) => {
        const c = testConfig({}, q);
        const drift = c.models[0]!.runbooks.data_drift as Record<string, unknown>;
        c.models[0]!.runbooks.data_drift = { ...drift, degrade: { whileAwaitingApproval: true }, actions: ['fallback', 'monitor'] };
        return c;
      },
    });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('serves the fallback while awaiting approval and goes back to the model once rejected', async () => {
    const id = await openDriftIncident(env);
    await untilIncident(env, id, (s) => s.phase === 'awaiting_approval' && s.state.degraded !== undefined, 'degraded, awaiting approval');
    assert.equal(await env.services.registry.getServingMode(TEST_MODEL), 'fallback', 'fallback serves while a human decides');
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'seasonal' });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed');
    assert.equal(await env.services.registry.getServingMode(TEST_MODEL), 'model', 'the model serves again');
    assert.equal(closed.state.degraded?.previousMode, 'model');
    assert.ok(closed.state.degraded?.liftedAt, 'lifted');
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.indexOf('degraded') < kinds.indexOf('degradation_lifted'), kinds.join(','));
    assert.match(
      await waitFor(
        () => env.services.incidents.review(id).catch(() => ''),
        (t) => t.length > 0,
        'review',
      ),
      /degraded/,
    );
    await saveHistoryIfRecording(env, id, 'degrade-reject');
  });

  it('keeps the fallback when the approved action is the fallback', async () => {
    const id = await openDriftIncident(env);
    await untilIncident(env, id, (s) => s.phase === 'awaiting_approval' && s.state.degraded !== undefined, 'degraded, awaiting approval');
    await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'keep the rules on' });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.state.remediation?.action, 'fallback', JSON.stringify(closed.state.remediation));
    assert.equal(await env.services.registry.getServingMode(TEST_MODEL), 'fallback', 'still on the fallback');
    assert.equal(closed.state.degraded?.liftedAt, undefined, 'not lifted');
  });
});
