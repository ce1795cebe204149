/**
 * A real MLflow tracking server with its Model Registry for tests: `mlflow server` from the Python
 * tools environment, a SQLite backend store and a local artifact root in a fresh tmp folder, one
 * worker, a free loopback port; ready when `/health` answers. Each test file starts its own.
 */
import path from 'node:path';
import { LOOPBACK_HOST, startLoopbackDaemon } from './loopbackDaemon.js';
import { pythonTool } from './pythonTools.js';

export interface MlflowServer {
  url: string;
  port: number;
  dir: string;
  /** The folder runs' artifacts are copied into (`--default-artifact-root`). */
  artifactRoot: string;
  /** Seconds from spawn to ready. */
  startSeconds: number;
  stop(): Promise<void>;
  output(lines?: number): string;
}

export async function startMlflowServer(): Promise<MlflowServer> {
  const started = Date.now();
  const mlflow = pythonTool('mlflow');
  const daemon = await startLoopbackDaemon({
    name: 'MLflow',
    // Through env(1) to set variables for the server only. Background job execution (a job runner and
    // several huey consumers, each importing MLflow) is not needed by the registry and costs the
    // 2-core test machine seconds of CPU.
    command: 'env',
    files: {},
    args: (port, dir) => [
      'MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false',
      mlflow,
      'server',
      '--backend-store-uri',
      `sqlite:///${path.join(dir, 'mlflow.db')}`,
      '--default-artifact-root',
      path.join(dir, 'artifacts'),
      '--artifacts-destination',
      path.join(dir, 'proxied-artifacts'),
      '--host',
      LOOPBACK_HOST,
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    readyPath: '/health',
    timeoutMs: 120_000,
  });
  return {
    ...daemon,
    artifactRoot: path.join(daemon.dir, 'artifacts'),
    startSeconds: (Date.now() - started) / 1000,
  };
}
