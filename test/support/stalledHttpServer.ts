/**
 * An HTTP server that never finishes answering, for request timeouts: `silent` accepts a request and
 * says nothing; `trickle` sends 200 and then one byte every 50 ms, forever, so a socket idle timeout
 * never fires. Records what it was asked.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StalledHttpServer {
  url: string;
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startStalledHttpServer(mode: 'silent' | 'trickle'): Promise<StalledHttpServer> {
  const requests: StalledHttpServer['requests'] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    if (mode === 'silent') return;
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(' '), 50);
    timers.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
