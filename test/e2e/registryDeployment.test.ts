/**
 * The built-in deployment target (routing by registry version) on a real PostgreSQL with the built-in
 * registry: traffic as observed, a canary and its idempotent repeats, input checks that change nothing,
 * promotion moving the champion once, rollback leaving it alone, the fallback, a model without a
 * champion, and two concurrent callers asking for the same canary making one change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRegistryDeployment } from '../../adapters/deployment/registryDeployment.js';
import type { DeploymentTarget } from '../../ports/deploymentTarget.js';
import { createBuiltinRegistry } from '../../adapters/registry/builtinRegistry.js';
import type { RegistryWithServingMode } from '../../adapters/registry/servingModeStore.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { waitFor } from '../support/waitFor.js';

const MODEL = 'credit-risk';
const V1 = 's3://models/credit-risk/v1/model.json';
const V2 = 's3://models/credit-risk/v2/model.json';
const V3 = 's3://models/credit-risk/v3/model.json';

describe('built-in deployment target (registry routing)', () => {
  let db: TestDatabase;
  let registry: RegistryWithServingMode;
  let target: DeploymentTarget;
  let started: Date;

  const changeCount = async (modelId = MODEL) =>
    Number((await db.pool.query('SELECT count(*) AS n FROM deployment_changes WHERE model_id = $1', [modelId])).rows[0].n);
  const canaryRows = async (modelId = MODEL) => (await db.pool.query('SELECT version, percent FROM model_canaries WHERE model_id = $1', [modelId])).rows;
  const register = (modelId: string, artifactUri: string, key: string) =>
    registry.registerVersion({ modelId, artifactUri, metrics: { auc: 0.8 }, source: 'test', idempotencyKey: key });

  before(async () => {
    db = await createTestDatabase();
    registry = createBuiltinRegistry(db.pool);
    target = createRegistryDeployment({ pool: db.pool, registry });
    started = new Date(Date.now() - 1000);
    await registry.ensureModel({ id: MODEL, displayName: 'Credit risk', tier: 'high' });
    for (const [uri, n] of [
      [V1, 1],
      [V2, 2],
      [V3, 3],
    ] as const) {
      const v = await register(MODEL, uri, `register:${n}`);
      assert.equal(v.version, n, `v${n} is registered as version ${n}`);
    }
    await registry.setAlias({ modelId: MODEL, alias: 'champion', version: 1, reason: 'initial', idempotencyKey: 'champion:v1' });
  });
  after(async () => {
    await db?.drop();
  });

  it('reports all traffic on the champion before any canary', async () => {
    assert.equal(target.kind, 'builtin', 'the target is the built-in one');
    const t = await target.currentTraffic(MODEL);
    assert.deepEqual(t.routes, [{ role: 'stable', percent: 100, version: 1, artifactUri: V1 }], '100% on the champion v1');
    assert.equal(t.canaryPercent, undefined, 'no canary share without a canary');
    assert.equal(t.ready, true, 'ready with a champion');
    assert.equal(t.settled, true, 'changes apply synchronously');
    assert.equal(t.mode, 'model', 'serving the model');
    assert.equal(t.target, `built-in routing for ${MODEL}`, 'the target names the model');
    assert.equal(t.reason, undefined, 'no reason when ready');
  });

  it('starts a canary of v2 at 20% and routes 80/20', async () => {
    const change = await target.startCanary({ modelId: MODEL, artifactUri: V2, percent: 20, version: 2, idempotencyKey: 'canary:v2' });
    assert.deepEqual(
      change,
      {
        changed: true,
        repeated: false,
        idempotencyKey: 'canary:v2',
        before: { artifactUri: V1, mode: 'model' },
        after: { artifactUri: V2, canaryPercent: 20, stableArtifactUri: V1 },
      },
      'the change moves from all-v1 to a 20% canary of v2',
    );
    const t = await target.currentTraffic(MODEL);
    assert.deepEqual(
      t.routes,
      [
        { role: 'stable', percent: 80, version: 1, artifactUri: V1 },
        { role: 'canary', percent: 20, version: 2, artifactUri: V2 },
      ],
      '80% on v1, 20% on v2',
    );
    assert.equal(t.canaryPercent, 20, 'the canary share is reported');
    assert.equal(await changeCount(), 1, 'one change recorded');
  });

  it('returns the first change for a repeated key and records nothing more', async () => {
    const change = await target.startCanary({ modelId: MODEL, artifactUri: V2, percent: 20, version: 2, idempotencyKey: 'canary:v2' });
    assert.equal(change.repeated, true, 'the key was used: repeated');
    assert.equal(change.changed, true, 'the first call changed things');
    assert.deepEqual(change.after, { artifactUri: V2, canaryPercent: 20, stableArtifactUri: V1 }, 'the first change is returned');
    assert.equal(await changeCount(), 1, 'still exactly one change recorded');
  });

  it('sends nothing when a new key asks for the state that holds', async () => {
    const change = await target.startCanary({ modelId: MODEL, artifactUri: V2, percent: 20, version: 2, idempotencyKey: 'canary:v2:again' });
    assert.equal(change.changed, false, 'the same canary already runs');
    assert.equal(change.repeated, false, 'a new key is not a repeat');
    assert.deepEqual(change.before, change.after, 'before and after are the same');
    assert.equal(await changeCount(), 1, 'nothing recorded');
  });

  it('rejects bad inputs with messages naming the field, changing nothing', async () => {
    const base = { modelId: MODEL, artifactUri: V3, version: 3 };
    const cases: [string, Parameters<DeploymentTarget['startCanary']>[0], RegExp][] = [
      ['percent 0', { ...base, percent: 0, idempotencyKey: 'bad:0' }, /percent must be an integer from 1 to 100, got 0/],
      ['percent 101', { ...base, percent: 101, idempotencyKey: 'bad:101' }, /percent must be an integer from 1 to 100, got 101/],
      ['percent 2.5', { ...base, percent: 2.5, idempotencyKey: 'bad:2.5' }, /percent must be an integer from 1 to 100, got 2\.5/],
      ['no version', { modelId: MODEL, artifactUri: V3, percent: 10, idempotencyKey: 'bad:noversion' }, /version is required/],
      ['unknown version', { ...base, version: 99, percent: 10, idempotencyKey: 'bad:99' }, /version 99 is not in the registry/],
    ];
    for (const [name, args, message] of cases) {
      await assert.rejects(target.startCanary(args), message, `${name} is rejected with a message naming it`);
    }
    assert.deepEqual(await canaryRows(), [{ version: 2, percent: 20 }], 'the running canary is untouched');
    assert.equal(await changeCount(), 1, 'no change recorded');
  });

  it('promotes the canary: champion moves once to v2, the canary ends', async () => {
    const change = await target.promoteCanary({ modelId: MODEL, idempotencyKey: 'promote:v2', reason: 'canary healthy' });
    assert.equal(change.changed, true, 'promotion changed things');
    assert.deepEqual(change.before, { artifactUri: V2, canaryPercent: 20, stableArtifactUri: V1 }, 'from the 20% canary');
    assert.deepEqual(change.after, { artifactUri: V2 }, 'to all traffic on v2');
    const moves = (await registry.aliasHistory(MODEL, 'champion', started)).filter((m) => m.toVersion === 2);
    assert.equal(moves.length, 1, 'the champion alias moved to v2 exactly once');
    assert.equal(moves[0]!.fromVersion, 1, 'from v1');
    assert.deepEqual(await canaryRows(), [], 'no canary runs');
    const t = await target.currentTraffic(MODEL);
    assert.deepEqual(t.routes, [{ role: 'stable', percent: 100, version: 2, artifactUri: V2 }], '100% on v2');
    assert.equal(t.canaryPercent, undefined, 'no canary share');

    const again = await target.promoteCanary({ modelId: MODEL, idempotencyKey: 'promote:v2:again' });
    assert.equal(again.changed, false, 'nothing to promote with no canary');
    const repeat = await target.promoteCanary({ modelId: MODEL, idempotencyKey: 'promote:v2' });
    assert.equal(repeat.repeated, true, 'the first promotion is returned for its key');
    assert.deepEqual(repeat.after, { artifactUri: V2 }, 'with its result');
    assert.equal((await registry.aliasHistory(MODEL, 'champion', started)).filter((m) => m.toVersion === 2).length, 1, 'still one champion move');
  });

  it('rolls back a canary of v3: all traffic back on v2, champion untouched', async () => {
    await target.startCanary({ modelId: MODEL, artifactUri: V3, percent: 10, version: 3, idempotencyKey: 'canary:v3' });
    const during = await target.currentTraffic(MODEL);
    assert.deepEqual(
      during.routes.map((r) => [r.role, r.percent, r.version]),
      [
        ['stable', 90, 2],
        ['canary', 10, 3],
      ],
      '90/10 during the canary',
    );
    const aliasMovesBefore = (await registry.aliasHistory(MODEL, 'champion', started)).length;

    const change = await target.rollbackCanary({ modelId: MODEL, idempotencyKey: 'rollback:v3', reason: 'canary degraded' });
    assert.equal(change.changed, true, 'rollback changed things');
    assert.deepEqual(change.after, { artifactUri: V3, canaryPercent: 0, stableArtifactUri: V2 }, 'the canary share goes to 0');
    const t = await target.currentTraffic(MODEL);
    assert.deepEqual(t.routes, [{ role: 'stable', percent: 100, version: 2, artifactUri: V2 }], '100% on v2 again');
    assert.equal((await registry.getAlias(MODEL, 'champion'))?.version, 2, 'champion still v2');
    assert.equal((await registry.aliasHistory(MODEL, 'champion', started)).length, aliasMovesBefore, 'champion not moved');

    const none = await target.rollbackCanary({ modelId: MODEL, idempotencyKey: 'rollback:none' });
    assert.equal(none.changed, false, 'nothing to roll back with no canary');
    const repeat = await target.rollbackCanary({ modelId: MODEL, idempotencyKey: 'rollback:v3' });
    assert.equal(repeat.repeated, true, 'the first rollback is returned for its key');
  });

  it('rolls a version out: champion moved once, a running canary ended, a repeat or a rollout of what serves sends nothing', async () => {
    await target.startCanary({ modelId: MODEL, artifactUri: V3, percent: 30, version: 3, idempotencyKey: 'canary:v3-again' });
    const movesBefore = (await registry.aliasHistory(MODEL, 'champion', started)).length;

    const change = await target.rollout({ modelId: MODEL, artifactUri: V1, version: 1, idempotencyKey: 'rollout:v1', reason: 'rollback to the last healthy' });
    assert.deepEqual(
      [change.changed, change.before, change.after],
      [true, { artifactUri: V3, canaryPercent: 30, stableArtifactUri: V2 }, { artifactUri: V1 }],
      'from the canary to v1',
    );
    assert.deepEqual(
      (await target.currentTraffic(MODEL)).routes,
      [{ role: 'stable', percent: 100, version: 1, artifactUri: V1 }],
      'all traffic on v1, no canary',
    );
    assert.equal((await registry.aliasHistory(MODEL, 'champion', started)).length, movesBefore + 1, 'champion moved once');

    const repeat = await target.rollout({ modelId: MODEL, artifactUri: V1, version: 1, idempotencyKey: 'rollout:v1' });
    assert.equal(repeat.repeated, true, 'the first rollout is returned for its key');
    const same = await target.rollout({ modelId: MODEL, artifactUri: V1, version: 1, idempotencyKey: 'rollout:v1:again' });
    assert.equal(same.changed, false, 'already serving v1: nothing sent');
    assert.equal((await registry.aliasHistory(MODEL, 'champion', started)).length, movesBefore + 1, 'still one move');

    await assert.rejects(
      target.rollout({ modelId: MODEL, artifactUri: V1, idempotencyKey: 'rollout:nover' }),
      /rollout for model "credit-risk": version is required/,
    );
    await assert.rejects(
      target.rollout({ modelId: MODEL, artifactUri: V2, version: 1, idempotencyKey: 'rollout:mismatch' }),
      /artifactUri s3:\/\/models\/credit-risk\/v2\/model\.json is not version 1's/,
    );
    // Back to v2 for the tests that follow.
    await target.rollout({ modelId: MODEL, artifactUri: V2, version: 2, idempotencyKey: 'rollout:v2' });
  });

  it('runs a canary in shadow: the champion keeps answering all traffic, the shadow route shows its share', async () => {
    const c = await target.startCanary({ modelId: MODEL, artifactUri: V3, percent: 40, version: 3, idempotencyKey: 'shadow:v3', shadow: true });
    assert.deepEqual(c.after, { artifactUri: V3, canaryPercent: 40, shadow: true, stableArtifactUri: V2 }, 'the desired serving says shadow');
    const t = await target.currentTraffic(MODEL);
    assert.deepEqual(
      t.routes.map((r) => [r.role, r.percent, r.version]),
      [
        ['stable', 100, 2],
        ['shadow', 40, 3],
      ],
      'v2 answers everything; v3 sees 40%',
    );
    const split = await target.startCanary({ modelId: MODEL, artifactUri: V3, percent: 40, version: 3, idempotencyKey: 'split:v3' });
    assert.equal(split.changed, true, 'the same version and share as a split canary is a change');
    assert.deepEqual(
      (await target.currentTraffic(MODEL)).routes.map((r) => [r.role, r.percent]),
      [
        ['stable', 60],
        ['canary', 40],
      ],
      'now it answers its share',
    );
    await target.rollbackCanary({ modelId: MODEL, idempotencyKey: 'shadow:v3:rollback' });
  });

  it('puts the model into its fallback and back, once per key', async () => {
    const on = await target.setFallback!({ modelId: MODEL, on: true, reason: 'drift', idempotencyKey: 'fallback:on' });
    assert.deepEqual([on.changed, on.repeated, on.before, on.after], [true, false, { mode: 'model' }, { mode: 'fallback' }], 'into fallback');
    assert.equal((await target.currentTraffic(MODEL)).mode, 'fallback', 'the mode is observed');

    const repeat = await target.setFallback!({ modelId: MODEL, on: true, reason: 'drift', idempotencyKey: 'fallback:on' });
    assert.deepEqual([repeat.changed, repeat.repeated, repeat.after], [true, true, { mode: 'fallback' }], 'a repeated key returns the first change');
    const same = await target.setFallback!({ modelId: MODEL, on: true, reason: 'drift', idempotencyKey: 'fallback:on:again' });
    assert.equal(same.changed, false, 'already in fallback: no change');

    const off = await target.setFallback!({ modelId: MODEL, on: false, reason: 'recovered', idempotencyKey: 'fallback:off' });
    assert.deepEqual([off.changed, off.before, off.after], [true, { mode: 'fallback' }, { mode: 'model' }], 'out of fallback');
    assert.equal((await target.currentTraffic(MODEL)).mode, 'model', 'back to the model');
    const recorded = await db.pool.query("SELECT idempotency_key FROM deployment_changes WHERE op = 'setFallback' ORDER BY created_at");
    assert.deepEqual(
      recorded.rows.map((r) => r.idempotency_key),
      ['fallback:on', 'fallback:off'],
      'only the changes are recorded',
    );
  });

  it('reports a model without a champion as not ready, with a reason', async () => {
    await registry.ensureModel({ id: 'no-champion', displayName: 'No champion', tier: 'low' });
    await register('no-champion', 's3://models/no-champion/v1/model.json', 'no-champion:register:1');
    const t = await target.currentTraffic('no-champion');
    assert.equal(t.ready, false, 'not ready without a champion');
    assert.match(t.reason ?? '', /no-champion/, 'the reason names the model');
    assert.deepEqual(t.routes, [], 'no routes');
  });

  it('makes one change for two concurrent callers asking for the same canary', async () => {
    const model = 'concurrent';
    await registry.ensureModel({ id: model, displayName: 'Concurrent', tier: 'low' });
    await register(model, 's3://models/concurrent/v1/model.json', 'concurrent:register:1');
    const v2 = await register(model, 's3://models/concurrent/v2/model.json', 'concurrent:register:2');
    await registry.setAlias({ modelId: model, alias: 'champion', version: 1, reason: 'initial', idempotencyKey: 'concurrent:champion:v1' });

    // Hold writes to model_canaries until both calls are inside their transactions and waiting, so
    // they overlap for certain rather than by timing.
    const gate = await db.pool.connect();
    let results;
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE model_canaries IN SHARE ROW EXCLUSIVE MODE');
      const ask = (key: string) => target.startCanary({ modelId: model, artifactUri: v2.artifactUri, percent: 30, version: 2, idempotencyKey: key });
      const calls = Promise.all([ask('concurrent:a'), ask('concurrent:b')]);
      calls.catch(() => undefined); // awaited below; no unhandled rejection while the gate is shut
      await waitFor(
        async () =>
          Number((await db.pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n),
        (n) => n === 2,
        'both startCanary calls waiting on a lock',
        10_000,
      );
      await gate.query('COMMIT');
      results = await calls;
    } finally {
      await gate.query('ROLLBACK').catch(() => undefined);
      gate.release();
    }
    assert.equal(results.filter((r) => r.changed).length, 1, 'exactly one call made the change');
    assert.equal(results.filter((r) => !r.changed).length, 1, 'the other found it made');
    assert.equal(await changeCount(model), 1, 'one change recorded');
    assert.deepEqual(await canaryRows(model), [{ version: 2, percent: 30 }], 'one canary runs');
  });
});
