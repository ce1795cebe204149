/**
 * Where the example's serving path sends its prediction log and the labels that come back: Vigil's
 * ingestion API (POST /v1/models/{model}/predictions and /labels), in the API's own row shapes, as a
 * team's serving layer would.
 *
 *   createHttpPredictionSink       over HTTP with the ingest token (what `vigil up` uses)
 *   createInProcessPredictionSink  the same checks and storage as the routes (createIngester), called
 *                                  in-process, for code that runs no HTTP server
 */
import type { VigilConfig } from '../../domain/config.js';
import type { LabelRowInput, PredictionRowInput } from '../../domain/ingest.js';
import { createIngester, IngestError, type IngestOptions } from '../../adapters/http/ingestRoutes.js';
import type { IngestLabelsResult, IngestPredictionsResult } from '../../ports/predictionLog.js';

export type PredictionRow = PredictionRowInput;
export type LabelRow = LabelRowInput;

export interface PredictionSink {
  /** Stores the rows (idempotent by requestId; shadow rows by requestId and modelVersion), or throws a PredictionSinkError. */
  postPredictions(rows: readonly PredictionRow[]): Promise<IngestPredictionsResult>;
  /** Attaches the labels to their predictions (a label may come first and wait), or throws a PredictionSinkError. */
  postLabels(labels: readonly LabelRow[]): Promise<IngestLabelsResult>;
}

/** A refused or failed request: `status` is the HTTP status (undefined when no answer came). */
export class PredictionSinkError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }

  /** Whether sending the same rows again later may succeed: no answer, 429 or a 5xx. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/** Rows per request by default: well under ingest.maxRowsPerRequest and maxBodyBytes for this model's rows. */
export const DEFAULT_ROWS_PER_REQUEST = 2000;
/** The longest Retry-After a sink waits (once) before it gives up on a 429. */
const MAX_RETRY_AFTER_MS = 10_000;

export interface HttpPredictionSinkOptions {
  /** `http://host:port` of Vigil's HTTP server. */
  baseUrl: string;
  modelId: string;
  /** The ingest token (VIGIL_INGEST_TOKEN or the state folder's ingest-token). */
  token: string;
  /** Larger batches go as several requests (default 2000). */
  rowsPerRequest?: number;
  /** Waits before the one retry after a 429 (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

export function createHttpPredictionSink(opts: HttpPredictionSinkOptions): PredictionSink {
  const base = `${opts.baseUrl.replace(/\/+$/, '')}/v1/models/${encodeURIComponent(opts.modelId)}`;
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const rowsPerRequest = positiveInteger(opts.rowsPerRequest ?? DEFAULT_ROWS_PER_REQUEST, 'rowsPerRequest');

  async function post<T>(what: 'predictions' | 'labels', rows: readonly unknown[]): Promise<T> {
    const url = `${base}/${what}`;
    const body = JSON.stringify({ [what]: rows });
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
          body,
        });
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new PredictionSinkError(`POST ${url}: no answer (${cause ?? (err as Error).message})`, undefined);
      }
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as T;
      // Every slot taken: wait as told, once; a second 429 is the caller's (the tick loop logs it).
      if (res.status === 429 && attempt === 1) {
        await sleep(retryAfterMs(res.headers.get('retry-after')));
        continue;
      }
      throw new PredictionSinkError(`POST ${url}: ${res.status} ${messageOf(text)}`, res.status);
    }
  }

  return {
    postPredictions: (rows) => inChunks(rows, rowsPerRequest, (chunk) => post<IngestPredictionsResult>('predictions', chunk), NO_PREDICTIONS),
    postLabels: (labels) => inChunks(labels, rowsPerRequest, (chunk) => post<IngestLabelsResult>('labels', chunk), NO_LABELS),
  };
}

export interface InProcessPredictionSinkOptions extends Pick<IngestOptions, 'predictions' | 'settings' | 'now'> {
  config: VigilConfig;
  modelId: string;
  rowsPerRequest?: number;
  log?: (message: string) => void;
}

/** The routes' own checks and storage (createIngester), without HTTP: what is refused there is refused here, with the same status. */
export function createInProcessPredictionSink(opts: InProcessPredictionSinkOptions): PredictionSink {
  const ingester = createIngester({ ...opts, log: opts.log ?? ((m) => console.error(`[vigil] ${m}`)) });
  const rowsPerRequest = positiveInteger(opts.rowsPerRequest ?? DEFAULT_ROWS_PER_REQUEST, 'rowsPerRequest');
  const call = async <T>(what: 'predictions' | 'labels', run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof IngestError) throw new PredictionSinkError(`ingest ${what} of ${opts.modelId}: ${err.status} ${err.body.error}`, err.status);
      throw err;
    }
  };
  return {
    postPredictions: (rows) => inChunks(rows, rowsPerRequest, (chunk) => call('predictions', () => ingester.predictions(opts.modelId, chunk)), NO_PREDICTIONS),
    postLabels: (labels) => inChunks(labels, rowsPerRequest, (chunk) => call('labels', () => ingester.labels(opts.modelId, chunk)), NO_LABELS),
  };
}

/** One request per chunk, in order (none for no rows); the answers summed. A failed chunk stops the rest (earlier chunks stay stored). */
async function inChunks<R, T extends { [K in keyof T]: number }>(
  rows: readonly R[],
  size: number,
  send: (chunk: readonly R[]) => Promise<T>,
  zero: T,
): Promise<T> {
  const total = { ...zero };
  for (let start = 0; start < rows.length; start += size) {
    const answer = await send(rows.slice(start, start + size));
    for (const key of Object.keys(total) as (keyof T)[]) total[key] = (total[key] + answer[key]) as T[keyof T];
  }
  return total;
}

const NO_PREDICTIONS: IngestPredictionsResult = { accepted: 0, duplicates: 0, labelsMatched: 0 };
const NO_LABELS: IngestLabelsResult = { matched: 0, pending: 0 };

/** Retry-After in seconds (an HTTP date is not sent by Vigil); 1 s when missing or unreadable, at most 10 s. */
function retryAfterMs(header: string | null): number {
  const seconds = header !== null && /^\s*\d+\s*$/.test(header) ? Number(header) : 1;
  return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
}

/** The answer's `error`, else its text (shortened). */
function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text || '(empty answer)';
}

function positiveInteger(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
