/**
 * A real Ray head for tests (`ray start --head` from the tools venv): one CPU, a small object store,
 * every port Ray would otherwise take by default chosen free or random, its own `--temp-dir`, on
 * loopback. Ready when the dashboard answers `GET /api/version` and `GET /api/jobs/`.
 *
 * `ray start` daemonizes, and `ray stop` would stop every Ray on the machine (other test files' too),
 * so the head is started in a process group of its own and stopped by SIGKILL to that group and every
 * descendant of it (the trainers Ray starts run in sessions of their own under the raylet) — what
 * `ray stop --force` does, for this instance only. Start one per test file: it takes seconds.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../adapters/net/freePort.js';
import { OutputTail } from '../../adapters/process/outputTail.js';
import { LOOPBACK_HOST } from './loopbackDaemon.js';
import { pythonTool } from './pythonTools.js';

export interface RayHead {
  /** The dashboard URL, which serves the Jobs API. */
  url: string;
  /** Set when the head requires token authentication. */
  token?: string;
  dir: string;
  /** How long `ray start` took until the Jobs API answered. */
  startedInMs: number;
  stop(): Promise<void>;
  output(lines?: number): string;
}

export async function startRayHead(
  opts: {
    /** Start with token authentication (RAY_AUTH_MODE=token) and this token. */
    token?: string;
    objectStoreBytes?: number;
    /** Extra environment for the Ray daemons, e.g. RAY_JOB_START_TIMEOUT_SECONDS. */
    env?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<RayHead> {
  const started = Date.now();
  const ray = pythonTool('ray');
  // Short path: Ray's Unix sockets live under it and socket paths are limited to ~107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ray-'));
  const [dashboardPort, gcsPort, clientPort, agentPort, metricsPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort(LOOPBACK_HOST)));
  const url = `http://${LOOPBACK_HOST}:${dashboardPort}`;
  const args = [
    'start',
    '--head',
    '--num-cpus=1',
    '--num-gpus=0',
    `--object-store-memory=${opts.objectStoreBytes ?? 80 * 1024 * 1024}`,
    `--node-ip-address=${LOOPBACK_HOST}`,
    `--port=${gcsPort}`,
    '--include-dashboard=true',
    `--dashboard-host=${LOOPBACK_HOST}`,
    `--dashboard-port=${dashboardPort}`,
    // Ray's fixed defaults (10001, 52365, workers on 10002-19999) collide between concurrent heads.
    `--ray-client-server-port=${clientPort}`,
    `--dashboard-agent-listen-port=${agentPort}`,
    '--min-worker-port=0',
    '--max-worker-port=0',
    `--temp-dir=${dir}`,
    '--disable-usage-stats',
    '--log-style=record',
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Explicit: with the mode unset, a token left in ~/.ray/auth_token would switch authentication on.
    RAY_AUTH_MODE: opts.token ? 'token' : 'disabled',
    RAY_USAGE_STATS_ENABLED: '0',
    // The dashboard's own metrics server defaults to port 44227 on every head.
    DASHBOARD_METRIC_PORT: String(metricsPort),
    ...opts.env,
  };
  if (opts.token) env.RAY_AUTH_TOKEN = opts.token;
  else delete env.RAY_AUTH_TOKEN;

  const output = new OutputTail();
  // detached: a process group of its own, which every Ray daemon it starts inherits.
  const child = spawn(ray, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  output.attach(child);
  const group = child.pid!;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => ((exit = { code, signal }), resolve())));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const onExit = () => {
    killTree(group, true);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', onExit);
      const victims = killTree(group, false);
      // Until the processes are gone (zombies count as gone: init reaps them), so ports and files are free.
      const until = Date.now() + 10_000;
      while (victims.some(isRunning) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await output.close();
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    })());

  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const deadline = started + (opts.timeoutMs ?? 120_000);
  let last = 'no answer yet';
  for (;;) {
    if (spawnError) last = `cannot run ${ray}: ${spawnError.message}`;
    else if (exit && exit.code !== 0) last = `ray start exited (${exit.signal ?? `code ${exit.code}`})`;
    else if (exit) {
      // `ray start` returns once the daemons run; the dashboard and its job module come up just after.
      try {
        const version = await fetch(`${url}/api/version`, { headers, signal: AbortSignal.timeout(2_000) });
        const jobs = version.ok ? await fetch(`${url}/api/jobs/`, { headers, signal: AbortSignal.timeout(2_000) }) : undefined;
        if (jobs?.ok) break;
        last = jobs ? `GET /api/jobs/ answered HTTP ${jobs.status}` : `GET /api/version answered HTTP ${version.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (spawnError || (exit && exit.code !== 0) || Date.now() > deadline) {
      const tail = output.text(40);
      await stop();
      throw new Error(`Ray head (dashboard ${url}) did not become ready: ${last}` + (tail ? `\n--- last lines of ray start ---\n${tail}` : ''));
    }
    await new Promise((r) => setTimeout(r, exit ? 200 : 100));
  }
  await exited;
  return { url, token: opts.token, dir, startedInMs: Date.now() - started, stop, output: (lines?: number) => output.text(lines) };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
}

function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces and parentheses): state ppid pgrp …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** SIGKILLs the process group and every descendant of its members; returns the pids it signalled. */
function killTree(group: number, quiet: boolean): number[] {
  let table: ProcInfo[];
  try {
    table = processTable();
  } catch {
    table = [];
  }
  const victims = new Set(table.filter((p) => p.pgid === group || p.pid === group).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table) {
      if (!victims.has(p.pid) && victims.has(p.ppid)) {
        victims.add(p.pid);
        grew = true;
      }
    }
  }
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (!quiet && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return [...victims];
}

function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
