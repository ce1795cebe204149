/**
 * Predictions and labels sent to Vigil over HTTP by serving layers Vigil does not run: the wire shapes
 * (zod schemas, from which the OpenAPI document is generated, so the document and the validation
 * cannot drift apart), and their validation against one model's task and input schema.
 *
 * What is refused (400, nothing stored) and what is accepted and left to the monitor:
 *   refused   a malformed row: a missing or mistyped field, a prediction whose shape is not the
 *             model's task type, a score outside [0, 1], a class the model does not have,
 *             probabilities not summing to 1 (± 0.01), a feature that is not a number, string,
 *             boolean or null, a value whose type contradicts the declared `inputSchema` (a string in
 *             a numeric column, a number in a categorical one), a time more than 5 minutes ahead of
 *             Vigil's clock, the same requestId twice in one request (a shadow row may share its
 *             served row's requestId: shadow rows are told apart by requestId and modelVersion), a
 *             shadow row without its modelVersion or of a model that is not binary
 *   accepted  what the monitor measures as data quality: values outside the declared min/max,
 *             categories not declared, missing or null columns, undeclared columns
 */
import { z } from 'zod';
import { zodIssuePath, type ModelConfig } from './config.js';
import type { InputSchema } from './dataQuality.js';
import type { TaskConfig, TaskType } from './task.js';

/** A time further ahead of Vigil's clock than this is refused: it would stay "most recent" for that long. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** The tolerance on a multiclass prediction's probabilities summing to 1. */
export const PROBABILITY_SUM_TOLERANCE = 0.01;

/**
 * Bounds on one row, beside the request's (ingest.maxBodyBytes, ingest.maxRowsPerRequest): features are
 * stored per row as JSON and profiled by the monitor, so one row must not carry a document.
 */
export const INGEST_ROW_LIMITS = {
  /** Features in one row. */
  maxFeatures: 1024,
  /** Characters in a feature name. */
  maxFeatureNameLength: 256,
  /** Characters in a string feature value. */
  maxStringLength: 4096,
} as const;

/** Problems listed in one answer: a batch wrong in every row says so without an answer larger than the batch. */
export const MAX_LISTED_ISSUES = 1000;

/** One problem in a request: `row` is the 0-based index in the batch, `line` the 1-based NDJSON line. */
export interface IngestIssue {
  row?: number;
  line?: number;
  /** Inside the row (`prediction.score`), or in the envelope (`predictions`) when there is no row. */
  path: string;
  message: string;
}

export type FeatureValue = number | string | boolean | null;

/** A multiclass or regression prediction as stored (`predictions.prediction`); binary rows use score/predicted. */
export type StoredPrediction = { label: string | number; probabilities?: Record<string, number> } | { value: number };

/** One row's prediction in the shape of the model's task type, as the ingestion API takes it and a scorer writes it. */
export type ScoredPrediction = { score: number } | StoredPrediction;

/** One prediction, validated and mapped to the prediction log's columns. */
export interface PredictionRecord {
  requestId: string;
  ts: Date;
  /** null only for fallback rows. */
  modelVersion: number | null;
  /** 'shadow': a candidate scored a copy of the request and its answer was never served (binary only). */
  servedBy: 'model' | 'fallback' | 'shadow';
  features: Record<string, FeatureValue>;
  /** Binary: the score, and predicted = score ≥ threshold (1 = positive); null for other tasks. */
  score: number | null;
  predicted: 0 | 1 | null;
  /** Multiclass and regression: the prediction; null for binary rows. */
  prediction: StoredPrediction | null;
}

/** One label, validated and mapped: binary labels as 0/1 (negative/positive), others as a value. */
export interface LabelRecord {
  requestId: string;
  /** Binary: 1 = positiveClass, 0 = negativeClass; null for other tasks. */
  label: 0 | 1 | null;
  /** Multiclass: the class (as declared); regression: the number; null for binary. */
  labelValue: string | number | null;
  /** When the outcome became known (the row's ts, else the time Vigil received it). */
  labeledAt: Date;
}

// ---- wire shapes -------------------------------------------------------------------------------------

const required =
  (what: string) =>
  (iss: { input: unknown }): string | undefined =>
    iss.input === undefined ? `is required (${what})` : undefined;

