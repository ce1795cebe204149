/**
 * `vigil up` on its own servers (embedded PostgreSQL, persistent Temporal dev server), every port a free
 * one: a state folder from before generated passwords is converted; Vigil connects as a role that is
 * not a superuser; stack.json holds no password; PostgreSQL or the dev server SIGKILLed is noticed,
 * restarted, and the example traffic, monitors and worker carry on; a server that keeps dying stops
 * everything with exit 1 naming it. No process is left behind.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import pg from 'pg';
import { assertPortFree, freePort } from '../../adapters/net/freePort.js';
import { migrate } from '../../adapters/postgres/database.js';
import {
  APP_PASSWORD_FILE,
  EMBEDDED_PG_APP_ROLE,
  LEGACY_EMBEDDED_PG_PASSWORD,
  SUPERUSER_PASSWORD_FILE,
  startEmbeddedPostgres,
} from '../../adapters/postgres/embeddedPostgres.js';
import { waitFor } from '../support/waitFor.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));

interface Ports {
  pg: number;
  temporal: number;
  ui: number;
  http: number;
}

interface VigilUp {
  child: ChildProcess;
  ports: Ports;
  stateDir: string;
  output(): string;
  exited: Promise<number | null>;
}

/** The environment of a `vigil up` that starts its own servers: no external Temporal or database, free ports. */
function upEnv(ports: Ports): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'DATABASE_URL', 'VIGIL_CONFIG', 'VIGIL_STATE_DIR']) delete env[name];
  return {
    ...env,
    VIGIL_PG_PORT: String(ports.pg),
    VIGIL_TEMPORAL_PORT: String(ports.temporal),
    VIGIL_UI_PORT: String(ports.ui),
    VIGIL_HTTP_PORT: String(ports.http),
  };
}

async function startVigilUp(stateDir: string, args: string[] = []): Promise<VigilUp> {
  const ports = { pg: await freePort(), temporal: await freePort(), ui: await freePort(), http: await freePort() };
  const child = spawn(VIGIL, ['--state-dir', stateDir, 'up', ...args], { env: upEnv(ports), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      async () => output,
      (o) => o.includes('Vigil is up') || child.exitCode !== null,
      'vigil up',
      120_000,
    );
    assert.equal(child.exitCode, null, output);
  } catch (err) {
    child.kill('SIGINT');
    await exited;
    throw err;
  }
  return { child, ports, stateDir, output: () => output, exited };
}

/** Stops `vigil up` with SIGINT; it must exit 0 and leave none of its servers running. */
async function stopVigilUp(up: VigilUp, serverPids: (() => number)[]): Promise<void> {
  const pids = serverPids.flatMap((find) => {
    try {
      return [find()];
    } catch {
      return []; // not running (a failed test): nothing to wait for
    }
  });
  up.child.kill('SIGINT');
  assert.equal(await up.exited, 0, up.output());
  for (const pid of pids)
    await waitFor(
      async () => isRunning(pid),
      (r) => !r,
      `server pid ${pid} to be gone`,
      10_000,
    );
  await assertPortFree(up.ports.pg, 'PostgreSQL port after vigil up stopped');
  await assertPortFree(up.ports.temporal, 'Temporal port after vigil up stopped');
}

function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const postmasterPid = (stateDir: string) => Number(fs.readFileSync(path.join(stateDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** The dev server listening on `port`, found by its command line. */
function devServerPid(port: number): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('--port');
      if (argv.includes('start-dev') && at > 0 && argv[at + 1] === String(port) && isRunning(Number(entry))) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error(`no Temporal dev server on port ${port}`);
}

const readSecret = (stateDir: string, file: string) => fs.readFileSync(path.join(stateDir, file), 'utf8').trim();

async function withClient<T>(config: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: '127.0.0.1', ...config });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A state folder as `vigil up` left it before passwords were generated: superuser `postgres` with the
 * fixed password, Vigil's database and every table owned by it, no role `vigil`, no password files.
 * Built by undoing today's setup (same catalog state an old `vigil up` produced), plus a marker row.
 */
async function legacyStateFolder(stateDir: string): Promise<void> {
  const server = await startEmbeddedPostgres({ dataDir: path.join(stateDir, 'postgres'), port: 0, log: () => undefined });
  try {
    await migrate(server.url);
    const superuser = { port: server.port, user: 'postgres', password: readSecret(stateDir, SUPERUSER_PASSWORD_FILE) };
    await withClient({ ...superuser, database: 'vigil' }, async (c) => {
      await c.query(`INSERT INTO models (id, display_name, tier) VALUES ('legacy-marker', 'Written before the upgrade', 'low')`);
      await c.query('REASSIGN OWNED BY vigil TO postgres');
      await c.query('DROP OWNED BY vigil');
    });
    await withClient({ ...superuser, database: 'postgres' }, async (c) => {
      await c.query('DROP ROLE vigil');
      await c.query(`ALTER ROLE postgres PASSWORD '${LEGACY_EMBEDDED_PG_PASSWORD}'`);
    });
  } finally {
    await server.stop();
  }
  fs.rmSync(path.join(stateDir, SUPERUSER_PASSWORD_FILE));
  fs.rmSync(path.join(stateDir, APP_PASSWORD_FILE));
}

function newStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-supervision-'));
  fs.chmodSync(dir, 0o755); // as root, the postgres OS user must enter it
  return dir;
}

