/**
 * A Vigil worker in its own process, so a test can SIGKILL it mid-activity. Configured by
 * VIGIL_TEST_CONFIG (JSON), VIGIL_TEST_DATABASE_URL, VIGIL_TEST_STATE_DIR and TEMPORAL_ADDRESS;
 * VIGIL_TEST_RUNBOOK_FILES (JSON list) bundles a team's runbook files.
 * Prints "ready" once polling.
 *
 * VIGIL_TEST_CRASH_AFTER=<activity type> makes the process SIGKILL itself right after the first attempt
 * of that activity has done its work and before Temporal hears the result: the retry, on another worker,
 * must find the work done instead of doing it again.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPool } from '../../adapters/postgres/database.js';
import { connectNativeConnection, connectTemporal, loadTemporalSettings } from '../../adapters/temporal/connection.js';
import { parseConfig } from '../../domain/config.js';
import { createVigilWorker } from '../../workers/createVigilWorker.js';
import { createVigilServices } from '../../workers/vigilServices.js';
import { killAfterActivity } from './killAfterActivity.js';

Runtime.install({ logger: new DefaultLogger('WARN') });
const config = parseConfig(JSON.parse(process.env.VIGIL_TEST_CONFIG!));
const settings = loadTemporalSettings();
const { client } = await connectTemporal(settings);
const pool = createPool(process.env.VIGIL_TEST_DATABASE_URL!);
const services = createVigilServices({
  config,
  pool,
  temporal: client,
  stateDir: process.env.VIGIL_TEST_STATE_DIR!,
  notifier: { async approvalRequested() {}, async escalated() {}, async phaseChanged() {}, async reviewWritten() {} },
});
const crashAfter = process.env.VIGIL_TEST_CRASH_AFTER;
const interceptors = crashAfter
  ? killAfterActivity((info) => (info.activityType === crashAfter && info.attempt === 1 ? `crashing after ${crashAfter}` : undefined))
  : undefined;
const worker = await createVigilWorker({
  interceptors,
  connection: await connectNativeConnection(settings),
  namespace: settings.namespace,
  taskQueue: config.taskQueue,
  deps: services,
  identity: `crash-test-worker-${process.pid}`,
  ...(process.env.VIGIL_TEST_RUNBOOK_FILES ? { runbookFiles: JSON.parse(process.env.VIGIL_TEST_RUNBOOK_FILES) as string[] } : {}),
});
const running = worker.run();
console.log('ready');
await running;
