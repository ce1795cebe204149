/**
 * Faults that used to leave an incident Failed with no review, or retrying forever: each incident
 * here must end closed, escalated, with its review written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../domain/config.js';
import { untilIncident } from '../support/driftIncident.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const GONE = 'retired-model';

describe('a model removed from the config while its incident is open', () => {
  let env: VigilTestEnv;

  before(async () => {
    env = await createVigilTestEnv({
      config: (q) => {
        const base = testConfig({}, q);
        return parseConfig({ ...base, models: [...base.models, { ...base.models[0]!, id: GONE, displayName: 'Retired' }] });
      },
    });
  });
  after(async () => env?.close());

  it('escalates and closes with a review instead of retrying forever', async () => {
    // Opened while the model was configured; the worker that picks it up was deployed without it.
    const { id } = await env.services.incidents.open({ modelId: GONE, signal: 'data_drift', source: 'test', evidence: { psi_max: 0.4 } });
    env.config.models.splice(
      env.config.models.findIndex((m) => m.id === GONE),
      1,
    );
    assert.ok(!env.config.models.some((m) => m.id === GONE) && env.config.models.some((m) => m.id === TEST_MODEL));
    await env.startWorker();
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 120_000);
    const state = closed.state as { outcome?: string; timeline: { event: string; detail?: string }[] };
    assert.equal(state.outcome, 'remediation_failed');
    const failed = state.timeline.find((e) => e.event === 'classification_failed');
    assert.match(failed?.detail ?? '', /model "retired-model" is not configured on this worker \(tried 5 times\)/);
    const audit = await env.services.pool.query<{ kind: string }>('SELECT kind FROM audit_events WHERE incident_id = $1 ORDER BY id', [id]);
    assert.ok(
      audit.rows.some((r) => r.kind === 'escalated'),
      'escalated',
    );
    const review = await env.services.pool.query('SELECT 1 FROM reviews WHERE incident_id = $1', [id]);
    assert.equal(review.rowCount, 1, 'review written');
  });
});