export const RequestId = z
  .string({ error: required('the serving layer’s id of the request, unique per model') })
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .describe('The serving layer’s id of the request; unique per model. A row whose requestId is already stored is a duplicate and is not stored again.');

export const Timestamp = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 time with a zone, such as "2025-11-26T14:03:00Z" or "2025-11-26T15:03:00+01:00"' })
  .describe('ISO 8601 with a zone (Z or ±hh:mm). Optional: the time Vigil received the request. At most 5 minutes ahead of Vigil’s clock.');

const ClassValue = z.union([z.string().min(1), z.number()], { error: required('a class: a non-empty string or a number') });

const FeatureString = z.string().max(INGEST_ROW_LIMITS.maxStringLength, `must be at most ${INGEST_ROW_LIMITS.maxStringLength} characters`);

const ScalarFeature = z
  .union([z.number(), FeatureString, z.boolean(), z.null()], {
    error: (iss) => (typeof iss.input === 'string' ? undefined : 'must be a number, string, boolean or null (features are flat)'),
  })
  .describe('A feature value: number, string, boolean or null (missing).');

const FeatureName = z
  .string()
  .min(1, 'a feature name must not be empty')
  .max(INGEST_ROW_LIMITS.maxFeatureNameLength, `a feature name must be at most ${INGEST_ROW_LIMITS.maxFeatureNameLength} characters`)
  .refine((k) => k !== '__proto__', 'is not allowed as a feature name');

/** At most INGEST_ROW_LIMITS.maxFeatures features, each name bounded (declared columns are bounded by the config). */
function boundedFeatures<T extends z.ZodType>(features: T): T {
  return features
    .superRefine((value, ctx) => {
      if (typeof value !== 'object' || value === null) return;
      const names = Object.keys(value);
      if (names.length > INGEST_ROW_LIMITS.maxFeatures) {
        ctx.addIssue({ code: 'custom', message: `has ${names.length} features; at most ${INGEST_ROW_LIMITS.maxFeatures} are accepted` });
      }
    })
    .meta({ maxProperties: INGEST_ROW_LIMITS.maxFeatures }) as unknown as T;
}

/** Features of a model without an input schema: any flat object of scalars. */
export const Features = boundedFeatures(
  z
    .record(FeatureName, ScalarFeature, { error: required('an object of feature values, possibly empty') })
    .describe('The model’s inputs for this request: a flat object of numbers, strings, booleans and nulls.'),
);

export const BinaryPrediction = z
  .strictObject({
    score: z
      .number({ error: required('a number in [0, 1]') })
      .min(0, 'must be in [0, 1]')
      .max(1, 'must be in [0, 1]')
      .describe('The model’s score for the positive class; predicted positive when score ≥ the model’s threshold.'),
  })
  .describe('Binary models.');

export const MulticlassPrediction = z
  .strictObject({
    label: ClassValue.describe('The predicted class: one of the model’s classes.'),
    probabilities: z
      .record(z.string(), z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]'))
      .optional()
      .describe('Optional: the probability of each class (keys are classes), summing to 1 (± 0.01).'),
  })
  .describe('Multiclass models.');

export const RegressionPrediction = z
  .strictObject({ value: z.number({ error: required('a number') }).describe('The predicted value.') })
  .describe('Regression models.');

const ServedBy = z
  .enum(['model', 'fallback', 'shadow'])
  .describe(
    'Who answered the request: the model (default), or the rules-based fallback Vigil switched the serving to; "shadow" is a ' +
      'candidate in a shadow canary that scored a copy of the request without answering it (binary models; modelVersion is the ' +
      'candidate’s; stored once per requestId and modelVersion beside the served row of the same requestId, whose label judges it).',
  );

const ModelVersion = z
  .number()
  .int('must be an integer')
  .min(1, 'must be ≥ 1')
  .max(2_147_483_647, 'must be at most 2147483647')
  .describe('The model version that made the prediction (integer ≥ 1); required unless servedBy is "fallback" (a "shadow" row names the candidate’s version).');

