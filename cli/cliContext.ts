/**
 * What a CLI command (other than `up`) needs: the config, a PostgreSQL pool and a Temporal client,
 * found from the environment or from the running local stack.
 */
import type { Connection } from '@temporalio/client';
import type pg from 'pg';
import type { VigilServices } from '../workers/vigilServices.js';
import { createPool } from '../adapters/postgres/database.js';
import { redactUrl } from '../adapters/net/redactUrl.js';
import { connectTemporal, loadTemporalSettings } from '../adapters/temporal/connection.js';
import type { VigilConfig } from '../domain/config.js';
import { readStackFile, stackDatabaseUrl } from '../stack/stackFile.js';
import { createVigilServices } from '../workers/vigilServices.js';
import { createLogNotifier } from '../adapters/notify/logNotifier.js';
import { loadConfig, resolveStateDir } from './loadConfig.js';

export interface GlobalOptions {
  config?: string;
  stateDir?: string;
}

export interface CliContext {
  config: VigilConfig;
  services: VigilServices;
  close(): Promise<void>;
}

export async function openCliContext(opts: GlobalOptions): Promise<CliContext> {
  const { config } = loadConfig(opts.config);
  const stateDir = resolveStateDir(config, opts.stateDir);
  const stack = readStackFile(stateDir, { log: (m) => console.error(`vigil: ${m}`) });
  // The password is not in stack.json: the local stack's comes from its 0600 password file.
  const databaseUrl = process.env.DATABASE_URL ?? (stack ? stackDatabaseUrl(stack) : undefined);
  if (!databaseUrl) {
    throw new Error(`Vigil is not running (no ${stateDir}/stack.json): start it with \`vigil up\`, or set DATABASE_URL and TEMPORAL_ADDRESS`);
  }
  let settings = loadTemporalSettings();
  if (!settings.external && stack) {
    settings = {
      ...settings,
      address: stack.temporalAddress,
      namespace: stack.namespace,
      connectionOptions: { ...settings.connectionOptions, address: stack.temporalAddress },
    };
  }
  const { connection, client } = await connectTemporal(settings, { connectTimeoutMs: 5000 });
  const pool: pg.Pool = createPool(databaseUrl);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    await (connection as Connection).close();
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(databaseUrl)}: ${(err as Error).message}`);
  }
  // The CLI tells nobody anything itself (the worker's notifier does): no Slack client, no PagerDuty keys needed here.
  const services = createVigilServices({ config, pool, temporal: client, stateDir, notifier: createLogNotifier() });
  return {
    config,
    services,
    async close() {
      await services.close();
      await pool.end();
      await connection.close();
    },
  };
}
