/**
 * `npm test`: starts one real Temporal dev server (in memory, free port, headless, Vigil's search
 * attributes) and one embedded PostgreSQL (unless DATABASE_URL is set) for the whole run, then runs
 * Node's test runner over test/**\/*.test.ts with TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and
 * VIGIL_TEST_ADMIN_DATABASE_URL set. Test files create their own databases and task queues.
 *
 *   npm test                      all test files
 *   npm test -- unit lifecycle    only files whose path contains "unit" or "lifecycle"
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEphemeralServices } from '../stack/ephemeralServices.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEST_DIR = path.join(PROJECT_ROOT, 'test');
const log = (m: string) => console.log(`[test] ${m}`);

function findTestFiles(filters: string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(full);
      else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(path.relative(PROJECT_ROOT, full));
    }
  };
  walk(TEST_DIR);
  found.sort();
  return filters.length ? found.filter((f) => filters.some((s) => f.includes(s))) : found;
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((a) => a !== '--');
  const files = findTestFiles(filters);
  if (files.length === 0) {
    console.error(`[test] no test files under test/ match ${filters.map((f) => `"${f}"`).join(', ') || '*.test.ts'}`);
    return 1;
  }

  // One folder per run for logs and PostgreSQL data; the postgres OS user (as root) must enter it.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-run-'));
  fs.chmodSync(runDir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  let child: ChildProcess | undefined;
  let interrupted = false;
  let exitCode = 1;

  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((err) => console.error(`[test] while stopping: ${(err as Error).message}`));
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // Second Ctrl-C: stop the servers now and leave.
      void stopAll().finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    log(`${signal}: stopping the tests and the servers (again to force)`);
    child?.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // The Python tools (Ray, MLflow, NumPy) some tests run for real: installed once, reused after.
    const tools = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'python-tools.sh')], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (tools.status !== 0) {
      console.error('[test] could not install the Python tools (scripts/python-tools.sh); see above');
      return 1;
    }
    const started = Date.now();
    const services = await startEphemeralServices({ runDir, embeddedPostgres: !process.env.DATABASE_URL, log });
    stops.push(() => services.stop());
    const server = services.temporal;
    const postgres = { value: services.postgres };
    if (interrupted) return 130;
    const adminUrl = postgres.value?.adminUrl ?? process.env.DATABASE_URL!;

    log(
      `Temporal dev server ${server.address} (in memory), ` +
        (postgres.value ? `PostgreSQL 127.0.0.1:${postgres.value.port} (embedded)` : 'PostgreSQL from DATABASE_URL') +
        `; ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${runDir}`,
    );

    const env: NodeJS.ProcessEnv = {};
    // The run's server is local and plain: no remote profile, API key or TLS settings may leak in.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TEMPORAL_')) env[k] = v;
    Object.assign(env, {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      // A missing file means "no profiles" to envconfig (an empty file would make it throw).
      TEMPORAL_CONFIG_FILE: path.join(runDir, 'no-temporal-profiles.toml'),
      VIGIL_TEST_ADMIN_DATABASE_URL: adminUrl,
    });

    const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files];
    const testRun = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
    child = testRun;
    exitCode = await new Promise<number>((resolve) => {
      testRun.once('error', (err) => {
        console.error(`[test] cannot start the Node test runner: ${err.message}`);
        resolve(1);
      });
      testRun.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
    });
    if (interrupted && exitCode === 0) exitCode = 130;
    return exitCode;
  } catch (err) {
    console.error(`[test] ${(err as Error).message}`);
    return 1;
  } finally {
    await stopAll();
    // Keep the logs of a failed run; PostgreSQL's data is never worth keeping.
    fs.rmSync(path.join(runDir, 'postgres'), { recursive: true, force: true });
    if (exitCode === 0) fs.rmSync(runDir, { recursive: true, force: true });
    else log(`server logs kept in ${runDir}`);
  }
}

// Exit explicitly: the servers' client libraries may keep handles open.
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