/** The row builder, shared by the documented generic row and each model's own. */
function predictionRow(features: z.ZodType, prediction: z.ZodType, predictionKeys: string) {
  return z.strictObject(
    {
      requestId: RequestId,
      ts: Timestamp.optional(),
      modelVersion: ModelVersion.optional(),
      servedBy: ServedBy.optional(),
      features,
      prediction,
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')} (a row has requestId, ts, modelVersion, servedBy, features, prediction ${predictionKeys})`
          : iss.code === 'invalid_type'
            ? 'must be an object {"requestId", "ts", "modelVersion", "features", "prediction"}'
            : undefined,
    },
  );
}

/** A prediction row, as documented: the prediction's shape depends on the model's task type. */
export const PredictionRow = predictionRow(
  Features,
  z
    .union([BinaryPrediction, MulticlassPrediction, RegressionPrediction])
    .describe('By the model’s task type: binary {"score"}, multiclass {"label", "probabilities"?}, regression {"value"}.'),
  '',
).describe('One prediction. Idempotent by requestId per model (shadow rows: by requestId and modelVersion).');

export const PredictionBatch = z
  .strictObject({ predictions: z.array(PredictionRow) })
  .describe('A batch of predictions (application/json). The same rows may be sent as application/x-ndjson, one row object per line.');

function labelRow(label: z.ZodType) {
  return z.strictObject(
    {
      requestId: RequestId,
      label,
      ts: Timestamp.optional().describe('When the outcome became known (ISO 8601 with a zone); default: when Vigil received it.'),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')} (a label row has requestId, label, ts)`
          : iss.code === 'invalid_type'
            ? 'must be an object {"requestId", "label", "ts"}'
            : undefined,
    },
  );
}

export const LabelRow = labelRow(
  z
    .union([z.string().min(1), z.number()], { error: required('the true outcome') })
    .describe('The true outcome. Binary: the positiveClass or negativeClass (1 / 0 by default); multiclass: one of the classes; regression: a number.'),
).describe('One label, matched to its prediction by requestId; it may arrive before the prediction.');

export const LabelBatch = z
  .strictObject({ labels: z.array(LabelRow) })
  .describe('A batch of labels (application/json). The same rows may be sent as application/x-ndjson, one row object per line.');

/** A prediction row and a label row as a client sends them (the JSON shapes above). */
export type PredictionRowInput = z.input<typeof PredictionRow>;
export type LabelRowInput = z.input<typeof LabelRow>;

export const PredictionsAnswer = z.strictObject({
  accepted: z.number().int().describe('Rows stored by this request.'),
  duplicates: z.number().int().describe('Rows whose requestId was already stored (sent before); not stored again.'),
  labelsMatched: z.number().int().describe('Stored rows that found a label waiting for them (labels sent before their prediction).'),
});

export const LabelsAnswer = z.strictObject({
  matched: z.number().int().describe('Labels now attached to their prediction (a label sent again counts here again).'),
  pending: z.number().int().describe('Labels whose prediction has not arrived; kept for ingest.labelGrace and attached when it does.'),
});

export const IssueSchema = z.strictObject({
  row: z.number().int().optional().describe('0-based index of the row in the batch (NDJSON: among the non-empty lines).'),
  line: z.number().int().optional().describe('1-based line of the body (NDJSON, and JSON syntax errors).'),
  path: z.string().describe('Where in the row, e.g. "prediction.score"; "" for the whole row or body.'),
  message: z.string(),
});

export const ErrorAnswer = z.strictObject({
  error: z.string().describe('What was wrong, in a sentence.'),
  issues: z.array(IssueSchema).optional().describe('Every problem found (400): nothing of the request was stored.'),
});

// ---- one model's validation --------------------------------------------------------------------------

