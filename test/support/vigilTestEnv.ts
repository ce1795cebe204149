/**
 * A real Vigil for one test file: a fresh PostgreSQL database, a Temporal client on the run's dev
 * server, a worker on its own task queue, the example model registered as v1 champion, and the
 * ingestion and routing routes on a free loopback port, where the example's simulator posts its
 * predictions and labels over HTTP as under `vigil up` and a team's model server reads its routing.
 */
import { DefaultLogger, Runtime, type WorkerInterceptors } from '@temporalio/worker';
import Fastify from 'fastify';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import type { VigilServices } from '../../workers/vigilServices.js';
import type { Notifier } from '../../ports/notifier.js';
import { registerIngestRoutes } from '../../adapters/http/ingestRoutes.js';
import { registerRoutingRoutes } from '../../adapters/http/routingRoutes.js';
import { decisionApiFromConfig, registerDecisionRoutes } from '../../adapters/http/decisionRoutes.js';
import { connectNativeConnection, connectTemporal, loadTemporalSettings } from '../../adapters/temporal/connection.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import type { CanaryPolicy, RunbookPolicyInput } from '../../domain/runbook.js';
import { ensureExampleModel, servingFromDeployment } from '../../examples/credit-risk/exampleModel.js';
import { createHttpPredictionSink } from '../../examples/credit-risk/predictionSink.js';
import { TrafficSimulator } from '../../examples/credit-risk/simulator.js';
import { createVigilWorker, type VigilWorker } from '../../workers/createVigilWorker.js';
import { createVigilServices } from '../../workers/vigilServices.js';
import { createTestDatabase } from './testDatabase.js';

export const TEST_MODEL = 'credit-risk';

/** A canary short enough for a test: half the traffic, judged every 2 s over 10 s. */
export const TEST_CANARY: Partial<CanaryPolicy> = { enabled: true, percent: 50, window: '10s', checkEvery: '2s', minLabelled: 60 };

/**
 * Short timeouts so the lifecycle runs in seconds; the same runbook for every failure mode. The canary
 * is off unless asked for: most tests write traffic themselves and are about other steps.
 */
export function testConfig(
  overrides: {
    approvalTimeout?: string;
    escalationTimeout?: string;
    remindEvery?: string;
    validationWindow?: string;
    canary?: Partial<CanaryPolicy>;
    retrain?: Partial<RunbookPolicyInput['retrain']>;
  } = {},
  taskQueue = 'vigil-test',
): VigilConfig {
  const runbook = {
    approval: {
      timeout: overrides.approvalTimeout ?? '5m',
      escalationTimeout: overrides.escalationTimeout ?? '0s',
      ...(overrides.remindEvery ? { remindEvery: overrides.remindEvery } : {}),
    },
    validation: { window: overrides.validationWindow ?? '3s', maxExtraWindows: 1, minSamples: 100 },
    retrain: {
      minLabelledRows: 200,
      ...overrides.retrain,
      canary: overrides.canary ? { ...TEST_CANARY, ...overrides.canary } : { enabled: false },
    },
  };
  return parseConfig({
    taskQueue,
    models: [
      {
        id: TEST_MODEL,
        displayName: 'Credit risk (test)',
        tier: 'high',
        approvers: ['alice', 'bob'],
        escalation: ['ml-leads'],
        example: true,
        monitor: { window: 500, minLabelled: 100 },
        runbooks: { data_drift: runbook, concept_drift: runbook, data_quality: runbook, infrastructure: runbook },
      },
    ],
  });
}

export interface VigilTestEnv {
  config: VigilConfig;
  databaseUrl: string;
  taskQueue: string;
  services: VigilServices;
  simulator: TrafficSimulator;
  /** `http://127.0.0.1:<port>` of the env's ingestion and routing routes, and their bearer token. */
  ingest: { baseUrl: string; token: string };
  stateDir: string;
  /** `interceptors`: e.g. an activity interceptor that makes a step fail, for fault tests. */
  startWorker(opts?: { interceptors?: WorkerInterceptors }): Promise<{ worker: VigilWorker; stop(): Promise<void> }>;
  close(): Promise<void>;
}

let uniq = 0;
let runtimeInstalled = false;

