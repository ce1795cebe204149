/**
 * `npm run bench:approval [-- --incidents N]`: measures two PRODUCT.md targets on the local dev stack
 * (embedded PostgreSQL + in-memory Temporal dev server + an in-process worker), then prints Markdown.
 *
 *   1. Alert received → approval request posted: time from sending an Alertmanager v4 webhook to
 *      Vigil's real receiver (HTTP, bearer token; `--via alertmanager`, the default) — or from calling
 *      `IncidentService.open(...)` directly (`--via service`) — to the notifier's
 *      `approvalRequested(state)` for that incident, opening N incidents at most `--concurrency` at a
 *      time (each lane opens one, waits for its approval request, then opens the next).
 *   2. Decision latency with N incidents awaiting approval: `IncidentService.decide` (rejections with a
 *      reason, so nothing retrains) on an evenly spread sample of them, one at a time; the call returns
 *      when the `decide` Update is accepted. The worker's RSS and heap are sampled (after a full GC)
 *      before opening, after opening all N and after deciding.
 *
 * Incidents are de-duplicated per model and failure mode, so each incident gets its own model
 * (`bench-0001` …), all copies of the example credit-risk model with drifted predictions written first.
 *
 * Flags: --incidents N (default 200, at most 1000), --decisions M (default min(100, N)),
 * --concurrency C (default 10), --rows R predictions per model (default 500), --timeout-min T (whole
 * run, default 20), --via alertmanager|service (default alertmanager). Exits 0 whether or not the targets are met; non-zero only on errors.
 */
import { benchArgs, UsageError } from './benchArgs.js';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type pg from 'pg';
import { startAlertReceiver } from '../adapters/alertmanager/alertReceiver.js';
import type { Notifier } from '../ports/notifier.js';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { connectNativeConnection, connectTemporal, loadTemporalSettings } from '../adapters/temporal/connection.js';
import { parseConfig, type ModelConfig, type VigilConfig } from '../domain/config.js';
import type { IncidentState } from '../domain/incident.js';
import { ensureExampleModel, servingFromDeployment } from '../examples/credit-risk/exampleModel.js';
import { createInProcessPredictionSink } from '../examples/credit-risk/predictionSink.js';
import { TrafficSimulator } from '../examples/credit-risk/simulator.js';
import { startEphemeralServices } from '../stack/ephemeralServices.js';
import { testConfig } from '../test/support/vigilTestEnv.js';
import { createVigilWorker, type VigilWorker } from '../workers/createVigilWorker.js';
import { createVigilServices } from '../workers/vigilServices.js';

const TARGET_P99_MS = 1000;
const MAX_INCIDENTS = 1000;
/** How long one incident may take from open() to its approval request before the run fails. */
const APPROVAL_WAIT_MS = 120_000;

const progress = (m: string) => console.error(`[bench] ${m}`);

// ---------------------------------------------------------------------------------------------- args

interface Options {
  incidents: number;
  decisions: number;
  concurrency: number;
  rows: number;
  timeoutMin: number;
  via: 'alertmanager' | 'service';
}

function parseOptions(argv: string[]): Options {
  const args = benchArgs(argv, {
    usage:
      'usage: npm run bench:approval -- [--incidents N (≤1000)] [--decisions M] [--concurrency C] [--rows R] [--timeout-min T] [--via alertmanager|service]',
    values: ['incidents', 'decisions', 'concurrency', 'rows', 'timeout-min', 'via'],
  });
  const int = (name: string, fallback: number, min: number, max: number) => args.number(name, fallback, min, max);
  const incidents = int('incidents', 200, 1, MAX_INCIDENTS);
  const via = args.string('via') ?? 'alertmanager';
  if (via !== 'alertmanager' && via !== 'service') throw new UsageError(`--via must be "alertmanager" or "service", got "${via}"`);
  return {
    via,
    incidents,
    decisions: int('decisions', Math.min(100, incidents), 1, incidents),
    concurrency: int('concurrency', 10, 1, 100),
    rows: int('rows', 500, 50, 5000),
    timeoutMin: int('timeout-min', 20, 1, 120),
  };
}

