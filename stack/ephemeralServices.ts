/**
 * Throw-away servers for a test or benchmark run: an embedded PostgreSQL (unless one is given) and an
 * in-memory, headless Temporal dev server with Vigil's search attributes, both on free ports.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/postgres/embeddedPostgres.js';
import { startTemporalDevServer, type TemporalDevServer } from '../adapters/temporal/devServer.js';
import { defaultToolsDir, resolveTemporalCli } from '../adapters/temporal/temporalCli.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../domain/searchAttributes.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface EphemeralServices {
  /** Absent when the caller brings its own database. */
  postgres?: EmbeddedPostgres;
  temporal: TemporalDevServer;
  stop(): Promise<void>;
}

export async function startEphemeralServices(opts: { runDir: string; embeddedPostgres: boolean; log: (m: string) => void }): Promise<EphemeralServices> {
  const quiet = () => undefined;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // One after the other: the dev server binds extra ephemeral ports of its own while starting,
    // which could take the port just picked for PostgreSQL.
    let postgres: EmbeddedPostgres | undefined;
    if (opts.embeddedPostgres) {
      postgres = await startEmbeddedPostgres({
        dataDir: path.join(opts.runDir, 'postgres'),
        port: 0,
        log: quiet,
        logFile: path.join(opts.runDir, 'postgres.log'),
      });
      stops.push(() => postgres!.stop());
    }
    const temporal = await startEphemeralTemporal({ log: opts.log, logFile: path.join(opts.runDir, 'temporal.log') });
    stops.push(() => temporal.stop());
    return { postgres, temporal, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An in-memory, headless Temporal dev server with Vigil's search attributes on a free port (tests, `vigil runbook dry-run`). */
export async function startEphemeralTemporal(opts: { log: (m: string) => void; logFile?: string }): Promise<TemporalDevServer> {
  const cliPath = await resolveTemporalCli({ toolsDir: defaultToolsDir(PROJECT_ROOT), log: opts.log });
  return startTemporalDevServer({
    cliPath,
    port: 0,
    uiPort: 'headless',
    namespace: 'default',
    searchAttributes: SEARCH_ATTRIBUTE_NAMES,
    log: () => undefined,
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
  });
}
