/**
 * A model Vigil did not build, retrained end to end by a trainer Vigil did not write: a regression
 * model ("demand"), its trainer written from docs/trainer-protocol.md alone (test/fixtures/trainers/
 * demand_trainer.py, protocol v2, standard-library Python), fed over the ingestion API by a stand-in
 * serving layer that follows the registry's champion. Its world changes; the drift incident is
 * approved; Vigil snapshots the labelled traffic with the task's values, trains through the local
 * backend, scores candidate and champion with the trainer's `score`, gates on MAE/RMSE, registers the
 * candidate with a profile it computed, promotes it, and validation sees the model recovered. Its
 * scoring jobs outlast the retrain's short-step limit (a slow scorer): the evaluation step heartbeats
 * through them instead of being cut and retried.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCsvTable } from '../../adapters/files/csvTable.js';
import { createModelService } from '../../client/modelService.js';
import { parseConfig } from '../../domain/config.js';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { createVigilTestEnv, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { waitFor } from '../support/waitFor.js';

const TRAINER = fileURLToPath(new URL('../fixtures/trainers/demand_trainer.py', import.meta.url));
const SLOW_SCORE = fileURLToPath(new URL('../fixtures/trainers/slow_score.sh', import.meta.url));
/** The retrain's short steps may take 5 s; each scoring job takes longer. */
const STEP_TIMEOUT = '5s';
const SCORE_DELAY_SECONDS = 7;
const MODEL = 'demand';
const REGIONS = ['north', 'south', 'east'];

/** A deterministic stream of numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Row {
  temperature: number;
  region: string;
  label: number;
}

/** Demand by temperature and region; regime 1 is warmer and demand reacts to heat the other way round. */
function world(n: number, seed: number, regime: 0 | 1): Row[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const temperature = Number((10 + r() * 15 + (regime ? 12 : 0)).toFixed(2));
    const region = REGIONS[Math.floor(r() * REGIONS.length)]!;
    const base = regime === 0 ? 50 + 3 * temperature : 200 - 2 * temperature;
    const label = Number((base + (region === 'north' ? 10 : 0) + (r() - 0.5) * 4).toFixed(3));
    return { temperature, region, label };
  });
}

/** What the artifact predicts (the trainer's own format: weights over 1, numeric, one-hot). */
function predictWith(artifactPath: string, rows: Row[]): number[] {
  const model = JSON.parse(fs.readFileSync(artifactPath, 'utf8')) as {
    weights: number[];
    spec: { numeric: string[]; categorical: Record<string, string[]> };
  };
  return rows.map((row) => {
    const x = [1, ...model.spec.numeric.map((n) => Number(row[n as keyof Row]))];
    for (const [name, cats] of Object.entries(model.spec.categorical)) x.push(...cats.map((c) => (row[name as keyof Row] === c ? 1 : 0)));
    return x.reduce((sum, v, i) => sum + v * model.weights[i]!, 0);
  });
}

