/**
 * The fraud example (examples/fraud/): its scikit-learn trainer speaks trainer protocol v2 through
 * Vigil's local training backend and scorer (metrics line, artifact, `scored` line, one prediction per
 * row, --sabotage, bad input naming the row), and its FastAPI model server follows Vigil's routing
 * answer — champion only, a 50% canary, a shadow canary, the fallback — posting every answer with the
 * version that gave it, and the delayed labels, to an ingestion endpoint (a recorder standing in for
 * Vigil's HTTP API, which answers 429 once to check the retry).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTaskDatasetCsv } from '../../adapters/files/taskDatasetCsv.js';
import { freePort } from '../../adapters/net/freePort.js';
import { createLocalProcessBackend } from '../../adapters/training/localProcessBackend.js';
import { createTrainerScorer } from '../../adapters/training/trainerScorer.js';
import { TaskConfig } from '../../domain/task.js';
import { FRAUD_SCRIPTS, FRAUD_TASK, fraudTrainerCommand } from '../../examples/fraud/exampleConfig.js';
import type { TrainingBackend, TrainingJobStatus } from '../../ports/trainingBackend.js';
import { pythonTool } from '../support/pythonTools.js';
import { waitFor } from '../support/waitFor.js';

const PYTHON = pythonTool('python');
const TOKEN = 'fraud-test-token-0123456789';
const task = TaskConfig.parse(FRAUD_TASK);

let root: string;
let backend: TrainingBackend;
let trainCsv: string;
let holdoutCsv: string;
let v1: string;
let v2: string;

function dataset(file: string, rows: number, seed: number, drift = 0): string {
  const r = spawnSync(PYTHON, [FRAUD_SCRIPTS.dataset, '--rows', String(rows), '--seed', String(seed), '--drift', String(drift), '--out', file], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

function finished(jobId: string): Promise<TrainingJobStatus> {
  return waitFor(
    () => backend.status(jobId),
    (s) => s.state !== 'running',
    `${jobId} to finish`,
    60_000,
  );
}

async function train(jobId: string, data: string, extra: string[] = []): Promise<TrainingJobStatus> {
  const out = path.join(root, 'artifacts', jobId);
  await backend.submit({ jobId, command: [...fraudTrainerCommand(PYTHON), '--data', data, '--holdout', holdoutCsv, '--out', out, ...extra] });
  return finished(jobId);
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-fraud-'));
  backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs') });
  trainCsv = dataset(path.join(root, 'train.csv'), 2000, 1);
  holdoutCsv = dataset(path.join(root, 'holdout.csv'), 500, 2);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('fraud trainer: protocol v2 through the local backend', () => {
  it('trains: progress, metrics on the holdout, the artifact', async () => {
    const t0 = Date.now();
    const s = await train('fraud-v1', trainCsv);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(s.state, 'succeeded', s.error);
    assert.deepEqual(s.progress && [s.progress.step, s.progress.total], [15, 15]);
    for (const k of ['auc', 'accuracy', 'logLoss', 'calibrationError']) assert.ok(Number.isFinite(s.metrics?.[k]), `metrics.${k}`);
    assert.equal(s.metrics?.holdoutRows, 500);
    assert.ok(s.metrics!.auc! > 0.78, `auc ${s.metrics!.auc}`);
    assert.equal(s.artifactPath, path.join(root, 'artifacts', 'fraud-v1', 'model.joblib'));
    assert.ok(fs.existsSync(s.artifactPath!));
    v1 = s.artifactPath!;
    const logs = await backend.logs('fraud-v1');
    const types = logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual([types[0], types.at(-2), types.at(-1)], ['started', 'metrics', 'artifact']);
    console.log(`[fraud] train 2000 rows: ${seconds.toFixed(1)} s (job, incl. Python start), auc ${s.metrics!.auc!.toFixed(3)}`);
  });

  it('scores through Vigil scorer: one {"score"} per row, missing and unseen values included', async () => {
    const scorer = createTrainerScorer({
      backendFor: () => backend,
      commandFor: () => fraudTrainerCommand(PYTHON),
      taskFor: () => task,
      stateDir: root,
      pollMs: 50,
    });
    const holdout = readTaskDatasetCsv(holdoutCsv, 'text');
    const rows = holdout.rows.map((r) => ({ ...r.features }));
    rows[0]!.amount = null;
    rows[1]!.country = 'ZZ, "unseen"';
    delete rows[2]!.channel;
    const t0 = Date.now();
    const scored = await scorer.score({ modelId: 'fraud', artifactUri: v1, rows, features: holdout.features, jobId: 'fraud-score-v1' });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(scored.length, rows.length);
    for (const p of scored) assert.ok('score' in p && p.score >= 0 && p.score <= 1, JSON.stringify(p));
    const status = await backend.status('fraud-score-v1');
    assert.equal(status.outputPath, path.join(root, 'scoring', 'fraud-score-v1', 'predictions.jsonl'));
    // Scores rank the holdout's fraud above its legitimate payments.
    const fraud = scored.filter((_, i) => holdout.rows[i]!.label === 'fraud').map((p) => (p as { score: number }).score);
    const legit = scored.filter((_, i) => holdout.rows[i]!.label === 'legit').map((p) => (p as { score: number }).score);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(fraud) > mean(legit) + 0.2, `fraud ${mean(fraud)} vs legit ${mean(legit)}`);
    console.log(`[fraud] score 500 rows through the scorer: ${seconds.toFixed(1)} s`);
  });

  it('--sabotage trains with the classes swapped (the holdout shows it); a drifted world trains v2', async () => {
    const bad = await train('fraud-sabotage', trainCsv, ['--sabotage']);
    assert.equal(bad.state, 'succeeded', bad.error);
    assert.ok(bad.metrics!.auc! < 0.4, `sabotaged auc ${bad.metrics!.auc}`);
    const drifted = await train('fraud-v2', dataset(path.join(root, 'drifted.csv'), 2000, 3, 1));
    assert.equal(drifted.state, 'succeeded', drifted.error);
    v2 = drifted.artifactPath!;
  });

  it('bad input exits 2 naming the file, row and column', async () => {
    const bad = path.join(root, 'bad.csv');
    fs.writeFileSync(bad, 'amount,country,label\n12.5,US,legit\n99,"DE, Berlin",maybe\n');
    const s = await train('fraud-bad', bad);
    assert.equal(s.state, 'failed');
    assert.equal(s.exitCode, 2);
    assert.equal(s.failure?.kind, 'bad_input');
    assert.match(s.error ?? '', /bad\.csv: row 2, line 3, column "label": "maybe" is neither the positive class "fraud" nor the negative class "legit"/);
  });
});

interface Recorded {
  predictions: Record<string, unknown>[];
  labels: Record<string, unknown>[];
  ifNoneMatch: string[];
  unauthorized: number;
}

/** A stand-in for Vigil's ingestion and routing API: records what the server posts, serves `routing`. */
async function startRecorder(port: number) {
  const rec: Recorded = { predictions: [], labels: [], ifNoneMatch: [], unauthorized: 0 };
  let routing: unknown = null;
  let refuseNext = true;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        rec.unauthorized++;
        res.writeHead(401).end();
        return;
      }
      const send = (code: number, value?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(code, { 'content-type': 'application/json', ...headers }).end(value === undefined ? undefined : JSON.stringify(value));
      };
      if (req.method === 'GET' && req.url === '/v1/models/fraud/routing') {
        const text = JSON.stringify(routing);
        const etag = `"${crypto.createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;
        if (req.headers['if-none-match']) rec.ifNoneMatch.push(String(req.headers['if-none-match']));
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
        return void res.writeHead(200, { 'content-type': 'application/json', etag }).end(text);
      }
      if (req.method === 'POST' && req.url === '/v1/models/fraud/predictions') {
        if (refuseNext) {
          refuseNext = false;
          return send(429, { error: 'busy' }, { 'retry-after': '1' });
        }
        const rows = (JSON.parse(body) as { predictions: Record<string, unknown>[] }).predictions;
        rec.predictions.push(...rows);
        return send(200, { accepted: rows.length, duplicates: 0, labelsMatched: 0 });
      }
      if (req.method === 'POST' && req.url === '/v1/models/fraud/labels') {
        const rows = (JSON.parse(body) as { labels: Record<string, unknown>[] }).labels;
        rec.labels.push(...rows);
        return send(200, { matched: rows.length, pending: 0 });
      }
      send(404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    rec,
    url: `http://127.0.0.1:${port}`,
    setRouting: (r: unknown) => (routing = r),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('fraud model server: follows Vigil routing, posts predictions and delayed labels', () => {
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let server: ChildProcess;
  let serverUrl: string;
  let serverLog = '';

  before(async () => {
    recorder = await startRecorder(await freePort());
  });
  after(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await recorder?.stop();
  });

  const champion = (version = 1, uri = v1) => ({ version, artifactUri: uri, percent: 100 });
  const health = async () => (await (await fetch(`${serverUrl}/healthz`)).json()) as { routing: { canary: unknown; mode: string } | null };
  async function predict(n: number, prefix: string) {
    const rows = readTaskDatasetCsv(holdoutCsv, 'text').rows.slice(0, n);
    const answers: { requestId: string; score: number; modelVersion: number | null; servedBy: string; ms: number }[] = [];
    for (const [i, r] of rows.entries()) {
      const t0 = performance.now();
      const res = await fetch(`${serverUrl}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestId: `${prefix}-${i}`, features: r.features, label: r.label }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      answers.push({ ...((await res.json()) as (typeof answers)[number]), ms: performance.now() - t0 });
    }
    return answers;
  }

  it('serves the champion, a 50% canary, a shadow canary and the fallback, posting each answer with its version', async () => {
    recorder.setRouting({ model: 'fraud', mode: 'model', champion: champion(), canary: null });
    const port = await freePort();
    serverUrl = `http://127.0.0.1:${port}`;
    const started = Date.now();
    server = spawn(
      PYTHON,
      [FRAUD_SCRIPTS.server, '--vigil', recorder.url, '--port', String(port), '--poll-seconds', '0.2', '--flush-seconds', '0.2', '--label-delay', '0.5'],
      { env: { ...process.env, VIGIL_INGEST_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d: Buffer) => (serverLog += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    await waitFor(health, (h) => h.routing !== null, 'the server to read its routing', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n--- server log ---\n${serverLog}`);
    });
    const startSeconds = (Date.now() - started) / 1000;

    // Champion only.
    const first = await predict(40, 'a');
    assert.ok(first.every((a) => a.modelVersion === 1 && a.servedBy === 'model'));

    // A 50% split canary: both versions answer, each posted with its own modelVersion.
    recorder.setRouting({
      model: 'fraud',
      mode: 'model',
      champion: { ...champion(), percent: 50 },
      canary: { version: 2, artifactUri: v2, percent: 50, split: 'split' },
    });
    await waitFor(health, (h) => h.routing?.canary != null, 'the server to see the canary', 10_000);
    const split = await predict(200, 'b');
    const byV2 = split.filter((a) => a.modelVersion === 2).length;
    assert.ok(byV2 > 60 && byV2 < 140, `v2 answered ${byV2} of 200`);

    // A shadow canary: v1 answers everything, v2 scores a copy of every request, posted as "shadow".
    recorder.setRouting({ model: 'fraud', mode: 'model', champion: champion(), canary: { version: 2, artifactUri: v2, percent: 100, split: 'shadow' } });
    await waitFor(health, (h) => (h.routing?.canary as { split?: string } | null)?.split === 'shadow', 'the server to see the shadow canary', 10_000);
    const shadowed = await predict(20, 'c');
    assert.ok(shadowed.every((a) => a.modelVersion === 1));

    // The fallback: rules answer, posted as "fallback" without a version.
    recorder.setRouting({ model: 'fraud', mode: 'fallback', champion: champion(), canary: null });
    await waitFor(health, (h) => h.routing?.mode === 'fallback', 'the server to see the fallback', 10_000);
    const fallback = await predict(10, 'd');
    assert.ok(fallback.every((a) => a.servedBy === 'fallback' && a.modelVersion === null));

    // Everything answered reaches the recorder (the first batch after a 429), labels after their delay.
    const answered = [...first, ...split, ...shadowed, ...fallback];
    await waitFor(
      async () => recorder.rec,
      (r) => r.predictions.length >= answered.length + shadowed.length && r.labels.length >= answered.length,
      'every prediction and label to be posted',
      20_000,
    );
    const { predictions, labels } = recorder.rec;
    const served = predictions.filter((p) => p.servedBy !== 'shadow');
    assert.deepEqual(served.map((p) => p.requestId).sort(), answered.map((a) => a.requestId).sort(), 'each answer posted once');
    for (const a of answered) {
      const p = served.find((row) => row.requestId === a.requestId)!;
      assert.equal(p.modelVersion, a.modelVersion ?? undefined, `${a.requestId}: posted with the version that answered`);
      assert.equal((p.prediction as { score: number }).score, a.score);
      assert.ok(!('label' in (p.features as object)), 'the hidden label is not a feature');
    }
    assert.deepEqual(new Set(split.map((a) => a.modelVersion)), new Set([1, 2]));
    const shadows = predictions.filter((p) => p.servedBy === 'shadow');
    assert.deepEqual(shadows.map((p) => p.requestId).sort(), shadowed.map((a) => a.requestId).sort());
    assert.ok(shadows.every((p) => p.modelVersion === 2));
    assert.deepEqual(labels.map((l) => l.requestId).sort(), answered.map((a) => a.requestId).sort());
    assert.ok(labels.every((l) => l.label === 'fraud' || l.label === 'legit'));
    assert.ok(recorder.rec.ifNoneMatch.length > 0, 'the routing is polled with If-None-Match');
    assert.equal(recorder.rec.unauthorized, 0);

    const ms = answered.map((a) => a.ms).sort((a, b) => a - b);
    console.log(
      `[fraud] server ready in ${startSeconds.toFixed(1)} s; /predict latency (client side) p50 ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, p95 ${ms[Math.floor(ms.length * 0.95)]!.toFixed(1)} ms`,
    );

    // SIGTERM: uvicorn shuts down (flushing what is left), then exits 0 or re-raises the signal.
    const exited = new Promise<string>((resolve) => server.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
    server.kill('SIGTERM');
    assert.ok(['code 0', 'SIGTERM'].includes(await exited), serverLog);
  });
});
