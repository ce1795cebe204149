/**
 * The local stack the chaos run breaks, built from the same parts as `vigil up`: an embedded PostgreSQL
 * and a Temporal dev server (persistent SQLite), each supervised as `vigil up` supervises them; the
 * HTTP server (alerts, ingestion, routing, decision API); the production worker (`vigil worker`) as a
 * process of its own, started again whenever it dies; and the outside systems it talks to — a Slack Web
 * API stand-in, a feature-pipeline webhook, MLflow behind a proxy that can lose answers, Prometheus and
 * its scrape target. Everything on free loopback ports, in one temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gauge, Registry } from 'prom-client';
import { startAlertReceiver } from '../adapters/alertmanager/alertReceiver.js';
import { decisionApiFromConfig } from '../adapters/http/decisionRoutes.js';
import { createApiTokenStore } from '../adapters/postgres/apiTokenStore.js';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/postgres/embeddedPostgres.js';
import { createPredictionLog } from '../adapters/postgres/predictionLog.js';
import { connectTemporal, loadTemporalSettings } from '../adapters/temporal/connection.js';
import { startTemporalDevServer, type TemporalDevServer } from '../adapters/temporal/devServer.js';
import { defaultToolsDir, resolveTemporalCli } from '../adapters/temporal/temporalCli.js';
import { parseConfig, type VigilConfig } from '../domain/config.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../domain/searchAttributes.js';
import { ensureExampleModel } from '../examples/credit-risk/exampleModel.js';
import { superviseServer, type Supervision } from '../stack/supervisor.js';
import { startMetricsExporter, type MetricsExporter } from '../test/support/metricsExporter.js';
import { startMlflowServer, type MlflowServer } from '../test/support/mlflowServer.js';
import { scrapeEverySecond, startPrometheus, type PrometheusServer } from '../test/support/prometheusServer.js';
import { startSlackApiRecorder, type SlackApiRecorder } from '../test/support/slackApiRecorder.js';
import { createVigilServices, type VigilServices } from '../workers/vigilServices.js';
import { startFaultProxy, type FaultProxy } from './faultProxy.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHAOS_WORKER = fileURLToPath(new URL('./chaosWorker.ts', import.meta.url));
export const SLACK_CHANNEL = 'C0CHAOS01';

/** A feature pipeline's control API: applies each Idempotency-Key once, as the runbook's contract asks. */
export interface PipelineRecorder {
  url: string;
  /** Applied actions: (incident, action) → the distinct idempotency keys that applied it. */
  applied: Map<string, Set<string>>;
  close(): Promise<void>;
}

export interface WorkerSupervisor {
  /** Deaths not asked for (SIGKILLs) and restarts. */
  deaths: number;
  /** Runs workers with these extra settings from the next start on (the current one is killed). */
  restartWith(env: Record<string, string>): Promise<void>;
  kill(): void;
  stop(): Promise<void>;
}

export interface ChaosStack {
  dir: string;
  config: VigilConfig;
  configFile: string;
  databaseUrl: string;
  postgres: Supervision<EmbeddedPostgres>;
  temporal: Supervision<TemporalDevServer>;
  services: VigilServices;
  http: { baseUrl: string; ingestToken: string; deciderToken: string };
  slack: SlackApiRecorder;
  pipeline: PipelineRecorder;
  mlflow?: { server: MlflowServer; proxy: FaultProxy };
  prometheus?: { server: PrometheusServer; exporter: MetricsExporter };
  worker: WorkerSupervisor;
  /** A supervised server gave up (kept dying): the run is void. */
  gaveUp(): Error | undefined;
  log(m: string): void;
  close(): Promise<void>;
}

export interface ChaosStackOptions {
  dir: string;
  /** The models, their runbooks and everything else but where the servers are. */
  config: (ctx: { mlflowUrl?: string; prometheusUrl?: string; pipelineUrl: string; stateDir: string }) => Record<string, unknown>;
  /** Start MLflow (behind the fault proxy) and Prometheus only when a fault needs them. */
  mlflow: boolean;
  prometheus: boolean;
  log: (m: string) => void;
}

