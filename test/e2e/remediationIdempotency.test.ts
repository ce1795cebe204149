/**
 * A model-changing remediation acts once, on its first decision, whatever happens to its answers:
 * a registry reply lost after the move, a worker dead between the move and marking the culprit, a
 * second incident on the same model. The rollback activity runs here as Temporal runs it — the same
 * workflow and activity ids on every attempt — against the built-in registry on real PostgreSQL.
 */
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRegistryDeployment } from '../../adapters/deployment/registryDeployment.js';
import { createIncidentStore } from '../../adapters/postgres/incidentStore.js';
import { createRemediationLedger } from '../../adapters/postgres/remediationLedger.js';
import { createBuiltinRegistry } from '../../adapters/registry/builtinRegistry.js';
import type { ActivityDeps } from '../../activities/activityDeps.js';
import { createIncidentActivities } from '../../activities/incidentActivities.js';
import { createRemediationActivities } from '../../activities/remediationActivities.js';
import type { IncidentState } from '../../domain/incident.js';
import type { ModelRegistry } from '../../ports/modelRegistry.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const MODEL = 'churn';

describe('rollback idempotency', () => {
  let db: TestDatabase;
  let uniq = 0;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => db?.drop());

  /** A model with v1..v3, v3 the champion; `fault` wraps the registry the activity sees. */
  async function setUp(fault: (r: ModelRegistry) => ModelRegistry = (r) => r) {
    const modelId = `${MODEL}-${uniq++}`;
    const builtin = createBuiltinRegistry(db.pool);
    await builtin.ensureModel({ id: modelId, displayName: modelId, tier: 'high' });
    for (const v of [1, 2, 3]) {
      await builtin.registerVersion({ modelId, artifactUri: `file:///m/${modelId}/v${v}`, metrics: {}, source: 'test', idempotencyKey: `${modelId}-reg-${v}` });
    }
    await builtin.setAlias({ modelId, alias: 'champion', version: 3, reason: 'deploy', idempotencyKey: `${modelId}-deploy-3` });
    const deployment = createRegistryDeployment({ pool: db.pool, registry: builtin });
    const deps = { registry: fault(builtin), deploymentFor: () => deployment, ledger: createRemediationLedger(db.pool) } as unknown as ActivityDeps;
    const activities = createRemediationActivities(deps);
    const attempt = (n: number, incidentId = `inc-${modelId}`) =>
      new MockActivityEnvironment(
        { workflowExecution: { workflowId: incidentId, runId: 'run-1' }, activityId: '7', attempt: n },
        { logger: new DefaultLogger('ERROR') },
      ).run(() => activities.rollbackModel({ incidentId, modelId })) as Promise<{ from: number; to: number }>;
    return { modelId, builtin, attempt };
  }

  it('a move whose answer was lost: the retry finishes the first decision instead of rolling back again', async () => {
    let lost = 1;
    const { modelId, builtin, attempt } = await setUp((r) => ({
      ...r,
      async setAlias(args) {
        const moved = await r.setAlias(args);
        if (lost-- > 0) throw new Error('socket hang up (the registry applied the move)');
        return moved;
      },
    }));
    await assert.rejects(attempt(1), /socket hang up/);
    const result = await attempt(2);
    assert.deepEqual({ from: result.from, to: result.to }, { from: 3, to: 2 });
    assert.equal((await builtin.getAlias(modelId, 'champion'))?.version, 2, 'v2 serves, not v1');
    assert.equal((await builtin.getVersion(modelId, 3))?.status, 'bad', 'the culprit is marked');
    assert.notEqual((await builtin.getVersion(modelId, 2))?.status, 'bad', 'the restored version is not marked bad');
  });

  it('a worker dead after the move: the retry still marks the culprit', async () => {
    let crashes = 1;
    const { modelId, builtin, attempt } = await setUp((r) => ({
      ...r,
      async markVersion(id, version, status) {
        if (crashes-- > 0) throw new Error('worker lost');
        return r.markVersion(id, version, status);
      },
    }));
    await assert.rejects(attempt(1), /worker lost/);
    await attempt(2);
    assert.equal((await builtin.getAlias(modelId, 'champion'))?.version, 2);
    assert.equal((await builtin.getVersion(modelId, 3))?.status, 'bad');
  });

  it('a second open incident on the model does not stack a second rollback; it may once the first closes', async () => {
    const { modelId, builtin, attempt } = await setUp();
    const store = createIncidentStore(db.pool);
    const first = await store.claim({ modelId, mode: 'data_drift', signal: 'data_drift', at: new Date() });
    const second = await store.claim({ modelId, mode: 'infrastructure', signal: 'error_rate', at: new Date() });
    await attempt(1, first.id);
    await assert.rejects(attempt(1, second.id), (err: Error) => {
      assert.match(err.message, new RegExp(`${modelId} is being changed by incident ${first.id}, which is still open`));
      return true;
    });
    assert.equal((await builtin.getAlias(modelId, 'champion'))?.version, 2, 'one rollback, not two');
    await store.markClosed(first.id);
    const later = await attempt(1, second.id);
    assert.deepEqual({ from: later.from, to: later.to }, { from: 2, to: 1 }, 'granted once the first incident closed');
  });
});

describe('audit records across a workflow reset', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => db?.drop());

  it('a retry records once; a reset run recording something else at the same position is kept', async () => {
    const incidentStore = createIncidentStore(db.pool);
    const quiet = {
      approvalRequested: async () => undefined,
      escalated: async () => undefined,
      phaseChanged: async () => undefined,
      reviewWritten: async () => undefined,
    };
    const activities = createIncidentActivities({ incidentStore, notifier: quiet } as unknown as ActivityDeps);
    const state = {
      contractVersion: 1,
      id: 'incident-reset-1',
      model: { id: MODEL, displayName: MODEL, tier: 'high', approvers: ['alice'], escalation: [] },
      signal: 'data_drift',
      phase: 'awaiting_approval',
      status: 'open',
      openedAt: new Date().toISOString(),
      evidence: [],
      timeline: [],
      runbookVersion: 'v1',
    } as unknown as IncidentState;
    // The same workflow and activity id each time: attempts of one activity, then the run a reset started.
    const run = (attempt: number, event: string, detail: string) =>
      new MockActivityEnvironment(
        { workflowExecution: { workflowId: state.id, runId: attempt < 3 ? 'run-1' : 'run-2' }, activityId: '12', attempt },
        { logger: new DefaultLogger('ERROR') },
      ).run(() => activities.recordPhase({ state, event, detail, notified: 'separately' }));
    await run(1, 'vote:approve', 'alice via cli');
    await run(2, 'vote:approve', 'alice via cli');
    await run(3, 'vote:reject', 'bob via slack: wrong model');
    const rows = await db.pool.query<{ kind: string }>('SELECT kind FROM audit_events WHERE incident_id = $1 ORDER BY id', [state.id]);
    assert.deepEqual(
      rows.rows.map((r) => r.kind),
      ['vote:approve', 'vote:reject'],
    );
  });
});
