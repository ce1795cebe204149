/**
 * The MLflow registry against a real `mlflow server` (SQLite backend, local artifact root): the same
 * ModelRegistry contract the built-in registry passes, then what is MLflow's own: versions, aliases
 * and tags as MLflow's REST API shows them, runs holding the artifacts (local root and the artifact
 * proxy), registered-model names, exactly-once across a crash between MLflow and the record and under
 * concurrency, the per-model router, credentials, and clear errors for a bad tracking URI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../adapters/net/freePort.js';
import { createMlflowRegistry, MLFLOW_INTENT_PREFIX } from '../../adapters/registry/mlflowRegistry.js';
import { mlflowAuthHeaders } from '../../adapters/registry/mlflowRestClient.js';
import type { RegistryWithServingMode } from '../../adapters/registry/servingModeStore.js';
import { registryFromConfig } from '../../adapters/registry/registryRouter.js';
import { parseConfig } from '../../domain/config.js';
import { startMlflowServer, type MlflowServer } from '../support/mlflowServer.js';
import { modelRegistryContract } from '../support/modelRegistryContract.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { feedCanary, openApprovedDriftIncident, untilIncident } from '../support/driftIncident.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, TEST_CANARY, type VigilTestEnv } from '../support/vigilTestEnv.js';

// One server for the whole file, started by whichever suite needs it first.
let serverStart: Promise<MlflowServer> | undefined;
const mlflowServer = () =>
  (serverStart ??= startMlflowServer().then((s) => {
    console.log(`# mlflow server ready in ${s.startSeconds.toFixed(1)}s at ${s.url}`);
    return s;
  }));
after(async () => {
  if (serverStart) await (await serverStart).stop();
});

modelRegistryContract('MLflow', async () => {
  const [server, db] = await Promise.all([mlflowServer(), createTestDatabase()]);
  return { registry: createMlflowRegistry({ pool: db.pool, trackingUri: server.url }), close: () => db.drop() };
});

async function rest<T = any>(server: MlflowServer, method: string, endpoint: string, body?: unknown): Promise<T> {
  const url = `${server.url}/api/2.0/mlflow/${endpoint}`;
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as T;
  assert.ok(res.ok, `${method} ${endpoint} → HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

const tags = (list: { key: string; value: string }[] | undefined) => Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

describe('MLflow registry: what MLflow holds', () => {
  let server: MlflowServer;
  let db: TestDatabase;
  let registry: RegistryWithServingMode;
  let dir: string;
  let n = 0;
  const artifact = (content: unknown) => {
    const file = path.join(dir, `a${++n}`, 'model.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  };

  before(async () => {
    [server, db] = await Promise.all([mlflowServer(), createTestDatabase()]);
    registry = createMlflowRegistry({ pool: db.pool, trackingUri: server.url, registeredModelNames: { 'named-model': 'Credit Risk Scorer' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mlflow-test-'));
  });
  after(async () => {
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('versions, aliases and Vigil tags are MLflow objects: source is the artifact in a run, metrics logged to the run', async () => {
    await registry.ensureModel({ id: 'fraud', displayName: 'Fraud scorer', tier: 'critical' });
    const v1 = await registry.registerVersion({
      modelId: 'fraud',
      artifactUri: artifact({ weights: [1, 2] }),
      metrics: { auc: 0.91, calibrationError: 0.02 },
      source: 'bootstrap',
      status: 'healthy',
      idempotencyKey: 'fraud:v1',
    });
    await registry.setAlias({ modelId: 'fraud', alias: 'champion', version: v1.version, reason: 'bootstrap', idempotencyKey: 'fraud:champion' });

    const rm = (await rest(server, 'GET', 'registered-models/get?name=fraud')).registered_model;
    assert.equal(rm.description, 'Fraud scorer', 'display name is the description');
    assert.deepEqual(tags(rm.tags), { 'vigil.model_id': 'fraud', 'vigil.tier': 'critical', 'vigil.display_name': 'Fraud scorer' }, 'model tags');
    assert.deepEqual(rm.aliases, [{ alias: 'champion', version: '1' }], 'champion alias in MLflow');

    const mv = (await rest(server, 'GET', 'model-versions/get?name=fraud&version=1')).model_version;
    assert.equal(mv.source, v1.artifactUri, "the artifact URI is the version's source");
    assert.ok(mv.source.startsWith(server.artifactRoot + '/'), `stored under the server's artifact root: ${mv.source}`);
    assert.deepEqual(JSON.parse(fs.readFileSync(mv.source, 'utf8')), { weights: [1, 2] }, 'the artifact was copied into the run');
    assert.deepEqual(
      tags(mv.tags),
      { 'vigil.idempotency_key': 'fraud:v1', 'vigil.status': 'healthy', 'vigil.metrics': '{"auc":0.91,"calibrationError":0.02}', 'vigil.source': 'bootstrap' },
      'version tags',
    );
    const run = (await rest(server, 'GET', `runs/get?run_id=${mv.run_id}`)).run;
    assert.equal(run.info.status, 'FINISHED', 'the run is finished');
    assert.deepEqual(
      Object.fromEntries(run.data.metrics.map((m: { key: string; value: number }) => [m.key, m.value])),
      { auc: 0.91, calibrationError: 0.02 },
      'metrics logged to the run',
    );
    const exp = (await rest(server, 'GET', `experiments/get?experiment_id=${run.info.experiment_id}`)).experiment;
    assert.equal(exp.name, 'vigil/fraud', 'runs go to the vigil/<name> experiment');

    await registry.markVersion('fraud', 1, 'bad');
    assert.equal(tags((await rest(server, 'GET', 'model-versions/get?name=fraud&version=1')).model_version.tags)['vigil.status'], 'bad', 'mark is a tag');
    await registry.setServingMode({ modelId: 'fraud', mode: 'fallback', reason: 'incident', idempotencyKey: 'fraud:fallback' });
    assert.equal(
      tags((await rest(server, 'GET', 'registered-models/get?name=fraud')).registered_model.tags)['vigil.serving_mode'],
      'fallback',
      'serving mode is a tag',
    );
  });

  it('reads versions made outside Vigil, and registers remote artifact URIs as they are', async () => {
    await registry.ensureModel({ id: 'external', displayName: 'External', tier: 'low' });
    await rest(server, 'POST', 'model-versions/create', { name: 'external', source: 's3://models/external/1' });
    const outside = await registry.getVersion('external', 1);
    assert.deepEqual(
      outside && { ...outside, createdAt: 'x' },
      { modelId: 'external', version: 1, artifactUri: 's3://models/external/1', metrics: {}, status: 'registered', source: 'mlflow', createdAt: 'x' },
      'a version without Vigil tags',
    );
    const v2 = await registry.registerVersion({
      modelId: 'external',
      artifactUri: 'gs://models/external/2',
      metrics: { auc: 0.7 },
      source: 'retrain:x',
      idempotencyKey: 'external:2',
    });
    assert.equal(v2.version, 2, "MLflow's next version number");
    assert.equal(v2.artifactUri, 'gs://models/external/2', 'a remote URI is the source unchanged');
    assert.equal((await registry.lastGoodVersionBefore('external', 2))?.version, 1, 'an outside version counts as registered');
  });

  it('says so when the experiment that holds its runs was deleted in MLflow', async () => {
    await registry.ensureModel({ id: 'archived', displayName: 'Archived', tier: 'low' });
    const v1 = await registry.registerVersion({ modelId: 'archived', artifactUri: artifact({ a: 1 }), metrics: {}, source: 's', idempotencyKey: 'archived:1' });
    const exp = (await rest(server, 'GET', `experiments/get-by-name?experiment_name=${encodeURIComponent('vigil/archived')}`)).experiment;
    await rest(server, 'POST', 'experiments/delete', { experiment_id: exp.experiment_id });
    await assert.rejects(
      registry.registerVersion({ modelId: 'archived', artifactUri: artifact({ a: 2 }), metrics: {}, source: 's', idempotencyKey: 'archived:2' }),
      /MLflow experiment "vigil\/archived" at .* is deleted/,
      'names the experiment',
    );
    assert.deepEqual(await registry.listVersions('archived'), [v1], 'nothing registered');
  });

  it('uses registeredModelName, and refuses a registered model that belongs to another Vigil model', async () => {
    await registry.ensureModel({ id: 'named-model', displayName: 'Named', tier: 'high' });
    await registry.ensureModel({ id: 'named-model', displayName: 'Named', tier: 'high' });
    const rm = (await rest(server, 'GET', `registered-models/get?name=${encodeURIComponent('Credit Risk Scorer')}`)).registered_model;
    assert.equal(tags(rm.tags)['vigil.model_id'], 'named-model', 'the MLflow name maps to the Vigil id');
    const v = await registry.registerVersion({ modelId: 'named-model', artifactUri: artifact({ a: 1 }), metrics: {}, source: 's', idempotencyKey: 'named:1' });
    assert.equal(v.modelId, 'named-model', 'versions come back under the Vigil id');

    const clash = createMlflowRegistry({ pool: db.pool, trackingUri: server.url, registeredModelNames: { other: 'Credit Risk Scorer' } });
    await assert.rejects(
      clash.ensureModel({ id: 'other', displayName: 'Other', tier: 'low' }),
      /"Credit Risk Scorer".*belongs to Vigil model "named-model", not "other"/,
      'a name clash is refused',
    );
  });

  it("stores artifact folders through the tracking server's artifact proxy (mlflow-artifacts:)", async () => {
    await registry.ensureModel({ id: 'proxied', displayName: 'Proxied', tier: 'low' });
    // An experiment whose artifacts live behind the proxy, as with `mlflow server --serve-artifacts` defaults.
    await rest(server, 'POST', 'experiments/create', { name: 'vigil/proxied', artifact_location: 'mlflow-artifacts:/vigil-proxied' });
    const folder = path.join(dir, 'torch-model');
    fs.mkdirSync(path.join(folder, 'weights'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'config.json'), '{"layers":2}');
    fs.writeFileSync(path.join(folder, 'weights', 'layer 1.bin'), Buffer.from([0, 1, 2, 255]));
    const v = await registry.registerVersion({
      modelId: 'proxied',
      artifactUri: folder,
      metrics: { auc: 0.8 },
      source: 'retrain:p',
      idempotencyKey: 'proxied:1',
    });
    assert.match(v.artifactUri, /^mlflow-artifacts:\/vigil-proxied\/[0-9a-f]{32}\/artifacts\/model\/torch-model$/, 'source is in the proxied store');
    const rel = v.artifactUri.slice('mlflow-artifacts:/'.length);
    const download = async (p: string) => {
      const res = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${rel}/${p}`);
      assert.equal(res.status, 200, `download ${p}`);
      return Buffer.from(await res.arrayBuffer());
    };
    assert.equal((await download('config.json')).toString(), '{"layers":2}', 'file uploaded');
    assert.deepEqual([...(await download('weights/layer%201.bin'))], [0, 1, 2, 255], 'nested binary file uploaded');
  });

  it('completes a change a crash left between the record and MLflow, with the from MLflow really had', async () => {
    await registry.ensureModel({ id: 'crashy', displayName: 'Crashy', tier: 'low' });
    for (const i of [1, 2, 3]) {
      await registry.registerVersion({ modelId: 'crashy', artifactUri: `s3://m/crashy/${i}`, metrics: {}, source: 's', idempotencyKey: `crashy:${i}` });
    }
    await registry.setAlias({ modelId: 'crashy', alias: 'champion', version: 1, reason: 'deploy', idempotencyKey: 'crashy:deploy' });
    // The worker recorded its intent (champion 1 → 2), MLflow applied it, and the worker died before completing it.
    await db.pool.query(
      `INSERT INTO registry_events (model_id, kind, alias, from_version, to_version, detail, idempotency_key)
       VALUES ('crashy', 'alias_set', 'champion', 1, 2, '{"reason":"promote"}', $1)`,
      [`${MLFLOW_INTENT_PREFIX}crashy:promote`],
    );
    await rest(server, 'POST', 'registered-models/alias', { name: 'crashy', alias: 'champion', version: '2' });
    assert.equal(await registry.priorChange('crashy:promote'), undefined, 'an intent is not a change yet');
    assert.equal((await registry.aliasHistory('crashy', 'champion', new Date(0))).length, 1, 'nor in the history');

    const retried = await registry.setAlias({ modelId: 'crashy', alias: 'champion', version: 2, reason: 'promote', idempotencyKey: 'crashy:promote' });
    assert.deepEqual(retried, { from: 1, to: 2 }, 'the retry reports the recorded from, not the already-moved alias');
    assert.deepEqual(await registry.priorChange('crashy:promote'), { from: 1, to: 2 }, 'now a change');

    // Another intent left unapplied (MLflow still at 2) is rolled forward before a different key's change.
    await db.pool.query(
      `INSERT INTO registry_events (model_id, kind, alias, from_version, to_version, detail, idempotency_key)
       VALUES ('crashy', 'alias_set', 'champion', 2, 3, '{"reason":"canary"}', $1)`,
      [`${MLFLOW_INTENT_PREFIX}crashy:canary`],
    );
    const rollback = await registry.setAlias({ modelId: 'crashy', alias: 'champion', version: 1, reason: 'rollback', idempotencyKey: 'crashy:rollback' });
    assert.deepEqual(rollback, { from: 3, to: 1 }, 'the leftover applied first, then this change');
    assert.deepEqual(
      (await registry.aliasHistory('crashy', 'champion', new Date(0))).map((h) => [h.fromVersion, h.toVersion, h.reason]),
      [
        [undefined, 1, 'deploy'],
        [1, 2, 'promote'],
        [2, 3, 'canary'],
        [3, 1, 'rollback'],
      ],
      'history in order, each move once',
    );
    assert.equal((await rest(server, 'GET', 'registered-models/alias?name=crashy&alias=champion')).model_version.version, '1', 'MLflow agrees');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM registry_events WHERE starts_with(idempotency_key, $1)`, [MLFLOW_INTENT_PREFIX]);
    assert.equal(rows[0].n, 0, 'no intents left');
  });

  it('exactly once under concurrency: the same registration key, and competing alias moves, from several callers at once', async () => {
    await registry.ensureModel({ id: 'busy', displayName: 'Busy', tier: 'low' });
    const file = artifact({ busy: true });
    const same = await Promise.all(
      [1, 2, 3].map(() =>
        registry.registerVersion({ modelId: 'busy', artifactUri: file, metrics: { auc: 0.5 }, source: 's', idempotencyKey: 'busy:candidate' }),
      ),
    );
    assert.deepEqual(new Set(same.map((v) => v.version)), new Set([1]), 'one version for one key');
    assert.equal((await registry.listVersions('busy')).length, 1, 'MLflow has one version');
    await registry.registerVersion({ modelId: 'busy', artifactUri: 's3://m/busy/2', metrics: {}, source: 's', idempotencyKey: 'busy:2' });

    const moves = await Promise.all([
      registry.setAlias({ modelId: 'busy', alias: 'champion', version: 1, reason: 'a', idempotencyKey: 'busy:a' }),
      registry.setAlias({ modelId: 'busy', alias: 'champion', version: 2, reason: 'b', idempotencyKey: 'busy:b' }),
      registry.setAlias({ modelId: 'busy', alias: 'champion', version: 1, reason: 'a', idempotencyKey: 'busy:a' }),
    ]);
    assert.deepEqual(moves[0], moves[2], 'the same key answers the same');
    const history = await registry.aliasHistory('busy', 'champion', new Date(0));
    assert.equal(history.length, 2, `two moves: ${JSON.stringify(history)}`);
    assert.equal(history[1]!.fromVersion, history[0]!.toVersion, 'serialised: the second move starts where the first ended');
  });

  it('routes models by config: MLflow for one, the built-in registry for the other', async () => {
    const config = parseConfig({
      models: [
        { id: 'routed-builtin', displayName: 'B', tier: 'low', approvers: ['a'] },
        {
          id: 'routed-mlflow',
          displayName: 'M',
          tier: 'low',
          approvers: ['a'],
          registry: { kind: 'mlflow', mlflow: { trackingUri: server.url, registeredModelName: 'routed' } },
        },
      ],
    });
    const routed = registryFromConfig(config, db.pool);
    for (const m of config.models) await routed.ensureModel({ id: m.id, displayName: m.displayName, tier: m.tier });
    await routed.registerVersion({ modelId: 'routed-mlflow', artifactUri: 's3://m/r/1', metrics: {}, source: 's', idempotencyKey: 'routed:m1' });
    await routed.registerVersion({ modelId: 'routed-builtin', artifactUri: '/srv/models/b1', metrics: {}, source: 's', idempotencyKey: 'routed:b1' });
    await routed.setAlias({ modelId: 'routed-mlflow', alias: 'champion', version: 1, reason: 'r', idempotencyKey: 'routed:m-champion' });
    await routed.setAlias({ modelId: 'routed-builtin', alias: 'champion', version: 1, reason: 'r', idempotencyKey: 'routed:b-champion' });

    assert.equal((await rest(server, 'GET', 'model-versions/get?name=routed&version=1')).model_version.source, 's3://m/r/1', 'the MLflow model is in MLflow');
    const builtinRows = await db.pool.query(`SELECT model_id FROM model_versions WHERE model_id LIKE 'routed-%'`);
    assert.deepEqual(builtinRows.rows, [{ model_id: 'routed-builtin' }], 'only the built-in model is in PostgreSQL');
    assert.deepEqual(await routed.priorChange('routed:m-champion'), { from: undefined, to: 1 }, 'priorChange finds MLflow changes');
    assert.deepEqual(await routed.priorChange('routed:b-champion'), { from: undefined, to: 1 }, 'and built-in ones');
    assert.equal((await routed.getAlias('routed-mlflow', 'champion'))?.artifactUri, 's3://m/r/1', 'reads go to the right registry');
  });

  it('a bad tracking URI fails with an error naming it', async () => {
    const port = await freePort();
    const nobody = createMlflowRegistry({ pool: db.pool, trackingUri: `http://127.0.0.1:${port}` });
    await assert.rejects(
      nobody.ensureModel({ id: 'lost', displayName: 'Lost', tier: 'low' }),
      new RegExp(
        `cannot reach the MLflow tracking server at http://127\\.0\\.0\\.1:${port} \\(GET registered-models/get\\): ECONNREFUSED; check the model's registry\\.mlflow\\.trackingUri`,
      ),
      'unreachable',
    );
    const wrongPath = createMlflowRegistry({ pool: db.pool, trackingUri: `${server.url}/not-mlflow/` });
    await assert.rejects(
      wrongPath.getServingMode('fraud'),
      new RegExp(`${server.url}/not-mlflow does not look like an MLflow tracking server: GET /api/2.0/mlflow/registered-models/get answered HTTP 404`),
      'not MLflow',
    );
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM models WHERE id = 'lost'`);
    assert.equal(rows[0].n, 0, 'nothing half-registered');
  });

  it('sends credentials from the environment and never shows them', async () => {
    assert.deepEqual(mlflowAuthHeaders({}), {}, 'none');
    assert.deepEqual(mlflowAuthHeaders({ MLFLOW_TRACKING_TOKEN: 'tok' }), { authorization: 'Bearer tok' }, 'token');
    assert.deepEqual(
      mlflowAuthHeaders({ MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p', MLFLOW_TRACKING_TOKEN: 'tok' }),
      { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
      'basic auth first, as MLflow does',
    );
    assert.throws(
      () => mlflowAuthHeaders({ MLFLOW_TRACKING_USERNAME: 'u' }),
      /MLFLOW_TRACKING_USERNAME is set but MLFLOW_TRACKING_PASSWORD is not/,
      'half of basic auth',
    );
    assert.throws(
      () => mlflowAuthHeaders({ MLFLOW_TRACKING_PASSWORD: 'secret-pw' }),
      (err: Error) => !err.message.includes('secret-pw'),
      'never echoes the secret',
    );
    assert.throws(
      () => createMlflowRegistry({ pool: db.pool, trackingUri: 'http://alice:secret-pw@127.0.0.1:5000' }),
      (err: Error) => /must not carry credentials/.test(err.message) && !err.message.includes('secret-pw'),
      'credentials in the URI are refused without echoing them',
    );

    // A server that refuses every credential, as an MLflow behind auth does with the wrong token.
    const seen: (string | undefined)[] = [];
    const refusing = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":"UNAUTHENTICATED","message":"bad token"}');
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      const port = (refusing.address() as { port: number }).port;
      const guarded = createMlflowRegistry({ pool: db.pool, trackingUri: `http://127.0.0.1:${port}`, env: { MLFLOW_TRACKING_TOKEN: 's3cr3t-token' } });
      await assert.rejects(
        guarded.listVersions('fraud'),
        (err: Error) => {
          assert.match(
            err.message,
            /refused GET model-versions\/search \(HTTP 401\): set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/,
            'says which variables',
          );
          assert.ok(!err.message.includes('s3cr3t-token'), 'the token is not in the message');
          return true;
        },
        'refused',
      );
      assert.deepEqual(seen, ['Bearer s3cr3t-token'], 'the token went in the Authorization header');
    } finally {
      await new Promise((r) => refusing.close(r));
    }
  });
});

describe('MLflow registry: the example model end to end', () => {
  let server: MlflowServer;
  let env: VigilTestEnv;
  before(async () => {
    server = await mlflowServer();
    env = await createVigilTestEnv({
      config: (taskQueue) => {
        const config = testConfig({ canary: TEST_CANARY }, taskQueue);
        config.models[0]!.registry = { kind: 'mlflow', mlflow: { trackingUri: server.url, registeredModelName: 'credit-risk-e2e', timeout: '30s' } };
        return config;
      },
    });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('bootstraps v1 into MLflow, and an approved drift retrain registers v2 there, canaries it as challenger and promotes it', async () => {
    const v1 = (await rest(server, 'GET', 'registered-models/alias?name=credit-risk-e2e&alias=champion')).model_version;
    assert.equal(v1.version, '1', 'the baseline is the MLflow champion');
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.artifactUri, v1.source, 'Vigil serves from the MLflow source');

    const id = await openApprovedDriftIncident(env);
    const canary = await feedCanary(env);
    assert.equal(canary.version, 2, 'the candidate serves the canary share');
    const challenger = (await rest(server, 'GET', 'registered-models/alias?name=credit-risk-e2e&alias=challenger')).model_version;
    assert.equal(challenger.version, '2', 'the candidate is the MLflow challenger during the canary');
    assert.equal(
      (await rest(server, 'GET', 'registered-models/alias?name=credit-risk-e2e&alias=champion')).model_version.version,
      '1',
      'the champion stays until the canary passes',
    );
    await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 120_000);
    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await untilIncident(env, id, (s) => s.phase === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'resolved', `timeline: ${JSON.stringify(closed.state.timeline.slice(-4))}`);

    const champion = (await rest(server, 'GET', 'registered-models/alias?name=credit-risk-e2e&alias=champion')).model_version;
    assert.equal(champion.version, '2', 'the candidate is the MLflow champion');
    assert.equal(tags(champion.tags)['vigil.source'], `retrain:${id}`, 'registered by the retrain');
    assert.ok(JSON.parse(tags(champion.tags)['vigil.metrics']!).auc > 0.5, 'with its metrics');
    const versions = (await rest(server, 'GET', `model-versions/search?filter=${encodeURIComponent("name = 'credit-risk-e2e'")}`)).model_versions;
    assert.equal(versions.length, 2, 'one candidate registered');
    // Keys are <workflow id>:<activity id>; the retrain runs as the incident's child workflow.
    const moves = await env.services.pool.query(`SELECT alias FROM registry_events WHERE starts_with(idempotency_key, $1) AND kind = 'alias_set' ORDER BY id`, [
      id,
    ]);
    assert.deepEqual(
      moves.rows.map((r) => r.alias),
      ['challenger', 'champion'],
      'one challenger mark and one champion move for the decision',
    );
    const history = await env.services.registry.aliasHistory(TEST_MODEL, 'champion', new Date(0));
    assert.deepEqual(
      history.map((h) => [h.fromVersion, h.toVersion]),
      [
        [undefined, 1],
        [1, 2],
      ],
      'bootstrap, then the promotion',
    );
  });
});
