/**
 * A real Alertmanager (`/usr/bin/prometheus-alertmanager`, or ALERTMANAGER_BIN) for tests: fresh tmp
 * folder, free port, no cluster gossip port, ready when `/-/ready` answers 200.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../adapters/net/freePort.js';
import { OutputTail } from '../../adapters/process/outputTail.js';

export interface AlertmanagerServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** The last lines of its log, for failure messages. */
  output(): string;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;

/** `config` is the alertmanager.yml text; `files` are extra files (e.g. a credentials file) next to it. */
export async function startAlertmanager(opts: { config: string; files?: Record<string, string> }): Promise<AlertmanagerServer> {
  const bin = process.env.ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alertmanager-'));
  const configFile = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(configFile, opts.config);
  for (const [name, text] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });

  const port = await freePort(HOST);
  const url = `http://${HOST}:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${HOST}:${port}`,
    // Empty: a single instance, no gossip port to collide with.
    '--cluster.listen-address=',
    '--log.level=debug',
  ];
  const output = new OutputTail();
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
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
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
        `Alertmanager on ${HOST}:${port} did not become ready: ${last}` + (tail ? `\n--- last lines of its output ---\n${tail}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, stop, output: () => output.text(40) };
}
