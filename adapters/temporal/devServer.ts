/**
 * Runs `temporal server start-dev` as a child process: the local Temporal for development and tests.
 * Resolves once the server answers on gRPC and Vigil's search attributes are registered.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { assertPortFree, freePort } from '../net/freePort.js';
import { OutputTail } from '../process/outputTail.js';

export interface TemporalDevServerOptions {
  cliPath: string;
  /** Persistent SQLite file; omit for an in-memory server that forgets everything when stopped. */
  dbFile?: string;
  /** gRPC port, default 7233; 0 picks a free port. */
  port?: number;
  /** Web UI port, default 8233; 0 picks a free port; null or 'headless' runs without UI. */
  uiPort?: number | null | 'headless';
  /** Namespace to create and use (the "default" namespace always exists). */
  namespace?: string;
  /** Custom search attributes, registered as Keyword. */
  searchAttributes: readonly string[];
  log: (m: string) => void;
  /** The server's own output is appended here; without it, only the last lines are kept for errors. */
  logFile?: string;
  /** How long to wait for the server to answer, default 60 s. */
  startTimeoutMs?: number;
}

export interface TemporalDevServer {
  /** host:port of the gRPC frontend. */
  address: string;
  namespace: string;
  uiUrl?: string;
  /** The server's UI port, when it has a UI. */
  uiPort?: number;
  pid: number;
  /** Resolves when the server process exits, asked to or not. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD in Temporal's API. */
const KEYWORD = 2;

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const namespace = opts.namespace ?? 'default';
  const port = opts.port === 0 ? await freePort(HOST) : (opts.port ?? 7233);
  if (opts.port !== 0) await assertPortFree(port, 'Temporal dev server gRPC', HOST);
  const headless = opts.uiPort === null || opts.uiPort === 'headless';
  let uiPort: number | undefined;
  if (!headless) {
    uiPort = opts.uiPort === 0 ? await freePort(HOST) : ((opts.uiPort as number | undefined) ?? 8233);
    if (opts.uiPort !== 0) await assertPortFree(uiPort, 'Temporal Web UI', HOST);
  }
  const dbFile = opts.dbFile ? path.resolve(opts.dbFile) : undefined;
  if (dbFile) {
    try {
      fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    } catch (err) {
      throw new Error(`cannot create the folder for the Temporal state file ${dbFile}: ${(err as Error).message}`);
    }
  }

  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port)];
  args.push(...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (dbFile) args.push('--db-filename', dbFile);
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const name of opts.searchAttributes) args.push('--search-attribute', `${name}=Keyword`);
  args.push('--log-level', 'warn');

  const address = `${HOST}:${port}`;
  const output = new OutputTail(opts.logFile);
  const started = Date.now();
  const child = spawn(opts.cliPath, args, { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  output.attach(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => {
    exitInfo = info;
    process.removeListener('exit', onExit);
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  // If our process exits without stop(), do not leave the server behind.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      if (!exitInfo && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      await output.close();
    })();
    return stopping;
  };

  try {
    await Promise.race([
      waitUntilServing({ address, namespace, deadline: started + (opts.startTimeoutMs ?? 60_000), exited: () => exitInfo }),
      spawnError.then((err) => {
        throw new Error(`cannot run the Temporal CLI at ${opts.cliPath}: ${err.message}`);
      }),
    ]);
    await ensureSearchAttributes({ cliPath: opts.cliPath, address, namespace, names: opts.searchAttributes, log: opts.log });
  } catch (err) {
    // Read the state before stop(), whose shutdown chatter would bury the reason.
    const how = exitInfo ? ` (the server exited with ${exitInfo.signal ?? `code ${exitInfo.code}`})` : '';
    const lastLines = output.text();
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `Temporal dev server on ${address} did not start${how}: ${reason}` +
        (lastLines ? `\n--- last lines of its output${opts.logFile ? ` (${opts.logFile})` : ''} ---\n${lastLines}` : ''),
      { cause: err },
    );
  }

  const uiUrl = uiPort ? `http://${HOST}:${uiPort}` : undefined;
  opts.log(
    `Temporal dev server ready on ${address}${uiUrl ? `, UI ${uiUrl}` : ''} ` +
      `(${dbFile ? `state in ${dbFile}` : 'in memory'}, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return { address, namespace, uiUrl, uiPort, pid: child.pid!, exited, stop };
}

/** Polls until the frontend answers DescribeNamespace, failing early if the process exits. */
async function waitUntilServing(p: { address: string; namespace: string; deadline: number; exited: () => unknown }): Promise<void> {
  let lastError = 'no answer yet';
  while (Date.now() < p.deadline) {
    if (p.exited()) throw new Error('the server process exited during startup');
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: p.address, connectTimeout: 2_000 });
      const conn = connection;
      await conn.withDeadline(Date.now() + 2_000, () => conn.workflowService.describeNamespace({ namespace: p.namespace }));
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(200);
  }
  throw new Error(`no answer within the startup deadline (last error: ${lastError})`);
}

/**
 * `--search-attribute` registers the attributes on a fresh server and on an existing SQLite file; this
 * checks it did, and registers missing ones with `temporal operator search-attribute create` otherwise.
 */
async function ensureSearchAttributes(p: {
  cliPath: string;
  address: string;
  namespace: string;
  names: readonly string[];
  log: (m: string) => void;
}): Promise<void> {
  if (p.names.length === 0) return;
  const connection = await Connection.connect({ address: p.address, connectTimeout: 5_000 });
  try {
    const missing = async (): Promise<string[]> => {
      const res = await connection.operatorService.listSearchAttributes({ namespace: p.namespace });
      const custom = (res.customAttributes ?? {}) as Record<string, unknown>;
      const wrongType = p.names.filter((n) => n in custom && Number(custom[n]) !== KEYWORD);
      if (wrongType.length) {
        throw new Error(`search attribute(s) ${wrongType.join(', ')} exist in namespace ${p.namespace} with a type other than Keyword`);
      }
      return p.names.filter((n) => !(n in custom));
    };
    let absent = await missing();
    if (absent.length === 0) return;
    p.log(`Registering search attributes ${absent.join(', ')} in namespace ${p.namespace}`);
    // One name per call: with several `--name`s, CLI v1.5.1 on the SQLite dev server registers only the first.
    for (const name of absent) {
      const args = ['operator', 'search-attribute', 'create', '--address', p.address, '--namespace', p.namespace];
      args.push('--name', name, '--type', 'Keyword');
      const { code, out } = await run(p.cliPath, args);
      if (code !== 0) throw new Error(`\`temporal ${args.join(' ')}\` exited with ${code}: ${out.trim()}`);
    }
    const deadline = Date.now() + 10_000;
    while ((absent = await missing()).length > 0) {
      if (Date.now() > deadline) throw new Error(`search attributes ${absent.join(', ')} are still not registered`);
      await sleep(200);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** The CLI reads TEMPORAL_* settings itself; the local server must not pick up a remote profile's. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TEMPORAL_')) env[k] = v;
  return env;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args, '--disable-config-file', '--disable-config-env'], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
