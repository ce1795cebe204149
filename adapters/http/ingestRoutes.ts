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
 * Rows are checked by domain/ingest.ts against the model's task and input schema.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findModel, type IngestConfig, type ModelConfig, type VigilConfig } from '../../domain/config.js';
import { createIngestValidator, rowsOfEnvelope, type IngestIssue, type IngestValidator } from '../../domain/ingest.js';
import { durationMs } from '../../domain/runbook.js';
import type { PredictionLog } from '../../ports/predictionLog.js';
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

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; issues?: IngestIssue[] },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error);
  }
}

/** Registers the ingestion routes in their own scope (content types, body limit, error answers). */
export function registerIngestRoutes(app: FastifyInstance, opts: IngestOptions & { config: VigilConfig; log: (message: string) => void }): void {
  const { config, log, predictions } = opts;
  const settings = opts.settings ?? config.ingest;
  const limiter = opts.limiter ?? createIngestLimiter(settings.maxInFlight);
  const now = opts.now ?? (() => new Date());
  const graceMs = durationMs(settings.labelGrace);
  const validators = new Map<string, IngestValidator>(config.models.map((m) => [m.id, createIngestValidator(m)]));
  const configured = config.models.map((m) => m.id).join(', ');
  const authenticate = bearerAuth({ token: opts.token, what: 'ingest', log });

  const findIngestModel = async (req: FastifyRequest<{ Params: { model: string } }>, reply: FastifyReply) => {
    const model = findModel(config, req.params.model);
    if (!model) return reply.code(404).send({ error: `unknown model "${req.params.model}" (configured: ${configured})` });
    // Before the body is read: nothing sent here could be stored.
    if (model.source.kind !== 'ingest') {
      return reply.code(409).send({
        error: `model "${model.id}": its predictions and labels are read from its own table (source.kind "${model.source.kind}"); ingestion is off for it: write them to that table`,
      });
    }
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
      if (err instanceof HttpError) return reply.code(err.status).headers(err.headers).send(err.body);
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
      const model = findModel(config, req.params.model)!;
      const receivedAt = now();
      const { rows, lines } = rowsOf(req.body, 'predictions', settings);
      const checked = validators.get(model.id)!.predictions(rows, { receivedAt, lines });
      if (!checked.ok) throw invalidRows(checked.issues, rows.length, 'predictions');
      const result = await store(log, model, 'predictions', () => predictions.ingestPredictions(model.id, checked.rows));
      return reply.code(200).send(result);
    });

    scope.post<{ Params: { model: string } }>(LABELS_PATH, routeOptions, async (req, reply) => {
      const model = findModel(config, req.params.model)!;
      const receivedAt = now();
      const { rows, lines } = rowsOf(req.body, 'labels', settings);
      const checked = validators.get(model.id)!.labels(rows, { receivedAt, lines });
      if (!checked.ok) throw invalidRows(checked.issues, rows.length, 'labels');
      const result = await store(log, model, 'labels', () => predictions.ingestLabels(model.id, checked.rows, { graceMs }));
      return reply.code(200).send(result);
    });
  });
}

/** The body's rows (and NDJSON lines), or the HttpError that says why there are none. */
function rowsOf(body: unknown, key: 'predictions' | 'labels', settings: IngestConfig): { rows: unknown[]; lines?: number[] } {
  const raw = body as RawBody | undefined;
  if (!raw || typeof raw.text !== 'string') {
    throw new HttpError(415, { error: `no Content-Type or no body: send application/json or ${NDJSON} (one row per line)` });
  }
  const tooMany = (n: string) =>
    new HttpError(413, {
      error: `${n} rows in one request; at most ${settings.maxRowsPerRequest} are accepted (ingest.maxRowsPerRequest): split the batch`,
    });
  if (raw.format === 'ndjson') {
    const parsed = parseNdjson(raw.text, settings.maxRowsPerRequest);
    if (parsed.tooMany) throw tooMany(`more than ${settings.maxRowsPerRequest}`);
    if (parsed.errors.length) {
      const issues = parsed.errors.map((e) => ({ row: e.row, line: e.line, path: '', message: `invalid JSON at column ${e.column}: ${e.message}` }));
      throw new HttpError(400, { error: `invalid NDJSON: ${issues.map((i) => `line ${i.line}: ${i.message}`).join('; ')}; nothing was stored`, issues });
    }
    return { rows: parsed.rows, lines: parsed.lines };
  }
  const parsed = parseJson(raw.text);
  if (!parsed.ok) {
    const { line, column, message } = parsed.error;
    throw new HttpError(400, {
      error: `invalid JSON body: line ${line}, column ${column}: ${message}; nothing was stored`,
      issues: [{ line, path: '', message: `column ${column}: ${message}` }],
    });
  }
  const envelope = rowsOfEnvelope(parsed.value, key);
  if ('issues' in envelope) {
    throw new HttpError(400, { error: `invalid body: ${envelope.issues.map(describe).join('; ')}`, issues: envelope.issues });
  }
  if (envelope.rows.length > settings.maxRowsPerRequest) throw tooMany(String(envelope.rows.length));
  return { rows: envelope.rows };
}

function invalidRows(issues: IngestIssue[], total: number, what: string): HttpError {
  const rows = new Set(issues.map((i) => i.row)).size;
  const shown = issues.slice(0, 3).map(describe).join('; ');
  return new HttpError(400, {
    error: `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${rows} of ${total} ${what}; nothing was stored: ${shown}${issues.length > 3 ? '; …' : ''}`,
    issues,
  });
}

/** A database failure is a 503 with Retry-After: the client keeps its batch and sends it again. */
async function store<T>(log: (m: string) => void, model: ModelConfig, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    log(`ingest: 503 for ${what} of ${model.id}: ${(err as Error).message}`);
    throw new HttpError(
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
