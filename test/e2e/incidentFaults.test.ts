/**
 * Faults that used to leave an incident Failed with no review, or retrying forever: each incident
 * here must end closed, escalated, with its review written.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addEvidenceSignal, decideUpdate, runbookSignal, stateQuery } from '../../contracts/incidentWorkflow.js';
import { parseConfig } from '../../domain/config.js';
import type { Evidence, RunbookSignal } from '../../domain/incident.js';
import { feedCanary, openApprovedDriftIncident, untilIncident } from '../support/driftIncident.js';
import { waitFor } from '../support/waitFor.js';
import { createVigilTestEnv, TEST_CANARY, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

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

describe('what senders put into an open incident is bounded', () => {
  let env: VigilTestEnv;

  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
  });
  after(async () => env?.close());

  it('a null or malformed evidence signal is ignored; huge evidence, signals and votes are cut or refused', async () => {
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'data_drift', source: 'test', evidence: { psi_max: 0.4 } });
    await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');
    const handle = env.services.temporal.workflow.getHandle(id);
    // Each of these used to fail every workflow task after it (a null) or to grow the state without limit.
    await handle.signal(addEvidenceSignal, null as unknown as Evidence);
    await handle.signal(addEvidenceSignal, { source: 'test', signal: 'data_drift', values: null } as unknown as Evidence);
    const huge = 'x'.repeat(100_000);
    const manyKeys = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]));
    for (let i = 0; i < 40; i++) {
      await handle.signal(addEvidenceSignal, {
        source: 'test',
        signal: 'data_drift',
        observedAt: new Date().toISOString(),
        values: i % 2 ? manyKeys : { note: huge },
      });
    }
    await handle.signal(runbookSignal, { name: 'n'.repeat(500), by: 'b'.repeat(10_000), data: { k: huge } });
    await handle.signal(runbookSignal, null as unknown as RunbookSignal);

    const state = await waitFor(
      () => handle.query(stateQuery),
      (s) => s.timeline.some((e) => e.event.startsWith('signal:')),
      'the signals applied',
    );
    assert.ok(JSON.stringify(state).length < 400_000, `state stays small: ${JSON.stringify(state).length} characters`);
    assert.ok(state.evidence.length <= 30);
    const cutNote = state.evidence.find((e) => typeof e.values.note === 'string');
    assert.equal((cutNote!.values.note as string).length, 256, 'a long value is cut');
    const many = state.evidence.find((e) => 'vigil_dropped_keys' in e.values);
    assert.equal(many!.values.vigil_dropped_keys, 5_000 - 32, 'extra keys dropped, counted');

    // A vote's reason past its limit is refused by the incident itself (a hand-made Update skips the client's checks).
    await assert.rejects(handle.executeUpdate(decideUpdate, { args: [{ verdict: 'approve', by: 'alice', via: 'cli', reason: huge }] }), (err: Error) =>
      /reason: at most 2000 characters/.test((err.cause as Error | undefined)?.message ?? ''),
    );
    await assert.rejects(env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: huge }), /reason: Too big|reason:.*2000/);
    // Still answering: the incident decides and closes.
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'test over' });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed');
    assert.equal((closed.state as { outcome?: string }).outcome, 'rejected');
  });
});

describe('the review reads a history larger than one gRPC message', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv();
  });
  after(async () => env?.close());

  it('pages through 12 MB of signals instead of failing RESOURCE_EXHAUSTED', async () => {
    // No worker: the history is the start and the signals, as big as a sender makes them.
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'data_drift', source: 'test', evidence: { psi_max: 0.4 } });
    const handle = env.services.temporal.workflow.getHandle(id);
    const mb = 'x'.repeat(1_000_000);
    for (let i = 0; i < 12; i++)
      await handle.signal(addEvidenceSignal, { source: 'test', signal: 'data_drift', observedAt: new Date().toISOString(), values: { note: mb } });
    const steps = await env.services.history.steps(id);
    assert.deepEqual(steps, [], 'read through (no activity ran yet)');
    await handle.terminate('test over');
  });
});

describe('a retrain that fails while its canary serves traffic', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({ config: (q) => testConfig({ canary: TEST_CANARY }, q) });
    // Judging the canary fails for good (say, its metrics store refuses every query).
    await env.startWorker({
      interceptors: {
        activity: [
          () => ({
            inbound: {
              async execute(input, next) {
                if (Context.current().info.activityType === 'judgeCanary') throw ApplicationFailure.nonRetryable('metrics store refused the query', 'Test');
                return next(input);
              },
            },
          }),
        ],
      },
    });
  });
  after(async () => env?.close());

  it('takes the canary back before failing: no candidate left serving traffic, the incident escalated with a review', async () => {
    const id = await openApprovedDriftIncident(env);
    const route = await feedCanary(env, 50);
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 180_000);
    assert.equal((closed.state as { outcome?: string }).outcome, 'remediation_failed');
    const traffic = await env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL);
    assert.ok(!traffic.routes.some((r) => r.role === 'canary' || r.role === 'shadow'), `no canary route left: ${JSON.stringify(traffic.routes)}`);
    const candidate = await env.services.registry.getVersion(TEST_MODEL, route.version!);
    assert.equal(candidate?.status, 'bad', 'the candidate is marked bad');
    const review = await env.services.pool.query('SELECT 1 FROM reviews WHERE incident_id = $1', [id]);
    assert.equal(review.rowCount, 1);
  });
});
