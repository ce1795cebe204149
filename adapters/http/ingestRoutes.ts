/**
 * Prediction and label ingestion over HTTP, for serving layers Vigil does not run:
 *
 *   POST /v1/models/{model}/predictions   {"predictions": [...]} or NDJSON rows → {accepted, duplicates, labelsMatched}
 *   POST /v1/models/{model}/labels        {"labels": [...]} or NDJSON rows      → {matched, pending}
 *
 * In order: bearer token (401), the model (404; 409 when it reads its own table, `source.kind:
 * "postgres"`), a free slot (429 with Retry-After: at most
 * `ingest.maxInFlight` requests are read, checked and written at once, so memory stays bounded instead
 * of queueing), the content type (415), the body size (413), JSON syntax (400 naming the line), the row
 * count (413), every row (400 listing every problem; nothing stored), then one transaction.
 * Rows are checked by domain/ingest.ts against the model's task and input schema. The model, row
 * count, rows and storage steps are `createIngester`, which in-process callers (the example's
 * simulator in tests) use as well, so they take exactly what the routes take.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findModel, type IngestConfig, type ModelConfig, type VigilConfig } from '../../domain/config.js';
import { createIngestValidator, rowsOfEnvelope, type IngestIssue, type IngestValidator } from '../../domain/ingest.js';
import { durationMs } from '../../domain/runbook.js';
import type { IngestLabelsResult, IngestPredictionsResult, PredictionLog } from '../../ports/predictionLog.js';
import { bearerAuth, type BearerTokenSpec, type ResolvedToken, resolveBearerToken } from './bearerToken.js';
import { parseJson, parseNdjson } from './jsonBody.js';

export const INGEST_TOKEN: BearerTokenSpec = { env: 'VIGIL_INGEST_TOKEN', file: 'ingest-token', what: 'ingest token' };
export const PREDICTIONS_PATH = '/v1/models/:model/predictions';
export const LABELS_PATH = '/v1/models/:model/labels';
export const NDJSON = 'application/x-ndjson';
/** Seconds a client is told to wait when every slot is taken (429). */
export const RETRY_AFTER_SECONDS = 1;
/** …and when PostgreSQL is unavailable (503). */
const RETRY_AFTER_UNAVAILABLE_SECONDS = 5;

/** VIGIL_INGEST_TOKEN, else the state folder's `ingest-token`, generated on first use (mode 0600). */
export function resolveIngestToken(opts: { stateDir: string; env?: NodeJS.ProcessEnv }): ResolvedToken {
  return resolveBearerToken(INGEST_TOKEN, opts);
}

/** At most `max` requests at once; a request that finds no slot is refused at once, never queued. */
export interface IngestLimiter {
  readonly max: number;
  readonly inFlight: number;
  /** A release function (idempotent), or undefined when every slot is taken. */
  tryAcquire(): (() => void) | undefined;
}

export function createIngestLimiter(max: number): IngestLimiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
  let inFlight = 0;
  return {
    max,
    get inFlight() {
      return inFlight;
    },
    tryAcquire() {
      if (inFlight >= max) return undefined;
      inFlight++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight--;
      };
    },
  };
}

export interface IngestOptions {
  predictions: Pick<PredictionLog, 'ingestPredictions' | 'ingestLabels'>;
  /** The bearer token clients send (not the alert token). */
  token: string;
  /** Default: the config's `ingest` settings. */
  settings?: IngestConfig;
  /** Default: one of `settings.maxInFlight` slots. */
  limiter?: IngestLimiter;
  now?: () => Date;
}

/** What a content-type parser hands the route: the body's text, parsed there (rows, lines, limits). */
interface RawBody {
  format: 'json' | 'ndjson';
  text: string;
}

/** A refused ingestion request: the HTTP status, the JSON answer, and headers (Retry-After). */
export class IngestError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; issues?: IngestIssue[] },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error);
  }
}

/** What a request does once its rows are read: the model (404 / 409), the row count (413), every row (400), then one transaction (503). */
export interface Ingester {
  /** The model's problem (404 / 409), or undefined when it takes ingestion; the routes ask before reading the body. */
  refusal(modelId: string): IngestError | undefined;
  /** Throws an IngestError for anything refused; nothing of a refused request is stored. `lines`: each row's NDJSON line. */
  predictions(modelId: string, rows: readonly unknown[], opts?: { lines?: readonly number[] }): Promise<IngestPredictionsResult>;
  labels(modelId: string, rows: readonly unknown[], opts?: { lines?: readonly number[] }): Promise<IngestLabelsResult>;
}

