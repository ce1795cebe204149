/** A Prometheus scrape target for tests: a prom-client registry served at /metrics on loopback. */
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsExporter {
  /** host:port, as a scrape config's static target. */
  target: string;
  url: string;
  stop(): Promise<void>;
}

export async function startMetricsExporter(registry: Registry): Promise<MetricsExporter> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    target: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/metrics`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
