/**
 * The canary judge by task type on Vigil's own prediction log (real PostgreSQL): predictions and
 * labels ingested through the validator per model version, live performance computed per version in
 * SQL (the same figures domain/taskMetrics.ts gives on the same rows), and the judge activity comparing
 * canary and stable with the task's metric: accuracy for multiclass, MAE for regression.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ActivityDeps } from '../../activities/activityDeps.js';
import { createCanaryActivities } from '../../activities/canaryActivities.js';
import { createPredictionLog } from '../../adapters/postgres/predictionLog.js';
import { parseConfig, type ModelConfig, type VigilConfig } from '../../domain/config.js';
import { createIngestValidator } from '../../domain/ingest.js';
import { CanaryPolicy } from '../../domain/runbook.js';
import { taskMetrics } from '../../domain/taskMetrics.js';
import type { PredictionLog } from '../../ports/predictionLog.js';
import type { DeploymentTarget, TrafficState } from '../../ports/deploymentTarget.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const CLASSES = ['cat', 'dog', 'bird'];

function config(): VigilConfig {
  const model = { tier: 'medium', approvers: ['alice'] };
  return parseConfig({
    taskQueue: `canary-task-test-${process.pid}`,
    models: [
      { ...model, id: 'species', displayName: 'Species (multiclass)', task: { type: 'multiclass', classes: CLASSES } },
      { ...model, id: 'demand', displayName: 'Demand (regression)', task: { type: 'regression' }, monitor: { performance: { maeIncrease: 0.25 } } },
      { ...model, id: 'churn', displayName: 'Churn (binary)' },
    ],
  });
}

/** A deterministic stream of numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('the canary judged by the task type’s metric on the built-in log', () => {
  let db: TestDatabase;
  let cfg: VigilConfig;
  let log: PredictionLog;
  const since = new Date(Date.now() - 3_600_000);
  const model = (id: string) => cfg.models.find((m) => m.id === id)!;

  /** Predictions (and their labels) through the ingestion validator, as the HTTP API stores them. */
  async function ingest(m: ModelConfig, rows: { requestId: string; version: number | null; prediction: unknown; label?: unknown; ts?: Date }[]) {
    const v = createIngestValidator(m);
    const receivedAt = new Date();
    const predictions = v.predictions(
      rows.map((r) => ({
        requestId: r.requestId,
        ts: (r.ts ?? new Date(Date.now() - 60_000)).toISOString(),
        ...(r.version !== null ? { modelVersion: r.version } : { servedBy: 'fallback' }),
        features: { x: 1 },
        prediction: r.prediction,
      })),
      { receivedAt },
    );
    assert.ok(predictions.ok, JSON.stringify(predictions));
    await log.ingestPredictions(m.id, predictions.rows);
    const labels = v.labels(
      rows.filter((r) => r.label !== undefined).map((r) => ({ requestId: r.requestId, label: r.label })),
      { receivedAt },
    );
    assert.ok(labels.ok, JSON.stringify(labels));
    await log.ingestLabels(m.id, labels.rows, { graceMs: 3_600_000 });
  }

  /** The judge activity on the real log, over a target that routes version 2 as a 50% canary of version 1. */
  function judgeActivity() {
    const target = {
      currentTraffic: async (modelId: string): Promise<TrafficState> => ({
        modelId,
        target: `test routing for ${modelId}`,
        ready: true,
        settled: true,
        mode: 'model',
        routes: [
          { role: 'stable', percent: 50, version: 1 },
          { role: 'canary', percent: 50, version: 2 },
        ],
      }),
    } as unknown as DeploymentTarget;
    const deps = { config: cfg, predictions: log, deploymentFor: () => target } as unknown as ActivityDeps;
    return createCanaryActivities(deps).judgeCanary;
  }
  const judgeArgs = (modelId: string) => ({
    incidentId: `INC-${modelId}`,
    modelId,
    version: 2,
    stableVersion: 1,
    since: since.toISOString(),
    final: true,
    policy: CanaryPolicy.parse({ minLabelled: 100 }),
  });

  before(async () => {
    db = await createTestDatabase();
    cfg = config();
    log = createPredictionLog(db.pool);
  });
  after(async () => {
    await db?.drop();
  });

  it('multiclass: accuracy and macro-F1 per version in SQL, as taskMetrics gives them; a worse canary is rolled back by accuracy', async () => {
    const r = rng(3);
    const truth: Record<number, string[]> = { 1: [], 2: [] };
    const predicted: Record<number, string[]> = { 1: [], 2: [] };
    const rows = [1, 2].flatMap((version) =>
      Array.from({ length: 160 }, (_, i) => {
        const label = CLASSES[Math.floor(r() * 3)]!;
        // v1 right 85% of the time; v2 55%, and never says "bird".
        const right = r() < (version === 1 ? 0.85 : 0.55);
        const guess = right ? label : CLASSES[(CLASSES.indexOf(label) + 1) % 3]!;
        const said = version === 2 && guess === 'bird' ? 'cat' : guess;
        // The last 10 of each version have no label yet.
        const labelled = i < 150;
        if (labelled) {
          truth[version]!.push(label);
          predicted[version]!.push(said);
        }
        return { requestId: `sp-${version}-${i}`, version, prediction: { label: said }, ...(labelled ? { label } : {}) };
      }),
    );
    await ingest(model('species'), [
      ...rows,
      // Not counted: a fallback answer, and a prediction before the window.
      { requestId: 'sp-fallback', version: null, prediction: { label: 'cat' }, label: 'dog' },
      { requestId: 'sp-old', version: 2, prediction: { label: 'cat' }, label: 'dog', ts: new Date(since.getTime() - 60_000) },
    ]);

    const live = await log.livePerformance('species', model('species').task, since, [1, 2, 3]);
    assert.deepEqual([...live.keys()].sort(), [1, 2], 'a version without predictions is absent');
    for (const version of [1, 2]) {
      const got = live.get(version)!;
      const want = taskMetrics(model('species').task, predicted[version]!, truth[version]!);
      assert.deepEqual([got.predictions, got.labelled, got.mae], [160, 150, undefined], `v${version}`);
      assert.ok(Math.abs(got.accuracy! - want.accuracy!) < 1e-12, `v${version} accuracy ${got.accuracy} vs ${want.accuracy}`);
      assert.ok(Math.abs(got.macroF1! - want.macroF1!) < 1e-12, `v${version} macro-F1 ${got.macroF1} vs ${want.macroF1}`);
    }

    const j = await judgeActivity()(judgeArgs('species'));
    assert.equal(j.verdict, 'rollback', JSON.stringify(j));
    assert.equal(j.metric, 'accuracy');
    assert.match(
      j.reasons[0]!,
      /^canary v2 accuracy 0\.\d{3} \(macro-F1 0\.\d{3}\) on 150 labelled predictions vs stable v1 0\.\d{3} \(macro-F1 0\.\d{3}\) on 150: lower by/,
    );
  });

  it('regression: MAE and RMSE per version in SQL; a canary worse by MAE beyond the model’s maeIncrease is rolled back', async () => {
    const r = rng(5);
    const pairs: Record<number, { p: number[]; y: number[] }> = { 1: { p: [], y: [] }, 2: { p: [], y: [] } };
    const rows = [1, 2].flatMap((version) =>
      Array.from({ length: 120 }, (_, i) => {
        const y = Number((50 + r() * 50).toFixed(3));
        // v1 off by about 2; v2 by about 4.
        const off = (version === 1 ? 2 : 4) * (0.5 + r()) * (r() < 0.5 ? -1 : 1);
        const p = Number((y + off).toFixed(3));
        pairs[version]!.p.push(p);
        pairs[version]!.y.push(y);
        return { requestId: `dm-${version}-${i}`, version, prediction: { value: p }, label: y };
      }),
    );
    await ingest(model('demand'), rows);

    const live = await log.livePerformance('demand', model('demand').task, since, [1, 2]);
    for (const version of [1, 2]) {
      const got = live.get(version)!;
      const want = taskMetrics(model('demand').task, pairs[version]!.p, pairs[version]!.y);
      assert.deepEqual([got.predictions, got.labelled, got.accuracy], [120, 120, undefined], `v${version}`);
      assert.ok(
        Math.abs(got.mae! - want.mae!) < 1e-9 && Math.abs(got.rmse! - want.rmse!) < 1e-9,
        `v${version}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`,
      );
    }

    const j = await judgeActivity()(judgeArgs('demand'));
    assert.equal(j.verdict, 'rollback', JSON.stringify(j));
    assert.equal(j.metric, 'mae');
    assert.match(
      j.reasons[0]!,
      /^canary v2 MAE \d+(\.\d+)? vs stable v1 \d+(\.\d+)? \(\+\d+(\.\d+)?%\) on 120 \/ 120 labelled predictions: higher beyond the allowed 25% \(z = \d+\.\d\d > 1\.64\)$/,
    );
  });

  it('binary: accuracy at the threshold, as before', async () => {
    const rows = [1, 2].flatMap((version) =>
      Array.from({ length: 100 }, (_, i) => ({
        requestId: `ch-${version}-${i}`,
        version,
        prediction: { score: i % 2 ? 0.9 : 0.1 },
        label: version === 1 || i % 4 ? i % 2 : 1 - (i % 2),
      })),
    );
    await ingest(model('churn'), rows);
    const live = await log.livePerformance('churn', model('churn').task, since, [1, 2]);
    assert.deepEqual(Object.fromEntries(live), { 1: { predictions: 100, labelled: 100, accuracy: 1 }, 2: { predictions: 100, labelled: 100, accuracy: 0.75 } });
  });
});
