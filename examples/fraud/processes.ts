/**
 * The fraud example's serving side as child processes of `vigil up`: the model server (server.py) and
 * the traffic driver (driver.py), each supervised — its output appended to a log in the state folder,
 * restarted after an unexpected exit (with a growing pause), stopped with SIGTERM (SIGKILL after 5 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FRAUD_SCRIPTS } from './exampleConfig.js';

export interface Supervised {
  stop(): Promise<void>;
}

/** Runs `command` until stopped, restarting it when it exits on its own. */
export function supervise(opts: { name: string; command: string[]; env?: Record<string, string>; logFile: string; log: (m: string) => void }): Supervised {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    const out = fs.openSync(opts.logFile, 'a');
    const startedAt = Date.now();
    child = spawn(opts.command[0]!, opts.command.slice(1), { stdio: ['ignore', out, out], env: { ...process.env, ...opts.env } });
    fs.closeSync(out);
    child.once('error', (err) => opts.log(`${opts.name}: cannot start: ${err.message}`));
    child.once('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      // A process that ran a while is restarted at once; one that keeps dying waits longer each time.
      restarts = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const pause = Math.min(30_000, 1000 * 2 ** Math.min(restarts, 5));
      opts.log(`${opts.name} exited (${signal ?? `code ${code}`}); restarting in ${pause / 1000}s (log: ${opts.logFile})`);
      timer = setTimeout(start, pause);
    });
  };
  start();
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const killer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export interface FraudServingOptions {
  python: string;
  /** Vigil's HTTP server (ingestion and routing), reachable from this machine. */
  vigilUrl: string;
  modelId: string;
  token: string;
  port: number;
  /** Where the logs go: `<dir>/server.log`, `<dir>/driver.log`. */
  dir: string;
  requestsPerSecond: number;
  labelDelaySeconds: number;
  driftAfterSeconds: number;
  worldStartedAt: Date;
  log: (m: string) => void;
}

/** Starts the model server and, once it listens, the traffic driver; `stop()` stops both (driver first). */
export function startFraudServing(o: FraudServingOptions): Supervised {
  const serverUrl = `http://127.0.0.1:${o.port}`;
  const server = supervise({
    name: 'fraud model server',
    command: [
      o.python,
      FRAUD_SCRIPTS.server,
      '--vigil',
      o.vigilUrl,
      '--model',
      o.modelId,
      '--port',
      String(o.port),
      '--label-delay',
      String(o.labelDelaySeconds),
    ],
    // The token travels in the environment, never on a command line others can read.
    env: { VIGIL_INGEST_TOKEN: o.token },
    logFile: path.join(o.dir, 'server.log'),
    log: o.log,
  });
  const driver = supervise({
    name: 'fraud traffic driver',
    command: [
      o.python,
      FRAUD_SCRIPTS.driver,
      '--server',
      serverUrl,
      '--rate',
      String(o.requestsPerSecond),
      '--drift-after',
      String(o.driftAfterSeconds),
      '--world-start',
      String(o.worldStartedAt.getTime() / 1000),
    ],
    logFile: path.join(o.dir, 'driver.log'),
    log: o.log,
  });
  return {
    async stop() {
      await driver.stop();
      await server.stop();
    },
  };
}
