/**
 * A production worker: Temporal from envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY or a TOML profile), PostgreSQL from DATABASE_URL. Run as many as you need.
 */
import type { WorkerInterceptors } from '@temporalio/worker';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { loadConfiguredRunbooks } from '../adapters/runbooks/runbookFolder.js';
import { connectNativeConnection, connectTemporal, describeTemporalSettings, loadTemporalSettings } from '../adapters/temporal/connection.js';
import { loadConfig, resolveStateDir } from '../cli/loadConfig.js';
import { LOCAL_USER_PLACEHOLDER } from '../domain/people.js';
import { createVigilWorker } from './createVigilWorker.js';
import { createVigilServices } from './vigilServices.js';

/** `interceptors`: for a harness that wraps the production worker (the chaos run kills it after activities). */
export async function runWorker(opts: { config?: string; stateDir?: string; interceptors?: WorkerInterceptors }): Promise<void> {
  const { config } = loadConfig(opts.config);
  // A team's runbooks are checked before anything connects: a bad file or choice exits 2.
  const runbooks = await loadConfiguredRunbooks(config);
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required for `vigil worker`');
  await migrate(databaseUrl);
  const settings = loadTemporalSettings();
  const { connection, client } = await connectTemporal(settings);
  const pool = createPool(databaseUrl);
  // `$USER` is the local stack's operator; a production worker has none, so it approves no one here.
  const services = createVigilServices({ config, pool, temporal: client, stateDir: resolveStateDir(config, opts.stateDir), localOperator: false });
  const withLocalUser = config.models.filter((m) => [...m.approvers, ...Object.values(m.approversBySeverity).flat()].includes(LOCAL_USER_PLACEHOLDER));
  if (withLocalUser.length) {
    console.error(
      `[vigil] "${LOCAL_USER_PLACEHOLDER}" in the approvers of ${withLocalUser.map((m) => m.id).join(', ')} names no one under \`vigil worker\`: list people by name (config people)`,
    );
  }
  const nativeConnection = await connectNativeConnection(settings);
  const worker = await createVigilWorker({
    connection: nativeConnection,
    namespace: settings.namespace,
    taskQueue: config.taskQueue,
    deps: services,
    runbookFiles: runbooks?.files,
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
  });
  console.log(
    `[vigil] worker on ${describeTemporalSettings(settings)}, task queue ${config.taskQueue}${runbooks ? `, runbooks ${runbooks.runbooks.map((r) => r.runbook.name).join(', ')} from ${runbooks.dir}` : ''}`,
  );
  try {
    await worker.run(); // the SDK shuts down gracefully on SIGINT / SIGTERM
  } finally {
    await nativeConnection.close();
    await services.close();
    await pool.end();
    await connection.close();
  }
}
