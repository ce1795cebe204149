/**
 * When remediation does not help: a candidate that fails the gates never reaches the champion, and a
 * change after which the model has not recovered is undone and escalated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { openApprovedDriftIncident } from '../support/driftIncident.js';
import { auditKinds } from '../support/auditKinds.js';
import { waitFor } from '../support/waitFor.js';

describe('a sabotaged candidate', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({
      config: (q) => {
        const c = testConfig({}, q);
        c.models[0]!.training.command = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT, '--sabotage'];
        return c;
      },
    });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('is stopped by the gates: the champion stays, the incident says why and escalates', async () => {
    const id = await openApprovedDriftIncident(env);
    const closed = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.status === 'closed',
      'closed',
      120_000,
    );
    assert.equal(closed.outcome, 'remediation_failed');
    assert.match(closed.state.remediation?.summary ?? '', /candidate failed gates: auc/);
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1);
    assert.equal((await env.services.registry.listVersions(TEST_MODEL)).length, 1, 'nothing registered');
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('remediation_failed') && kinds.includes('escalated'), kinds.join(','));
    assert.match(await env.services.incidents.review(id), /candidate failed gates/);
  });
});

describe('a remediation after which the model has not recovered', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
  });
  after(async () => env?.close());

  it('is undone (champion restored) and escalated', async () => {
    const id = await openApprovedDriftIncident(env);
    await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.phase === 'validating',
      'validating',
      120_000,
    );
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 2);
    // The world swings back: traffic now looks nothing like what the new champion learned from.
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    const closed = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.status === 'closed',
      'closed',
      60_000,
    );
    assert.equal(closed.outcome, 'not_recovered');
    assert.equal(closed.state.validation?.recovered, false);
    assert.match(closed.state.validation?.reasons.join(' ') ?? '', /inputs still drift/);
    assert.equal(closed.state.remediation?.compensated, true);
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1);
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('compensated') && kinds.includes('escalated'), kinds.join(','));
  });
});