/** Features against the declared input schema: only a type that contradicts the declaration is refused. */
function featuresFor(schema: InputSchema | undefined): z.ZodType {
  if (!schema) return Features;
  const shape: Record<string, z.ZodType> = {};
  for (const [column, spec] of Object.entries(schema.columns)) {
    const declared = (input: unknown) =>
      `is declared ${spec.type} in the model's inputSchema: expected ${spec.type === 'numeric' ? 'a number' : 'a string or boolean'} or null, got ${typeOf(input)}`;
    const value =
      spec.type === 'numeric'
        ? z.number({ error: (iss) => declared(iss.input) })
        : z.union([FeatureString, z.boolean()], { error: (iss) => (typeof iss.input === 'string' ? undefined : declared(iss.input)) });
    // Missing or null is a data-quality measurement (missing_values), not a malformed row.
    shape[column] = value.nullable().optional();
  }
  // Undeclared columns are stored: the monitor reports them as a schema break when they are not allowed.
  return boundedFeatures(
    z
      .object(shape, { error: required('an object of feature values, possibly empty') })
      .catchall(ScalarFeature)
      .superRefine((features, ctx) => {
        for (const name of Object.keys(features)) {
          if (name.length > INGEST_ROW_LIMITS.maxFeatureNameLength) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `a feature name must be at most ${INGEST_ROW_LIMITS.maxFeatureNameLength} characters`,
            });
          }
        }
      }),
  );
}

/**
 * The model's prediction schema; `check` adds what zod reports only once the rest is valid (a record's
 * keys), so every problem of a row is listed at once.
 */
function predictionFor(model: ModelConfig): { schema: z.ZodType; keys: string; check?: (prediction: unknown, push: Push) => void } {
  const task = model.task;
  const unknownKeys = (shape: string) => (iss: { code: string; keys?: string[] }) =>
    iss.code === 'unrecognized_keys'
      ? `unknown key${(iss.keys?.length ?? 0) > 1 ? 's' : ''} ${(iss.keys ?? []).map((k) => `"${k}"`).join(', ')}: model "${model.id}" is ${task.type}, its prediction is ${shape}`
      : iss.code === 'invalid_type'
        ? `must be an object: model "${model.id}" is ${task.type}, its prediction is ${shape}`
        : undefined;
  switch (task.type) {
    case 'binary':
      return { schema: z.strictObject(BinaryPrediction.shape, { error: unknownKeys('{"score"}') }), keys: '{"score"}' };
    case 'regression':
      return { schema: z.strictObject(RegressionPrediction.shape, { error: unknownKeys('{"value"}') }), keys: '{"value"}' };
    case 'multiclass': {
      const classes = new Set(task.classes.map(String));
      const list = task.classes.map((c) => JSON.stringify(c)).join(', ');
      const schema = z.strictObject(
        {
          label: ClassValue.refine((v) => classes.has(String(v)), `must be one of the classes of model "${model.id}": ${list}`),
          probabilities: z
            .record(z.string(), z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]'))
            .refine((p) => Math.abs(sum(Object.values(p)) - 1) <= PROBABILITY_SUM_TOLERANCE, {
              error: (iss) => `must sum to 1 (± ${PROBABILITY_SUM_TOLERANCE}); they sum to ${round(sum(Object.values(iss.input as Record<string, number>)))}`,
            })
            .optional(),
        },
        { error: unknownKeys('{"label", "probabilities"?}') },
      );
      const check = (prediction: unknown, push: Push) => {
        const probabilities = isObject(prediction) ? prediction.probabilities : undefined;
        if (!isObject(probabilities)) return;
        for (const key of Object.keys(probabilities)) {
          if (!classes.has(key)) push(zodIssuePath(['prediction', 'probabilities', key]), `is not a class of model "${model.id}" (${list})`);
        }
      };
      return { schema, keys: '{"label", "probabilities"?}', check };
    }
  }
}

function labelFor(model: ModelConfig): { schema: z.ZodType; map: (v: string | number) => { label: 0 | 1 | null; labelValue: string | number | null } } {
  const task: TaskConfig = model.task;
  switch (task.type) {
    case 'binary': {
      const [pos, neg] = [String(task.positiveClass), String(task.negativeClass)];
      const expected = `${JSON.stringify(task.positiveClass)} (positive) or ${JSON.stringify(task.negativeClass)} (negative)`;
      return {
        schema: ClassValue.refine((v) => String(v) === pos || String(v) === neg, `must be ${expected}: model "${model.id}" is binary`),
        map: (v) => ({ label: String(v) === pos ? 1 : 0, labelValue: null }),
      };
    }
    case 'multiclass': {
      const byName = new Map(task.classes.map((c) => [String(c), c]));
      const list = task.classes.map((c) => JSON.stringify(c)).join(', ');
      return {
        schema: ClassValue.refine((v) => byName.has(String(v)), `must be one of the classes of model "${model.id}": ${list}`),
        map: (v) => ({ label: null, labelValue: byName.get(String(v)) ?? v }),
      };
    }
    case 'regression':
      return {
        schema: z.number({
          error: (iss) => (iss.input === undefined ? 'is required (the true value)' : `must be a number: model "${model.id}" is regression`),
        }),
        map: (v) => ({ label: null, labelValue: v }),
      };
  }
}

