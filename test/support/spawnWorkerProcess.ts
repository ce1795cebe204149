/** Starts `workerProcess.ts` (a Vigil worker in its own process) for a test env, so a test can kill it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { VigilTestEnv } from './vigilTestEnv.js';

const WORKER_PROCESS = fileURLToPath(new URL('./workerProcess.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the worker polls; rejects if it exits first. */
  ready: Promise<void>;
  /** Resolves on exit with `<signal or code>: <stdout>`. */
  exited: Promise<string>;
}

export function spawnWorkerProcess(env: VigilTestEnv, extraEnv: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS], {
    env: {
      ...process.env,
      VIGIL_TEST_CONFIG: JSON.stringify(env.config),
      VIGIL_TEST_DATABASE_URL: env.databaseUrl,
      VIGIL_TEST_STATE_DIR: env.stateDir,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${signal ?? code}: ${output}`)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('ready')) resolve();
    });
    void exited.then((out) => reject(new Error(`worker process exited before it was ready: ${out}`)));
  });
  ready.catch(() => undefined); // observed by callers that await it
  return { child, ready, exited };
}
