/**
 * A stand-in for PagerDuty's Events API v2 on loopback, for tests: takes `POST /v2/enqueue` with a JSON
 * event, answers like PagerDuty (202 `{status: "success", message: "Event processed", dedup_key}`; 400
 * `{status: "invalid event", message, errors}` for an event without a routing key or action), records
 * every request with its raw and parsed body, and can be told to answer the next requests otherwise
 * (429, a 5xx, a 400 with PagerDuty's words) or to drop the connection.
 */
import http from 'node:http';
import { freePort } from '../../adapters/net/freePort.js';

export interface PagerDutyRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as received. */
  raw: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: Record<string, unknown> | undefined;
  /** What the recorder answered (0: the connection was dropped). */
  status: number;
}

/** How to answer one request instead of accepting it. */
export type PagerDutyAnswer = { status: number; body?: unknown } | { drop: true };

export interface PagerDutyRecorder {
  /** The enqueue endpoint to configure as `pagerduty.url`. */
  url: string;
  requests: PagerDutyRequest[];
  /** The parsed bodies of the requests, in order. */
  events(): Record<string, unknown>[];
  /** Answer the next `times` requests with `answer` (queued behind earlier ones). */
  answerNext(answer: PagerDutyAnswer, times?: number): void;
  clear(): void;
  stop(): Promise<void>;
}

export const PAGERDUTY_ENQUEUE_PATH = '/v2/enqueue';

export async function startPagerDutyRecorder(): Promise<PagerDutyRecorder> {
  const requests: PagerDutyRequest[] = [];
  const queued: PagerDutyAnswer[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(raw);
        body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      const record: PagerDutyRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body, status: 0 };
      requests.push(record);

      const answer = queued.shift() ?? accept(record);
      if ('drop' in answer) {
        req.socket.destroy();
        return;
      }
      record.status = answer.status;
      const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });

  /** PagerDuty's answer to an event it is given to process. */
  function accept(r: PagerDutyRequest): { status: number; body: unknown } {
    if (r.method !== 'POST' || r.path !== PAGERDUTY_ENQUEUE_PATH) return { status: 404, body: { status: 'not found', message: 'Not Found' } };
    const b = r.body;
    const errors: string[] = [];
    if (!b) errors.push('Event object is not JSON');
    else {
      if (typeof b.routing_key !== 'string' || !b.routing_key) errors.push("'routing_key' is missing or blank");
      if (!['trigger', 'acknowledge', 'resolve'].includes(String(b.event_action)))
        errors.push("'event_action' is invalid (must be one of trigger, acknowledge, resolve)");
      if (b.event_action === 'trigger' && !b.payload) errors.push("'payload' is missing or blank");
    }
    if (errors.length) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    // PagerDuty generates a key when the event has none; tests always send one.
    const dedupKey = typeof b!.dedup_key === 'string' && b!.dedup_key ? b!.dedup_key : `generated-${requests.length}`;
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  }

  // The port is picked free, then bound; another process may take it in between, so try a few.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) throw err;
    }
  }

  return {
    url: `http://127.0.0.1:${port}${PAGERDUTY_ENQUEUE_PATH}`,
    requests,
    events: () => requests.map((r) => r.body ?? {}),
    answerNext(answer, times = 1) {
      for (let i = 0; i < times; i++) queued.push(answer);
    },
    clear() {
      requests.length = 0;
      queued.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