type Push = (path: string, message: string) => void;

/** `issues`: the first MAX_LISTED_ISSUES problems; `unlisted`: how many more there were. */
export type Validated<T> = { ok: true; rows: T[] } | { ok: false; issues: IngestIssue[]; unlisted: number };

export interface IngestValidator {
  readonly taskType: TaskType;
  /** Every row checked; all issues, or every row mapped. `lines[i]` is row i's NDJSON line, when there is one. */
  predictions(rows: readonly unknown[], opts: { receivedAt: Date; lines?: readonly number[] }): Validated<PredictionRecord>;
  labels(rows: readonly unknown[], opts: { receivedAt: Date; lines?: readonly number[] }): Validated<LabelRecord>;
}

type ParsedPrediction = {
  requestId: string;
  ts?: string;
  modelVersion?: number;
  servedBy?: 'model' | 'fallback' | 'shadow';
  features: Record<string, FeatureValue>;
  prediction: { score: number } | { label: string | number; probabilities?: Record<string, number> } | { value: number };
};
type ParsedLabel = { requestId: string; label: string | number; ts?: string };

/** The validator of one model: built once per model, reused for every request. */
export function createIngestValidator(model: ModelConfig): IngestValidator {
  const prediction = predictionFor(model);
  const predictionSchema = predictionRow(featuresFor(model.inputSchema), prediction.schema, prediction.keys) as z.ZodType<ParsedPrediction>;
  const label = labelFor(model);
  const labelSchema = labelRow(label.schema) as z.ZodType<ParsedLabel>;
  const task = model.task;
  const classByName = task.type === 'multiclass' ? new Map(task.classes.map((c) => [String(c), c])) : undefined;

  function check<P, R>(
    schema: z.ZodType<P>,
    rows: readonly unknown[],
    opts: { receivedAt: Date; lines?: readonly number[] },
    extra: (raw: unknown, push: Push) => void,
    map: (parsed: P, ts: Date) => R,
    /** What may appear once per request (default: the requestId), and what the message calls it. */
    once: (raw: Record<string, unknown>, requestId: string) => { key: string; what: string } = (_raw, requestId) => ({
      key: requestId,
      what: 'a requestId may appear once per request',
    }),
  ): Validated<R> {
    const issues: IngestIssue[] = [];
    let unlisted = 0;
    const out: R[] = [];
    const firstRow = new Map<string, number>();
    const latest = opts.receivedAt.getTime() + MAX_CLOCK_SKEW_MS;
    rows.forEach((raw, row) => {
      const line = opts.lines?.[row];
      const at = line === undefined ? { row } : { row, line };
      let bad = false;
      const push = (path: string, message: string) => {
        bad = true;
        if (issues.length < MAX_LISTED_ISSUES) issues.push({ ...at, path, message });
        else unlisted++;
      };
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        for (const i of parsed.error.issues) push(zodIssuePath(i.path), i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message);
      }
      extra(raw, push);
      const requestId = isObject(raw) && typeof raw.requestId === 'string' ? raw.requestId : undefined;
      if (requestId !== undefined) {
        const { key, what } = once(raw as Record<string, unknown>, requestId);
        const seen = firstRow.get(key);
        if (seen !== undefined) push('requestId', `"${requestId}" is also row ${seen}: ${what}`);
        else firstRow.set(key, row);
      }
      // Checked whether or not the rest of the row is valid, so every problem is listed at once.
      const rawTs = isObject(raw) && typeof raw.ts === 'string' && Timestamp.safeParse(raw.ts).success ? raw.ts : undefined;
      const ts = rawTs !== undefined ? new Date(rawTs) : opts.receivedAt;
      if (ts.getTime() > latest) {
        push('ts', `${rawTs} is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of Vigil's clock (${opts.receivedAt.toISOString()})`);
      }
      if (parsed.success && !bad) out.push(map(parsed.data, ts));
    });
    return issues.length ? { ok: false, issues, unlisted } : { ok: true, rows: out };
  }

  return {
    taskType: task.type,
    predictions(rows, opts) {
      return check(
        predictionSchema,
        rows,
        opts,
        (raw, push) => {
          if (!isObject(raw)) return;
          if (raw.modelVersion === undefined && raw.servedBy === 'shadow') {
            push('modelVersion', 'is required on a shadow row (the version of the candidate that scored the request in the shadow, an integer ≥ 1)');
          } else if (raw.modelVersion === undefined && raw.servedBy !== 'fallback') {
            push(
              'modelVersion',
              'is required (the model version that made the prediction, an integer ≥ 1); only rows with servedBy "fallback" may leave it out',
            );
          }
          if (raw.servedBy === 'shadow' && task.type !== 'binary') {
            push(
              'servedBy',
              `"shadow" is taken for binary models only (a shadow canary is judged on binary accuracy); model "${model.id}" is ${task.type}: send only the served rows`,
            );
          }
          if (isObject(raw.features) && Object.hasOwn(raw.features, '__proto__')) push('features.__proto__', 'is not allowed as a feature name');
          prediction.check?.(raw.prediction, push);
        },
        (p, ts): PredictionRecord => {
          const base = { requestId: p.requestId, ts, modelVersion: p.modelVersion ?? null, servedBy: p.servedBy ?? 'model', features: p.features };
          const pred = p.prediction;
          if ('score' in pred) {
            const threshold = task.type === 'binary' ? task.threshold : 0.5;
            return { ...base, score: pred.score, predicted: pred.score >= threshold ? 1 : 0, prediction: null };
          }
          if ('value' in pred) return { ...base, score: null, predicted: null, prediction: { value: pred.value } };
          const canonical = classByName?.get(String(pred.label)) ?? pred.label;
          return {
            ...base,
            score: null,
            predicted: null,
            prediction: pred.probabilities ? { label: canonical, probabilities: pred.probabilities } : { label: canonical },
          };
        },
        // A shadow row shares its served row's requestId: shadow rows are one per requestId and version.
        (raw, requestId) =>
          raw.servedBy === 'shadow'
            ? {
                key: `shadow\u0000${String(raw.modelVersion)}\u0000${requestId}`,
                what: 'a shadow row may appear once per requestId and modelVersion in a request',
              }
            : { key: requestId, what: 'a requestId may appear once per request (a shadow row of it says "servedBy": "shadow")' },
      );
    },
    labels(rows, opts) {
      return check(
        labelSchema,
        rows,
        opts,
        () => undefined,
        (l, ts): LabelRecord => ({ requestId: l.requestId, ...label.map(l.label), labeledAt: ts }),
      );
    },
  };
}

/**
 * The rows of a JSON body `{"<key>": [...]}`; issues for anything else (the body's envelope). NDJSON
 * bodies are rows already.
 */
export function rowsOfEnvelope(body: unknown, key: 'predictions' | 'labels'): { rows: unknown[] } | { issues: IngestIssue[] } {
  const shape = key === 'predictions' ? '{"predictions": [...]}' : '{"labels": [...]}';
  if (!isObject(body)) return { issues: [{ path: '', message: `the body must be a JSON object ${shape}, got ${typeOf(body)}` }] };
  const issues: IngestIssue[] = [];
  const rows = body[key];
  if (rows === undefined) issues.push({ path: key, message: `is required: the body is ${shape}` });
  else if (!Array.isArray(rows)) issues.push({ path: key, message: `must be an array of rows, got ${typeOf(rows)}` });
  const extra = Object.keys(body).filter((k) => k !== key);
  if (extra.length)
    issues.push({ path: '', message: `unknown key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}: the body is ${shape}` });
  return issues.length || !Array.isArray(rows) ? { issues } : { rows };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
  if (typeof v === 'number') return `a number (${v})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
