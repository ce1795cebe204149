/**
 * A model's prediction log read in place from the team's own PostgreSQL table (`source.kind:
 * "postgres"`), through the column mapping in its config: nothing is copied into Vigil, and nothing is
 * written to the team's database (ingestion is refused; every statement is a SELECT around the table or
 * the configured query, `SELECT … FROM (<query>) AS src`).
 *
 * Rows are mapped to TrafficRow exactly as the built-in log maps its own (adapters/postgres/
 * predictionLog.ts): binary rows carry score, predicted (score ≥ task.threshold) and the label as 0/1
 * (positiveClass / negativeClass); multiclass and regression rows carry `prediction` and `labelValue`.
 * A label counts once it has arrived: `labeledAt` ≤ asOf when the mapping names that column, else as
 * soon as the outcome is not null. Rows whose ts or prediction is null are not predictions and are
 * skipped. There are no shadow predictions and no fallback rows: every row was served by the model.
 *
 * The URL comes from the environment variable the config names; it carries a password, so messages show
 * it redacted and never repeat the variable's value. One pool per distinct URL, created on first use.
 */
import pg from 'pg';
import type { LivePerformance } from '../../domain/canaryVerdict.js';
import type { ModelConfig, PostgresSource } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import type { StoredPrediction } from '../../domain/ingest.js';
import type { TaskConfig } from '../../domain/task.js';
import type { PredictionLog, TrafficRow } from '../../ports/predictionLog.js';
import { redactUrl } from '../net/redactUrl.js';
import { evenlySpacedSample } from './evenlySpacedSample.js';
import { classKeys, livePerformanceStatement, toLivePerformance, type LivePerformanceRow } from './livePerformanceSql.js';

/** A model whose predictions are read from its own table. */
export type SourcedModel = Pick<ModelConfig, 'id' | 'task'> & { source: PostgresSource };

export function isSourcedModel<M extends Pick<ModelConfig, 'source'>>(model: M): model is M & { source: PostgresSource } {
  return model.source.kind === 'postgres';
}

/** Thrown for writes to a model read from its own table: its team writes that table, not Vigil. */
export class SourceIngestionOffError extends UserInputError {
  constructor(readonly modelId: string) {
    super(
      `model "${modelId}": its predictions and labels are read from its own table (source.kind "postgres"); ingestion is off for it: write them to that table`,
    );
  }
}

/** Reading the team's table failed; the message names the model and the source, the URL redacted. */
export class PredictionSourceError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The pools to the teams' databases, one per distinct URL, created on first use. */
export interface SourcePools {
  /** The pool for the URL in `urlEnv`, and that URL redacted (for messages). */
  get(urlEnv: string): { pool: pg.Pool; shownUrl: string; scrub(text: string): string };
  /** Ends every pool; reading afterwards fails. */
  close(): Promise<void>;
}

export function createSourcePools(opts: { env?: NodeJS.ProcessEnv; log?: (message: string) => void; max?: number } = {}): SourcePools {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((m: string) => console.error(`[vigil] ${m}`));
  const byUrl = new Map<string, { pool: pg.Pool; shownUrl: string; scrub(text: string): string }>();
  let closed = false;
  return {
    get(urlEnv) {
      if (closed) throw new PredictionSourceError('the prediction sources are closed');
      const url = env[urlEnv];
      if (url === undefined || url.trim() === '') {
        throw new PredictionSourceError(
          `environment variable ${urlEnv} is ${url === undefined ? 'not set' : 'empty'}: it must hold the PostgreSQL URL of the team's database (postgres://user:password@host:5432/db)`,
        );
      }
      let entry = byUrl.get(url);
      if (!entry) {
        let parsed: URL | undefined;
        try {
          parsed = new URL(url);
        } catch {
          parsed = undefined;
        }
        if (!parsed || !/^postgres(?:ql)?:$/.test(parsed.protocol)) {
          // Not shown at all: what is not a URL may be a bare password.
          throw new PredictionSourceError(
            `environment variable ${urlEnv} does not hold a PostgreSQL URL (postgres://user:password@host:5432/db); its value is not shown`,
          );
        }
        const scrub = scrubber(url, parsed);
        const shownUrl = redactUrl(url);
        const pool = new pg.Pool({
          connectionString: url,
          max: opts.max ?? 4,
          idleTimeoutMillis: 30_000,
          connectionTimeoutMillis: 10_000,
          application_name: 'vigil-source',
        });
        // An idle connection lost (server restart, network) is dropped; the next query reconnects.
        pool.on('error', (err) => log(`prediction source ${shownUrl} (${urlEnv}): connection lost, will reconnect on next use: ${scrub(err.message)}`));
        entry = { pool, shownUrl, scrub };
        byUrl.set(url, entry);
      }
      return entry;
    },
    async close() {
      closed = true;
      const pools = [...byUrl.values()].map((e) => e.pool);
      byUrl.clear();
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    },
  };
}

