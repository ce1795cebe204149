/**
 * An HTTP proxy in front of a real server (MLflow) that can lose its answers: while `loseRepliesFor` is
 * on, each request is forwarded and done upstream, but the client never hears back (the worst timeout:
 * the change was made, the caller cannot know). Records what was forwarded and what upstream answered.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ForwardedRequest {
  method: string;
  path: string;
  body: string;
  status: number;
  /** The answer was withheld from the client. */
  lost: boolean;
  /** When upstream answered (ms since the epoch). */
  at: number;
}

export interface FaultProxy {
  url: string;
  forwarded: ForwardedRequest[];
  /** Answers are lost from now for `ms`. */
  loseRepliesFor(ms: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const forwarded: ForwardedRequest[] = [];
  const sockets = new Set<Socket>();
  let loseUntil = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (upRes) => {
          const answer: Buffer[] = [];
          upRes.on('data', (c: Buffer) => answer.push(c));
          upRes.on('end', () => {
            const lost = Date.now() < loseUntil;
            forwarded.push({ method: req.method ?? '', path: req.url ?? '', body: body.toString('utf8'), status: upRes.statusCode ?? 0, lost, at: Date.now() });
            if (lost) return; // done upstream; the client waits until its own timeout
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(Buffer.concat(answer));
          });
        },
      );
      up.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${err.message}`);
      });
      up.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    loseRepliesFor(ms) {
      loseUntil = Date.now() + ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