describe('vigil up: credentials, and servers that die', () => {
  let stateDir: string;
  let up: VigilUp;
  let temporal: TemporalClient;
  let appPool: pg.Pool;
  const app = () => ({ port: up.ports.pg, user: EMBEDDED_PG_APP_ROLE, password: readSecret(stateDir, APP_PASSWORD_FILE), database: 'vigil' });
  const predictions = async () => (await appPool.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n as number;
  /** Resolves once a monitor run started after `since` has completed: the schedule, the worker and the database all work. */
  const monitorRunCompletedAfter = (since: Date) =>
    waitFor(
      async () => {
        const query = `WorkflowType = "monitorModel" AND ExecutionStatus = "Completed" AND StartTime > "${since.toISOString()}"`;
        for await (const run of temporal.workflow.list({ query })) return run.workflowId;
        return undefined;
      },
      (id) => id !== undefined,
      `a monitor run started after ${since.toISOString()} to complete`,
      90_000,
    );

  before(async () => {
    stateDir = newStateDir();
    await legacyStateFolder(stateDir);
    up = await startVigilUp(stateDir);
    appPool = new pg.Pool({ host: '127.0.0.1', ...app(), max: 2 });
    appPool.on('error', () => undefined); // the test kills the server under it
    const connection = await Connection.connect({ address: `127.0.0.1:${up.ports.temporal}` });
    temporal = new TemporalClient({ connection });
  });

  after(async () => {
    await appPool?.end().catch(() => undefined);
    await temporal?.connection.close().catch(() => undefined);
    if (up) await stopVigilUp(up, [() => postmasterPid(stateDir), () => devServerPid(up.ports.temporal)]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('converts a state folder from before: the fixed superuser password is replaced and refused, the data handed to role vigil', async () => {
    const output = up.output();
    assert.match(output, /PostgreSQL: replaced the superuser's old fixed password with the generated one in .*postgres-superuser-password/);
    assert.match(output, /PostgreSQL: created role vigil \(not a superuser\)/);
    assert.match(output, /PostgreSQL: handed \d+ object\(s\) in database vigil from postgres to role vigil/);
    await assert.rejects(
      withClient({ port: up.ports.pg, user: 'postgres', password: LEGACY_EMBEDDED_PG_PASSWORD, database: 'postgres' }, async () => undefined),
      (err: { code?: string }) => err.code === '28P01',
      'the old fixed password no longer logs in',
    );
    const superuser = { port: up.ports.pg, user: 'postgres', password: readSecret(stateDir, SUPERUSER_PASSWORD_FILE), database: 'vigil' };
    const { rows } = await withClient(superuser, (c) =>
      c.query<{ owner: string; n: number }>(
        `SELECT pg_get_userbyid(c.relowner) AS owner, count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
         WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') GROUP BY 1`,
      ),
    );
    assert.deepEqual(
      rows.map((r) => r.owner),
      ['vigil'],
      `every table and sequence belongs to vigil: ${JSON.stringify(rows)}`,
    );
    const kept = await appPool.query(`SELECT display_name FROM models WHERE id = 'legacy-marker'`);
    assert.equal(kept.rows[0]?.display_name, 'Written before the upgrade', 'the data from before is still there');
  });

  it('Vigil connects as role vigil: not a superuser, no server-file or program roles, COPY TO PROGRAM refused; password files are 0600', async () => {
    for (const file of [SUPERUSER_PASSWORD_FILE, APP_PASSWORD_FILE]) {
      assert.equal(fs.statSync(path.join(stateDir, file)).mode & 0o777, 0o600, file);
    }
    assert.notEqual(readSecret(stateDir, SUPERUSER_PASSWORD_FILE), readSecret(stateDir, APP_PASSWORD_FILE));
    const role = await appPool.query(
      `SELECT current_user AS name, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
              pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') AS program,
              pg_has_role(current_user, 'pg_read_server_files', 'MEMBER') AS read_files,
              pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') AS write_files,
              (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS database_owner
       FROM pg_roles WHERE rolname = current_user`,
    );
    assert.deepEqual(role.rows[0], {
      name: 'vigil',
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
      program: false,
      read_files: false,
      write_files: false,
      database_owner: 'vigil',
    });
    await assert.rejects(appPool.query(`COPY (SELECT 1) TO PROGRAM 'true'`), /permission denied/);
    await assert.rejects(appPool.query(`COPY (SELECT 1) TO '/tmp/vigil-should-not-exist'`), /permission denied/);
    await assert.rejects(appPool.query('ALTER ROLE vigil SUPERUSER'), /permission denied/);
  });

  it('stack.json holds no password, and the other commands find the database through the 0600 password file', async () => {
    const text = fs.readFileSync(path.join(stateDir, 'stack.json'), 'utf8');
    for (const file of [SUPERUSER_PASSWORD_FILE, APP_PASSWORD_FILE]) assert.ok(!text.includes(readSecret(stateDir, file)), `stack.json holds the ${file}`);
    assert.ok(!text.includes(LEGACY_EMBEDDED_PG_PASSWORD));
    const stack = JSON.parse(text);
    assert.equal(stack.databaseUrl, `postgres://vigil@127.0.0.1:${up.ports.pg}/vigil`);
    assert.deepEqual(stack.databasePassword, { file: path.join(stateDir, APP_PASSWORD_FILE) });
    const listed = await new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      execFile(VIGIL, ['--state-dir', stateDir, 'incident', 'list'], { env: upEnv(up.ports), encoding: 'utf8' }, (error, out, err) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out, err }),
      ),
    );
    assert.equal(listed.code, 0, listed.err);
  });

  it('PostgreSQL SIGKILLed: noticed at once, restarted on its data, and the example traffic and monitors recover', async (t) => {
    const pid = postmasterPid(stateDir);
    await waitFor(predictions, (n) => n > 0, 'example traffic before the kill');
    const killedAt = new Date();
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => up.output(),
      (o) => o.includes(`PostgreSQL (pid ${pid}) was killed by SIGKILL; restarting it in 1 s`),
      'the death to be noticed',
      5_000,
    );
    const noticedMs = Date.now() - killedAt.getTime();
    await waitFor(
      async () => up.output(),
      (o) => /PostgreSQL is back \(pid \d+\)/.test(o),
      'PostgreSQL to be back',
      30_000,
    );
    const backMs = Date.now() - killedAt.getTime();
    assert.notEqual(postmasterPid(stateDir), pid);
    const afterRestart = await waitFor(predictions, (n) => n >= 0, 'a query after the restart', 30_000);
    await waitFor(predictions, (n) => n > afterRestart + 40, 'the example traffic to flow again', 30_000);
    t.diagnostic(`PostgreSQL: death noticed in ${noticedMs} ms, back in ${(backMs / 1000).toFixed(1)} s after SIGKILL`);
    await monitorRunCompletedAfter(new Date(Date.now() - 1000));
  });

  it('Temporal dev server SIGKILLed: restarted with its state (schedules, histories), and the worker runs workflows again', async (t) => {
    const pid = devServerPid(up.ports.temporal);
    const earlier = await monitorRunCompletedAfter(new Date(0));
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => up.output(),
      (o) => o.includes(`Temporal dev server (pid ${pid}) was killed by SIGKILL; restarting it in 1 s`),
      'the death to be noticed',
      5_000,
    );
    await waitFor(
      async () => up.output(),
      (o) => /Temporal dev server is back \(pid \d+\)/.test(o),
      'the dev server to be back',
      30_000,
    );
    t.diagnostic(`Temporal dev server: back ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL`);
    // Its SQLite file kept the schedule and the runs from before the kill.
    const schedule = await temporal.schedule.getHandle('vigil-monitor-credit-risk').describe();
    assert.equal(schedule.state.paused, false);
    assert.equal((await temporal.workflow.getHandle(earlier!).describe()).status.name, 'COMPLETED');
    await monitorRunCompletedAfter(new Date());
  });
});