export function createIngester(
  opts: Pick<IngestOptions, 'predictions' | 'settings' | 'now'> & { config: VigilConfig; log: (message: string) => void },
): Ingester {
  const { config, log, predictions } = opts;
  const settings = opts.settings ?? config.ingest;
  const now = opts.now ?? (() => new Date());
  const graceMs = durationMs(settings.labelGrace);
  const validators = new Map<string, IngestValidator>(config.models.map((m) => [m.id, createIngestValidator(m)]));
  const configured = config.models.map((m) => m.id).join(', ');

  const refusal = (modelId: string): IngestError | undefined => {
    const model = findModel(config, modelId);
    if (!model) return new IngestError(404, { error: `unknown model "${modelId}" (configured: ${configured})` });
    if (model.source.kind !== 'ingest') {
      return new IngestError(409, {
        error: `model "${model.id}": its predictions and labels are read from its own table (source.kind "${model.source.kind}"); ingestion is off for it: write them to that table`,
      });
    }
    return undefined;
  };
  const modelFor = (modelId: string, rows: readonly unknown[]): ModelConfig => {
    const refused = refusal(modelId);
    if (refused) throw refused;
    if (rows.length > settings.maxRowsPerRequest) throw tooManyRows(String(rows.length), settings);
    return findModel(config, modelId)!;
  };

  return {
    refusal,
    async predictions(modelId, rows, o = {}) {
      const receivedAt = now();
      const model = modelFor(modelId, rows);
      const checked = validators.get(model.id)!.predictions(rows, { receivedAt, ...(o.lines ? { lines: o.lines } : {}) });
      if (!checked.ok) throw invalidRows(checked, rows.length, 'predictions');
      return store(log, model, 'predictions', () => predictions.ingestPredictions(model.id, checked.rows));
    },
    async labels(modelId, rows, o = {}) {
      const receivedAt = now();
      const model = modelFor(modelId, rows);
      const checked = validators.get(model.id)!.labels(rows, { receivedAt, ...(o.lines ? { lines: o.lines } : {}) });
      if (!checked.ok) throw invalidRows(checked, rows.length, 'labels');
      return store(log, model, 'labels', () => predictions.ingestLabels(model.id, checked.rows, { graceMs }));
    },
  };
}

/** Registers the ingestion routes in their own scope (content types, body limit, error answers). */
export function registerIngestRoutes(app: FastifyInstance, opts: IngestOptions & { config: VigilConfig; log: (message: string) => void }): void {
  const { config, log } = opts;
  const settings = opts.settings ?? config.ingest;
  const limiter = opts.limiter ?? createIngestLimiter(settings.maxInFlight);
  const ingester = createIngester(opts);
  const authenticate = bearerAuth({ token: opts.token, what: 'ingest', log });

  const findIngestModel = async (req: FastifyRequest<{ Params: { model: string } }>, reply: FastifyReply) => {
    // Before the body is read: nothing sent here could be stored.
    const refused = ingester.refusal(req.params.model);
    if (refused) return reply.code(refused.status).send(refused.body);
  };

  const takeSlot = async (_req: FastifyRequest, reply: FastifyReply) => {
    const release = limiter.tryAcquire();
    if (!release) {
      return reply
        .code(429)
        .header('Retry-After', String(RETRY_AFTER_SECONDS))
        .send({ error: `Vigil is already handling ${limiter.max} ingestion requests (ingest.maxInFlight); retry after ${RETRY_AFTER_SECONDS} s` });
    }
    // Released when the response is done or the connection goes away, whichever comes first.
    reply.raw.once('close', release);
    reply.raw.once('finish', release);
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    const asText = (format: RawBody['format']) => (_req: FastifyRequest, body: string, done: (err: Error | null, body?: RawBody) => void) =>
      done(null, { format, text: body });
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: settings.maxBodyBytes }, asText('json'));
    scope.addContentTypeParser(NDJSON, { parseAs: 'string', bodyLimit: settings.maxBodyBytes }, asText('ndjson'));

    scope.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof IngestError) return reply.code(err.status).headers(err.headers).send(err.body);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(413).send({ error: `the body is larger than ${settings.maxBodyBytes} bytes (ingest.maxBodyBytes): send smaller batches` });
      }
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        const sent = req.headers['content-type'];
        return reply
          .code(415)
          .send({ error: `${sent ? `unsupported Content-Type "${sent}"` : 'no Content-Type'}: send application/json or ${NDJSON} (one row per line)` });
      }
      const status = err.statusCode ?? 500;
      if (status < 500) return reply.code(status).send({ error: err.message });
      log(`ingest: ${req.method} ${req.url}: ${err.message}`);
      return reply.code(500).send({ error: 'internal error' });
    });

    const routeOptions = { onRequest: [authenticate, findIngestModel, takeSlot], bodyLimit: settings.maxBodyBytes };

    scope.post<{ Params: { model: string } }>(PREDICTIONS_PATH, routeOptions, async (req, reply) => {
      const { rows, lines } = rowsOf(req.body, 'predictions', settings);
      return reply.code(200).send(await ingester.predictions(req.params.model, rows, lines ? { lines } : {}));
    });

    scope.post<{ Params: { model: string } }>(LABELS_PATH, routeOptions, async (req, reply) => {
      const { rows, lines } = rowsOf(req.body, 'labels', settings);
      return reply.code(200).send(await ingester.labels(req.params.model, rows, lines ? { lines } : {}));
    });
  });
}

