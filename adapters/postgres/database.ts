/**
 * PostgreSQL access: the connection pool, schema migrations (node-pg-migrate over `migrations/`), and
 * creating / dropping whole databases (tests get one each).
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { redactUrl } from '../net/redactUrl.js';

/** The repo's `migrations/` folder, found from this file so it does not depend on the working directory. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** Table where node-pg-migrate records the migrations it ran. */
export const MIGRATIONS_TABLE = 'pgmigrations';

export function createPool(url: string, opts: { max?: number; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: opts.applicationName ?? 'vigil',
  });
  // An idle client losing its connection (server restart, network) emits 'error' on the pool; without a
  // listener that would crash the process. The pool drops the client and the next query reconnects.
  pool.on('error', (err) => {
    console.error(`[vigil] PostgreSQL connection lost (will reconnect on next use): ${err.message}`);
  });
  return pool;
}

/** node-pg-migrate's error when another process holds the migration lock (advisoryLockMode "fail"). */
const MIGRATION_LOCK_HELD = /another migration is already running/i;
const MIGRATION_LOCK_POLL_MS = 200;

/**
 * Applies pending migrations. Safe to run from several processes at once: node-pg-migrate holds a
 * PostgreSQL advisory lock for the run, and here a second process waits for that lock, then finds
 * nothing left to do. It waits by trying again every 200 ms, not by blocking in pg_advisory_lock: a
 * session blocked there holds a snapshot, and CREATE INDEX CONCURRENTLY (in a migration run outside a
 * transaction, see migrations/1764374400000_prediction_log_indexes.ts) waits for every older snapshot
 * to end, which would be a deadlock. Pending migrations run in one transaction, but for such a migration,
 * which runs on its own between them.
 */
export async function migrate(
  url: string,
  log?: (m: string) => void,
  /** `checkOrder: false` also applies a migration older than the newest applied one (tests of a database migrated out of order). */
  opts: { checkOrder?: boolean } = {},
): Promise<void> {
  let messages: string[] = [];
  let ran;
  for (;;) {
    messages = [];
    const keep = (m: string) => messages.push(m);
    try {
      ran = await runner({
        databaseUrl: url,
        dir: MIGRATIONS_DIR,
        migrationsTable: MIGRATIONS_TABLE,
        direction: 'up',
        singleTransaction: true,
        checkOrder: opts.checkOrder ?? true,
        advisoryLockMode: 'fail',
        // node-pg-migrate logs every step and each statement; keep it quiet and report once.
        logger: { debug: () => undefined, info: keep, warn: keep, error: keep },
      });
      break;
    } catch (err) {
      if (MIGRATION_LOCK_HELD.test((err as Error).message)) {
        await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
        continue;
      }
      const detail = messages
        .filter((m) => !m.startsWith('>') && !m.startsWith('#>'))
        .slice(-5)
        .join('\n');
      throw new Error(`database migration failed: ${(err as Error).message}${detail ? `\n${detail}` : ''}`, { cause: err });
    }
  }
  if (ran.length > 0) log?.(`Applied ${ran.length} database migration(s): ${ran.map((m) => m.name).join(', ')}`);
}

/** Creates database `name` (no error if it exists) using a URL with CREATEDB rights. */
export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
    }
  });
}

/** Drops database `name` if it exists, disconnecting its remaining sessions first. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`);
  });
}

/** `url` with its database name replaced. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` in one transaction on one pooled connection: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