describe('vigil up: a server that keeps dying', () => {
  it('stops everything and exits 1 naming it, past 5 restarts within 5 minutes', async (t) => {
    const stateDir = newStateDir();
    let up: VigilUp | undefined;
    try {
      up = await startVigilUp(stateDir, ['--no-example']);
      const temporalPid = devServerPid(up.ports.temporal);
      const pid = postmasterPid(stateDir);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      // A setting PostgreSQL cannot parse: every restart now dies on start, as a broken server would.
      fs.appendFileSync(path.join(stateDir, 'postgres', 'postgresql.auto.conf'), 'this is not a setting\n');
      const code = await Promise.race([up.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000).unref())]);
      assert.equal(code, 1, up.output());
      t.diagnostic(`gave up ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the first death`);
      const output = up.output();
      assert.match(output, /restarting it in 16 s \(restart 5 of at most 5 within 5 min\)/);
      assert.match(
        output,
        /vigil: PostgreSQL kept dying: PostgreSQL could not be restarted \(embedded PostgreSQL on 127\.0\.0\.1:\d+ .* did not start: .*\) after 5 restarts within 5 min; stopping Vigil/,
      );
      assert.match(output, /\[vigil\] stopped/);
      assert.equal(fs.existsSync(path.join(stateDir, 'stack.json')), false);
      await waitFor(
        async () => isRunning(temporalPid),
        (r) => !r,
        'the dev server to be stopped too',
        10_000,
      );
    } finally {
      // Whatever failed, nothing it started stays behind: SIGINT stops its servers too.
      if (up && up.child.exitCode === null) {
        up.child.kill('SIGINT');
        await up.exited;
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
