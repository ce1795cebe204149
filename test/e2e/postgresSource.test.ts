/**
 * Models whose predictions and labels live in the team's own PostgreSQL tables (`source.kind:
 * "postgres"`), read in place through a column mapping: a second real database with its own schema and
 * names, reached as a read-only role with a password, from a URL that only the environment holds.
 * Mapping, labels arriving, accuracy per version, the monitor on the team's table (drift on a binary
 * model's table, accuracy on a regression model's query), ingestion refused, and the URL never shown.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { createAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { readCsvTable } from '../../adapters/files/csvTable.js';
import { freePort } from '../../adapters/net/freePort.js';
import { PredictionSourceError } from '../../adapters/postgres/sourcePredictionLog.js';
import { createModelService, type ModelService } from '../../client/modelService.js';
import { judgeCanary } from '../../domain/canaryVerdict.js';
import { parseConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { CanaryPolicy } from '../../domain/runbook.js';
import { createTestDatabase, testAdminDatabaseUrl, type TestDatabase } from '../support/testDatabase.js';
import { createVigilTestEnv, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const suffix = `${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
/** The environment variables the config names; only they hold the URLs. */
const FRAUD_ENV = `VIGIL_TEST_FRAUD_DB_URL_${suffix}`;
const ELSEWHERE_ENV = `VIGIL_TEST_ELSEWHERE_DB_URL_${suffix}`;
const READER = `vigil_reader_${suffix}`;
const READER_PASSWORD = `Rd-${crypto.randomBytes(8).toString('hex')}-pw`;
const OTHER_SECRET = `S3cret-${crypto.randomBytes(8).toString('hex')}`;
const INGEST_TOKEN = 'test-ingest-token-0123456789';

/** A deterministic stream of numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const MERCHANTS = ['grocery', 'travel', 'electronics', 'fuel'];

/** Purchases: amount ~ 20–220 (shifted by `shift`), a merchant, a fraud probability and the outcome. */
function purchases(n: number, seed: number, shift = 0) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const amount = Number((20 + r() * 200 + shift).toFixed(2));
    const prob = Number(Math.min(0.99, amount / 400 + r() * 0.2).toFixed(4));
    return { amount, merchant: MERCHANTS[Math.floor(r() * MERCHANTS.length)]!, prob, fraud: r() < prob };
  });
}

const FRAUD_COLUMNS = {
  requestId: 'req_uuid',
  ts: 'scored_at',
  modelVersion: 'model_rev',
  features: ['amount', 'merchant'],
  score: 'fraud_prob',
  outcome: 'is_fraud',
  labeledAt: 'label_time',
};

