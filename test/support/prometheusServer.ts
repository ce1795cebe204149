/**
 * A real Prometheus (`/usr/bin/prometheus`, or PROMETHEUS_BIN) for tests: fresh tmp folder, free port,
 * ready when `/-/ready` answers 200. Each test file starts its own and stops it in `after`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../adapters/net/freePort.js';
import { OutputTail } from '../../adapters/process/outputTail.js';

export interface PrometheusServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;

/** `config` is the prometheus.yml text; `files` are extra files (e.g. rule files) written next to it. */
export async function startPrometheus(opts: {
  config: string;
  files?: Record<string, string>;
  extraArgs?: string[];
  /** Credentials for the readiness probe, when `extraArgs` turn on basic auth (`--web.config.file`). */
  auth?: { username: string; password: string };
}): Promise<PrometheusServer> {
  const bin = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, opts.config);
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }

  const port = await freePort(HOST);
  const url = `http://${HOST}:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${HOST}:${port}`,
    '--web.enable-lifecycle',
    ...(opts.extraArgs ?? []),
  ];
  const output = new OutputTail();
  // cwd = dir so relative rule_files paths in `config` resolve next to it.
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  output.attach(child);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal ?? `code ${code}`;
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', onExit);
      if (!exitInfo && !spawnError && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      await output.close();
      fs.rmSync(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  while (true) {
    if (spawnError) last = `cannot run ${bin}: ${spawnError.message}`;
    else if (exitInfo) last = `the process exited (${exitInfo})`;
    else {
      try {
        const headers: Record<string, string> = opts.auth
          ? { authorization: `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` }
          : {};
        const res = await fetch(`${url}/-/ready`, { headers, signal: AbortSignal.timeout(1_000) });
        if (res.ok) break;
        last = `/-/ready answered HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (spawnError || exitInfo || Date.now() > deadline) {
      const tail = output.text();
      await stop();
      throw new Error(
        `Prometheus on ${HOST}:${port} did not become ready: ${last}` +
          (tail ? `\n--- last lines of its output ---\n${tail}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, stop };
}
