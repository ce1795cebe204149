/**
 * `vigil up`: the whole local stack on embedded defaults — a Temporal dev server (persistent SQLite
 * in the state folder, Vigil's search attributes, Web UI on 8233), PostgreSQL (DATABASE_URL or
 * embedded), migrations, the worker, and the example model with its traffic and monitor.
 * The servers it starts are supervised (stack/supervisor.ts): restarted when they die, and if one
 * keeps dying everything stops and `vigil up` fails naming it.
 * Ctrl-C stops everything; a second `vigil up` reuses the state.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpAddressFromEnv, startAlertReceiver } from '../adapters/alertmanager/alertReceiver.js';
import { resolveAlertToken } from '../adapters/alertmanager/alertToken.js';
import { resolveIngestToken } from '../adapters/http/ingestRoutes.js';
import { decisionApiFromConfig } from '../adapters/http/decisionRoutes.js';
import { createPredictionLog } from '../adapters/postgres/predictionLog.js';
import { assertPortFree } from '../adapters/net/freePort.js';
import { describeSlackApp, startSlackApp } from '../adapters/slack/slackApp.js';
import { SLACK_ENV } from '../adapters/slack/slackContract.js';
import { slackCredentialsFor, slackOffMessage } from '../adapters/slack/slackCredentials.js';
import { pagerDutyRoutesFromEnv } from '../adapters/pagerduty/pagerDutyNotifier.js';
import { loadConfiguredRunbooks } from '../adapters/runbooks/runbookFolder.js';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { redactUrl } from '../adapters/net/redactUrl.js';
import { EMBEDDED_PG_APP_ROLE, EMBEDDED_PG_DEFAULT_PORT, startEmbeddedPostgres } from '../adapters/postgres/embeddedPostgres.js';
import { createMonitorService } from '../client/monitorService.js';
import {
  connectNativeConnection,
  connectTemporal,
  describeTemporalSettings,
  loadTemporalSettings,
  type TemporalSettings,
} from '../adapters/temporal/connection.js';
import { startTemporalDevServer } from '../adapters/temporal/devServer.js';
import { defaultToolsDir, resolveTemporalCli } from '../adapters/temporal/temporalCli.js';
import { loadConfig, resolveStateDir } from '../cli/loadConfig.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../domain/searchAttributes.js';
import { parseConfig, type VigilConfig } from '../domain/config.js';
import { ensureExampleModel, servingFromDeployment } from '../examples/credit-risk/exampleModel.js';
import { createHttpPredictionSink } from '../examples/credit-risk/predictionSink.js';
import { TrafficSimulator } from '../examples/credit-risk/simulator.js';
import { createVigilWorker } from '../workers/createVigilWorker.js';
import { createVigilServices } from '../workers/vigilServices.js';
import { ensureFraudModel, fraudPython } from '../examples/fraud/bootstrap.js';
import { FRAUD_MODEL_ID, fraudExampleConfig } from '../examples/fraud/exampleConfig.js';
import { startFraudServing } from '../examples/fraud/processes.js';
import { removeStackFile, stackFileFor, writeStackFile } from './stackFile.js';
import { superviseServer, type SupervisedServer } from './supervisor.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (m: string) => console.log(`[vigil] ${m}`);

/** `example`: the credit-risk example (default, `true`), the fraud example, or none (`false`: no traffic). */
export async function runLocalStack(opts: { config?: string; stateDir?: string; example?: boolean | 'credit-risk' | 'fraud' }): Promise<void> {
  const startedAt = Date.now();
  const fraud =
    opts.example === 'fraud' ? { python: fraudPython(defaultToolsDir(PROJECT_ROOT)), port: Number(process.env.VIGIL_FRAUD_PORT ?? 8090) } : undefined;
  const { config, source } = fraud && !opts.config && !process.env.VIGIL_CONFIG ? writeFraudConfig(fraud.python, opts.stateDir) : loadConfig(opts.config);
  const stateDir = resolveStateDir(config, opts.stateDir);
  fs.mkdirSync(stateDir, { recursive: true });
  log(`config: ${source}; state: ${stateDir}`);
  if (fraud && !config.models.some((m) => m.id === FRAUD_MODEL_ID)) {
    throw new Error(`--example fraud: the config (${source}) has no model "${FRAUD_MODEL_ID}"; leave --config and VIGIL_CONFIG unset to use the example's`);
  }
  // The alert receiver's address and token are checked before anything starts.
  const http = httpAddressFromEnv();
  // So are Slack's credentials: partly set or malformed stops here, with nothing started or written.
  const slack = slackCredentialsFor(config);
  // And PagerDuty's routing keys, for models that page.
  pagerDutyRoutesFromEnv(config);
  // And a team's runbooks: every file compiles and every model's choice exists with valid params.
  const runbooks = await loadConfiguredRunbooks(config);
  if (runbooks) log(`runbooks: ${runbooks.runbooks.map((r) => r.runbook.name).join(', ')} from ${runbooks.dir}`);
  const alertToken = resolveAlertToken({ stateDir });
  const ingestToken = resolveIngestToken({ stateDir });
  await assertPortFree(http.port, 'alert receiver (VIGIL_HTTP_PORT)', http.host);
  if (slack.enabled && slack.mode === 'http') await assertPortFree(slack.port, `Slack app (${SLACK_ENV.port})`, slack.host);
  if (fraud) await assertPortFree(fraud.port, 'fraud model server (VIGIL_FRAUD_PORT)');

  // Vigil stops its parts itself, in reverse order of starting, so the SDK must not act on signals.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      log('stopping…');
      for (const stop of stops.reverse()) await stop().catch((err) => console.error(`[vigil] while stopping: ${(err as Error).message}`));
      removeStackFile(stateDir);
      log('stopped');
    })());
  const onSignal = () => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // A server Vigil started that keeps dying stops everything (never half-alive): `vigil up` then fails.
  let gaveUp: (err: Error) => void = () => undefined;
  const givenUp = new Promise<never>((_, reject) => (gaveUp = reject));
  givenUp.catch(() => undefined); // observed below; until then a rejection must not count as unhandled
  const supervise = <T extends SupervisedServer>(p: { name: string; first: T; restart: () => Promise<T> }) => superviseServer({ ...p, log, onGiveUp: gaveUp });

  try {
    // PostgreSQL
    let databaseUrl = process.env.DATABASE_URL;
    let databasePasswordFile: string | undefined;
    if (databaseUrl) log(`PostgreSQL: ${redactUrl(databaseUrl)} (DATABASE_URL)`);
    else {
      const pgOptions = { dataDir: path.join(stateDir, 'postgres'), logFile: path.join(stateDir, 'postgres.log'), log };
      const pg = await startEmbeddedPostgres({ ...pgOptions, port: Number(process.env.VIGIL_PG_PORT ?? EMBEDDED_PG_DEFAULT_PORT) });
      // Restarted on the same port and data: the pools reconnect by themselves once it is back.
      const supervised = supervise({ name: 'PostgreSQL', first: pg, restart: () => startEmbeddedPostgres({ ...pgOptions, port: pg.port }) });
      stops.push(() => supervised.stop());
      databaseUrl = pg.url;
      databasePasswordFile = pg.appPasswordFile;
      log(`PostgreSQL: embedded at ${redactUrl(databaseUrl)} as role ${EMBEDDED_PG_APP_ROLE} (password in ${displayPath(pg.appPasswordFile)})`);
    }
    await migrate(databaseUrl, log);
    const pool = createPool(databaseUrl);
    stops.push(() => pool.end());

    // Temporal
    let settings: TemporalSettings = loadTemporalSettings();
    let uiUrl: string | undefined;
    if (settings.external) log(`Temporal: ${describeTemporalSettings(settings)} (from environment; no dev server started)`);
    else {
      const cliPath = await resolveTemporalCli({ toolsDir: defaultToolsDir(PROJECT_ROOT), log });
      const serverOptions = {
        cliPath,
        // Persistent: a restarted server has every workflow, schedule and search attribute back.
        dbFile: path.join(stateDir, 'temporal.db'),
        namespace: settings.namespace,
        searchAttributes: SEARCH_ATTRIBUTE_NAMES,
        log,
        logFile: path.join(stateDir, 'temporal.log'),
      };
      const server = await startTemporalDevServer({
        ...serverOptions,
        port: Number(process.env.VIGIL_TEMPORAL_PORT ?? 7233),
        uiPort: Number(process.env.VIGIL_UI_PORT ?? 8233),
      });
      // Restarted on the same ports: the client and the worker's connection reconnect by themselves.
      const supervised = supervise({
        name: 'Temporal dev server',
        first: server,
        restart: () => startTemporalDevServer({ ...serverOptions, port: Number(server.address.split(':').pop()), uiPort: server.uiPort ?? 'headless' }),
      });
      stops.push(() => supervised.stop());
      settings = { ...settings, address: server.address, connectionOptions: { ...settings.connectionOptions, address: server.address } };
      uiUrl = server.uiUrl;
      log(`Temporal: dev server at ${server.address}, Web UI ${uiUrl}`);
    }
    const { connection, client } = await connectTemporal(settings);
    stops.push(() => connection.close());

    // Worker and models
    const services = createVigilServices({ config, pool, temporal: client, stateDir });
    stops.push(() => services.close());
    for (const model of config.models) {
      if (model.example) {
        const { championVersion } = await ensureExampleModel({ registry: services.registry, model, stateDir });
        log(`model ${model.id}: champion v${championVersion} (example)`);
      } else if (fraud && model.id === FRAUD_MODEL_ID) {
        // Trained by its own trainer and registered as any team registers a model (a few seconds, once).
        const t0 = Date.now();
        const { championVersion, created } = await ensureFraudModel({ registry: services.registry, model, stateDir, python: fraud.python });
        log(
          `model ${model.id}: champion v${championVersion} (fraud example${created ? `, trained and registered in ${((Date.now() - t0) / 1000).toFixed(1)} s` : ''})`,
        );
      } else {
        await services.registry.ensureModel({ id: model.id, displayName: model.displayName, tier: model.tier });
      }
    }
    const nativeConnection = await connectNativeConnection(settings);
    const worker = await createVigilWorker({
      connection: nativeConnection,
      namespace: settings.namespace,
      taskQueue: config.taskQueue,
      deps: services,
      runbookFiles: runbooks?.files,
    });
    const workerDone = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone.catch(() => undefined);
      await nativeConnection.close();
    });
    log(`worker: task queue ${config.taskQueue}`);

    // Alertmanager webhooks, once a worker can run the incidents they open; predictions and labels on
    // the same server, written through a pool of their own (one connection per request in flight), so
    // a burst of ingestion never starves the worker of connections.
    const ingestPool = createPool(databaseUrl, { max: config.ingest.maxInFlight, applicationName: 'vigil-ingest' });
    stops.push(() => ingestPool.end());
    const receiver = await startAlertReceiver({
      incidents: services.incidents,
      config,
      token: alertToken.token,
      log,
      ingest: { predictions: createPredictionLog(ingestPool), token: ingestToken.token },
      routing: { deploymentFor: services.deploymentFor },
      decisions: decisionApiFromConfig({ config, pool, incidents: services.incidents, log }),
      ...http,
    });
    stops.push(() => receiver.stop());
    const tokenAt = (t: typeof alertToken) => `${t.file ? displayPath(t.file) : t.source}${t.created ? ', created' : ''}`;
    log(`alert receiver: POST ${receiver.url} (bearer token: ${tokenAt(alertToken)})`);
    log(
      `ingestion: POST ${receiver.baseUrl}/v1/models/<model>/predictions and /labels, routing: GET ${receiver.baseUrl}/v1/models/<model>/routing (bearer token: ${tokenAt(ingestToken)}); API: ${receiver.baseUrl}/openapi.json`,
    );

    // Slack decisions, once a worker can run the Updates they send.
    if (slack.enabled) {
      const slackApp = await startSlackApp({ credentials: slack, deps: { incidents: services.incidents, audit: services.incidentStore, config, log } });
      stops.push(() => slackApp.stop());
      log(describeSlackApp(slackApp));
    } else {
      log(slackOffMessage());
    }

    const monitors = createMonitorService({ temporal: client, config });
    for (const model of config.models) {
      // A schedule per model; one that exists keeps its interval and paused state (vigil monitor enable|disable).
      const monitor = await monitors.ensure(model.id);
      if (monitor.state === 'paused') log(`monitor for ${model.id} is disabled (vigil monitor enable ${model.id})`);
      else log(`monitor for ${model.id}: every ${monitor.every} (schedule ${monitor.scheduleId}${monitor.created ? ', created' : ''})`);
      if (model.example && opts.example !== false && !fraud) {
        // The simulated world keeps its own clock across restarts: once drifted, it stays drifted.
        const worldStartedAt = exampleWorldStart(stateDir, model.id);
        const driftAfterSeconds = Math.max(0, config.example.driftAfterSeconds - (Date.now() - worldStartedAt.getTime()) / 1000);
        // The example's serving layer feeds Vigil as any team's would: over the ingestion API, with the ingest token.
        const simulator = new TrafficSimulator({
          sink: createHttpPredictionSink({ baseUrl: localBaseUrl(http.host, receiver.port), modelId: model.id, token: ingestToken.token }),
          modelId: model.id,
          resolveServing: servingFromDeployment(services, model.id),
          driftAfterSeconds: config.example.driftAfterSeconds,
          worldStartedAt,
          requestsPerSecond: config.example.requestsPerSecond,
          labelDelaySeconds: config.example.labelDelaySeconds,
          seed: Date.now() % 100000,
          log: (m) => console.error(`[vigil] simulator: ${m}`),
        });
        simulator.start();
        stops.push(async () => simulator.stop());
        log(
          `example traffic for ${model.id}: ${config.example.requestsPerSecond} req/s, ${driftAfterSeconds > 0 ? `drifting in ${Math.round(driftAfterSeconds)}s` : 'already drifted'}`,
        );
      }
      if (fraud && model.id === FRAUD_MODEL_ID) {
        // A model server and traffic of its own, talking to Vigil only over the public HTTP APIs.
        const worldStartedAt = exampleWorldStart(stateDir, model.id);
        const dir = path.join(stateDir, 'example', model.id);
        const serving = startFraudServing({
          python: fraud.python,
          vigilUrl: localBaseUrl(http.host, receiver.port),
          modelId: model.id,
          token: ingestToken.token,
          port: fraud.port,
          dir,
          requestsPerSecond: config.example.requestsPerSecond,
          labelDelaySeconds: config.example.labelDelaySeconds,
          driftAfterSeconds: config.example.driftAfterSeconds,
          worldStartedAt,
          log,
        });
        stops.push(() => serving.stop());
        const driftIn = config.example.driftAfterSeconds - (Date.now() - worldStartedAt.getTime()) / 1000;
        log(
          `fraud example: model server http://127.0.0.1:${fraud.port}/predict, traffic ${config.example.requestsPerSecond} req/s, ${driftIn > 0 ? `drifting in ${Math.round(driftIn)}s` : 'already drifted'} (logs: ${displayPath(dir)}/server.log, driver.log)`,
        );
      }
    }

    writeStackFile(
      stateDir,
      stackFileFor({
        temporalAddress: settings.address,
        namespace: settings.namespace,
        uiUrl,
        databaseUrl,
        databasePasswordFile,
        startedAt: new Date().toISOString(),
      }),
    );
    log(`Vigil is up (${((Date.now() - startedAt) / 1000).toFixed(1)} s). In another terminal:`);
    log('  ./bin/vigil incident list          # an incident opens by itself within about two minutes');
    log('  ./bin/vigil incident show <id>     # evidence, classification, recommendation');
    log('  ./bin/vigil approve <id>           # you are an approver of the example model');
    if (uiUrl) log(`  ${uiUrl}/namespaces/${settings.namespace}/workflows   # the Temporal UI`);
    if (fraud && !opts.config && !process.env.VIGIL_CONFIG)
      log(`  the other commands read the fraud example's config: export VIGIL_CONFIG=${displayPath(source)}`);
    log('Ctrl-C stops everything.');
    await Promise.race([workerDone, givenUp]);
    await stopAll();
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The fraud example's configuration, written to `<stateDir>/vigil.config.json` (state folder default
 * `.vigil/fraud`, apart from the credit-risk example's) so the other commands can read it (VIGIL_CONFIG).
 */