/** The body's rows (and NDJSON lines), or the IngestError that says why there are none. */
function rowsOf(body: unknown, key: 'predictions' | 'labels', settings: IngestConfig): { rows: unknown[]; lines?: number[] } {
  const raw = body as RawBody | undefined;
  if (!raw || typeof raw.text !== 'string') {
    throw new IngestError(415, { error: `no Content-Type or no body: send application/json or ${NDJSON} (one row per line)` });
  }
  if (raw.format === 'ndjson') {
    const parsed = parseNdjson(raw.text, settings.maxRowsPerRequest);
    if (parsed.tooMany) throw tooManyRows(`more than ${settings.maxRowsPerRequest}`, settings);
    if (parsed.errors.length) {
      const issues = parsed.errors.map((e) => ({ row: e.row, line: e.line, path: '', message: `invalid JSON at column ${e.column}: ${e.message}` }));
      throw new IngestError(400, { error: `invalid NDJSON: ${issues.map((i) => `line ${i.line}: ${i.message}`).join('; ')}; nothing was stored`, issues });
    }
    return { rows: parsed.rows, lines: parsed.lines };
  }
  const parsed = parseJson(raw.text);
  if (!parsed.ok) {
    const { line, column, message } = parsed.error;
    throw new IngestError(400, {
      error: `invalid JSON body: line ${line}, column ${column}: ${message}; nothing was stored`,
      issues: [{ line, path: '', message: `column ${column}: ${message}` }],
    });
  }
  const envelope = rowsOfEnvelope(parsed.value, key);
  if ('issues' in envelope) {
    throw new IngestError(400, { error: `invalid body: ${envelope.issues.map(describe).join('; ')}`, issues: envelope.issues });
  }
  if (envelope.rows.length > settings.maxRowsPerRequest) throw tooManyRows(String(envelope.rows.length), settings);
  return { rows: envelope.rows };
}

function tooManyRows(n: string, settings: IngestConfig): IngestError {
  return new IngestError(413, {
    error: `${n} rows in one request; at most ${settings.maxRowsPerRequest} are accepted (ingest.maxRowsPerRequest): split the batch`,
  });
}

function invalidRows({ issues, unlisted }: { issues: IngestIssue[]; unlisted: number }, total: number, what: string): IngestError {
  const rows = new Set(issues.map((i) => i.row)).size;
  const shown = issues.slice(0, 3).map(describe).join('; ');
  const count = issues.length + unlisted;
  const problems = `${count} problem${count === 1 ? '' : 's'}${unlisted ? ` (the first ${issues.length} listed)` : ''}`;
  return new IngestError(400, {
    error: `${problems} in ${unlisted ? 'at least ' : ''}${rows} of ${total} ${what}; nothing was stored: ${shown}${count > 3 ? '; …' : ''}`,
    issues,
  });
}

/** A database failure is a 503 with Retry-After: the client keeps its batch and sends it again. */
async function store<T>(log: (m: string) => void, model: ModelConfig, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    log(`ingest: 503 for ${what} of ${model.id}: ${(err as Error).message}`);
    throw new IngestError(
      503,
      {
        error: `Vigil cannot store the ${what} right now (PostgreSQL unavailable): send the same request again later (that is safe: rows stored already count as duplicates)`,
      },
      { 'Retry-After': String(RETRY_AFTER_UNAVAILABLE_SECONDS) },
    );
  }
}

function describe(i: IngestIssue): string {
  const where = [i.row !== undefined ? `row ${i.row}` : '', i.line !== undefined ? `line ${i.line}` : '', i.path].filter(Boolean).join(' ');
  return where ? `${where}: ${i.message}` : i.message;
}