export async function startChaosStack(opts: ChaosStackOptions): Promise<ChaosStack> {
  const { dir, log } = opts;
  const stops: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: Error) => log(`while stopping: ${err.message}`));
  };
  let gaveUp: Error | undefined;
  try {
    const supervise = <T extends EmbeddedPostgres | TemporalDevServer>(p: { name: string; first: T; restart: () => Promise<T> }) =>
      superviseServer({ ...p, log, onGiveUp: (err) => (gaveUp = err) });

    // PostgreSQL, as `vigil up` runs it: random passwords, Vigil as a role that is not a superuser.
    const pgOptions = { dataDir: path.join(dir, 'postgres'), logFile: path.join(dir, 'postgres.log'), log };
    const pg = await startEmbeddedPostgres({ ...pgOptions, port: 0 });
    const postgres = supervise({ name: 'PostgreSQL', first: pg, restart: () => startEmbeddedPostgres({ ...pgOptions, port: pg.port }) });
    stops.push(() => postgres.stop());
    await migrate(pg.url, () => undefined);

    // The Temporal dev server on a SQLite file: a restarted server has every workflow back.
    const cliPath = await resolveTemporalCli({ toolsDir: process.env.VIGIL_TOOLS_DIR ?? defaultToolsDir(PROJECT_ROOT), log });
    const serverOptions = {
      cliPath,
      dbFile: path.join(dir, 'temporal.db'),
      namespace: 'default',
      searchAttributes: SEARCH_ATTRIBUTE_NAMES,
      log,
      logFile: path.join(dir, 'temporal.log'),
      uiPort: 'headless' as const,
    };
    const server = await startTemporalDevServer({ ...serverOptions, port: 0 });
    const temporal = supervise({
      name: 'Temporal dev server',
      first: server,
      restart: () => startTemporalDevServer({ ...serverOptions, port: Number(server.address.split(':').pop()) }),
    });
    stops.push(() => temporal.stop());

    // The outside systems.
    const slack = await startSlackApiRecorder();
    stops.push(() => slack.stop());
    const pipeline = await startPipelineRecorder();
    stops.push(() => pipeline.close());
    let mlflow: ChaosStack['mlflow'];
    if (opts.mlflow) {
      const mlflowServer = await startMlflowServer();
      stops.push(() => mlflowServer.stop());
      const proxy = await startFaultProxy(mlflowServer.url);
      stops.push(() => proxy.close());
      mlflow = { server: mlflowServer, proxy };
      log(`MLflow up in ${mlflowServer.startSeconds.toFixed(1)} s, behind ${proxy.url}`);
    }
    let prometheus: ChaosStack['prometheus'];
    if (opts.prometheus) {
      const registry = new Registry();
      new Gauge({ name: 'vigil_chaos_latency_p99_seconds', help: 'p99 latency', registers: [registry] }).set(0.12);
      new Gauge({ name: 'vigil_chaos_error_ratio', help: 'errors / requests', registers: [registry] }).set(0.001);
      const exporter = await startMetricsExporter(registry);
      stops.push(() => exporter.stop());
      const prom = await startPrometheus({ config: scrapeEverySecond(exporter.target) });
      stops.push(() => prom.stop());
      prometheus = { server: prom, exporter };
    }

    // The configuration every process reads (VIGIL_CONFIG).
    const stateDir = path.join(dir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    const raw = opts.config({ mlflowUrl: mlflow?.proxy.url, prometheusUrl: prometheus?.server.url, pipelineUrl: pipeline.url, stateDir });
    const configFile = path.join(dir, 'vigil.config.json');
    fs.writeFileSync(configFile, JSON.stringify(raw, null, 2));
    const config = parseConfig(raw, configFile);

    const { connection, client } = await connectTemporal(loadTemporalSettings({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' }));
    stops.push(() => connection.close());
    const pool = createPool(pg.url);
    stops.push(() => pool.end());
    const services = createVigilServices({ config, pool, temporal: client, stateDir, localOperator: false });
    stops.push(() => services.close());

    // Every model starts from the example's baseline, trained once and copied.
    let baseline: string | undefined;
    for (const model of config.models) {
      const exampleDir = path.join(stateDir, 'example', model.id);
      if (baseline && !fs.existsSync(exampleDir)) fs.cpSync(baseline, exampleDir, { recursive: true });
      await ensureExampleModel({ registry: services.registry, model, stateDir });
      baseline ??= exampleDir;
    }

    // The HTTP server `vigil up` runs: ingestion on a pool of its own, the decision API with per-person tokens.
    const ingestToken = crypto.randomBytes(24).toString('hex');
    const ingestPool = createPool(pg.url, { max: config.ingest.maxInFlight, applicationName: 'vigil-ingest' });
    stops.push(() => ingestPool.end());
    const receiver = await startAlertReceiver({
      incidents: services.incidents,
      config,
      token: crypto.randomBytes(24).toString('hex'),
      log: (m) => log(`[http] ${m}`),
      ingest: { predictions: createPredictionLog(ingestPool), token: ingestToken },
      routing: { deploymentFor: services.deploymentFor },
      decisions: decisionApiFromConfig({ config, pool, incidents: services.incidents, log: (m) => log(`[decisions] ${m}`) }),
      host: '127.0.0.1',
      port: 0,
    });
    stops.push(() => receiver.stop());
    const deciderToken = (await createApiTokenStore(pool).create('alice')).token;

    const worker = superviseWorker({
      dir,
      log,
      env: {
        VIGIL_CONFIG: configFile,
        DATABASE_URL: pg.url,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: 'default',
        SLACK_BOT_TOKEN: 'xoxb-chaos-0000',
        SLACK_API_URL: slack.url,
      },
    });
    stops.push(() => worker.stop());
    await worker.restartWith({});

    return {
      dir,
      config,
      configFile,
      databaseUrl: pg.url,
      postgres,
      temporal,
      services,
      http: { baseUrl: receiver.baseUrl, ingestToken, deciderToken },
      slack,
      pipeline,
      ...(mlflow ? { mlflow } : {}),
      ...(prometheus ? { prometheus } : {}),
      worker,
      gaveUp: () => gaveUp,
      log,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The worker as its own process (chaos/chaosWorker.ts → `vigil worker`'s runWorker), with only the
 * variables it needs; started again 0.5 s after any death it was not asked for.
 */
function superviseWorker(opts: { dir: string; env: Record<string, string>; log: (m: string) => void }): WorkerSupervisor {
  const logFile = path.join(opts.dir, 'worker.log');
  let extra: Record<string, string> = {};
  let child: ChildProcess | undefined;
  let stopping = false;
  let starts = 0;
  const supervisor: WorkerSupervisor = {
    deaths: 0,
    async restartWith(env) {
      extra = env;
      if (child) {
        const old = child;
        child = undefined;
        old.kill('SIGKILL');
        await new Promise((r) => (old.exitCode !== null || old.signalCode !== null ? r(undefined) : old.once('exit', r)));
      }
      await start();
    },
    kill() {
      child?.kill('SIGKILL');
    },
    async stop() {
      stopping = true;
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      const exited = new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
      const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
  const start = async (): Promise<void> => {
    const out = fs.openSync(logFile, 'a');
    const { PATH, HOME, VIGIL_TOOLS_DIR } = process.env;
    const c = spawn(process.execPath, ['--import', 'tsx', CHAOS_WORKER], {
      cwd: PROJECT_ROOT,
      env: { PATH, HOME, ...(VIGIL_TOOLS_DIR ? { VIGIL_TOOLS_DIR } : {}), ...opts.env, ...extra },
      stdio: ['ignore', 'pipe', out],
    });
    fs.closeSync(out);
    child = c;
    starts++;
    const ready = new Promise<void>((resolve, reject) => {
      let seen = '';
      c.stdout!.on('data', (d: Buffer) => {
        fs.appendFileSync(logFile, d);
        seen += d.toString();
        if (seen.includes('[vigil] worker on')) resolve();
        const kill = /\[chaos\] SIGKILL after (\S+)/.exec(d.toString());
        if (kill) opts.log(`worker killed after ${kill[1]}`);
      });
      c.once('exit', (code, signal) => reject(new Error(`worker exited before it was ready (${signal ?? code}); see ${logFile}`)));
    });
    c.once('exit', () => {
      if (stopping || child !== c) return;
      supervisor.deaths++;
      child = undefined;
      setTimeout(() => {
        if (!stopping && !child) start().catch((err: Error) => opts.log(`worker restart failed: ${err.message}; retrying`));
      }, 500);
    });
    ready.catch(() => undefined);
    // A restart racing a Temporal or PostgreSQL outage may fail to start: its exit handler starts the next one.
    await ready.catch((err: Error) => {
      if (starts === 1) throw err;
    });
  };
  return supervisor;
}

async function startPipelineRecorder(): Promise<PipelineRecorder> {
  const applied = new Map<string, Set<string>>();
  const seenKeys = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const action = (req.url ?? '').split('/').pop() ?? '';
      let incident = '';
      try {
        incident = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { incident?: unknown }).incident ?? '');
      } catch {
        // counted under an empty incident
      }
      const key = String(req.headers['idempotency-key'] ?? `no-key-${crypto.randomUUID()}`);
      if (!seenKeys.has(key)) {
        seenKeys.add(key);
        const k = `${incident} ${action}`;
        applied.set(k, (applied.get(k) ?? new Set()).add(key));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/pipelines/payments`,
    applied,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
