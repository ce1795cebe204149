/**
 * A real daemon for tests (Prometheus, Alertmanager…): fresh tmp folder with its files, free loopback
 * port, async spawn (test processes host Temporal workers), ready when `readyPath` answers 2xx, stopped
 * with SIGTERM then SIGKILL and its folder removed. Failing to start throws with the tail of its output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../adapters/net/freePort.js';
import { OutputTail } from '../../adapters/process/outputTail.js';

export interface LoopbackDaemon {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** The last lines of its output, for failure messages. */
  output(lines?: number): string;
}

/** A file's text, or its text and mode (e.g. 0o600 for a credentials file). */
export type DaemonFile = string | { text: string; mode: number };

export const LOOPBACK_HOST = '127.0.0.1';

export async function startLoopbackDaemon(opts: {
  /** For messages and the tmp folder's name, e.g. 'Prometheus'. */
  name: string;
  command: string;
  /** Files written into the tmp folder before the start; names may contain sub-folders. */
  files: Record<string, DaemonFile>;
  args(port: number, dir: string): string[];
  readyPath: string;
  readyHeaders?: Record<string, string>;
  timeoutMs: number;
}): Promise<LoopbackDaemon> {
  const { name, command } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-${name.toLowerCase()}-`));
  for (const [file, content] of Object.entries(opts.files)) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(target, content);
    else fs.writeFileSync(target, content.text, { mode: content.mode });
  }

  const port = await freePort(LOOPBACK_HOST);
  const url = `http://${LOOPBACK_HOST}:${port}`;
  const output = new OutputTail();
  // cwd = dir so relative paths in its config resolve next to it.
  const child = spawn(command, opts.args(port, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
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

  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  while (true) {
    if (spawnError) last = `cannot run ${command}: ${spawnError.message}`;
    else if (exitInfo) last = `the process exited (${exitInfo})`;
    else {
      try {
        const res = await fetch(`${url}${opts.readyPath}`, { headers: opts.readyHeaders ?? {}, signal: AbortSignal.timeout(1_000) });
        if (res.ok) break;
        last = `${opts.readyPath} answered HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (spawnError || exitInfo || Date.now() > deadline) {
      const tail = output.text();
      await stop();
      throw new Error(`${name} on ${LOOPBACK_HOST}:${port} did not become ready: ${last}` + (tail ? `\n--- last lines of its output ---\n${tail}` : ''));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, stop, output: (lines?: number) => output.text(lines) };
}
