/**
 * The fraud example's incidents end to end on real Temporal and PostgreSQL, with nothing of the example
 * inside Vigil: the scikit-learn model is trained and scored by its own Python trainer (protocol v2),
 * served by its own FastAPI server that follows Vigil's routing endpoint and posts every answer and the
 * delayed labels to Vigil's ingestion API, and the traffic comes from its driver in a drifted world.
 *
 * - approved retrain → trained through scikit-learn → score-based gates → a 50% split canary answered
 *   by the model server → promoted → recovered;
 * - a sabotaged candidate (trained with fraud and legit swapped) stopped by the gates, the champion untouched;
 * - a candidate the gates pass but whose serving is broken (`server.py --class-order-bug`: the wrong predict_proba column) rolled
 *   back by the canary on what the server answered live.
 *
 * Each case is its own model id (one incident each), served by its own server and driver.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { freePort } from '../../adapters/net/freePort.js';
import { parseConfig } from '../../domain/config.js';
import { ensureFraudModel } from '../../examples/fraud/bootstrap.js';
import { FRAUD_INPUT_SCHEMA, FRAUD_SCRIPTS, FRAUD_TASK, fraudTrainerCommand } from '../../examples/fraud/exampleConfig.js';
import { auditKinds } from '../support/auditKinds.js';
import { untilIncident } from '../support/driftIncident.js';
import { pythonTool } from '../support/pythonTools.js';
import { createVigilTestEnv, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const PYTHON = pythonTool('python');
const MODELS = { promoted: 'fraud', sabotaged: 'fraud-sabotaged', misserved: 'fraud-misserved' } as const;

interface Serving {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

describe('the fraud example: incidents of a scikit-learn model behind its own server', () => {
  let env: VigilTestEnv;
  const running = new Set<Serving>();

  /** The team's model server for `model` on a free port, and its traffic driver (fully drifted world). */
  async function serve(model: string, serverArgs: string[] = []): Promise<Serving> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    const children: ChildProcess[] = [];
    const start = (args: string[], env: NodeJS.ProcessEnv = process.env) => {
      const child = spawn(PYTHON, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      children.push(child);
    };
    start(
      [
        FRAUD_SCRIPTS.server,
        '--vigil',
        env.ingest.baseUrl,
        '--model',
        model,
        '--port',
        String(port),
        '--poll-seconds',
        '0.5',
        '--flush-seconds',
        '0.5',
        '--label-delay',
        '0.5',
        ...serverArgs,
      ],
      { ...process.env, VIGIL_INGEST_TOKEN: env.ingest.token },
    );
    start([FRAUD_SCRIPTS.driver, '--server', url, '--rate', '60', '--drift-after', '0', '--ramp', '0', '--seed', '11']);
    const serving: Serving = {
      url,
      log: () => output,
      async stop() {
        running.delete(serving);
        for (const child of children.reverse()) {
          if (child.exitCode !== null || child.signalCode !== null) continue;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        }
      },
    };
    running.add(serving);
    return serving;
  }

  async function labelledRows(model: string): Promise<number> {
    const r = await env.services.pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE model_id = $1 AND label IS NOT NULL', [model]);
    return Number(r.rows[0]!.n);
  }

  /** Drifted, labelled traffic in Vigil's log, then the drift signal; the incident is approved as recommended. */
  async function approvedDriftIncident(model: string, serving: Serving): Promise<string> {
    await waitFor(
      () => labelledRows(model),
      (n) => n >= 400,
      `400 labelled ${model} predictions posted by its server`,
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- server and driver ---\n${serving.log().slice(-3000)}`);
    });
    const { id } = await env.services.incidents.open({ modelId: model, signal: 'data_drift', source: 'test', evidence: {} });
    const awaiting = await untilIncident(env, id, (s) => s.phase === 'awaiting_approval' || s.status === 'closed', 'awaiting_approval', 60_000);
    assert.equal(awaiting.phase, 'awaiting_approval', JSON.stringify(awaiting.state));
    assert.equal(awaiting.state.classification?.failureMode, 'data_drift', awaiting.state.classification?.reasons.join('; '));
    assert.equal(awaiting.recommendedAction, 'retrain', JSON.stringify(awaiting.state.recommendation));
    await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'the fraud patterns moved' });
    return id;
  }

  async function routing(model: string) {
    const res = await fetch(`${env.ingest.baseUrl}/v1/models/${model}/routing`, { headers: { authorization: `Bearer ${env.ingest.token}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { champion: { version: number; percent: number } | null; canary: { version: number; percent: number; split: string } | null };
  }

  async function servedByVersion(model: string): Promise<Map<number, number>> {
    const r = await env.services.pool.query<{ v: number; n: string }>(
      "SELECT model_version AS v, count(*) AS n FROM predictions WHERE model_id = $1 AND served_by = 'model' GROUP BY 1",
      [model],
    );
    return new Map(r.rows.map((row) => [row.v, Number(row.n)]));
  }

  before(async () => {
    const runbook = {
      approval: { timeout: '5m', escalationTimeout: '0s' },
      validation: { window: '5s', maxExtraWindows: 2, minSamples: 100 },
      retrain: {
        minLabelledRows: 300,
        canary: { enabled: true, percent: 50, window: '10s', checkEvery: '2s', minLabelled: 80 },
      },
    };
    const fraudModel = (id: string, trainerArgs: string[] = []) => ({
      id,
      displayName: `Card fraud (${id})`,
      tier: 'medium' as const,
      approvers: ['alice'],
      task: FRAUD_TASK,
      inputSchema: FRAUD_INPUT_SCHEMA,
      monitor: { window: 500, minLabelled: 100 },
      training: { command: [...fraudTrainerCommand(PYTHON), ...trainerArgs], protocol: 2 as const, timeout: '5m' },
      runbooks: { data_drift: runbook, concept_drift: runbook },
    });
    env = await createVigilTestEnv({
      bootstrapExample: (m) => m.example,
      config: (q) => {
        const base = testConfig({}, q);
        return parseConfig({
          ...base,
          models: [...base.models, fraudModel(MODELS.promoted), fraudModel(MODELS.sabotaged, ['--sabotage']), fraudModel(MODELS.misserved)],
        });
      },
    });
    // v1 of each: trained once by the example's own bootstrap (dataset.py, trainer.py, `score`), then
    // the same files registered for the other two ids.
    const exampleDir = path.join(env.stateDir, 'example');
    for (const id of Object.values(MODELS)) {
      if (id !== MODELS.promoted) fs.cpSync(path.join(exampleDir, MODELS.promoted), path.join(exampleDir, id), { recursive: true });
      const model = env.config.models.find((m) => m.id === id)!;
      const { championVersion } = await ensureFraudModel({ registry: env.services.registry, model, stateDir: env.stateDir, python: PYTHON });
      assert.equal(championVersion, 1);
    }
    await env.startWorker();
  });
  after(async () => {
    for (const s of [...running]) await s.stop();
    await env?.close();
  });

  it('drift → approved retrain through scikit-learn → score gates → 50% canary served by its server → promoted, recovered', async () => {
    const serving = await serve(MODELS.promoted);
    const t0 = Date.now();
    const id = await approvedDriftIncident(MODELS.promoted, serving);

    const canary = await waitFor(
      () => routing(MODELS.promoted),
      (r) => r.canary !== null,
      'the routing endpoint to show the canary',
      120_000,
    );
    assert.deepEqual(canary.canary, { ...canary.canary, version: 2, percent: 50, split: 'split' });
    assert.equal(canary.champion?.percent, 50);

    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 180_000);
    const seconds = (Date.now() - t0) / 1000;
    const retrain = closed.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'promoted', JSON.stringify(retrain));
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
    assert.deepEqual(
      retrain.gates?.map((g) => g.name),
      ['auc', 'calibration_error', 'accuracy'],
    );
    assert.ok(
      retrain.gates!.every((g) => g.passed),
      JSON.stringify(retrain.gates),
    );
    const auc = retrain.gates!.find((g) => g.name === 'auc')!;
    assert.ok(auc.candidate > auc.champion, `the candidate ranks the drifted fraud better: AUC ${auc.candidate} vs ${auc.champion}`);
    assert.equal(retrain.canary?.judgement.verdict, 'promote', JSON.stringify(retrain.canary));

    // The canary was judged on what the server answered: both versions posted under their own version.
    const served = await servedByVersion(MODELS.promoted);
    assert.ok((served.get(2) ?? 0) > 80 && (served.get(1) ?? 0) > 400, `answers by version: ${JSON.stringify([...served])}`);
    assert.equal((await env.services.registry.getAlias(MODELS.promoted, 'champion'))?.version, 2);
    const after = await waitFor(
      () => routing(MODELS.promoted),
      (r) => r.champion?.version === 2,
      'the routing endpoint to serve v2',
    );
    assert.deepEqual(after.champion, { ...after.champion, version: 2, percent: 100 });
    assert.equal(after.canary, null);
    const health = (await (await fetch(`${serving.url}/healthz`)).json()) as { routing: { champion: { version: number } } };
    assert.equal(health.routing.champion.version, 2, 'the model server follows the promotion');

    const jobs = fs.readdirSync(path.join(env.stateDir, 'jobs')).filter((j) => j.startsWith(id));
    assert.deepEqual(jobs.sort(), [`${id}-retrain-score-candidate`, `${id}-retrain-score-champion-v1`, `${id}-train`]);
    console.log(`[fraud] drift incident approved → promoted → closed resolved in ${seconds.toFixed(1)} s`);
    await serving.stop();
  });

  it('a candidate trained with the classes swapped is stopped by the gates; the champion stays', async () => {
    const serving = await serve(MODELS.sabotaged);
    const id = await approvedDriftIncident(MODELS.sabotaged, serving);
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 180_000);
    const retrain = closed.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'gates_failed', JSON.stringify(retrain));
    assert.equal(closed.outcome, 'remediation_failed');
    const auc = retrain.gates!.find((g) => g.name === 'auc')!;
    assert.equal(auc.passed, false);
    assert.ok(auc.candidate < 0.45, `a candidate that learned the classes backwards: AUC ${auc.candidate}`);
    assert.match(closed.state.remediation?.summary ?? '', /retrain stopped: .*auc/i);
    assert.equal((await env.services.registry.getAlias(MODELS.sabotaged, 'champion'))?.version, 1);
    assert.equal((await routing(MODELS.sabotaged)).canary, null, 'never served');
    assert.equal((await servedByVersion(MODELS.sabotaged)).get(2), undefined);
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('escalated'), kinds.join(','));
    assert.match(await env.services.incidents.review(id), /auc/i);
    await serving.stop();
  });

  it('a candidate whose serving is broken passes the gates and is rolled back by the canary', async () => {
    const serving = await serve(MODELS.misserved, ['--class-order-bug', '2']);
    const id = await approvedDriftIncident(MODELS.misserved, serving);
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 180_000);
    const retrain = closed.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'canary_rolled_back', JSON.stringify(retrain));
    assert.ok(
      retrain.gates?.every((g) => g.passed),
      `offline the candidate is fine: ${JSON.stringify(retrain.gates)}`,
    );
    const { canary, stable } = retrain.canary!.judgement;
    assert.ok(canary.accuracy! < stable.accuracy!, `live, v2 answered worse: ${JSON.stringify(retrain.canary!.judgement)}`);
    assert.match(closed.state.remediation?.summary ?? '', /canary rolled back: canary v2 accuracy 0\.\d+ on \d+ labelled predictions vs stable v1/);
    assert.equal((await env.services.registry.getAlias(MODELS.misserved, 'champion'))?.version, 1);
    assert.equal((await env.services.registry.getVersion(MODELS.misserved, 2))?.status, 'bad');
    const back = await waitFor(
      () => routing(MODELS.misserved),
      (r) => r.canary === null,
      'the routing endpoint to drop the canary',
    );
    assert.deepEqual(back.champion, { ...back.champion, version: 1, percent: 100 });
    await serving.stop();
  });
});