/** Replaces the URL with its redacted form and removes its password from a message (a driver may echo either). */
function scrubber(url: string, parsed: URL): (text: string) => string {
  const passwords = [...new Set([parsed.password, safeDecode(parsed.password)])].filter((s) => s.length >= 4);
  const shown = redactUrl(url);
  return (text) => passwords.reduce((out, secret) => out.split(secret).join('***'), text.split(url).join(shown));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- SQL ------------------------------------------------------------------------------------------------

/** jsonb_build_object takes at most 100 arguments: 50 name/value pairs per call, joined with ||. */
const PAIRS_PER_CALL = 50;

/**
 * A value's text as a class key, the same for every column type: numbers in their shortest form (`1`
 * for 1, 1.0 and 1.00, as JavaScript's String(n)), booleans as `1` / `0`, text as it is.
 */
function keyOf(expr: string): string {
  const j = `to_jsonb(${expr})`;
  return `CASE jsonb_typeof(${j}) WHEN 'number' THEN ((${j} #>> '{}')::float8)::text WHEN 'boolean' THEN CASE WHEN ${j} = 'true'::jsonb THEN '1' ELSE '0' END ELSE ${j} #>> '{}' END`;
}

/** The statements of one model's source, built from its config: every name quoted, every value a parameter. */
export function sourceStatements(model: SourcedModel): {
  from: string;
  recent(opts: { limit: number; asOf: Date; since?: Date; until: boolean; labelledOnly: boolean; sample?: number }): { text: string; values: unknown[] };
  livePerformance(opts: { since: Date; versions: readonly number[] }): { text: string; values: unknown[] };
} {
  const { source, task } = model;
  const col = (name: string) => `src.${pg.escapeIdentifier(name)}`;
  const c = source.columns;
  const from =
    source.table !== undefined
      ? `${source.table
          .split('.')
          .map((p) => pg.escapeIdentifier(p))
          .join('.')} AS src`
      : // On lines of their own: a trailing "-- comment" in the query ends before the parenthesis.
        `(\n${source.query}\n) AS src`;
  // The config schema requires the task's prediction column.
  const predictionColumn = col(task.type === 'binary' ? c.score! : task.type === 'multiclass' ? c.label! : c.value!);
  const features = Array.isArray(c.features)
    ? chunks(c.features, PAIRS_PER_CALL)
        .map((names) => `jsonb_build_object(${names.map((n) => `${pg.escapeLiteral(n)}, ${col(n)}`).join(', ')})`)
        .join(' || ')
    : `${col(c.features)}::jsonb`;
  const prediction = task.type === 'multiclass' ? keyOf(predictionColumn) : `${predictionColumn}::float8`;
  /** The outcome has arrived by `at` (an SQL expression, asked for only when there is a label time). */
  const arrivedBy = (at: () => string) => `${col(c.outcome)} IS NOT NULL${c.labeledAt !== undefined ? ` AND ${col(c.labeledAt)} <= ${at()}` : ''}`;
  const ts = col(c.ts);
  // Rows without a time or a prediction are not predictions.
  const always = `${ts} IS NOT NULL AND ${predictionColumn} IS NOT NULL`;
  /** Parameters, numbered as they are bound. Times are timestamptz: a Date is an instant. */
  const binder = () => {
    const values: unknown[] = [];
    return { values, bind: (v: unknown, type: string) => `$${values.push(v)}::${type}` };
  };

  return {
    from,
    recent(opts) {
      const { values, bind } = binder();
      // Bound only when used: PostgreSQL refuses a parameter no statement mentions.
      let asOfParam: string | undefined;
      const asOf = () => (asOfParam ??= bind(opts.asOf, 'timestamptz'));
      const where = [always];
      if (opts.since) where.push(`${ts} >= ${bind(opts.since, 'timestamptz')}`);
      if (opts.until) where.push(`${ts} <= ${asOf()}`);
      if (opts.labelledOnly) where.push(arrivedBy(asOf));
      const text = `SELECT ${col(c.requestId)}::text AS request_id, ${ts}::timestamptz AS ts, ${keyOf(col(c.modelVersion))} AS model_version,
       ${features} AS features, ${prediction} AS prediction,
       CASE WHEN ${arrivedBy(asOf)} THEN ${keyOf(col(c.outcome))} END AS outcome
  FROM ${from}
 WHERE ${where.join(' AND ')}
 ORDER BY ${ts} DESC, ${col(c.requestId)} DESC
 LIMIT ${bind(opts.limit, 'int')}`;
      if (opts.sample === undefined) return { text, values };
      return { text: evenlySpacedSample(text, 'w.ts DESC, w.request_id DESC', bind(opts.sample, 'bigint')), values };
    },
    livePerformance(opts) {
      const { values, bind } = binder();
      // The per-row figures of livePerformanceSql.ts, by task type, from the mapped columns.
      const outcome = keyOf(col(c.outcome));
      const arrived = `(${arrivedBy(() => 'now()')})`;
      let figures: string;
      switch (task.type) {
        case 'binary': {
          // Labels that are neither class are bad feedback: not counted (as the built-in log never stores them).
          const positive = bind(classKey(task.positiveClass), 'text');
          const labelled = `${arrived} AND ${outcome} IN (${positive}, ${bind(classKey(task.negativeClass), 'text')})`;
          figures = `(${labelled}) AS arrived,
               (${predictionColumn}::float8 >= ${bind(task.threshold, 'float8')})::int::text AS predicted,
               CASE WHEN ${labelled} THEN (${outcome} = ${positive})::int::text END AS truth, NULL::float8 AS err`;
          break;
        }
        case 'multiclass':
          figures = `${arrived} AS arrived, ${prediction} AS predicted, CASE WHEN ${arrived} THEN ${outcome} END AS truth, NULL::float8 AS err`;
          break;
        case 'regression': {
          // A number, or text of one (as the rows' labelValue is read: Number(outcome)).
          const usable = `${arrived} AND ${outcome} ~ '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'`;
          figures = `(${usable}) AS arrived, NULL::text AS predicted, NULL::text AS truth,
               CASE WHEN ${usable} THEN ${prediction} - (${outcome})::float8 END AS err`;
          break;
        }
      }
      const rows = `SELECT ${keyOf(col(c.modelVersion))} AS version, ${figures}
          FROM ${from}
         WHERE ${always} AND ${ts} >= ${bind(opts.since, 'timestamptz')}
           AND ${keyOf(col(c.modelVersion))} = ANY(${bind(opts.versions.map(String), 'text[]')})`;
      const classes = task.type === 'multiclass' ? bind(classKeys(task), 'text[]') : undefined;
      return { text: livePerformanceStatement(rows, classes), values };
    },
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- the adapter ----------------------------------------------------------------------------------------

interface SourceRow {
  request_id: string | null;
  ts: Date;
  model_version: string | null;
  features: unknown;
  prediction: number | string | null;
  outcome: string | null;
}

/** The key of a configured class (positiveClass 1 and "1" are the same class, as in ingestion). */
const classKey = (c: string | number) => String(c);

/** The prediction log of one model read from its own table. */
export function createSourcePredictionLog(opts: { model: SourcedModel; pools: SourcePools }): PredictionLog {
  const { model, pools } = opts;
  const { source, task } = model;
  const statements = sourceStatements(model);
  const what = `model "${model.id}" source ${source.table !== undefined ? `table ${source.table}` : 'query'}`;
  const mapRow = rowMapper(task);

  async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    const { pool, shownUrl, scrub } = connection();
    try {
      return (await pool.query<R>(sql, params)).rows;
    } catch (err) {
      const e = err as Error & { code?: string };
      // No cause attached: a driver error may carry the connection settings.
      throw new PredictionSourceError(`${what} at ${shownUrl} (${source.urlEnv}): ${scrub(e.message)}`, e.code);
    }
  }

  function connection() {
    try {
      return pools.get(source.urlEnv);
    } catch (err) {
      throw new PredictionSourceError(`${what}: ${(err as Error).message}`);
    }
  }

  return {
    async recent(_modelId, o) {
      if (!Number.isInteger(o.limit) || o.limit < 1) throw new RangeError(`limit must be a positive integer, got ${o.limit}`);
      if (o.sample !== undefined && (!Number.isInteger(o.sample) || o.sample < 1)) throw new RangeError(`sample must be a positive integer, got ${o.sample}`);
      const { text, values } = statements.recent({
        limit: o.limit,
        asOf: o.asOf ?? new Date(),
        ...(o.since ? { since: o.since } : {}),
        until: o.asOf !== undefined,
        labelledOnly: o.labelledOnly === true,
        ...(o.sample !== undefined ? { sample: o.sample } : {}),
      });
      const rows = await query<SourceRow>(text, values);
      return rows.reverse().map(mapRow);
    },

    async livePerformance(_modelId, _task, since, versions) {
      // The model's own task (the same config the router was built from).
      const out = new Map<number, LivePerformance>();
      if (versions.length === 0) return out;
      const { text, values } = statements.livePerformance({ since, versions });
      const rows = await query<LivePerformanceRow>(text, values);
      for (const row of rows) out.set(Number(row.version), toLivePerformance(task, row));
      return out;
    },

    // The team's table holds what was served; shadows are logged only in Vigil's own log.
    async shadowAccuracy() {
      const none: LivePerformance = { predictions: 0, labelled: 0 };
      return { canary: { ...none }, stable: { ...none } };
    },

    async ingestPredictions() {
      throw new SourceIngestionOffError(model.id);
    },
    async ingestLabels() {
      throw new SourceIngestionOffError(model.id);
    },
  };
}

/** A source row as the built-in log returns its own, by task type. */
function rowMapper(task: TaskConfig): (r: SourceRow) => TrafficRow {
  const base = (r: SourceRow) => ({
    features: (isObject(r.features) ? r.features : {}) as Record<string, number>,
    modelVersion: versionOf(r.model_version),
    servedBy: 'model' as const,
    ts: r.ts,
  });
  switch (task.type) {
    case 'binary': {
      const [pos, neg] = [classKey(task.positiveClass), classKey(task.negativeClass)];
      return (r) => {
        const score = Number(r.prediction);
        // Like a stored label: 1 positive, 0 negative; anything else is bad feedback (rawLabel not 0/1).
        const rawLabel =
          r.outcome === null ? null : r.outcome === pos ? 1 : r.outcome === neg ? 0 : Number.isFinite(Number(r.outcome)) ? Number(r.outcome) : NaN;
        return {
          ...base(r),
          score,
          predicted: score >= task.threshold ? 1 : 0,
          label: rawLabel === 0 || rawLabel === 1 ? rawLabel : null,
          rawLabel,
        };
      };
    }
    case 'multiclass': {
      const byName = new Map(task.classes.map((c) => [classKey(c), c]));
      const canonical = (key: string) => byName.get(key) ?? key;
      return (r) => {
        const prediction: StoredPrediction = { label: canonical(String(r.prediction)) };
        return {
          ...base(r),
          score: NaN,
          predicted: 0,
          label: null,
          rawLabel: null,
          prediction,
          ...(r.outcome !== null ? { labelValue: canonical(r.outcome) } : {}),
        };
      };
    }
    case 'regression':
      return (r) => {
        const labelValue = r.outcome === null ? NaN : Number(r.outcome);
        return {
          ...base(r),
          score: NaN,
          predicted: 0,
          label: null,
          rawLabel: null,
          prediction: { value: Number(r.prediction) },
          ...(Number.isFinite(labelValue) ? { labelValue } : {}),
        };
      };
  }
}

/** An integer version ≥ 1 (a number, or text of one); null otherwise. */
function versionOf(key: string | null): number | null {
  if (key === null || !/^\d+$/.test(key)) return null;
  const v = Number(key);
  return v >= 1 && v <= 2_147_483_647 ? v : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
