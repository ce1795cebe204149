/**
 * Prediction and label ingestion over HTTP (POST /v1/models/{model}/predictions, /labels) on the
 * server that takes Alertmanager webhooks, against real PostgreSQL: binary, multiclass and regression
 * models configured here, idempotency, NDJSON, late labels, every refusal (401 / 404 / 413 / 415 / 400
 * / 429 / 503) storing nothing, and the OpenAPI document.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { createIngestLimiter, resolveIngestToken } from '../../adapters/http/ingestRoutes.js';
import { freePort } from '../../adapters/net/freePort.js';
import { createIncidentStore } from '../../adapters/postgres/incidentStore.js';
import { createPredictionLog } from '../../adapters/postgres/predictionLog.js';
import { connectTemporal, loadTemporalSettings } from '../../adapters/temporal/connection.js';
import { createIncidentService, type IncidentService } from '../../client/incidentService.js';
import { createHttpPredictionSink, createInProcessPredictionSink, PredictionSinkError } from '../../examples/credit-risk/predictionSink.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import type { PredictionLog } from '../../ports/predictionLog.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';
import { withVigilUp } from '../support/vigilUp.js';
import { waitFor } from '../support/waitFor.js';

const TOKEN = 'test-ingest-token-0123456789';
const ALERT_TOKEN = 'test-alert-token-0123456789';
const NDJSON = 'application/x-ndjson';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers are checked field by field

function testConfig(): VigilConfig {
  const model = { tier: 'medium', approvers: ['alice'] };
  return parseConfig({
    taskQueue: `ingest-test-${process.pid}`,
    ingest: { labelGrace: '2h' },
    models: [
      {
        ...model,
        id: 'fraud',
        displayName: 'Fraud (binary, named classes)',
        task: { type: 'binary', threshold: 0.7, positiveClass: 'fraud', negativeClass: 'legit' },
        inputSchema: {
          columns: {
            amount: { type: 'numeric', min: 0, max: 10_000 },
            country: { type: 'categorical', categories: ['DE', 'FR'] },
            channel: { type: 'categorical', optional: true },
          },
          allowExtraColumns: false,
        },
      },
      { ...model, id: 'churn', displayName: 'Churn (binary, default classes)' },
      { ...model, id: 'species', displayName: 'Species (multiclass)', task: { type: 'multiclass', classes: ['cat', 'dog', 'bird'] } },
      { ...model, id: 'demand', displayName: 'Demand (regression)', task: { type: 'regression' } },
    ],
  });
}

describe('prediction and label ingestion', () => {
  let db: TestDatabase;
  let config: VigilConfig;
  let incidents: IncidentService;
  let closeTemporal: () => Promise<void>;
  let log: PredictionLog;
  let app: FastifyInstance;
  const logs: string[] = [];
  const apps: FastifyInstance[] = [];

  const serve = (ingest: Partial<Parameters<typeof createAlertReceiver>[0]['ingest']> = {}, predictions: PredictionLog = log) => {
    const a = createAlertReceiver({ incidents, config, token: ALERT_TOKEN, log: (m) => logs.push(m), ingest: { predictions, token: TOKEN, ...ingest } });
    apps.push(a);
    return a;
  };

  const send = async (
    url: string,
    body: unknown,
    opts: { type?: string | null; token?: string | null; on?: FastifyInstance } = {},
  ): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> => {
    const headers: Record<string, string> = {};
    if (opts.type !== null) headers['content-type'] = opts.type ?? 'application/json';
    if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
    const res = await (opts.on ?? app).inject({
      method: 'POST',
      url,
      headers,
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
  };
  const predict = (model: string, rows: unknown[], opts?: Parameters<typeof send>[2]) => send(`/v1/models/${model}/predictions`, { predictions: rows }, opts);
  const label = (model: string, rows: unknown[], opts?: Parameters<typeof send>[2]) => send(`/v1/models/${model}/labels`, { labels: rows }, opts);
  const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  const count = async (model?: string) =>
    Number(
      (await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM predictions${model ? ' WHERE model_id = $1' : ''}`, model ? [model] : [])).rows[0]!.n,
    );
  const pendingCount = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM pending_labels')).rows[0]!.n);
  const stored = async (model: string, requestId: string) =>
    (
      await db.pool.query<Json>(
        'SELECT score, predicted, label, label_value, labeled_at, prediction, model_version, served_by, features, ts FROM predictions WHERE model_id = $1 AND request_id = $2',
        [model, requestId],
      )
    ).rows[0];

  const T0 = '2025-11-26T10:00:00Z';
  const fraudRow = (requestId: string, over: Record<string, unknown> = {}) => ({
    requestId,
    ts: T0,
    modelVersion: 3,
    features: { amount: 120.5, country: 'DE' },
    prediction: { score: 0.9 },
    ...over,
  });

  before(async () => {
    config = testConfig();
    db = await createTestDatabase();
    const { connection, client } = await connectTemporal(loadTemporalSettings());
    closeTemporal = () => connection.close();
    incidents = createIncidentService({ temporal: client, store: createIncidentStore(db.pool), config });
    log = createPredictionLog(db.pool);
    app = serve();
  });
  after(async () => {
    for (const a of apps) await a.close();
    await closeTemporal?.();
    await db?.drop();
  });

  it('stores a binary batch as the monitors read it: score, predicted by the threshold, version, features', async () => {
    const before = new Date();
    const res = await predict('fraud', [
      fraudRow('f-1'),
      fraudRow('f-2', { ts: '2025-11-26T11:00:00+01:00', prediction: { score: 0.7 } }), // = threshold: positive
      fraudRow('f-3', { ts: '2025-11-26T10:00:01.250Z', prediction: { score: 0.2 }, features: { amount: 5, country: 'FR', channel: null } }),
      { requestId: 'f-4', servedBy: 'fallback', features: { amount: 1, country: 'FR' }, prediction: { score: 1 } }, // no ts, no version
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 4, duplicates: 0, labelsMatched: 0 });

    const recent = await log.recent('fraud', { limit: 10 });
    assert.deepEqual(recent.map((r) => [r.score, r.predicted, r.modelVersion, r.servedBy, r.label, r.ts.toISOString()]).slice(0, 3), [
      [0.9, 1, 3, 'model', null, '2025-11-26T10:00:00.000Z'],
      [0.7, 1, 3, 'model', null, '2025-11-26T10:00:00.000Z'],
      [0.2, 0, 3, 'model', null, '2025-11-26T10:00:01.250Z'],
    ]);
    assert.deepEqual(recent[2]!.features, { amount: 5, country: 'FR', channel: null }, 'features as sent');
    const fallback = recent[3]!;
    assert.deepEqual([fallback.score, fallback.predicted, fallback.modelVersion, fallback.servedBy], [1, 1, null, 'fallback'], 'fallback row');
    assert.ok(fallback.ts >= before && fallback.ts <= new Date(), `no ts: the time Vigil received it (${fallback.ts.toISOString()})`);
    assert.equal((await stored('fraud', 'f-1')).prediction, null, 'binary rows keep their prediction in score/predicted');
  });

  it('stores a batch sent twice once: the second answer counts every row as a duplicate', async () => {
    const batch = [fraudRow('d-1'), fraudRow('d-2', { prediction: { score: 0.1 } })];
    assert.deepEqual((await predict('fraud', batch)).body, { accepted: 2, duplicates: 0, labelsMatched: 0 });
    const n = await count('fraud');
    const again = await predict('fraud', batch);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body, { accepted: 0, duplicates: 2, labelsMatched: 0 });
    assert.equal(await count('fraud'), n, 'nothing stored again');
    // First write wins: a resent row with another score changes nothing.
    const mixed = await predict('fraud', [fraudRow('d-2', { prediction: { score: 0.99 } }), fraudRow('d-3')]);
    assert.deepEqual(mixed.body, { accepted: 1, duplicates: 1, labelsMatched: 0 });
    assert.equal((await stored('fraud', 'd-2')).score, 0.1, 'the first row stays');
  });

  it('attaches binary labels by class name, idempotently; a different label is a correction', async () => {
    const res = await label('fraud', [
      { requestId: 'f-1', label: 'fraud', ts: '2025-11-27T09:00:00Z' },
      { requestId: 'f-3', label: 'legit' },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { matched: 2, pending: 0 });
    const labelled = await log.recent('fraud', { limit: 10, labelledOnly: true });
    assert.deepEqual(
      labelled.map((r) => [r.score, r.label]),
      [
        [0.9, 1],
        [0.2, 0],
      ],
      'labels as 1 = positive class, 0 = negative class',
    );
    const f1 = await stored('fraud', 'f-1');
    assert.equal(f1.labeled_at.toISOString(), '2025-11-27T09:00:00.000Z', 'labeled_at is the label’s ts');
    assert.equal(f1.label_value, null, 'binary labels live in label');

    const again = await label('fraud', [{ requestId: 'f-1', label: 'fraud' }]);
    assert.deepEqual(again.body, { matched: 1, pending: 0 }, 'the same label again: matched again');
    assert.equal((await stored('fraud', 'f-1')).labeled_at.toISOString(), '2025-11-27T09:00:00.000Z', 'and nothing changed');

    const corrected = await label('fraud', [{ requestId: 'f-1', label: 'legit', ts: '2025-11-27T10:00:00Z' }]);
    assert.deepEqual(corrected.body, { matched: 1, pending: 0 });
    const f1c = await stored('fraud', 'f-1');
    assert.deepEqual([f1c.label, f1c.labeled_at.toISOString()], [0, '2025-11-27T10:00:00.000Z'], 'a correction replaces the label');

    const bad = await label('fraud', [{ requestId: 'f-2', label: 1 }]);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(bad.body.issues, [{ row: 0, path: 'label', message: 'must be "fraud" (positive) or "legit" (negative): model "fraud" is binary' }]);

    // Default classes: 1 and 0, as numbers or strings.
    assert.equal((await predict('churn', [{ requestId: 'c-1', modelVersion: 1, features: {}, prediction: { score: 0.3 } }])).status, 200);
    assert.equal((await predict('churn', [{ requestId: 'c-2', modelVersion: 1, features: {}, prediction: { score: 0.6 } }])).status, 200);
    const churn = await label('churn', [
      { requestId: 'c-1', label: 1 },
      { requestId: 'c-2', label: '0' },
    ]);
    assert.deepEqual(churn.body, { matched: 2, pending: 0 });
    assert.deepEqual(
      (await log.recent('churn', { limit: 10, labelledOnly: true })).map((r) => [r.predicted, r.label]),
      [
        [0, 1],
        [1, 0],
      ],
    );
  });

  it('takes NDJSON: one row per line, blank lines and CRLF fine', async () => {
    const rows = [
      { requestId: 'n-1', modelVersion: 2, features: { tenure: 3 }, prediction: { score: 0.8 } },
      { requestId: 'n-2', modelVersion: 2, features: { tenure: 9, plan: 'pro' }, prediction: { score: 0.1 } },
    ];
    const body = `${JSON.stringify(rows[0])}\r\n\r\n${JSON.stringify(rows[1])}\r\n`;
    const res = await send('/v1/models/churn/predictions', body, { type: NDJSON });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 2, duplicates: 0, labelsMatched: 0 });
    assert.deepEqual((await stored('churn', 'n-2')).features, { tenure: 9, plan: 'pro' });

    const labels = await send('/v1/models/churn/labels', ndjson([{ requestId: 'n-1', label: 1 }]), { type: `${NDJSON}; charset=utf-8` });
    assert.deepEqual(labels.body, { matched: 1, pending: 0 });

    const n = await count();
    const bad = await send('/v1/models/churn/predictions', ndjson([{ ...rows[0], requestId: 'n-3' }, '{"requestId": "n-4",', '', '[1, 2'] as unknown[]), {
      type: NDJSON,
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(
      bad.body.issues.map((i: Json) => [i.row, i.line]),
      [
        [1, 2],
        [2, 4],
      ],
      'each malformed line, by row and line',
    );
    assert.match(bad.body.error, /^invalid NDJSON: line 2: invalid JSON at column 21: unexpected end of input; line 4: invalid JSON at column 6: /);
    const rowErrors = await send(
      '/v1/models/churn/predictions',
      ndjson([{ ...rows[0], requestId: 'n-5' }, '', { ...rows[1], requestId: 'n-6', prediction: {} }]),
      {
        type: NDJSON,
      },
    );
    assert.equal(rowErrors.status, 400, JSON.stringify(rowErrors.body));
    assert.deepEqual(rowErrors.body.issues, [{ row: 1, line: 3, path: 'prediction.score', message: 'is required (a number in [0, 1])' }]);
    assert.equal(await count(), n, 'nothing stored from either request');
  });

  it('stores multiclass predictions and labels, and refuses other shapes naming each problem', async () => {
    const res = await predict('species', [
      { requestId: 's-1', modelVersion: 1, features: { weight: 4.2 }, prediction: { label: 'dog', probabilities: { cat: 0.2, dog: 0.795, bird: 0.005 } } },
      { requestId: 's-2', modelVersion: 1, features: { weight: 0.1 }, prediction: { label: 'bird' } },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 2, duplicates: 0, labelsMatched: 0 });
    const s1 = await stored('species', 's-1');
    assert.deepEqual([s1.score, s1.predicted, s1.prediction], [null, null, { label: 'dog', probabilities: { cat: 0.2, dog: 0.795, bird: 0.005 } }]);

    assert.deepEqual((await label('species', [{ requestId: 's-1', label: 'cat' }])).body, { matched: 1, pending: 0 });
    const recent = await log.recent('species', { limit: 10, labelledOnly: true });
    assert.equal(recent.length, 1, 'labelled multiclass rows count as labelled');
    assert.deepEqual([recent[0]!.prediction, recent[0]!.labelValue, recent[0]!.label], [s1.prediction, 'cat', null]);

    const n = await count();
    const bad = await predict('species', [
      { requestId: 's-3', modelVersion: 1, features: {}, prediction: { score: 0.4 } },
      { requestId: 's-4', modelVersion: 1, features: {}, prediction: { label: 'fish', probabilities: { cat: 0.5, fish: 0.3 } } },
      { requestId: 's-5', modelVersion: 1, features: {}, prediction: { label: 'cat', probabilities: { cat: 0.5, dog: 0.3 } } },
    ]);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(bad.body.issues, [
      { row: 0, path: 'prediction.label', message: 'is required (a class: a non-empty string or a number)' },
      { row: 0, path: 'prediction', message: 'unknown key "score": model "species" is multiclass, its prediction is {"label", "probabilities"?}' },
      { row: 1, path: 'prediction.label', message: 'must be one of the classes of model "species": "cat", "dog", "bird"' },
      { row: 1, path: 'prediction.probabilities', message: 'must sum to 1 (± 0.01); they sum to 0.8' },
      { row: 1, path: 'prediction.probabilities.fish', message: 'is not a class of model "species" ("cat", "dog", "bird")' },
      { row: 2, path: 'prediction.probabilities', message: 'must sum to 1 (± 0.01); they sum to 0.8' },
    ]);
    const badLabel = await label('species', [{ requestId: 's-2', label: 'fish' }]);
    assert.equal(badLabel.status, 400, JSON.stringify(badLabel.body));
    assert.equal(badLabel.body.issues[0].path, 'label');
    assert.equal(await count(), n, 'nothing stored');
  });

  it('stores regression predictions and labels, and refuses other shapes', async () => {
    const res = await predict('demand', [{ requestId: 'r-1', modelVersion: 4, features: { store: 'berlin', day: 3 }, prediction: { value: -12.5 } }]);
    assert.deepEqual(res.body, { accepted: 1, duplicates: 0, labelsMatched: 0 });
    assert.deepEqual((await label('demand', [{ requestId: 'r-1', label: 13.25 }])).body, { matched: 1, pending: 0 });
    const [row] = await log.recent('demand', { limit: 10, labelledOnly: true });
    assert.deepEqual([row!.prediction, row!.labelValue, Number.isNaN(row!.score)], [{ value: -12.5 }, 13.25, true]);

    const bad = await predict('demand', [
      { requestId: 'r-2', modelVersion: 4, features: {}, prediction: { label: 'high' } },
      { requestId: 'r-3', modelVersion: 4, features: {}, prediction: { value: '12' } },
    ]);
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(
      bad.body.issues.map((i: Json) => `${i.row} ${i.path}`),
      ['0 prediction.value', '0 prediction', '1 prediction.value'],
      JSON.stringify(bad.body.issues),
    );
    const badLabel = await label('demand', [{ requestId: 'r-1', label: 'lots' }]);
    assert.deepEqual(badLabel.body.issues, [{ row: 0, path: 'label', message: 'must be a number: model "demand" is regression' }]);
    assert.equal(await count('demand'), 1, 'nothing more stored');
  });

  it('keeps a label that arrives before its prediction, and attaches it when the prediction lands', async () => {
    const early = await label('species', [{ requestId: 'late-1', label: 'bird', ts: '2025-11-26T12:00:00Z' }]);
    assert.deepEqual(early.body, { matched: 0, pending: 1 });
    const { rows } = await db.pool.query<Json>("SELECT label, label_value, expires_at - received_at AS grace FROM pending_labels WHERE request_id = 'late-1'");
    assert.deepEqual([rows[0].label, rows[0].label_value, rows[0].grace.hours], [null, 'bird', 2], 'pending for ingest.labelGrace');

    const res = await predict('species', [
      { requestId: 'late-1', modelVersion: 1, features: {}, prediction: { label: 'bird' } },
      { requestId: 'late-2', modelVersion: 1, features: {}, prediction: { label: 'cat' } },
    ]);
    assert.deepEqual(res.body, { accepted: 2, duplicates: 0, labelsMatched: 1 });
    const late = await stored('species', 'late-1');
    assert.deepEqual([late.label_value, late.labeled_at.toISOString()], ['bird', '2025-11-26T12:00:00.000Z'], 'the waiting label, with its time');
    assert.equal(await pendingCount(), 0, 'no longer pending');
  });

  it('stores shadow rows beside the served ones, once per version; shadowAccuracy judges them on the served row’s label', async () => {
    const since = new Date(Date.parse(T0) - 1000);
    const churn = (requestId: string, score: number, over: Record<string, unknown> = {}) => ({
      requestId,
      ts: T0,
      modelVersion: 1,
      features: { tenure: 3 },
      prediction: { score },
      ...over,
    });
    const shadow = (requestId: string, score: number) => churn(requestId, score, { modelVersion: 2, servedBy: 'shadow' });
    const shadowRows = async () =>
      (await db.pool.query<Json>("SELECT request_id, model_version, score, predicted FROM shadow_predictions WHERE model_id = 'churn' ORDER BY request_id"))
        .rows;

    // A label that came first waits for the served row: the shadow row of the same request never takes it.
    assert.deepEqual((await label('churn', [{ requestId: 'sh-1', label: 1, ts: '2025-11-26T10:05:00Z' }])).body, { matched: 0, pending: 1 });
    const res = await predict('churn', [
      churn('sh-1', 0.9),
      shadow('sh-1', 0.9),
      shadow('sh-2', 0.9),
      churn('sh-2', 0.2),
      churn('sh-3', 0.8),
      shadow('sh-3', 0.1),
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 6, duplicates: 0, labelsMatched: 1 });
    assert.equal(await pendingCount(), 0, 'the served row took the waiting label');
    assert.deepEqual(
      (await shadowRows()).map((r: Json) => [r.request_id, r.model_version, r.score, r.predicted]),
      [
        ['sh-1', 2, 0.9, 1],
        ['sh-2', 2, 0.9, 1],
        ['sh-3', 2, 0.1, 0],
      ],
    );
    const served = await db.pool.query<Json>(
      "SELECT request_id, served_by FROM predictions WHERE model_id = 'churn' AND request_id LIKE 'sh-%' ORDER BY request_id",
    );
    assert.deepEqual(
      served.rows.map((r: Json) => [r.request_id, r.served_by]),
      [
        ['sh-1', 'model'],
        ['sh-2', 'model'],
        ['sh-3', 'model'],
      ],
      'shadow rows are not predictions the monitors read',
    );

    // A shadow row alone: stored, and the label stays waiting for the served row.
    assert.deepEqual((await label('churn', [{ requestId: 'sh-4', label: 0, ts: '2025-11-26T10:05:00Z' }])).body, { matched: 0, pending: 1 });
    assert.deepEqual((await predict('churn', [shadow('sh-4', 0.2)])).body, { accepted: 1, duplicates: 0, labelsMatched: 0 });
    assert.equal(await pendingCount(), 1, 'still waiting for its served row');
    assert.deepEqual((await predict('churn', [churn('sh-4', 0.7)])).body, { accepted: 1, duplicates: 0, labelsMatched: 1 });
    assert.equal(await pendingCount(), 0);

    const labels = await label('churn', [
      { requestId: 'sh-2', label: 0, ts: '2025-11-26T10:05:00Z' },
      { requestId: 'sh-3', label: 1, ts: '2025-11-26T10:05:00Z' },
    ]);
    assert.deepEqual(labels.body, { matched: 2, pending: 0 }, 'labels go to the served rows');
    // Labels 1, 0, 1, 0. Served: 1, 0, 1, 1 (3 right); shadow: 1, 1, 0, 0 (2 right), on the same four requests.
    assert.deepEqual(await log.shadowAccuracy('churn', 2, since), {
      canary: { predictions: 4, labelled: 4, accuracy: 0.5 },
      stable: { predictions: 4, labelled: 4, accuracy: 0.75 },
    });

    // Sent again: duplicates, nothing changed; another candidate version of the same request is its own row.
    const again = await predict('churn', [shadow('sh-1', 0.1), shadow('sh-2', 0.1), churn('sh-1', 0.9)]);
    assert.deepEqual(again.body, { accepted: 0, duplicates: 3, labelsMatched: 0 });
    assert.equal((await shadowRows()).find((r: Json) => r.request_id === 'sh-1').score, 0.9, 'the first shadow row stays');
    assert.deepEqual((await predict('churn', [churn('sh-1', 0.4, { modelVersion: 3, servedBy: 'shadow' })])).body, {
      accepted: 1,
      duplicates: 0,
      labelsMatched: 0,
    });
    assert.equal((await log.shadowAccuracy('churn', 3, since)).canary.accuracy, 0);

    // Refused, nothing stored: a shadow row without the candidate's version; a shadow of a multiclass model.
    const before = (await shadowRows()).length;
    const noVersion = await predict('churn', [churn('sh-9', 0.5, { modelVersion: undefined, servedBy: 'shadow' })]);
    assert.equal(noVersion.status, 400);
    assert.deepEqual(
      noVersion.body.issues.map((i: Json) => i.path),
      ['modelVersion'],
    );
    const multiclass = await predict('species', [{ requestId: 'sh-9', modelVersion: 2, servedBy: 'shadow', features: {}, prediction: { label: 'cat' } }]);
    assert.equal(multiclass.status, 400);
    assert.match(multiclass.body.issues[0].message, /^"shadow" is taken for binary models only/);
    assert.equal((await shadowRows()).length, before);
  });

  it('the example simulator’s sinks: over HTTP with the token, and in-process with the routes’ own checks', async () => {
    const listening = serve();
    await listening.listen({ host: '127.0.0.1', port: 0 });
    const address = listening.server.address();
    const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const row = (requestId: string) => ({ requestId, ts: T0, modelVersion: 1, features: {}, prediction: { score: 0.6 } });

    const http = createHttpPredictionSink({ baseUrl, modelId: 'churn', token: TOKEN, rowsPerRequest: 2 });
    assert.deepEqual(await http.postPredictions([row('sink-1'), row('sink-2'), row('sink-3')]), { accepted: 3, duplicates: 0, labelsMatched: 0 });
    assert.deepEqual(await http.postLabels([{ requestId: 'sink-1', label: 1, ts: T0 }]), { matched: 1, pending: 0 });
    const wrongToken = createHttpPredictionSink({ baseUrl, modelId: 'churn', token: 'not-the-token-0123456789' });
    await assert.rejects(wrongToken.postPredictions([row('sink-4')]), (err: unknown) => err instanceof PredictionSinkError && err.status === 401);
    const refused = (err: unknown) => err instanceof PredictionSinkError && err.status === 400 && /must be 1 \(positive\) or 0 \(negative\)/.test(err.message);
    await assert.rejects(http.postLabels([{ requestId: 'sink-2', label: 'yes' }]), refused);

    const inProcess = createInProcessPredictionSink({ config, modelId: 'churn', predictions: log, log: (m) => logs.push(m) });
    assert.deepEqual(await inProcess.postPredictions([row('sink-3'), row('sink-5')]), { accepted: 1, duplicates: 1, labelsMatched: 0 });
    await assert.rejects(inProcess.postLabels([{ requestId: 'sink-2', label: 'yes' }]), refused);
    const unknown = createInProcessPredictionSink({ config, modelId: 'nope', predictions: log });
    await assert.rejects(unknown.postPredictions([row('sink-6')]), (err: unknown) => err instanceof PredictionSinkError && err.status === 404);
  });

  it('keeps a label for an unknown request pending for the grace period only', async () => {
    const res = await label('churn', [{ requestId: 'ghost', label: 1 }]);
    assert.deepEqual(res.body, { matched: 0, pending: 1 });
    const again = await label('churn', [{ requestId: 'ghost', label: 1 }]);
    assert.deepEqual(again.body, { matched: 0, pending: 1 }, 'sent again: still one pending label');
    assert.equal(await pendingCount(), 1);
    // The grace period has passed: the prediction arriving now finds no label.
    await db.pool.query("UPDATE pending_labels SET expires_at = now() - interval '1 second' WHERE request_id = 'ghost'");
    const res2 = await predict('churn', [{ requestId: 'ghost', modelVersion: 1, features: {}, prediction: { score: 0.5 } }]);
    assert.deepEqual(res2.body, { accepted: 1, duplicates: 0, labelsMatched: 0 });
    assert.equal((await stored('churn', 'ghost')).label, null, 'an expired label is not attached');
    await label('churn', [{ requestId: 'someone-else', label: 0 }]);
    assert.deepEqual(
      (await db.pool.query<{ request_id: string }>('SELECT request_id FROM pending_labels')).rows.map((r) => r.request_id),
      ['someone-else'],
      'expired labels are dropped',
    );
  });

  it('attaches a label committed while its prediction was being written (after the commit, whichever is second)', async () => {
    const waitingOnLock = async () =>
      Number(
        (await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
          .rows[0]!.n,
      );
    const row = (requestId: string) => ({ requestId, modelVersion: 1, features: {}, prediction: { score: 0.9 } });

    // A label lands while the predictions' statement runs: the statement cannot see it (it began
    // first), so it stores race-x unlabelled; the check after its commit finds the label.
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        "INSERT INTO pending_labels (model_id, request_id, label, labeled_at, expires_at) VALUES ('churn', 'race-x', 0, now(), now() + interval '1 hour')",
      );
      // Holds the statement until this transaction ends: the batch also carries race-y, stored here uncommitted.
      await other.query(
        "INSERT INTO predictions (model_id, request_id, model_version, served_by, features, score, predicted) VALUES ('churn', 'race-y', 1, 'model', '{}', 0.2, 0)",
      );
      const pending = predict('churn', [row('race-x'), row('race-y')]);
      await waitFor(waitingOnLock, (n) => n > 0, 'the predictions statement waits for the other transaction');
      await other.query('COMMIT');
      const res = await pending;
      assert.deepEqual(res.body, { accepted: 1, duplicates: 1, labelsMatched: 1 }, JSON.stringify(res.body));
      assert.equal((await stored('churn', 'race-x')).label, 0, 'the label is on its prediction');

      // The other way round: a prediction lands while the labels' statement runs.
      await other.query('BEGIN');
      await other.query(
        "INSERT INTO predictions (model_id, request_id, model_version, served_by, features, score, predicted) VALUES ('churn', 'race-a', 1, 'model', '{}', 0.2, 0)",
      );
      // Holds the labels' statement: race-b is waiting in pending_labels, uncommitted.
      await other.query(
        "INSERT INTO pending_labels (model_id, request_id, label, labeled_at, expires_at) VALUES ('churn', 'race-b', 1, now(), now() + interval '1 hour')",
      );
      const labels = label('churn', [
        { requestId: 'race-a', label: 1 },
        { requestId: 'race-b', label: 1 },
      ]);
      await waitFor(waitingOnLock, (n) => n > 0, 'the labels statement waits for the other transaction');
      await other.query('COMMIT');
      assert.deepEqual((await labels).body, { matched: 1, pending: 1 });
      assert.equal((await stored('churn', 'race-a')).label, 1, 'the label found its prediction after all');
    } finally {
      other.release();
    }
    await db.pool.query("DELETE FROM pending_labels WHERE request_id = 'race-b'");
  });

  it('stores what the monitor measures (out of range, unseen category, missing or extra column) and refuses type errors', async () => {
    const res = await predict('fraud', [
      fraudRow('q-1', { features: { amount: -5, country: 'XX' } }),
      fraudRow('q-2', { features: { country: 'DE', promo: 'spring', amount: null } }),
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 2, duplicates: 0, labelsMatched: 0 });
    assert.deepEqual((await stored('fraud', 'q-2')).features, { country: 'DE', promo: 'spring', amount: null });
  });

  it('refuses a malformed batch with 400 listing every problem, and stores none of it', async () => {
    const n = await count();
    const res = await predict('fraud', [
      fraudRow('e-0'),
      {
        requestId: 'e-1',
        ts: '2025-11-26T10:00:00',
        features: { amount: '12', country: 3, tags: ['a'] },
        prediction: { score: 1.5 },
        extra: true,
      },
      fraudRow('e-0'),
      { ts: new Date(Date.now() + 3_600_000).toISOString(), modelVersion: 0, features: 'none', prediction: { label: 'fraud' } },
      'not a row',
    ]);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const found = res.body.issues.map((i: Json) => `${i.row} ${i.path}`);
    assert.deepEqual(
      found,
      [
        '1 ts',
        '1 features.amount',
        '1 features.country',
        '1 features.tags',
        '1 prediction.score',
        '1 ',
        '1 modelVersion',
        '2 requestId',
        '3 requestId',
        '3 modelVersion',
        '3 features',
        '3 prediction.score',
        '3 prediction',
        '3 ts',
        '4 ',
      ],
      JSON.stringify(res.body.issues, null, 1),
    );
    const message = (row: number, p: string) => res.body.issues.find((i: Json) => i.row === row && i.path === p).message;
    assert.match(message(1, 'features.amount'), /is declared numeric in the model's inputSchema: expected a number or null, got a string \("12"\)/);
    assert.match(message(1, 'features.country'), /is declared categorical .* got a number \(3\)/);
    assert.match(message(1, 'ts'), /ISO 8601 time with a zone/);
    assert.match(message(1, ''), /unknown key "extra"/);
    assert.match(message(2, 'requestId'), /"e-0" is also row 0/);
    assert.match(message(3, 'ts'), /more than 5 minutes ahead/);
    assert.match(res.body.error, /^15 problems in 4 of 5 predictions; nothing was stored: row 1 ts: /);
    assert.equal(await count(), n, 'nothing stored, not even the valid rows');
  });

  it('refuses malformed JSON naming the line, and a body that is not a batch', async () => {
    const res = await send('/v1/models/fraud/predictions', '{\n  "predictions": [\n    {"requestId": "x",}\n  ]\n}');
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'invalid JSON body: line 3, column 23: unexpected "}"; nothing was stored');
    assert.deepEqual(res.body.issues, [{ line: 3, path: '', message: 'column 23: unexpected "}"' }]);
    const envelope = await send('/v1/models/fraud/predictions', { rows: [] });
    assert.equal(envelope.status, 400, JSON.stringify(envelope.body));
    assert.deepEqual(
      envelope.body.issues.map((i: Json) => i.path),
      ['predictions', ''],
    );
    const array = await send('/v1/models/fraud/labels', [{ requestId: 'x', label: 'fraud' }]);
    assert.equal(array.status, 400);
    assert.match(array.body.issues[0].message, /the body must be a JSON object \{"labels": \[\.\.\.\]\}, got an array/);
    const empty = await send('/v1/models/fraud/predictions', '');
    assert.equal(empty.status, 400, JSON.stringify(empty.body));
  });

  it('refuses a missing or wrong token (401), an unknown model (404) and an unsupported content type (415)', async () => {
    const n = await count();
    const none = await predict('fraud', [fraudRow('a-1')], { token: null });
    assert.equal(none.status, 401, JSON.stringify(none.body));
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    assert.equal((await predict('fraud', [fraudRow('a-1')], { token: `${TOKEN}x` })).status, 401, 'wrong token');
    assert.equal((await predict('fraud', [fraudRow('a-1')], { token: ALERT_TOKEN })).status, 401, 'the alert token is not the ingest token');
    assert.equal((await label('fraud', [{ requestId: 'f-1', label: 'fraud' }], { token: null })).status, 401, 'labels too');
    const alertWithIngestToken = await send('/alerts/alertmanager', {}, { token: TOKEN });
    assert.equal(alertWithIngestToken.status, 401, 'and the other way round');
    // Authentication comes first: no token and a bad body or model is still 401.
    assert.equal((await send('/v1/models/nope/predictions', '{', { token: null })).status, 401);
    assert.ok(!logs.some((l) => l.includes(TOKEN)), 'the token is never logged');

    const unknown = await predict('nope', [fraudRow('a-1')]);
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error, 'unknown model "nope" (configured: fraud, churn, species, demand)');

    const csv = await send('/v1/models/fraud/predictions', 'requestId,score\na,0.5\n', { type: 'text/csv' });
    assert.equal(csv.status, 415, JSON.stringify(csv.body));
    assert.equal(csv.body.error, 'unsupported Content-Type "text/csv": send application/json or application/x-ndjson (one row per line)');
    const untyped = await send('/v1/models/fraud/predictions', 'x', { type: null });
    assert.equal(untyped.status, 415, JSON.stringify(untyped.body));
    const noBody = await send('/v1/models/fraud/labels', undefined, { type: null });
    assert.equal(noBody.status, 415, JSON.stringify(noBody.body));
    assert.equal(await count(), n, 'nothing stored');
  });

  it('refuses a body over ingest.maxBodyBytes and a batch over ingest.maxRowsPerRequest with 413', async () => {
    const tight = serve({ settings: { ...config.ingest, maxBodyBytes: 2048, maxRowsPerRequest: 5 } });
    const n = await count();
    const big = Array.from({ length: 30 }, (_, i) => fraudRow(`big-${i}`));
    const res = await predict('fraud', big, { on: tight });
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.equal(res.body.error, 'the body is larger than 2048 bytes (ingest.maxBodyBytes): send smaller batches');
    const rows = Array.from({ length: 6 }, (_, i) => ({ requestId: `m-${i}`, label: 1 }));
    const many = await label('churn', rows, { on: tight });
    assert.equal(many.status, 413, JSON.stringify(many.body));
    assert.equal(many.body.error, '6 rows in one request; at most 5 are accepted (ingest.maxRowsPerRequest): split the batch');
    const manyLines = await send('/v1/models/churn/labels', ndjson(rows), { type: NDJSON, on: tight });
    assert.equal(manyLines.status, 413, JSON.stringify(manyLines.body));
    assert.match(manyLines.body.error, /^more than 5 rows in one request/);
    assert.equal((await label('churn', rows.slice(0, 5), { on: tight })).status, 200, 'five rows are fine');
    assert.equal(await count(), n, 'no prediction stored');
  });

  it('answers 429 with Retry-After when every slot is taken, and takes requests again once one is free', async () => {
    const limiter = createIngestLimiter(1);
    const busy = serve({ limiter });
    const release = limiter.tryAcquire();
    assert.ok(release, 'the test holds the only slot');
    const refused = await predict('churn', [{ requestId: 'busy-1', modelVersion: 1, features: {}, prediction: { score: 0.5 } }], { on: busy });
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(refused.body.error, /already handling 1 ingestion requests \(ingest\.maxInFlight\)/);
    assert.equal(await stored('churn', 'busy-1'), undefined, 'nothing stored');
    release();
    const ok = await predict('churn', [{ requestId: 'busy-1', modelVersion: 1, features: {}, prediction: { score: 0.5 } }], { on: busy });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(limiter.inFlight, 0, 'the slot is free again after the answer');
    const okAgain = await label('churn', [{ requestId: 'busy-1', label: 0 }], { on: busy });
    assert.equal(okAgain.status, 200, 'and again');
  });

  it('holds the slot while a request is being read: a second request meanwhile gets 429', async () => {
    const limiter = createIngestLimiter(1);
    const held = serve({ limiter });
    await held.listen({ host: '127.0.0.1', port: 0 });
    const port = (held.server.address() as { port: number }).port;
    const body = JSON.stringify({ predictions: [{ requestId: 'held-1', modelVersion: 1, features: {}, prediction: { score: 0.5 } }] });
    let secondDone = false;
    const first = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/models/churn/predictions',
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), authorization: `Bearer ${TOKEN}` },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      // The rest is sent once the second request has been refused.
      void waitFor(
        async () => secondDone,
        (d) => d,
        'the second request',
      ).then(() => req.end(body.slice(10)));
    });
    await waitFor(
      async () => limiter.inFlight,
      (n) => n === 1,
      'the first request holds the slot',
    );
    const second = await fetch(`http://127.0.0.1:${port}/v1/models/churn/predictions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ predictions: [] }),
    });
    secondDone = true;
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('retry-after'), '1');
    const done = await first;
    assert.equal(done.status, 200, done.body);
    assert.deepEqual(JSON.parse(done.body), { accepted: 1, duplicates: 0, labelsMatched: 0 });
    await waitFor(
      async () => limiter.inFlight,
      (n) => n === 0,
      'the slot is released',
    );
  });

  it('answers 503 with Retry-After when PostgreSQL is unreachable', async () => {
    const deadPool = new pg.Pool({ connectionString: `postgres://vigil@127.0.0.1:${await freePort()}/vigil`, connectionTimeoutMillis: 2_000 });
    try {
      const down = serve({}, createPredictionLog(deadPool));
      const res = await predict('churn', [{ requestId: 'down-1', modelVersion: 1, features: {}, prediction: { score: 0.5 } }], { on: down });
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.headers['retry-after'], '5');
      assert.match(res.body.error, /send the same request again later/);
      assert.ok(
        logs.some((l) => l.startsWith('ingest: 503 for predictions of churn')),
        logs.join('\n'),
      );
    } finally {
      await deadPool.end();
    }
  });

  it('serves /openapi.json without a token: OpenAPI 3.1 with both ingestion paths, schemas from the validation', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const doc = JSON.parse(res.body) as Json;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/v1/models/{model}/predictions'].post, 'predictions path');
    assert.ok(doc.paths['/v1/models/{model}/labels'].post, 'labels path');
    assert.ok(doc.paths['/alerts/alertmanager'].post, 'alertmanager path');
    assert.deepEqual(doc.components.securitySchemes.ingestToken, {
      type: 'http',
      scheme: 'bearer',
      description: 'VIGIL_INGEST_TOKEN, or the state folder’s ingest-token file.',
    });
    const post = doc.paths['/v1/models/{model}/predictions'].post;
    assert.deepEqual(Object.keys(post.requestBody.content), ['application/json', NDJSON]);
    assert.deepEqual(Object.keys(post.responses).sort(), ['200', '400', '401', '404', '409', '413', '415', '429', '503']);
    assert.ok(post.responses['429'].headers['Retry-After'], '429 documents Retry-After');
    const row = doc.components.schemas.PredictionRow;
    assert.deepEqual(row.required, ['requestId', 'features', 'prediction']);
    assert.equal(row.additionalProperties, false);
    assert.equal(doc.components.schemas.BinaryPrediction.properties.score.maximum, 1);
    assert.deepEqual(doc.components.schemas.LabelsAnswer.required, ['matched', 'pending']);
    // Every $ref resolves inside the document.
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref') refs.push(v as string);
        else walk(v);
      }
    };
    walk(doc);
    assert.ok(refs.includes('#/components/schemas/PredictionRow'), 'the batch refers to the row');
    for (const r of refs) {
      const target = r
        .replace(/^#\//, '')
        .split('/')
        .reduce((o: Json, k) => o?.[k], doc);
      assert.ok(target, `${r} resolves`);
    }
  });

  it('vigil up serves ingestion beside the alert receiver, with a generated ingest token it prints the path of', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ingest-up-'));
    const configFile = path.join(stateDir, 'vigil.config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        taskQueue: `ingest-up-${process.pid}-${Date.now()}`,
        models: [{ id: 'ingest-demo', displayName: 'Ingest demo', tier: 'medium', approvers: ['alice'], task: { type: 'regression' } }],
      }),
    );
    let token = '';
    await withVigilUp(
      { configFile, stateDir, databaseUrl: db.url },
      async (up) => {
        const base = up.base;
        const tokenFile = path.join(stateDir, 'ingest-token');
        assert.ok(
          up
            .output()
            .includes(
              `ingestion: POST ${base}/v1/models/<model>/predictions and /labels, routing: GET ${base}/v1/models/<model>/routing (bearer token: ${tokenFile}, created); API: ${base}/openapi.json`,
            ),
          up.output(),
        );
        assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600, 'mode 0600');
        token = fs.readFileSync(tokenFile, 'utf8').trim();
        assert.notEqual(token, fs.readFileSync(path.join(stateDir, 'alert-token'), 'utf8').trim(), 'not the alert token');
        const res = await fetch(`${base}/v1/models/ingest-demo/predictions`, {
          method: 'POST',
          headers: { 'content-type': NDJSON, authorization: `Bearer ${token}` },
          body: ndjson([{ requestId: 'up-1', modelVersion: 1, features: { x: 1 }, prediction: { value: 4.5 } }]),
        });
        assert.equal(res.status, 200, await res.clone().text());
        assert.deepEqual(await res.json(), { accepted: 1, duplicates: 0, labelsMatched: 0 });
        assert.deepEqual((await stored('ingest-demo', 'up-1')).prediction, { value: 4.5 }, 'stored in the database vigil up uses');
        const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Json;
        assert.ok(doc.paths['/v1/models/{model}/labels'], 'the API document');
      },
      () => token,
    );
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('has its own token: VIGIL_INGEST_TOKEN, else a generated ingest-token file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ingest-token-'));
    try {
      const fromEnv = resolveIngestToken({ stateDir: dir, env: { VIGIL_INGEST_TOKEN: 'abcdefghijklmnop-ingest' } });
      assert.deepEqual([fromEnv.token, fromEnv.source, fromEnv.created], ['abcdefghijklmnop-ingest', 'VIGIL_INGEST_TOKEN', false]);
      assert.throws(
        () => resolveIngestToken({ stateDir: dir, env: { VIGIL_INGEST_TOKEN: 'short' } }),
        (err: Error) => err instanceof UserInputError && err.message === 'VIGIL_INGEST_TOKEN: the ingest token must be at least 16 characters (it has 5)',
      );
      const created = resolveIngestToken({ stateDir: dir, env: {} });
      const file = path.join(dir, 'ingest-token');
      assert.deepEqual([created.source, created.created], [file, true]);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'mode 0600');
      assert.deepEqual(resolveIngestToken({ stateDir: dir, env: {} }).token, created.token, 'read back');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