describe('a regression model retrained by its own protocol v2 trainer', () => {
  let env: VigilTestEnv;
  let dir: string;
  let sent = 0;

  const post = async (route: 'predictions' | 'labels', body: unknown) => {
    const res = await fetch(`${env.ingest.baseUrl}/v1/models/${MODEL}/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.ingest.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };

  /** The team's serving layer: the champion answers, predictions and then labels go to Vigil. */
  const serve = async (rows: Row[]) => {
    const champion = (await env.services.registry.getAlias(MODEL, 'champion'))!;
    const values = predictWith(champion.artifactUri, rows);
    const ids = rows.map(() => `d-${++sent}`);
    const ts = new Date().toISOString();
    await post('predictions', {
      predictions: rows.map((row, i) => ({
        requestId: ids[i],
        ts,
        modelVersion: champion.version,
        features: { temperature: row.temperature, region: row.region },
        prediction: { value: values[i] },
      })),
    });
    await post('labels', { labels: rows.map((row, i) => ({ requestId: ids[i], label: row.label, ts })) });
  };

  const csvOf = (file: string, rows: Row[]) => {
    fs.writeFileSync(file, ['temperature,region,label', ...rows.map((r) => `${r.temperature},${r.region},${r.label}`)].join('\n') + '\n');
    return file;
  };

  before(async () => {
    const runbook = {
      approval: { timeout: '5m', escalationTimeout: '0s' },
      validation: { window: '3s', maxExtraWindows: 2, minSamples: 100 },
      retrain: { minLabelledRows: 200, stepTimeout: STEP_TIMEOUT, waitForFreshRows: { rows: 300, atMost: '2m', checkEvery: '1s' }, canary: { enabled: false } },
    };
    env = await createVigilTestEnv({
      bootstrapExample: (m) => m.example,
      config: (q) => {
        const base = testConfig({}, q);
        return parseConfig({
          ...base,
          models: [
            ...base.models,
            {
              id: MODEL,
              displayName: 'Demand forecast',
              tier: 'medium',
              approvers: ['alice'],
              task: { type: 'regression' },
              monitor: { window: 400, minLabelled: 100 },
              training: { command: ['sh', SLOW_SCORE, 'python3', TRAINER], protocol: 2, env: { SCORE_DELAY: String(SCORE_DELAY_SECONDS) } },
              runbooks: { data_drift: runbook, concept_drift: runbook },
            },
          ],
        });
      },
    });
    await env.startWorker();
    dir = fs.mkdtempSync(path.join(env.stateDir, 'demand-'));

    // v1: trained by the team with their trainer, registered as the README shows.
    const train = csvOf(path.join(dir, 'train.csv'), world(600, 1, 0));
    const holdout = csvOf(path.join(dir, 'holdout.csv'), world(200, 2, 0));
    const lines = execFileSync('python3', [TRAINER, '--data', train, '--holdout', holdout, '--out', path.join(dir, 'v1')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const metrics = lines.find((l) => l.type === 'metrics')!;
    const artifact = lines.find((l) => l.type === 'artifact')!.path as string;
    await createModelService({ config: env.config, registry: env.services.registry }).register({
      modelId: MODEL,
      artifactUri: artifact,
      reference: readCsvTable(train),
      metrics: { mae: metrics.mae as number, rmse: metrics.rmse as number },
      alias: 'champion',
    });
  });
  after(async () => env?.close());

  it('approve → retrain: scored and gated on MAE/RMSE through the trainer, promoted, recovered', async () => {
    await serve(world(400, 3, 1)); // the world has changed; v1 answers it badly
    const { id } = await env.services.incidents.open({ modelId: MODEL, signal: 'data_drift', source: 'test', evidence: { psi_max: 0.9 } });
    const awaiting = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(awaiting.recommendedAction, 'retrain', JSON.stringify(awaiting.state.recommendation));
    assert.match(awaiting.state.classification!.reasons.join(' '), /high impact \(MAE rise \+\d+%, RMSE rise \+\d+%/, 'measured in the task’s own metrics');
    await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'the world changed' });
    // Approved at once: the retrain waits for labelled traffic from after the incident opened, and learns from it.
    await waitFor(
      async () =>
        (
          await env.services.temporal.workflow
            .getHandle(`${id}-retrain`)
            .fetchHistory()
            .catch(() => ({ events: [] }))
        ).events ?? [],
      (events) => events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'countFreshLabelledRows').length >= 2,
      'the retrain to wait for fresh rows',
      60_000,
    );
    assert.equal(fs.existsSync(path.join(env.stateDir, 'jobs', `${id}-train`)), false, 'nothing trained yet');
    await serve(world(300, 5, 1));

    const validating = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.phase === 'validating' || s.status === 'closed',
      'validating',
      120_000,
    );
    const retrain = validating.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(validating.phase, 'validating', JSON.stringify(retrain));
    assert.equal(retrain.outcome, 'promoted');
    assert.deepEqual(
      retrain.gates?.map((g) => [g.name, g.passed]),
      [
        ['mae', true],
        ['rmse', true],
      ],
    );
    const [mae] = retrain.gates!;
    assert.ok(mae!.candidate < mae!.champion / 2, `the candidate learned the new world: MAE ${mae!.candidate} vs ${mae!.champion}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(env.stateDir, 'snapshots', `${id}-train`, 'manifest.json'), 'utf8')) as { rows: number };
    assert.equal(manifest.rows, 300, 'trained on the rows from after the incident opened only');
    const jobs = fs.readdirSync(path.join(env.stateDir, 'jobs')).sort();
    assert.deepEqual(jobs, [`${id}-retrain-score-candidate`, `${id}-retrain-score-champion-v1`, `${id}-train`], 'one training job, two scoring jobs');

    // Two scoring jobs of 7 s each, in one attempt of a step whose siblings are cut at 5 s.
    const history = await env.services.temporal.workflow.getHandle(`${id}-retrain`).fetchHistory();
    const evaluate = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'evaluateCandidate')!;
    const started = history.events!.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === evaluate.eventId?.toString());
    assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 1, 'evaluated in one attempt');
    assert.ok(evaluate.activityTaskScheduledEventAttributes?.heartbeatTimeout, 'the evaluation heartbeats');

    const champion = (await env.services.registry.getAlias(MODEL, 'champion'))!;
    assert.equal(champion.version, 2);
    assert.equal(champion.source, `retrain:${id}`);
    assert.deepEqual(Object.keys(champion.profile?.features ?? {}).sort(), ['region', 'temperature'], 'profiled by Vigil from the snapshot');
    assert.equal(champion.profile?.features.region?.type, 'categorical');
    assert.equal(typeof champion.metrics.mae, 'number', 'the trainer’s holdout metrics');

    await serve(world(300, 4, 1)); // now answered by v2
    const closed = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.status === 'closed',
      'closed',
      60_000,
    );
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
    assert.match(closed.state.validation!.reasons.join(' '), /MAE/);
    await saveHistoryIfRecording(env, id, 'regression-retrain');
    await saveHistoryIfRecording(env, `${id}-retrain`, 'regression-retrain-child');
  });
});
