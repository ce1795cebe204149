/**
 * A real Alertmanager (`/usr/bin/prometheus-alertmanager`, or ALERTMANAGER_BIN) for tests: fresh tmp
 * folder, free port, no cluster gossip port, ready when `/-/ready` answers 200.
 */
import path from 'node:path';
import { LOOPBACK_HOST, startLoopbackDaemon, type DaemonFile } from './loopbackDaemon.js';

export interface AlertmanagerServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** The last lines of its log, for failure messages. */
  output(): string;
}

/** `config` is the alertmanager.yml text; `files` are extra files (e.g. a credentials file) next to it. */
export async function startAlertmanager(opts: { config: string; files?: Record<string, string> }): Promise<AlertmanagerServer> {
  const files: Record<string, DaemonFile> = { 'alertmanager.yml': opts.config };
  // Extra files may hold credentials: readable by this user only.
  for (const [name, text] of Object.entries(opts.files ?? {})) files[name] = { text, mode: 0o600 };
  const daemon = await startLoopbackDaemon({
    name: 'Alertmanager',
    command: process.env.ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager',
    files,
    args: (port, dir) => [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${LOOPBACK_HOST}:${port}`,
      // Empty: a single instance, no gossip port to collide with.
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    readyPath: '/-/ready',
    timeoutMs: 30_000,
  });
  const { url, port, dir, stop } = daemon;
  return { url, port, dir, stop, output: () => daemon.output(40) };
}