function writeFraudConfig(python: string, explicitStateDir?: string): { config: VigilConfig; source: string } {
  const base = fraudExampleConfig(python);
  const stateDir = path.resolve(explicitStateDir ?? process.env.VIGIL_STATE_DIR ?? path.join('.vigil', 'fraud'));
  const file = path.join(stateDir, 'vigil.config.json');
  const raw = { ...base, stateDir, example: { requestsPerSecond: 20, driftAfterSeconds: 60, labelDelaySeconds: 2 } };
  const config = parseConfig(raw, file);
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`);
  return { config, source: file };
}

/** A path relative to the working directory when it lies below it (`.vigil/alert-token`). */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** The receiver's URL from this machine: a wildcard listen address (0.0.0.0, ::) is reached on loopback. */
function localBaseUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const reachable = bare === '0.0.0.0' ? '127.0.0.1' : bare === '::' ? '::1' : bare;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** When the example world began: the first `vigil up` on this state folder. */
function exampleWorldStart(stateDir: string, modelId: string): Date {
  const file = path.join(stateDir, 'example', modelId, 'world.json');
  try {
    return new Date(JSON.parse(fs.readFileSync(file, 'utf8')).firstStartedAt);
  } catch {
    const now = new Date();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ firstStartedAt: now.toISOString() }));
    return now;
  }
}