describe('predictions read from the team’s own PostgreSQL tables', () => {
  let env: VigilTestEnv;
  let team: TestDatabase;
  let models: ModelService;
  let readerUrl: string;
  let dir: string;
  const output: string[] = [];
  const restore: (() => void)[] = [];

  /** Rows inserted into scoring.fraud_scores. */
  const insertFraud = async (
    rows: { id?: string; at: Date; rev: number; amount: number; merchant: string; prob: number; fraud: boolean | null; labelAt?: Date | null }[],
  ) => {
    await team.pool.query(
      `INSERT INTO scoring.fraud_scores (req_uuid, scored_at, model_rev, amount, merchant, fraud_prob, is_fraud, label_time)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::numeric[], $5::text[], $6::float8[], $7::bool[], $8::timestamptz[])`,
      [
        rows.map((r) => r.id ?? crypto.randomUUID()),
        rows.map((r) => r.at),
        rows.map((r) => r.rev),
        rows.map((r) => r.amount),
        rows.map((r) => r.merchant),
        rows.map((r) => r.prob),
        rows.map((r) => r.fraud),
        rows.map((r) => (r.labelAt === undefined ? (r.fraud === null ? null : r.at) : r.labelAt)),
      ],
    );
  };

  const csv = (name: string, rows: Record<string, string | number>[]) => {
    const file = path.join(dir, name);
    const header = Object.keys(rows[0]!);
    fs.writeFileSync(file, [header.join(','), ...rows.map((r) => header.map((h) => r[h]).join(','))].join('\n') + '\n');
    return readCsvTable(file);
  };
  const fraudReference = () =>
    csv(
      'fraud-reference.csv',
      purchases(2000, 1).map((p) => ({ amount: p.amount, merchant: p.merchant, prediction: p.prob, label: p.fraud ? 1 : 0 })),
    );

  before(async () => {
    // Everything printed while this file runs, to check no secret ever is.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = write));
    }

    // The team's database: its own schemas and names, and a read-only role with a password.
    team = await createTestDatabase({ migrate: false });
    await team.pool.query(`
      CREATE SCHEMA scoring;
      CREATE TABLE scoring.fraud_scores (
        req_uuid uuid PRIMARY KEY, scored_at timestamptz NOT NULL, model_rev integer NOT NULL,
        amount numeric(12, 2), merchant text, fraud_prob double precision, is_fraud boolean, label_time timestamptz);
      CREATE INDEX ON scoring.fraud_scores (scored_at);
      CREATE TABLE scoring.churn_calls (
        call_id text PRIMARY KEY, called_at timestamptz NOT NULL, version integer, tenure integer, plan text,
        predicted_class text, actual_class text);
      CREATE SCHEMA forecasts;
      CREATE TABLE forecasts.demand (id bigint PRIMARY KEY, made_at timestamptz NOT NULL, rev text, inputs jsonb, yhat numeric);
      CREATE TABLE forecasts.actuals (forecast_id bigint PRIMARY KEY, actual numeric, known_at timestamptz);
      CREATE ROLE ${READER} LOGIN PASSWORD '${READER_PASSWORD}';
      GRANT USAGE ON SCHEMA scoring, forecasts TO ${READER};
      GRANT SELECT ON ALL TABLES IN SCHEMA scoring, forecasts TO ${READER};
    `);
    const u = new URL(team.url);
    u.username = READER;
    u.password = READER_PASSWORD;
    readerUrl = u.toString();
    process.env[FRAUD_ENV] = readerUrl;

    env = await createVigilTestEnv({
      // Only the example gets the example's v1; the other models are registered by the test.
      bootstrapExample: (m) => m.example,
      config: (q) => {
        const base = testConfig({}, q);
        const common = { tier: 'medium', approvers: ['alice'], monitor: { window: 500, minLabelled: 50 } } as const;
        return parseConfig({
          ...base,
          models: [
            ...base.models,
            {
              ...common,
              id: 'fraud-scorer',
              displayName: 'Card fraud (the team’s table)',
              source: { kind: 'postgres', urlEnv: FRAUD_ENV, table: 'scoring.fraud_scores', columns: FRAUD_COLUMNS },
            },
            {
              ...common,
              id: 'churn',
              displayName: 'Churn (multiclass, no label time)',
              task: { type: 'multiclass', classes: ['stay', 'churn', 'downgrade'] },
              source: {
                kind: 'postgres',
                urlEnv: FRAUD_ENV,
                table: 'scoring.churn_calls',
                columns: {
                  requestId: 'call_id',
                  ts: 'called_at',
                  modelVersion: 'version',
                  features: ['tenure', 'plan'],
                  label: 'predicted_class',
                  outcome: 'actual_class',
                },
              },
            },
            {
              ...common,
              id: 'demand',
              displayName: 'Demand (regression, a query)',
              task: { type: 'regression' },
              source: {
                kind: 'postgres',
                urlEnv: FRAUD_ENV,
                query: `-- forecasts with their actuals, when known
                  SELECT d.id, d.made_at, d.rev, d.inputs, d.yhat, a.actual, a.known_at
                    FROM forecasts.demand d LEFT JOIN forecasts.actuals a ON a.forecast_id = d.id`,
                columns: { requestId: 'id', ts: 'made_at', modelVersion: 'rev', features: 'inputs', value: 'yhat', outcome: 'actual', labeledAt: 'known_at' },
              },
            },
            {
              ...common,
              id: 'fraud-elsewhere',
              displayName: 'Card fraud (a database that misbehaves)',
              source: { kind: 'postgres', urlEnv: ELSEWHERE_ENV, table: 'scoring.fraud_scores', columns: FRAUD_COLUMNS },
            },
          ],
        });
      },
    });
    models = createModelService({ config: env.config, registry: env.services.registry });
    dir = fs.mkdtempSync(path.join(env.stateDir, 'source-'));
  });

  after(async () => {
    for (const r of restore) r();
    await env?.close();
    await team?.drop();
    const admin = new pg.Client({ connectionString: testAdminDatabaseUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${READER}`).finally(() => admin.end());
    delete process.env[FRAUD_ENV];
    delete process.env[ELSEWHERE_ENV];
    const printed = output.join('');
    assert.doesNotMatch(printed, new RegExp(READER_PASSWORD), 'the reader’s password was printed');
    assert.doesNotMatch(printed, new RegExp(OTHER_SECRET), 'a password was printed');
  });

  const taskOf = (id: string) => env.config.models.find((m) => m.id === id)!.task;
  const DAY = 86_400_000;
  const T0 = new Date(Date.now() - 2 * DAY);
  const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

  it('maps the team’s rows like Vigil’s own: features from columns, score and decision, labels only once arrived', async () => {
    const ids = Array.from({ length: 4 }, () => crypto.randomUUID());
    await insertFraud([
      { id: ids[0], at: at(0), rev: 1, amount: 120.5, merchant: 'grocery', prob: 0.8, fraud: true, labelAt: at(5) },
      // Its label is known only in an hour.
      { id: ids[1], at: at(1), rev: 1, amount: 80, merchant: 'travel', prob: 0.2, fraud: false, labelAt: new Date(Date.now() + 3_600_000) },
      { id: ids[2], at: at(2), rev: 1, amount: 35.25, merchant: 'fuel', prob: 0.6, fraud: null },
      { id: ids[3], at: at(3), rev: 2, amount: 99.99, merchant: 'grocery', prob: 0.7, fraud: false, labelAt: at(10) },
    ]);
    const log = env.services.predictions;
    const rows = await log.recent('fraud-scorer', { limit: 10 });
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        { features: { amount: 120.5, merchant: 'grocery' }, score: 0.8, predicted: 1, label: 1, rawLabel: 1, modelVersion: 1, servedBy: 'model', ts: at(0) },
        { features: { amount: 80, merchant: 'travel' }, score: 0.2, predicted: 0, label: null, rawLabel: null, modelVersion: 1, servedBy: 'model', ts: at(1) },
        { features: { amount: 35.25, merchant: 'fuel' }, score: 0.6, predicted: 1, label: null, rawLabel: null, modelVersion: 1, servedBy: 'model', ts: at(2) },
        { features: { amount: 99.99, merchant: 'grocery' }, score: 0.7, predicted: 1, label: 0, rawLabel: 0, modelVersion: 2, servedBy: 'model', ts: at(3) },
      ],
      'oldest first, labels by positiveClass 1 / negativeClass 0',
    );

    const newest = await log.recent('fraud-scorer', { limit: 2 });
    assert.deepEqual(
      newest.map((r) => r.ts),
      [at(2), at(3)],
      'the newest `limit` rows',
    );
    assert.deepEqual(
      (await log.recent('fraud-scorer', { limit: 10, since: at(2) })).map((r) => r.ts),
      [at(2), at(3)],
      'since',
    );
    const labelled = await log.recent('fraud-scorer', { limit: 10, labelledOnly: true });
    assert.deepEqual(
      labelled.map((r) => [r.ts, r.label]),
      [
        [at(0), 1],
        [at(3), 0],
      ],
      'only labels that have arrived',
    );
    const later = await log.recent('fraud-scorer', { limit: 10, labelledOnly: true, asOf: new Date(Date.now() + 2 * 3_600_000) });
    assert.deepEqual(
      later.map((r) => [r.ts, r.label]),
      [
        [at(0), 1],
        [at(1), 0],
        [at(3), 0],
      ],
      'the late label counts as of when it is known',
    );
    const past = await log.recent('fraud-scorer', { limit: 10, asOf: at(6) });
    assert.deepEqual(
      past.map((r) => [r.ts, r.label]),
      [
        [at(0), 1],
        [at(1), null],
        [at(2), null],
        [at(3), null],
      ],
      'as of a past moment: later predictions and labels left out',
    );
    assert.deepEqual(
      (await log.recent('fraud-scorer', { limit: 4, sample: 2 })).map((r) => r.ts),
      [at(1), at(3)],
      'a sample of 2 of the window of 4: every second row, oldest first, the newest kept',
    );
    assert.deepEqual(
      (await log.recent('fraud-scorer', { limit: 10, sample: 5 })).map((r) => r.ts),
      [at(0), at(1), at(2), at(3)],
      'a window no longer than the sample comes back whole',
    );
  });

  it('measures live accuracy per version from the team’s rows: score ≥ threshold against the outcome', async () => {
    await insertFraud([
      { at: at(20), rev: 2, amount: 50, merchant: 'fuel', prob: 0.1, fraud: false },
      { at: at(21), rev: 2, amount: 60, merchant: 'fuel', prob: 0.9, fraud: true },
      { at: at(-60), rev: 1, amount: 60, merchant: 'fuel', prob: 0.9, fraud: false }, // before `since`
    ]);
    const live = await env.services.predictions.livePerformance('fraud-scorer', taskOf('fraud-scorer'), at(-1), [1, 2, 3]);
    assert.deepEqual(Object.fromEntries(live), {
      1: { predictions: 3, labelled: 1, accuracy: 1 },
      2: { predictions: 3, labelled: 3, accuracy: 2 / 3 },
    });
    assert.deepEqual(await env.services.predictions.shadowAccuracy('fraud-scorer', 2, at(-1)), {
      canary: { predictions: 0, labelled: 0 },
      stable: { predictions: 0, labelled: 0 },
    });
  });

  it('monitors the registered champion on the team’s table: drifted amounts raise data_drift on amount', async () => {
    const registered = await models.register({ modelId: 'fraud-scorer', artifactUri: 's3://fraud/v7', reference: fraudReference(), alias: 'champion' });
    assert.equal(registered.version.version, 1);
    const runMonitor = createMonitorActivities(env.services).runMonitor;
    const now = Date.now();
    const rows = (seed: number, shift: number, from: number) =>
      purchases(500, seed, shift).map((p, i) => ({ ...p, fraud: null, at: new Date(from + i), rev: 1 }));

    await insertFraud(rows(7, 0, now - 600_000));
    const calm = await runMonitor({ modelId: 'fraud-scorer' });
    assert.equal(calm.samples, 500);
    assert.ok(!calm.breaches.includes('data_drift'), JSON.stringify(calm));

    await insertFraud(rows(8, 150, now - 300_000));
    const drifted = await runMonitor({ modelId: 'fraud-scorer' });
    assert.ok(drifted.breaches.includes('data_drift'), JSON.stringify(drifted));
    assert.match(drifted.reasons.join('; '), /max PSI \d+\.\d+ ≥ 0\.2 on amount/);
    assert.equal(drifted.incidents[0]?.signal, 'data_drift', 'an incident opened');
  });

  it('reads a regression model through a query: values, late actuals, the monitor’s MAE', async () => {
    const r = rng(11);
    const now = Date.now();
    const temps = Array.from({ length: 201 }, () => Number((10 + r() * 20).toFixed(2)));
    await team.pool.query(
      `INSERT INTO forecasts.demand (id, made_at, rev, inputs, yhat)
       SELECT i, to_timestamp(t), '3', jsonb_build_object('temperature', temp), temp * 3
         FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(i, t, temp)`,
      [temps.map((_, i) => i + 1), temps.map((_, i) => (now - 600_000 + i * 1000) / 1000), temps],
    );
    // Forecasts are now 5 units off; the last actual is known only tomorrow.
    await team.pool.query(
      `INSERT INTO forecasts.actuals (forecast_id, actual, known_at)
       SELECT id, yhat + 5, CASE WHEN id = 201 THEN now() + interval '1 day' ELSE now() - interval '1 minute' END FROM forecasts.demand`,
    );
    const rows = await env.services.predictions.recent('demand', { limit: 500 });
    assert.equal(rows.length, 201);
    const [first, last] = [rows[0]!, rows.at(-1)!];
    assert.deepEqual(first.features, { temperature: temps[0] });
    assert.ok(first.prediction && 'value' in first.prediction && Math.abs(first.prediction.value - temps[0]! * 3) < 1e-9, JSON.stringify(first.prediction));
    assert.ok(Math.abs((first.labelValue as number) - (temps[0]! * 3 + 5)) < 1e-9, `labelValue ${first.labelValue}`);
    assert.equal(first.modelVersion, 3, 'the version from a text column');
    assert.ok(Number.isNaN(first.score));
    assert.deepEqual([first.label, first.rawLabel, first.predicted], [null, null, 0]);
    assert.equal(last.labelValue, undefined, 'an actual known tomorrow has not arrived');
    assert.equal((await env.services.predictions.recent('demand', { limit: 500, labelledOnly: true })).length, 200);
    // Per version in SQL, as the canary judge reads it: every arrived actual is 5 above its forecast.
    const live = (await env.services.predictions.livePerformance('demand', taskOf('demand'), new Date(now - 3_600_000), [3, 4])).get(3);
    assert.deepEqual([live?.predictions, live?.labelled, live?.accuracy], [201, 200, undefined]);
    assert.ok(Math.abs(live!.mae! - 5) < 1e-9 && Math.abs(live!.rmse! - 5) < 1e-9, JSON.stringify(live));

    const reference = Array.from({ length: 200 }, () => {
      const temperature = Number((10 + r() * 20).toFixed(2));
      return { temperature, prediction: Number((temperature * 3).toFixed(2)), label: Number((temperature * 3 + 2).toFixed(2)) };
    });
    await models.register({
      modelId: 'demand',
      artifactUri: '/models/demand.onnx',
      reference: csv('demand-ref.csv', reference),
      holdout: csv('demand-holdout.csv', reference),
      alias: 'champion',
    });
    const demand = await createMonitorActivities(env.services).runMonitor({ modelId: 'demand' });
    assert.deepEqual(demand.breaches, ['accuracy_drop'], JSON.stringify(demand));
    assert.match(demand.reasons[0]!, /MAE 5 is 150\.0% above the holdout's 2 \(≥ 20%\) on 200 labelled predictions/);

    // A canary v4 whose forecasts are 10 off, judged against v3 on the same table by MAE: rolled back.
    await team.pool.query(
      `INSERT INTO forecasts.demand (id, made_at, rev, inputs, yhat)
       SELECT 1000 + i, now() - interval '30 seconds', '4', jsonb_build_object('temperature', 20), 60 FROM generate_series(1, 150) AS i;
       INSERT INTO forecasts.actuals (forecast_id, actual, known_at) SELECT 1000 + i, 70, now() - interval '1 second' FROM generate_series(1, 150) AS i;`,
    );
    const versions = await env.services.predictions.livePerformance('demand', taskOf('demand'), new Date(now - 3_600_000), [4, 3]);
    assert.deepEqual([versions.get(4)?.labelled, versions.get(4)?.mae, versions.get(4)?.rmse], [150, 10, 10]);
    const judged = judgeCanary(
      {
        task: 'regression',
        maxMaeIncrease: 0.2,
        version: 4,
        stableVersion: 3,
        canary: versions.get(4)!,
        stable: versions.get(3)!,
        routing: { target: 'built-in routing for demand', mode: 'model', ready: true, settled: true, routesCanary: true },
        healthBreaches: [],
        healthChecks: 0,
        final: false,
        checkedAt: new Date().toISOString(),
      },
      CanaryPolicy.parse({ minLabelled: 100 }),
    );
    assert.equal(judged.verdict, 'rollback', JSON.stringify(judged));
    assert.equal(judged.metric, 'mae');
    assert.match(judged.reasons[0]!, /^canary v4 MAE 10 vs stable v3 5 \(\+100%\) on 150 \/ 200 labelled predictions: higher beyond the allowed 20%/);
  });

  it('reads a multiclass model without a label time: a known outcome counts as arrived', async () => {
    await team.pool.query(
      `INSERT INTO scoring.churn_calls VALUES
         ('c-1', $1, 4, 12, 'basic', 'churn', 'churn'),
         ('c-2', $2, 4, 40, 'pro', 'stay', NULL),
         ('c-3', $3, 4, 3, 'basic', 'downgrade', 'stay'),
         ('c-4', $3, 4, 3, 'basic', NULL, 'stay')`,
      [at(0), at(1), at(2)],
    );
    const rows = await env.services.predictions.recent('churn', { limit: 10 });
    assert.deepEqual(
      rows.map((r) => [r.features, r.prediction, r.labelValue, r.modelVersion]),
      [
        [{ tenure: 12, plan: 'basic' }, { label: 'churn' }, 'churn', 4],
        [{ tenure: 40, plan: 'pro' }, { label: 'stay' }, undefined, 4],
        [{ tenure: 3, plan: 'basic' }, { label: 'downgrade' }, 'stay', 4],
      ],
      'a row without a prediction is no prediction',
    );
    const labelled = await env.services.predictions.recent('churn', { limit: 10, labelledOnly: true });
    assert.deepEqual(
      labelled.map((r) => r.labelValue),
      ['churn', 'stay'],
    );
    // Judged as the canary judges a multiclass model: predicted class = outcome; macro-F1 over the three
    // classes (churn 1, stay 0, downgrade 0).
    const live = await env.services.predictions.livePerformance('churn', taskOf('churn'), at(-1), [4]);
    assert.deepEqual(Object.fromEntries(live), { 4: { predictions: 3, labelled: 2, accuracy: 0.5, macroF1: live.get(4)?.macroF1 } });
    assert.ok(Math.abs(live.get(4)!.macroF1! - 1 / 3) < 1e-12, `macro-F1 ${live.get(4)?.macroF1}`);
  });

  it('refuses ingestion for a model read from its own table (409, before the body), and writes nothing there', async () => {
    const count = async () => Number((await team.pool.query<{ n: string }>('SELECT count(*) AS n FROM scoring.fraud_scores')).rows[0]!.n);
    const rowsBefore = await count();
    const app: FastifyInstance = createAlertReceiver({
      incidents: env.services.incidents,
      config: env.config,
      token: 'test-alert-token-0123456789',
      log: () => undefined,
      ingest: { predictions: env.services.predictions, token: INGEST_TOKEN },
    });
    try {
      for (const [url, body] of [
        ['/v1/models/fraud-scorer/predictions', { predictions: [{ requestId: 'x', modelVersion: 1, features: {}, prediction: { score: 0.5 } }] }],
        ['/v1/models/fraud-scorer/labels', { labels: [{ requestId: 'x', label: 1 }] }],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        assert.equal(res.statusCode, 409, res.body);
        assert.match(JSON.parse(res.body).error, /read from its own table \(source\.kind "postgres"\); ingestion is off/);
      }
      const openapi = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body);
      assert.ok(openapi.paths['/v1/models/{model}/predictions'].post.responses['409'], 'the API document says so');
    } finally {
      await app.close();
    }
    await assert.rejects(
      env.services.predictions.ingestPredictions('fraud-scorer', []),
      (err: Error) => err instanceof UserInputError && /ingestion is off/.test(err.message),
    );
    assert.equal(await count(), rowsBefore);
  });

  it('never shows the URL or its password: unset, not a URL, wrong password, unreachable — in reads and in the monitor', async () => {
    await models.register({ modelId: 'fraud-elsewhere', artifactUri: 's3://fraud/v7', reference: fraudReference(), alias: 'champion' });
    const runMonitor = createMonitorActivities(env.services).runMonitor;
    const read = () => env.services.predictions.recent('fraud-elsewhere', { limit: 10 });
    const refused = async (pattern: RegExp, ...secrets: string[]) => {
      for (const attempt of [read, () => runMonitor({ modelId: 'fraud-elsewhere' })]) {
        await assert.rejects(attempt(), (err: Error) => {
          assert.ok(err instanceof PredictionSourceError, `${err.constructor.name}: ${err.message}`);
          assert.match(err.message, /model "fraud-elsewhere" source table scoring\.fraud_scores/);
          assert.match(err.message, pattern);
          for (const s of secrets) assert.ok(!err.message.includes(s), `"${s}" in: ${err.message}`);
          assert.equal(err.cause, undefined, 'no driver error carried along');
          return true;
        });
      }
    };

    delete process.env[ELSEWHERE_ENV];
    await refused(new RegExp(`environment variable ${ELSEWHERE_ENV} is not set`));

    process.env[ELSEWHERE_ENV] = `${OTHER_SECRET}-not-a-url`;
    await refused(/does not hold a PostgreSQL URL .*its value is not shown/, OTHER_SECRET);

    const wrong = new URL(readerUrl);
    wrong.password = OTHER_SECRET;
    process.env[ELSEWHERE_ENV] = wrong.toString();
    const shown = `postgres://***@${wrong.host}${wrong.pathname}`;
    await refused(new RegExp(`at ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${ELSEWHERE_ENV}\\): password authentication failed`), OTHER_SECRET);

    const port = await freePort();
    process.env[ELSEWHERE_ENV] = `postgres://scorer:${OTHER_SECRET}@127.0.0.1:${port}/fraud`;
    await refused(new RegExp(`at postgres://\\*\\*\\*@127\\.0\\.0\\.1:${port}/fraud \\(${ELSEWHERE_ENV}\\): .*ECONNREFUSED`), OTHER_SECRET, 'scorer');

    // The same table, reached properly, reads as before.
    process.env[ELSEWHERE_ENV] = readerUrl;
    assert.ok((await read()).length > 0);
  });
});