export async function createVigilTestEnv(
  opts: {
    config?: (taskQueue: string) => VigilConfig;
    /** The notifier the worker uses (default: a silent one), built on the env's database. */
    notifier?: (ctx: { pool: pg.Pool; config: VigilConfig; namespace: string }) => Notifier;
    /** Which models get the example's v1 as their champion (default: every configured model). */
    bootstrapExample?: (model: VigilConfig['models'][number]) => boolean;
    /** A team's runbook files, bundled into the env's workers (as `runbooks.path` does under `vigil up`). */
    runbookFiles?: readonly string[];
  } = {},
): Promise<VigilTestEnv> {
  if (!runtimeInstalled) {
    // Worker lifecycle chatter drowns the test report; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const taskQueue = `vigil-test-${process.pid}-${Date.now()}-${uniq++}`;
  const config = opts.config ? opts.config(taskQueue) : testConfig({}, taskQueue);
  const db = await createTestDatabase();
  const settings = loadTemporalSettings();
  const { connection, client } = await connectTemporal(settings);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-state-'));
  // The baseline model is deterministic: train it once per machine, not once per test file.
  const baselineCache = path.join(os.tmpdir(), 'vigil-test-baseline');
  fs.mkdirSync(path.join(stateDir, 'example'), { recursive: true });
  if (fs.existsSync(baselineCache)) fs.cpSync(baselineCache, path.join(stateDir, 'example', TEST_MODEL), { recursive: true });
  const notifier = opts.notifier ? opts.notifier({ pool: db.pool, config, namespace: settings.namespace }) : quietNotifier();
  const services = createVigilServices({ config, pool: db.pool, temporal: client, stateDir, notifier });
  const bootstrap = opts.bootstrapExample ?? (() => true);
  for (const model of config.models) if (bootstrap(model)) await ensureExampleModel({ registry: services.registry, model, stateDir });
  fs.cpSync(path.join(stateDir, 'example', TEST_MODEL), baselineCache, { recursive: true });

  // The ingestion routes, as `vigil up` serves them; the simulator posts to them like a serving layer.
  const ingestToken = crypto.randomBytes(24).toString('hex');
  const ingestApp = Fastify({ logger: false });
  registerIngestRoutes(ingestApp, { config, predictions: services.predictions, token: ingestToken, log: (m) => console.error(`[ingest] ${m}`) });
  registerRoutingRoutes(ingestApp, { config, deploymentFor: services.deploymentFor, token: ingestToken, log: (m) => console.error(`[routing] ${m}`) });
  registerDecisionRoutes(
    ingestApp,
    decisionApiFromConfig({ config, pool: db.pool, incidents: services.incidents, log: (m) => console.error(`[decisions] ${m}`) }),
  );
  await ingestApp.listen({ host: '127.0.0.1', port: 0 });
  const address = ingestApp.server.address();
  const ingest = { baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, token: ingestToken };

  const simulator = new TrafficSimulator({
    sink: createHttpPredictionSink({ ...ingest, modelId: TEST_MODEL }),
    modelId: TEST_MODEL,
    resolveServing: servingFromDeployment(services, TEST_MODEL),
    driftAfterSeconds: 0,
    requestsPerSecond: 1, // never started: tests write batches themselves
    labelDelaySeconds: 0,
    seed: 7,
    servingCacheMs: 0,
  });

  const running = new Set<{ stop(): Promise<void> }>();
  return {
    config,
    databaseUrl: db.url,
    taskQueue,
    services,
    simulator,
    ingest,
    stateDir,
    async startWorker(workerOpts = {}) {
      const nativeConnection = await connectNativeConnection(settings);
      const worker = await createVigilWorker({
        connection: nativeConnection,
        namespace: settings.namespace,
        taskQueue,
        deps: services,
        ...(opts.runbookFiles ? { runbookFiles: opts.runbookFiles } : {}),
        ...(workerOpts.interceptors ? { interceptors: workerOpts.interceptors } : {}),
      });
      const done = worker.run();
      const handle = {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await done.catch(() => undefined);
          await nativeConnection.close();
          running.delete(handle);
        },
      };
      running.add(handle);
      return handle;
    },
    async close() {
      for (const w of [...running]) await w.stop();
      await simulator.stop();
      await ingestApp.close();
      await services.close();
      await connection.close();
      await db.drop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

function quietNotifier() {
  return {
    async approvalRequested() {},
    async escalated() {},
    async phaseChanged() {},
    async reviewWritten() {},
  };
}