// ------------------------------------------------------------------------------------------- figures

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.at(-1) ?? NaN };
}

const fmtMs = (v: number) => v.toFixed(v < 100 ? 1 : 0);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** A full GC first (when the flag can be set), so heap figures show what is retained, not garbage. */
const fullGc: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

interface MemorySample {
  label: string;
  rss: number;
  heapUsed: number;
  awaiting: number;
}

async function sampleMemory(label: string, pool: pg.Pool): Promise<MemorySample> {
  fullGc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE status = 'open' AND phase = 'awaiting_approval'`);
  return { label, rss, heapUsed, awaiting: r.rows[0]!.n }; // count(*): always one row
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Posts one firing alert for `modelId`, as Alertmanager would; returns the incident it opened. */
async function sendAlert(receiver: { url: string; token: string }, modelId: string): Promise<{ id: string; created: boolean }> {
  const now = new Date().toISOString();
  const labels = { alertname: 'ModelInputDriftHigh', model: modelId, signal: 'data_drift', severity: 'page' };
  const body = {
    version: '4',
    groupKey: `{}:{alertname="ModelInputDriftHigh", model="${modelId}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'vigil',
    groupLabels: { alertname: labels.alertname, model: modelId },
    commonLabels: labels,
    commonAnnotations: { summary: `input drift on ${modelId}`, value: '0.41' },
    externalURL: 'http://alertmanager.bench:9093',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: `input drift on ${modelId}`, value: '0.41' },
        startsAt: now,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.bench:9090/graph',
        fingerprint: crypto.createHash('sha256').update(modelId).digest('hex').slice(0, 16),
      },
    ],
  };
  const res = await fetch(receiver.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${receiver.token}` },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { incidents?: { id: string; created: boolean }[]; error?: string };
  if (res.status !== 200 || !answer.incidents?.[0]) throw new Error(`alert receiver answered ${res.status}: ${answer.error ?? JSON.stringify(answer)}`);
  return answer.incidents[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------ notifier

/** Records when each model's approval request is posted (one incident per model in this benchmark). */
class RecordingNotifier implements Notifier {
  readonly approvalAt = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();
  escalations = 0;

  /** Resolves once the approval request for `modelId` is posted. */
  waitForApproval(modelId: string): Promise<void> {
    if (this.approvalAt.has(modelId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(modelId, resolve));
  }

  async approvalRequested(state: IncidentState): Promise<void> {
    const at = performance.now();
    const modelId = state.model.id;
    if (this.approvalAt.has(modelId)) return; // a retried activity: the first post counts
    this.approvalAt.set(modelId, at);
    this.waiters.get(modelId)?.();
    this.waiters.delete(modelId);
  }

  async escalated(): Promise<void> {
    this.escalations++;
  }

  async phaseChanged(): Promise<void> {}

  async reviewWritten(): Promise<void> {}
}

// ------------------------------------------------------------------------------------------ the run

/** Stops registered in start order, run in reverse; idempotent. */
class Cleanup {
  private readonly stops: { what: string; stop: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, stop: () => Promise<void>): void {
    this.stops.push({ what, stop });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { what, stop } of this.stops.splice(0).reverse()) {
        await withTimeout(stop(), 30_000, `stopping ${what}`).catch((err) => progress(`while stopping ${what}: ${(err as Error).message}`));
      }
    })();
    return this.running;
  }
}

function benchConfig(taskQueue: string, modelIds: string[]): VigilConfig {
  // The test suite's model and runbooks, with an approval timeout no run comes near, one copy per model.
  const template = testConfig({ approvalTimeout: '24h', escalationTimeout: '0s' }, taskQueue).models[0];
  return parseConfig(
    {
      taskQueue,
      models: modelIds.map((id, i) => ({ ...template, id, displayName: `Credit risk (bench ${i + 1})` })),
    },
    '(benchmark)',
  );
}

/** Gives every model after the first the first one's baseline files, so v1 is trained only once. */
function shareBaseline(stateDir: string, from: string, to: string): void {
  const src = path.join(stateDir, 'example', from);
  const dst = path.join(stateDir, 'example', to);
  fs.mkdirSync(path.join(dst, 'v1'), { recursive: true });
  for (const file of ['train.csv', 'holdout.csv', path.join('v1', 'model.json')]) fs.linkSync(path.join(src, file), path.join(dst, file));
}

async function main(opts: Options, cleanup: Cleanup): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = performance.now();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter the folder.
  fs.chmodSync(runDir, 0o755);
  let keepLogs = true;
  cleanup.add('the run folder', async () => {
    fs.rmSync(path.join(runDir, 'postgres'), { recursive: true, force: true });
    fs.rmSync(path.join(runDir, 'state'), { recursive: true, force: true });
    if (keepLogs) progress(`server logs kept in ${runDir}`);
    else fs.rmSync(runDir, { recursive: true, force: true });
  });

  // Servers: PostgreSQL first, then Temporal (its start binds extra ephemeral ports of its own).
  progress(`starting embedded PostgreSQL and a Temporal dev server (logs in ${runDir})`);
  const servers = await startEphemeralServices({ runDir, embeddedPostgres: true, log: progress });
  cleanup.add('the servers', () => servers.stop());
  const postgres = servers.postgres!;
  const server = servers.temporal;
  progress(`servers ready in ${((performance.now() - started) / 1000).toFixed(1)} s: Temporal ${server.address}, PostgreSQL 127.0.0.1:${postgres.port}`);

  await migrate(postgres.url);
  const pool = createPool(postgres.url, { applicationName: 'vigil-bench' });
  cleanup.add('the PostgreSQL pool', () => pool.end());
  // Only this run's local server: no profile, API key or TLS from the environment.
  const settings = loadTemporalSettings({
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_CONFIG_FILE: path.join(runDir, 'no-temporal-profiles.toml'),
  });
  const { connection, client } = await connectTemporal(settings);
  cleanup.add('the Temporal client', () => connection.close());

  const taskQueue = `vigil-bench-${process.pid}`;
  const modelIds = Array.from({ length: opts.incidents }, (_, i) => `bench-${String(i + 1).padStart(4, '0')}`);
  const config = benchConfig(taskQueue, modelIds);
  const stateDir = path.join(runDir, 'state');
  fs.mkdirSync(stateDir, { recursive: true });
  const notifier = new RecordingNotifier();
  const services = createVigilServices({ config, pool, temporal: client, stateDir, notifier });

  // Models and their traffic: v1 champion each, `rows` drifted, labelled predictions each.
  const t0 = performance.now();
  const models: ModelConfig[] = config.models;
  const [firstModel] = models;
  if (!firstModel) throw new Error('the benchmark config has no models');
  await ensureExampleModel({ registry: services.registry, model: firstModel, stateDir });
  for (const m of models.slice(1)) shareBaseline(stateDir, firstModel.id, m.id);
  await mapLimit(models.slice(1), 8, async (model) => {
    await ensureExampleModel({ registry: services.registry, model, stateDir });
  });
  await mapLimit(models, 4, async (model, i) => {
    const simulator = new TrafficSimulator({
      // Through the ingestion routes' own checks and storage, in-process (no HTTP server here).
      sink: createInProcessPredictionSink({ config, modelId: model.id, predictions: services.predictions }),
      modelId: model.id,
      resolveServing: servingFromDeployment(services, model.id),
      driftAfterSeconds: 0,
      requestsPerSecond: 1, // never started: batches are written here
      labelDelaySeconds: 0,
      seed: 1000 + i,
    });
    await simulator.writeBatch({ n: opts.rows, drift: 1 });
  });
  progress(`${models.length} models registered, ${models.length * opts.rows} predictions written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The worker, in this process.
  const nativeConnection: NativeConnection = await connectNativeConnection(settings);
  cleanup.add('the worker connection', () => nativeConnection.close());
  const worker: VigilWorker = await createVigilWorker({
    connection: nativeConnection,
    namespace: settings.namespace,
    taskQueue,
    deps: services,
    identity: `vigil-bench-${process.pid}`,
  });
  const workerDone = worker.run();
  let workerFailed: Error | undefined;
  workerDone.catch((err: Error) => (workerFailed = err));
  cleanup.add('the worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone.catch(() => undefined);
  });
  // Alerts arrive the way Alertmanager sends them: a v4 webhook to the real receiver, over HTTP.
  let receiver: { url: string; token: string } | undefined;
  if (opts.via === 'alertmanager') {
    const token = crypto.randomBytes(24).toString('base64url');
    const started = await startAlertReceiver({ incidents: services.incidents, config, token, host: '127.0.0.1', port: 0, log: () => undefined });
    cleanup.add('the alert receiver', () => started.stop());
    receiver = { url: started.url, token };
  }
  await sleep(500);
  const memory: MemorySample[] = [await sampleMemory('before opening', pool)];

  // 1. Signal → approval request posted.
  progress(`opening ${opts.incidents} incidents, ${opts.concurrency} at a time`);
  const openLatency: number[] = [];
  const approvalLatency: number[] = [];
  const incidentIds: string[] = new Array(models.length);
  const t1 = performance.now();
  let done = 0;
  await mapLimit(models, opts.concurrency, async (model, i) => {
    if (workerFailed) throw new Error(`the worker stopped: ${workerFailed.message}`);
    const posted = notifier.waitForApproval(model.id);
    const openStart = performance.now();
    const { id, created } =
      opts.via === 'service'
        ? await services.incidents.open({
            modelId: model.id,
            signal: 'data_drift',
            source: 'alertmanager',
            evidence: { psi_max: 0.41 },
          })
        : await sendAlert(receiver!, model.id);
    openLatency.push(performance.now() - openStart);
    if (!created) throw new Error(`open() for ${model.id} attached to ${id} instead of opening a new incident`);
    incidentIds[i] = id;
    await withTimeout(posted, APPROVAL_WAIT_MS, `approval request for ${id}`);
    approvalLatency.push(notifier.approvalAt.get(model.id)! - openStart);
    if (++done % 100 === 0 || done === models.length) progress(`${done}/${models.length} awaiting approval`);
  });
  const openSeconds = (performance.now() - t1) / 1000;
  const afterOpening = await sampleMemory(`after opening all ${opts.incidents}`, pool);
  memory.push(afterOpening);
  const awaitingNow = afterOpening.awaiting;
  if (awaitingNow !== opts.incidents) throw new Error(`${awaitingNow} incidents are awaiting approval, expected ${opts.incidents}`);

  // 2. Decisions, one at a time, spread evenly over the open incidents (old ones and recent ones).
  const step = opts.incidents / opts.decisions;
  const sample = Array.from({ length: opts.decisions }, (_, k) => Math.floor(k * step));
  progress(`deciding ${sample.length} of ${opts.incidents} open incidents, one at a time`);
  const decideLatency: number[] = [];
  const decided: string[] = [];
  for (const i of sample) {
    if (workerFailed) throw new Error(`the worker stopped: ${workerFailed.message}`);
    const id = incidentIds[i];
    const approver = models[i]?.approvers[0];
    if (id === undefined || approver === undefined) throw new Error(`model ${i}: no open incident or no approver`);
    const t = performance.now();
    const result = await withTimeout(
      services.incidents.decide(id, { verdict: 'reject', by: approver, reason: 'benchmark: expected drift, no action', via: 'cli' }),
      60_000,
      `decide ${id}`,
    );
    decideLatency.push(performance.now() - t);
    if (result.outcome !== 'rejected') throw new Error(`decide ${id}: outcome ${result.outcome}, expected rejected`);
    decided.push(id);
  }
  // Let the rejected incidents finish (review, closed) so the last memory sample is after their work.
  const closeDeadline = Date.now() + 120_000;
  let closed = 0;
  while (Date.now() < closeDeadline) {
    const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE id = ANY($1) AND status = 'closed'`, [decided]);
    closed = r.rows[0]!.n; // count(*): always one row
    if (closed === decided.length) break;
    await sleep(250);
  }
  memory.push(await sampleMemory(`after deciding ${decided.length} (${closed} closed)`, pool));
  if (notifier.escalations > 0) progress(`warning: ${notifier.escalations} escalation(s) happened during the run`);

  // Report.
  const cpus = os.cpus();
  const open = stats(approvalLatency);
  const call = stats(openLatency);
  const decide = stats(decideLatency);
  const row = (metric: string, s: Stats) => `| ${metric} | ${s.n} | ${fmtMs(s.p50)} | ${fmtMs(s.p95)} | ${fmtMs(s.p99)} | ${fmtMs(s.max)} |`;
  const lines = [
    '',
    '## Vigil approval latency benchmark',
    '',
    `- machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, ${os.type()} ${os.release()}, Node ${process.version}`,
    `- stack: embedded PostgreSQL + in-memory Temporal dev server + in-process worker (maxCachedWorkflows 500), all on this machine`,
    `- N = ${opts.incidents} incidents (one per model, data_drift, ${opts.rows} predictions per model), opened ${opts.concurrency} at a time in ${openSeconds.toFixed(1)} s;` +
      ` ${decided.length} decided one at a time (rejections with a reason)`,
    '',
    '| metric | n | p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|',
    row(opts.via === 'alertmanager' ? 'alert received → approval request posted' : 'open() called → approval request posted', open),
    row(opts.via === 'alertmanager' ? 'webhook answered (200, incident started)' : 'open() returns (signalWithStart)', call),
    row(`decision accepted (decide Update), ${opts.incidents} awaiting approval`, decide),
    '',
    `| worker process memory${fullGc ? ' (after a full GC)' : ''} | rss MiB | heapUsed MiB | incidents awaiting approval |`,
    '|---|---:|---:|---:|',
    ...memory.map((m) => `| ${m.label} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${m.awaiting} |`),
    '',
    'Targets (PRODUCT.md):',
    `- alert received → approval request posted, p99 < ${TARGET_P99_MS} ms: ${open.p99 < TARGET_P99_MS ? 'MET' : 'MISSED'} (p99 ${fmtMs(open.p99)} ms)`,
    `- decision lands with 1,000 incidents awaiting approval, p99 < ${TARGET_P99_MS} ms: ${decide.p99 < TARGET_P99_MS ? 'MET' : 'MISSED'} (p99 ${fmtMs(decide.p99)} ms` +
      (opts.incidents < 1000 ? `, measured with ${opts.incidents} open, not 1,000: run with --incidents 1000 for the target as stated)` : ')'),
    `- total run time ${((performance.now() - started) / 1000).toFixed(1)} s`,
    '',
  ];
  console.log(lines.join('\n'));
  keepLogs = false;
}

// ------------------------------------------------------------------------------------------- entry

const cleanup = new Cleanup();
let exiting = false;
const bail = (code: number, message: string) => {
  if (exiting) return;
  exiting = true;
  progress(message);
  void cleanup.run().finally(() => process.exit(code));
};
process.on('SIGINT', () => bail(130, 'SIGINT: stopping the servers'));
process.on('SIGTERM', () => bail(143, 'SIGTERM: stopping the servers'));

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(`[bench] ${(err as Error).message}`);
  process.exit(2);
}
const watchdog = setTimeout(() => bail(1, `the run took longer than --timeout-min ${options.timeoutMin}: stopping`), options.timeoutMin * 60_000);
watchdog.unref();

main(options, cleanup).then(
  async () => {
    if (exiting) return;
    exiting = true;
    await cleanup.run();
    // Exit explicitly: the servers' client libraries may keep handles open.
    process.exit(0);
  },
  async (err: unknown) => {
    if (exiting) return;
    exiting = true;
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup.run();
    process.exit(1);
  },
);
