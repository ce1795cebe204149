/**
 * A real Prometheus (`/usr/bin/prometheus`, or PROMETHEUS_BIN) for tests: fresh tmp folder, free port,
 * ready when `/-/ready` answers 200. Each test file starts its own and stops it in `after`.
 */
import path from 'node:path';
import { LOOPBACK_HOST, startLoopbackDaemon } from './loopbackDaemon.js';

export interface PrometheusServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** `config` is the prometheus.yml text; `files` are extra files (e.g. rule files) written next to it. */
export async function startPrometheus(opts: {
  config: string;
  files?: Record<string, string>;
  extraArgs?: string[];
  /** Credentials for the readiness probe, when `extraArgs` turn on basic auth (`--web.config.file`). */
  auth?: { username: string; password: string };
}): Promise<PrometheusServer> {
  const { url, port, dir, stop } = await startLoopbackDaemon({
    name: 'Prometheus',
    command: process.env.PROMETHEUS_BIN || '/usr/bin/prometheus',
    // Relative rule_files paths in `config` resolve next to it (the daemon runs in its folder).
    files: { 'prometheus.yml': opts.config, ...opts.files },
    args: (port, dir) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${LOOPBACK_HOST}:${port}`,
      '--web.enable-lifecycle',
      ...(opts.extraArgs ?? []),
    ],
    readyPath: '/-/ready',
    readyHeaders: opts.auth ? { authorization: `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` } : undefined,
    timeoutMs: 30_000,
  });
  return { url, port, dir, stop };
}

/** A prometheus.yml that scrapes one target (`host:port`) every second, as job `model-serving`. */
export function scrapeEverySecond(target: string): string {
  return ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: model-serving', '    static_configs:', `      - targets: ['${target}']`].join(
    '\n',
  );
}
