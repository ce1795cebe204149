/**
 * GET /v1/models/{model}/routing: what a team's model server should serve, from the built-in
 * deployment target over real PostgreSQL — the champion, a split or shadow canary with its share, the
 * fallback — with an ETag that answers 304 until something changes; and every refusal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { createRegistryDeployment } from '../../adapters/deployment/registryDeployment.js';
import { createPredictionLog } from '../../adapters/postgres/predictionLog.js';
import { createIncidentStore } from '../../adapters/postgres/incidentStore.js';
import { createBuiltinRegistry } from '../../adapters/registry/builtinRegistry.js';
import { connectTemporal, loadTemporalSettings } from '../../adapters/temporal/connection.js';
import { createIncidentService } from '../../client/incidentService.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import type { DeploymentTarget } from '../../ports/deploymentTarget.js';
import { RUNBOOKS_WITHOUT_FALLBACK } from '../../runbooks/defaultRunbooks.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const TOKEN = 'test-routing-token-0123456789';
const MODEL = 'ranker';

describe('routing API', () => {
  let db: TestDatabase;
  let config: VigilConfig;
  let app: FastifyInstance;
  let target: DeploymentTarget;
  let closeTemporal: () => Promise<void>;

  const routing = (model: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: `/v1/models/${model}/routing`, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

  before(async () => {
    config = parseConfig(
      {
        taskQueue: `routing-test-${process.pid}`,
        models: [
          { id: MODEL, displayName: 'Ranker', tier: 'medium', approvers: ['alice'], task: { type: 'multiclass', classes: ['a', 'b'] } },
          {
            id: 'served-elsewhere',
            displayName: 'On KServe',
            tier: 'medium',
            approvers: ['alice'],
            deployment: { kind: 'kserve', kserve: { namespace: 'ml', name: 'x' } },
            runbooks: RUNBOOKS_WITHOUT_FALLBACK,
          },
        ],
      },
      'test.json',
    );
    db = await createTestDatabase();
    const registry = createBuiltinRegistry(db.pool);
    target = createRegistryDeployment({ pool: db.pool, registry });
    await registry.ensureModel({ id: MODEL, displayName: 'Ranker', tier: 'medium' });
    for (const v of [1, 2]) {
      await registry.registerVersion({ modelId: MODEL, artifactUri: `s3://models/ranker/${v}`, metrics: {}, source: 'test', idempotencyKey: `reg-${v}` });
    }
    await registry.setAlias({ modelId: MODEL, alias: 'champion', version: 1, reason: 'test', idempotencyKey: 'champion-1' });
    const { connection, client } = await connectTemporal(loadTemporalSettings());
    closeTemporal = () => connection.close();
    const kserve = { kind: 'kserve' } as DeploymentTarget;
    app = createAlertReceiver({
      incidents: createIncidentService({ temporal: client, store: createIncidentStore(db.pool), config }),
      config,
      token: 'alert-token-0123456789',
      log: () => undefined,
      ingest: { predictions: createPredictionLog(db.pool), token: TOKEN },
      routing: { deploymentFor: (id) => (id === MODEL ? target : kserve) },
    });
  });
  after(async () => {
    await app?.close();
    await closeTemporal?.();
    await db?.drop();
  });

  it('answers the champion, then a split canary, a shadow and the fallback; 304 while nothing changed', async () => {
    const first = await routing(MODEL);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), {
      model: MODEL,
      mode: 'model',
      champion: { version: 1, artifactUri: 's3://models/ranker/1', percent: 100 },
      canary: null,
    });
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[\w-]{22}"$/);
    const unchanged = await routing(MODEL, { 'if-none-match': etag });
    assert.equal(unchanged.statusCode, 304);
    assert.equal(unchanged.body, '');
    assert.equal(unchanged.headers.etag, etag);
    assert.equal((await routing(MODEL, { 'if-none-match': `"other", W/${etag}` })).statusCode, 304, 'a list, and the weak form');

    await target.startCanary({ modelId: MODEL, artifactUri: 's3://models/ranker/2', version: 2, percent: 10, idempotencyKey: 'canary-2' });
    const canary = await routing(MODEL, { 'if-none-match': etag });
    assert.equal(canary.statusCode, 200, 'changed: the new answer');
    assert.notEqual(canary.headers.etag, etag);
    assert.deepEqual(canary.json(), {
      model: MODEL,
      mode: 'model',
      champion: { version: 1, artifactUri: 's3://models/ranker/1', percent: 90 },
      canary: { version: 2, artifactUri: 's3://models/ranker/2', percent: 10, split: 'split' },
    });

    await target.rollbackCanary({ modelId: MODEL, idempotencyKey: 'rollback-2' });
    await target.startCanary({ modelId: MODEL, artifactUri: 's3://models/ranker/2', version: 2, percent: 25, shadow: true, idempotencyKey: 'shadow-2' });
    assert.deepEqual((await routing(MODEL)).json().canary, { version: 2, artifactUri: 's3://models/ranker/2', percent: 25, split: 'shadow' });
    assert.equal((await routing(MODEL)).json().champion.percent, 100, 'a shadow answers nothing');

    await target.setFallback({ modelId: MODEL, on: true, reason: 'test', idempotencyKey: 'fallback-on' });
    assert.equal((await routing(MODEL)).json().mode, 'fallback');
  });

  it('refuses a bad token (401), an unknown model (404) and a model KServe routes (409)', async () => {
    const noToken = await app.inject({ method: 'GET', url: `/v1/models/${MODEL}/routing` });
    assert.equal(noToken.statusCode, 401);
    const wrong = await routing(MODEL, { authorization: 'Bearer nope' });
    assert.equal(wrong.statusCode, 401);
    const unknown = await routing('nope');
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().error, /unknown model "nope"/);
    const kserve = await routing('served-elsewhere');
    assert.equal(kserve.statusCode, 409);
    assert.match(kserve.json().error, /served by KServe, which routes it itself/);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/v1/models/{model}/routing'].get;
    assert.ok(op.responses['200'] && op.responses['304'] && op.responses['404'], Object.keys(op.responses).join());
    assert.ok(doc.components.schemas.RoutingAnswer, 'the answer schema');
  });
});
