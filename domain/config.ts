/**
 * Vigil's one config file (`vigil.config.json`, or `--config` / `VIGIL_CONFIG`), validated with zod at
 * the edge. With no file, the composition root (cli/loadConfig.ts) configures the example credit-risk
 * model (examples/credit-risk/exampleConfig.ts). Secrets never live here: they come from the environment.
 *
 * Every object is strict: a key the schema does not know (a typo) is an error naming its path and, when a
 * known key is close, the one that was meant. Objects whose fields all have defaults take `.prefault({})`,
 * so each default is written once, next to its field.
 */
import os from 'node:os';
import { z } from 'zod';
import { FAILURE_MODES, FailureMode, ModelRef, ModelTier, Severity, SignalKind } from './incident.js';
import { Duration, RunbookPolicy, type Runbooks } from './runbook.js';
import { DataQualityThresholds, InputSchema } from './dataQuality.js';
import { TaskConfig, type TaskType } from './task.js';
import { DRIFT_TESTS } from './drift/datasetDrift.js';
import { DEFAULT_RUNBOOKS } from '../runbooks/defaultRunbooks.js';
import { ownValue } from './ownValue.js';
import { GROUP_PREFIX, LOCAL_USER_PLACEHOLDER, People, unknownGroups } from './people.js';

export { LOCAL_USER_PLACEHOLDER } from './people.js';

export function localUser(): string {
  return process.env.VIGIL_USER || os.userInfo().username;
}

const ModelId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (at most 63)');

/** The longest monitor window: a run still scans it in PostgreSQL, though only a sample of maxRows reaches Vigil. */
export const MAX_MONITOR_WINDOW = 10_000_000;

export const MonitorConfig = z
  .strictObject({
    every: Duration.default('20s'),
    /** Most recent predictions compared with the training reference. */
    window: z.number().int().min(50).max(MAX_MONITOR_WINDOW).default(500),
    /**
     * The most rows a monitor run reads into memory: a longer window is measured on an evenly spaced
     * sample of this many of its rows (the window's shares and rates, estimated), so memory stays bounded
     * whatever the window. 100,000 rows of 20 features take about 150 MB.
     */
    maxRows: z.number().int().min(1000).max(1_000_000).default(100_000),
    psiThreshold: z.number().positive().default(0.2),
    /** Accuracy below baseline by more than this opens a concept-drift incident. */
    accuracyDropThreshold: z.number().positive().max(1).default(0.05),
    minLabelled: z.number().int().min(1).default(100),
    /** Performance loss by task type, against the champion's holdout figures (accuracy uses accuracyDropThreshold). */
    performance: z
      .strictObject({
        /** binary: AUC lower by at least this. */
        aucDrop: z.number().positive().max(1).default(0.05),
        /** multiclass: macro-F1 lower by at least this. */
        macroF1Drop: z.number().positive().max(1).default(0.05),
        /** regression: MAE higher by at least this share of the holdout's (0.2 = 20%). */
        maeIncrease: z.number().positive().default(0.2),
        /** regression: RMSE higher by at least this share of the holdout's. */
        rmseIncrease: z.number().positive().default(0.2),
      })
      .prefault({}),
    dataQuality: DataQualityThresholds.prefault({}),
    /** Feedback-loop corruption checks on labelled traffic (see domain/labelQuality.ts). */
    labels: z
      .strictObject({
        maxPositiveRateShift: z.number().positive().max(1).default(0.2),
        maxPredictionAgreement: z.number().positive().max(1).default(0.98),
      })
      .prefault({}),
  })
  .superRefine((m, ctx) => {
    if (m.minLabelled > m.maxRows) {
      ctx.addIssue({ code: 'custom', path: ['minLabelled'], message: `must be at most maxRows (${m.maxRows}): a run reads at most that many labelled rows` });
    }
  });
export type MonitorConfig = z.output<typeof MonitorConfig>;

/** Health metrics read from Prometheus, each mapped to the signal a breach raises. */
export const HEALTH_METRIC_SIGNALS = {
  latency_p99_ms: 'latency',
  error_rate: 'error_rate',
  gpu_memory_util: 'gpu_memory',
  queue_depth: 'queue_depth',
  upstream_error_rate: 'upstream_error',
  // A collapsing confidence distribution means the inputs moved.
  prediction_confidence: 'data_drift',
} as const satisfies Record<string, SignalKind>;
export type HealthMetric = keyof typeof HEALTH_METRIC_SIGNALS;
export const HEALTH_METRICS = Object.keys(HEALTH_METRIC_SIGNALS) as HealthMetric[];

export const HealthCheck = z
  .strictObject({
    /** PromQL; its worst series is compared with the threshold. */
    query: z.string().trim().min(1, 'must be a non-empty PromQL query'),
    above: z.number().optional(),
    below: z.number().optional(),
    /** Breach only if the condition held over this whole window (a range query), like an alert's `for`. */
    for: Duration.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.above !== undefined && c.below !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['below'], message: 'give exactly one of "above" or "below", not both' });
    } else if (c.above === undefined && c.below === undefined) {
      ctx.addIssue({ code: 'custom', path: ['above'], message: 'exactly one of "above" or "below" is required (the threshold)' });
    }
  });
export type HealthCheck = z.output<typeof HealthCheck>;

export const HealthConfig = z.strictObject(
  Object.fromEntries(HEALTH_METRICS.map((m) => [m, HealthCheck.optional()])) as Record<HealthMetric, z.ZodOptional<typeof HealthCheck>>,
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `unknown health metric ${iss.keys.map((k) => `"${k}"`).join(', ')} (known: ${HEALTH_METRICS.join(', ')})` : undefined,
  },
);
export type HealthConfig = z.output<typeof HealthConfig>;

export const PrometheusConfig = z.strictObject({
  /** Base URL of the Prometheus HTTP API; PROMETHEUS_URL overrides it. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as "http://prometheus:9090"' }),
  timeout: Duration.default('10s'),
});
export type PrometheusConfig = z.output<typeof PrometheusConfig>;

const DriftTest = z.enum(DRIFT_TESTS);

/** How `vigil drift compare --model` chooses tests and thresholds (defaults: Evidently's choice). */
export const DriftConfig = z.strictObject({
  /** One test for every column; omitted: the default choice per column. */
  test: DriftTest.optional(),
  perFeature: z.record(z.string(), DriftTest).default({}),
  thresholds: z.partialRecord(DriftTest, z.number().positive()).default({}),
  /** The dataset drifts when this share of features drifts. */
  shareThreshold: z.number().positive().max(1).default(0.5),
});
export type DriftConfig = z.output<typeof DriftConfig>;

/** Slack. Credentials come from the environment, never from here. */
export const SlackConfig = z.strictObject({
  /** 'http': Slack posts to VIGIL_SLACK_PORT at /slack/events (signing secret); 'socket': Socket Mode (app token). */
  mode: z.enum(['http', 'socket']).default('http'),
  /** The only workspace (team id, T…) whose requests are accepted; default: the bot token's own (auth.test). */
  teamId: z
    .string()
    .regex(/^[TE][A-Z0-9]{2,}$/, 'must be a Slack team id such as T0123ABCD')
    .optional(),
  /** Base URL of the Temporal Web UI, for the incident link in messages. */
  temporalUiUrl: z.string().url().default('http://localhost:8233'),
});
export type SlackConfig = z.output<typeof SlackConfig>;

/** Where a model's incidents are posted in Slack. */
export const ModelSlackConfig = z.strictObject({
  /** Channel id (C…) or name (#ml-incidents). */
  channel: z.string().min(1),
});

/** A DNS-1123 label, as Kubernetes namespaces and object names require. */
const KubernetesName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a Kubernetes name: lowercase letters, digits and dashes, at most 63, starting and ending alphanumeric',
  );

/**
 * Training as a Kubernetes Job (`training.backend: "kubernetes"`). Credentials are never here: in-cluster
 * service account, or KUBECONFIG / ~/.kube/config.
 */
export const KubernetesTrainingConfig = z.strictObject({
  namespace: KubernetesName,
  /** The trainer's container image; `training.command` runs inside it. */
  image: z.string().trim().min(1, 'must name a container image'),
  serviceAccount: KubernetesName.optional(),
  /** GPUs requested per job (`resources.limits["nvidia.com/gpu"]`); 0 = CPU only. */
  gpus: z.number().int().min(0).default(0),
  /** Finished Jobs (and their pods and logs) are deleted this long after they end. */
  ttlSecondsAfterFinished: z.number().int().min(0).default(86_400),
  /** A PersistentVolumeClaim mounted at Vigil's state folder path, so snapshot and artifact paths mean the same in the pod. */
  volume: z.strictObject({ claimName: KubernetesName, mountPath: z.string().startsWith('/', 'must be an absolute path') }).optional(),
});
export type KubernetesTrainingConfig = z.output<typeof KubernetesTrainingConfig>;

/**
 * Training as a Ray job (`training.backend: "ray"`), submitted to the Jobs API on the head's dashboard
 * port. The token of a cluster with token authentication comes from RAY_AUTH_TOKEN, never from here.
 * The trainer runs on the cluster: its command and Vigil's state folder (snapshots, artifacts) must be
 * reachable there under the same paths.
 */
export const RayTrainingConfig = z.strictObject({
  /** The Ray dashboard's URL, e.g. http://ray-head:8265. */
  address: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL of the Ray dashboard, e.g. http://ray-head:8265' }),
  /** Reserved for the trainer's entrypoint (entrypoint_num_cpus / _num_gpus / _memory); GPUs default to the count in `training.gpus`. */
  numCpus: z.number().min(0).optional(),
  numGpus: z.number().min(0).optional(),
  memoryBytes: z.number().int().positive().optional(),
  /** runtime_env.working_dir: a URI the cluster fetches the trainer's code from (s3://, gs://, https://….zip). */
  workingDir: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:\/\//, 'must be a URI the Ray cluster can fetch (s3://, gs://, https://….zip), not a local path')
    .optional(),
});
export type RayTrainingConfig = z.output<typeof RayTrainingConfig>;

/** A name in `training.passEnv`: an environment variable's name, never its value. */
const PassEnvName = z.string({ error: 'must be the name of an environment variable (a string)' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  // The value is never repeated: NAME=value put here by mistake carries the secret.
  error: (iss) =>
    typeof iss.input === 'string' && iss.input.includes('=')
      ? 'must be the NAME of an environment variable of the worker (such as "HF_TOKEN"), not NAME=value: the trainer gets the value from the worker'
      : 'must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "HF_TOKEN")',
});

export const TrainingConfig = z
  .strictObject({
    backend: z.enum(['local', 'kubernetes', 'ray']).default('local'),
    kubernetes: KubernetesTrainingConfig.optional(),
    ray: RayTrainingConfig.optional(),
    /** The trainer command; Vigil appends the protocol's arguments (docs/trainer-protocol.md). */
    command: z.array(z.string()).min(1).optional(),
    /**
     * The trainer protocol the command speaks: 1 trains; 2 also scores (`<command> score …`), which is
     * how Vigil gates candidates and judges rollback targets for any model. With 1, only models the
     * composition root can evaluate in process (the example) are scored.
     */
    protocol: z.union([z.literal(1), z.literal(2)]).default(1),
    env: z.record(z.string(), z.string()).default({}),
    /**
     * Names of the worker's environment variables the trainer also gets (secrets such as HF_TOKEN, which
     * never go in the config). The local trainer gets nothing else of the worker's environment but a few
     * harmless settings (PATH, HOME, locale…; adapters/process/trainerEnvironment.ts).
     */
    passEnv: z.array(PassEnvName).default([]),
    /**
     * The GPUs a training job may use, as CUDA_VISIBLE_DEVICES: '0', '0,1', GPU-/MIG- UUIDs; '' = CPU
     * only. Unset: the job inherits the worker's environment.
     */
    gpus: z
      .string()
      .regex(
        /^(?:(?:\d+|GPU-[0-9A-Za-z-]+|MIG-[0-9A-Za-z/-]+)(?:,(?:\d+|GPU-[0-9A-Za-z-]+|MIG-[0-9A-Za-z/-]+))*)?$/,
        "must be CUDA_VISIBLE_DEVICES: GPU indices or GPU-/MIG- UUIDs separated by commas (e.g. '0' or '0,1'), or '' for CPU only",
      )
      .optional(),
    timeout: Duration.default('30m'),
  })
  .superRefine((t, ctx) => {
    if (t.backend === 'ray' && !t.ray) {
      ctx.addIssue({ code: 'custom', path: ['ray'], message: 'is required when backend is "ray" (the address of the Ray dashboard at least)' });
    }
    if (t.backend === 'kubernetes' && !t.kubernetes) {
      ctx.addIssue({ code: 'custom', path: ['kubernetes'], message: 'is required when backend is "kubernetes" (namespace and image at least)' });
    }
    if (t.backend !== 'local' && t.passEnv.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['passEnv'],
        message: `applies only to the local backend: a ${t.backend === 'ray' ? 'Ray job' : 'Kubernetes pod'} runs on the cluster, not with the worker's environment (give it its secrets there; plain values go in "env")`,
      });
    }
  });

/**
 * Where the model is served. 'builtin': the built-in registry's aliases; 'kserve': a KServe
 * InferenceService whose predictor is canaried, promoted and rolled back (serverless mode).
 */
export const DeploymentConfig = z
  .strictObject({
    kind: z.enum(['builtin', 'kserve']).default('builtin'),
    kserve: z.strictObject({ namespace: KubernetesName, name: KubernetesName }).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.kind === 'kserve' && !d.kserve) {
      ctx.addIssue({ code: 'custom', path: ['kserve'], message: 'is required when kind is "kserve" (the InferenceService\'s namespace and name)' });
    }
  });
export type DeploymentConfig = z.output<typeof DeploymentConfig>;

/**
 * Where the model's versions, aliases and serving mode live. 'builtin': Vigil's PostgreSQL; 'mlflow':
 * an MLflow Model Registry over its REST API. MLflow credentials come from the environment only
 * (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).
 */
export const RegistryConfig = z
  .strictObject({
    kind: z.enum(['builtin', 'mlflow']).default('builtin'),
    mlflow: z
      .strictObject({
        trackingUri: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL of the MLflow tracking server, such as "http://mlflow:5000"' }),
        /** The registered model's name in MLflow; default: the model's id. */
        registeredModelName: z
          .string()
          .trim()
          .min(1, 'must not be empty')
          .max(256, 'must be at most 256 characters')
          .regex(/^[^/:'"]+$/, 'must not contain "/", ":" or quotes (MLflow refuses "/" and ":")')
          .optional(),
        /** Per-request timeout. */
        timeout: Duration.default('30s'),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.kind === 'mlflow' && !r.mlflow) {
      ctx.addIssue({ code: 'custom', path: ['mlflow'], message: 'is required when kind is "mlflow" (at least { "trackingUri": "http://…" })' });
    }
  });
export type RegistryConfig = z.output<typeof RegistryConfig>;

/**
 * A PostgreSQL name (table, schema or column) exactly as the catalog stores it: case-sensitive, quoted
 * when used (`escapeIdentifier`), so spaces, dots in columns and keywords are safe. A double quote is
 * refused (it is almost always an attempt to quote, which Vigil does itself), and so is a name longer
 * than 63 bytes, which PostgreSQL would truncate into another name.
 */
const SqlName = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `is required (${what})` : `must be a string: ${what}`) })
    .min(1, 'must not be empty')
    .refine((s) => new TextEncoder().encode(s).length <= 63, 'must be at most 63 bytes (PostgreSQL truncates longer names)')
    .refine((s) => !s.includes('\0'), 'must not contain NUL')
    .refine((s) => !s.includes('"'), "must not contain '\"': Vigil quotes names itself; write them as the catalog stores them (Scoring.Fraud Scores)")
    .refine((s) => s.trim() === s, 'must not start or end with spaces (names are used exactly as written)');

/** `table` or `schema.table`. */
const SqlTableName = z.string({ error: 'must be "table" or "schema.table"' }).refine((s) => {
  const parts = s.split('.');
  return parts.length <= 2 && parts.every((p) => SqlName('').safeParse(p).success);
}, 'must be "table" or "schema.table": names as the catalog stores them, unquoted (case-sensitive, at most 63 bytes each); a name containing "." or \'"\' needs "query"');

/** Leading `-- …` and `/* … *\/` comments, which may precede the query's first word. */
const LEADING_SQL_COMMENTS = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/** A query read as a subquery: `SELECT … FROM (<query>) AS src`. */
const SourceQuery = z
  .string({ error: 'must be a SELECT query (a string)' })
  .trim()
  .min(1, { error: 'must not be empty', abort: true })
  .refine(
    (q) => /^\(*\s*(?:select|with|values|table)\b/i.test(q.replace(LEADING_SQL_COMMENTS, '')),
    'must be one SELECT (or WITH … SELECT) query: it is read as a subquery, SELECT … FROM (<query>) AS src',
  )
  .refine((q) => !/;\s*$/.test(q.replace(/--[^\n]*$/, '')), 'must not end with ";": it is read as a subquery, SELECT … FROM (<query>) AS src');

/** The name of the environment variable that holds a secret URL; never the URL. */
const EnvVarName = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? 'is required: the name of the environment variable holding the PostgreSQL URL, such as "FRAUD_DB_URL" (the URL is a secret, never in the config)'
        : 'must be the name of an environment variable (a string)',
  })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    // The value is never repeated: a URL put here by mistake carries its password.
    error: (iss) =>
      typeof iss.input === 'string' && /:\/\/|@/.test(iss.input)
        ? 'must be the NAME of an environment variable holding the URL (such as "FRAUD_DB_URL"), not the URL itself: the URL carries a password and never goes in the config'
        : 'must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "FRAUD_DB_URL")',
  });

/** A task type's prediction column in `source.columns`. */
export const SOURCE_PREDICTION_COLUMN = { binary: 'score', multiclass: 'label', regression: 'value' } as const satisfies Record<TaskType, string>;

/**
 * How the team's table maps onto a prediction: every value names a column of the table (or of the
 * query's result). The prediction is `score` (binary), `label` (multiclass) or `value` (regression).
 */
export const SourceColumns = z.strictObject({
  requestId: SqlName("the column of the request's id"),
  ts: SqlName('the column of when the prediction was made (timestamptz)'),
  modelVersion: SqlName('the column of the model version that answered (an integer)'),
  /** Feature columns by name, or one json/jsonb column holding the features as an object. */
  features: z.union([z.array(SqlName('a feature column')).min(1, 'must name at least one feature column'), SqlName('the features column')], {
    error: (iss) =>
      iss.input === undefined
        ? 'is required: a list of feature columns (["amount", "merchant"]), or the name of one json/jsonb column holding them'
        : 'must be a list of feature columns (["amount", "merchant"]), or the name of one json/jsonb column holding them',
  }),
  /** binary: the score in [0, 1]; predicted positive when ≥ task.threshold. */
  score: SqlName('the score column (binary)').optional(),
  /** multiclass: the predicted class. */
  label: SqlName('the predicted class column (multiclass)').optional(),
  /** regression: the predicted number. */
  value: SqlName('the predicted value column (regression)').optional(),
  /** The true outcome (the label); null until it is known. */
  outcome: SqlName('the column of the true outcome (the label)'),
  /** When the outcome became known; without it, a non-null outcome counts as arrived. */
  labeledAt: SqlName('the column of when the outcome became known').optional(),
});
export type SourceColumns = z.output<typeof SourceColumns>;

/** Predictions and labels read from the team's own PostgreSQL table (or query); Vigil copies nothing. */
export const PostgresSource = z
  .strictObject({
    kind: z.literal('postgres'),
    /** The environment variable holding the database URL (a secret: never in the config, never logged). */
    urlEnv: EnvVarName,
    /** `table` or `schema.table`; or else `query`. */
    table: SqlTableName.optional(),
    /** A SELECT read as `SELECT … FROM (<query>) AS src`; or else `table`. */
    query: SourceQuery.optional(),
    columns: SourceColumns,
  })
  .superRefine((s, ctx) => {
    if (s.table !== undefined && s.query !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['query'], message: 'give exactly one of "table" or "query", not both' });
    } else if (s.table === undefined && s.query === undefined) {
      ctx.addIssue({ code: 'custom', path: ['table'], message: 'exactly one of "table" ("schema.table") or "query" (a SELECT) is required' });
    }
    if (Array.isArray(s.columns.features)) {
      const seen = new Set<string>();
      s.columns.features.forEach((f, i) => {
        if (seen.has(f)) ctx.addIssue({ code: 'custom', path: ['columns', 'features', i], message: `"${f}" is listed twice` });
        seen.add(f);
      });
    }
  });
export type PostgresSource = z.output<typeof PostgresSource>;

/**
 * Where a model's predictions and labels come from. 'ingest' (default): Vigil's own prediction log, fed
 * over HTTP (or by the example's simulator); 'postgres': the team's own table, read in place.
 */
export const PredictionSource = z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('ingest') }), PostgresSource], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? 'kind must be "ingest" (predictions sent to Vigil over HTTP, the default) or "postgres" (read from the team\'s own table)'
      : undefined,
});
export type PredictionSource = z.output<typeof PredictionSource>;

/** PagerDuty's Events API v2 endpoint (the EU service region's is https://events.eu.pagerduty.com/v2/enqueue). */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** The name of the environment variable holding a PagerDuty routing key; never the key. */
const RoutingKeyEnvName = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? 'is required: the name of the environment variable holding the PagerDuty routing key, such as "VIGIL_PD_ROUTING_KEY_FRAUD" (the key is a secret, never in the config)'
        : 'must be the name of an environment variable (a string)',
  })
  // The value is never repeated in a message: a routing key pasted here by mistake is a secret.
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "VIGIL_PD_ROUTING_KEY_FRAUD")',
  )
  .refine(
    (s) => !(/^[A-Za-z0-9]{32}$/.test(s) && /\d/.test(s)),
    'looks like a routing key: give the NAME of the environment variable holding it (such as "VIGIL_PD_ROUTING_KEY_FRAUD"); the key never goes in the config',
  );

/**
 * An escalation target that pages through PagerDuty (Events API v2): a trigger when the incident is
 * escalated, a resolve when it closes. The routing key comes from the environment variable named here.
 */
export const PagerDutyTarget = z.strictObject({
  pagerduty: z.strictObject(
    {
      routingKeyEnv: RoutingKeyEnvName,
      url: z
        .url({ protocol: /^https?$/, error: `must be the http(s) URL of the Events API v2 endpoint, such as "${PAGERDUTY_EVENTS_URL}"` })
        .default(PAGERDUTY_EVENTS_URL),
    },
    { error: (iss) => (iss.input === undefined ? 'is required: { "routingKeyEnv": "VIGIL_PD_ROUTING_KEY_…" }' : undefined) },
  ),
});
export type PagerDutyTarget = z.output<typeof PagerDutyTarget>;

/**
 * One entry of `escalation`: a Slack mention or name (a string), or a PagerDuty target. zod reports an
 * object that fails both as one "Invalid input" at the entry, so its message says what is wrong inside.
 */
export const EscalationTarget = z.union([z.string().min(1), PagerDutyTarget], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return undefined;
    const input = iss.input;
    if (!input || typeof input !== 'object' || Array.isArray(input) || !('errors' in iss)) {
      return 'must be a Slack mention or name (a string), or { "pagerduty": { "routingKeyEnv": "VIGIL_PD_ROUTING_KEY_…" } }';
    }
    // The issues of the second branch, the PagerDuty target.
    const inside = (iss.errors as { path: PropertyKey[]; code: string; message: string; keys?: string[] }[][])[1] ?? [];
    // A misspelt key first: the field it leaves missing follows from it.
    return [...inside]
      .sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'))
      .flatMap((i) => {
        const at = i.path.map(String).join('.');
        const messages =
          i.code === 'unrecognized_keys' && i.keys
            ? i.keys.map((k) => {
                const meant = closestKey(k, Object.keys(at ? PagerDutyTarget.shape.pagerduty.shape : PagerDutyTarget.shape));
                return `unknown key "${k}"${meant !== undefined ? ` (did you mean "${meant}"?)` : ''}`;
              })
            : [i.message];
        return messages.map((m) => (at ? `${at}: ${m}` : m));
      })
      .join('; ');
  },
});
export type EscalationTarget = z.output<typeof EscalationTarget>;

export const ModelConfig = z
  .strictObject({
    id: ModelId,
    displayName: z.string().min(1),
    tier: ModelTier,
    /**
     * Who may decide: people (`alice`, see `people`), groups of people (`group:ml-leads`, members read when
     * approval is requested), Slack user ids (U…/W…), Slack user groups (S…), and `$USER` (the local
     * stack's operator). A name not in `people` is a person of its own.
     */
    approvers: z.array(z.string().min(1)).min(1, 'at least one approver is required'),
    /** Approvers for a severity instead of `approvers` (e.g. SEV1 needs the leads). */
    approversBySeverity: z.partialRecord(Severity, z.array(z.string().min(1)).min(1, 'at least one approver is required')).default({}),
    /** What the model predicts (binary, multiclass, regression); the example is binary. */
    task: TaskConfig.prefault({ type: 'binary' }),
    slack: ModelSlackConfig.optional(),
    /**
     * Who is told when nobody decides in time: Slack mentions or names (strings), and PagerDuty targets
     * (`{ "pagerduty": { "routingKeyEnv": "…" } }`), which page.
     */
    escalation: z.array(EscalationTarget).default([]),
    /** Runs the example trainer and traffic simulator for this model. */
    example: z.boolean().default(false),
    monitor: MonitorConfig.prefault({}),
    /** The model's declared inputs; without it, the champion's features are taken as required numbers. */
    inputSchema: InputSchema.optional(),
    drift: DriftConfig.prefault({}),
    training: TrainingConfig.prefault({}),
    deployment: DeploymentConfig.prefault({}),
    registry: RegistryConfig.prefault({}),
    /**
     * Per failure mode: overrides merged over the shipped runbook's policy (validated, strictly, by
     * `runbooksFor`), and optionally `use` — the name of a team's runbook (config `runbooks.path`) to run
     * instead of the standard one — with its `params` (checked by that runbook's schema at start).
     */
    runbooks: z.partialRecord(FailureMode, z.record(z.string(), z.unknown())).default({}),
    /** Alertmanager `alertname` → signal, for alerts that carry no `signal` label. */
    alerts: z.record(z.string().min(1), SignalKind).default({}),
    /** Health checks against Prometheus; evaluated by the monitor. */
    health: HealthConfig.optional(),
    /** Where predictions and labels come from: Vigil's own log (ingested over HTTP), or the team's own table. */
    source: PredictionSource.prefault({ kind: 'ingest' }),
  })
  .superRefine((m, ctx) => {
    for (const issue of sourceIssues(m)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type ModelConfig = z.output<typeof ModelConfig>;

/** What a postgres source cannot do for this model (paths relative to the model). */
function sourceIssues(m: { task: TaskConfig; example: boolean; source: PredictionSource }): { path: (string | number)[]; message: string }[] {
  const source = m.source;
  if (source.kind !== 'postgres') return [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const type = m.task.type;
  const needed = SOURCE_PREDICTION_COLUMN[type];
  const list = Object.entries(SOURCE_PREDICTION_COLUMN)
    .map(([t, c]) => `${t}: "${c}"`)
    .join(', ');
  if (source.columns[needed] === undefined) {
    issues.push({
      path: ['source', 'columns', needed],
      message: `is required: the model is ${type}, its prediction is read from the "${needed}" column (${list})`,
    });
  }
  for (const other of Object.values(SOURCE_PREDICTION_COLUMN)) {
    if (other !== needed && source.columns[other] !== undefined) {
      issues.push({ path: ['source', 'columns', other], message: `does not apply: the model is ${type}, its prediction is read from "${needed}" (${list})` });
    }
  }
  if (m.example) {
    issues.push({
      path: ['source'],
      message: 'an example model\'s traffic is simulated into Vigil\'s own prediction log: use source.kind "ingest" (or "example": false)',
    });
  }
  return issues;
}

export const ExampleConfig = z.strictObject({
  /** Seconds of healthy traffic before the simulator's inputs start to drift. */
  driftAfterSeconds: z.number().min(0).default(45),
  requestsPerSecond: z.number().positive().default(40),
  /** Label delay for the simulated feedback loop. */
  labelDelaySeconds: z.number().min(0).default(2),
});

/**
 * Prediction and label ingestion over HTTP (`POST /v1/models/{model}/predictions`, `/labels`): how long
 * a label may wait for its prediction, and the bounds that keep the write path's memory flat.
 */
export const IngestConfig = z.strictObject({
  /** A label whose prediction has not arrived is kept this long (from when it was received), then dropped. */
  labelGrace: Duration.default('24h'),
  /** Largest request body; beyond it the answer is 413. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Most rows (predictions or labels) in one request; beyond it the answer is 413. */
  maxRowsPerRequest: z.number().int().min(1).default(10_000),
  /** Ingestion requests handled at once (each holds one database connection); beyond it the answer is 429 with Retry-After. */
  maxInFlight: z.number().int().min(1).default(8),
});
export type IngestConfig = z.output<typeof IngestConfig>;

/**
 * OpenID Connect: a Bearer JWT signed by the issuer's keys (its JWKS, found from the issuer's discovery
 * document unless `jwksUrl` names it), for `audience`; its `userClaim` names the person (an id, or an
 * email or Slack id listed in `people`).
 */
export const OidcConfig = z.strictObject({
  issuer: z.url(),
  audience: z.string().min(1),
  jwksUrl: z.url().optional(),
  userClaim: z.string().min(1),
});
export type OidcConfig = z.output<typeof OidcConfig>;

export const AuthConfig = z.strictObject({
  oidc: OidcConfig.optional(),
});

export const VigilConfig = z
  .strictObject({
    /** The JSON Schema the file declares for editor completion (`vigil config schema`). */
    $schema: z.string().optional(),
    stateDir: z.string().default('.vigil'),
    taskQueue: z.string().min(1).default('vigil'),
    models: z.array(ModelConfig).min(1, 'at least one model is required'),
    example: ExampleConfig.prefault({}),
    prometheus: PrometheusConfig.optional(),
    slack: SlackConfig.prefault({}),
    ingest: IngestConfig.prefault({}),
    /** Teams' own runbooks: a folder of TypeScript files bundled into the worker (relative to the config file). */
    runbooks: z
      .strictObject({
        path: z.string().min(1).optional(),
      })
      .prefault({}),
    /**
     * The people who decide, under each of their names (CLI / API id, Slack id, email) and with their groups:
     * quorum counts people, and approver lists may name `group:<name>`.
     */
    people: People.default([]),
    /** How the decision API (`POST /v1/incidents/{id}/decisions`) knows who calls: Vigil's own tokens, and OIDC. */
    auth: AuthConfig.prefault({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.models.forEach((m, i) => {
      if (seen.has(m.id)) ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate model id "${m.id}"` });
      seen.add(m.id);
      const lists: [(string | number)[], string[]][] = [
        [['approvers'], m.approvers],
        ...Object.entries(m.approversBySeverity).map(([sev, list]): [(string | number)[], string[]] => [['approversBySeverity', sev], list ?? []]),
      ];
      for (const [path, list] of lists) {
        for (const group of unknownGroups(c.people, list)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, ...path, list.indexOf(group)],
            message: `no person is in group "${group.slice(GROUP_PREFIX.length)}" (people[].groups)`,
          });
        }
      }
    });
  });
export type VigilConfig = z.output<typeof VigilConfig>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`invalid config ${source}:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
  }
}

/** zod's own message for unknown keys; a schema with its own (e.g. HealthConfig's) keeps that one. */
const ZOD_UNRECOGNIZED_KEYS = /^Unrecognized keys?: /;

/**
 * zod's issues as `{ path, message }`. An unknown key (strict objects) becomes one issue per key at the
 * object's path, `unknown key "psiTreshold" (did you mean "psiThreshold"?)`; the suggestion needs the
 * schema that was parsed, to find the keys known at that path.
 */
export function formatZodIssues(error: z.ZodError, schema?: z.core.$ZodType): { path: string; message: string }[] {
  return error.issues.flatMap((i) => {
    const path = zodIssuePath(i.path);
    // A refused record key: say why (its key schema's message), not only "Invalid key in record".
    if (i.code === 'invalid_key') return [{ path, message: i.issues[0]?.message ?? i.message }];
    if (i.code !== 'unrecognized_keys' || !ZOD_UNRECOGNIZED_KEYS.test(i.message)) return [{ path, message: i.message }];
    const known = schema ? knownKeysAt(schema, i.path) : undefined;
    return i.keys.map((key) => {
      const meant = known && closestKey(key, known);
      return { path, message: `unknown key "${key}"${meant !== undefined ? ` (did you mean "${meant}"?)` : ''}` };
    });
  });
}

/** An issue's path as `alerts.3.labels.alertname`; a key longer than 64 characters is shortened (a refused key is not echoed whole). */
export function zodIssuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => {
      const s = String(p);
      return s.length > 64 ? `${s.slice(0, 40)}…` : s;
    })
    .join('.');
}

/**
 * The known key that `unknown` is most likely a typo of: one equal but for case, else the nearest within
 * an edit distance of 2 (the first such in `known` on a tie); undefined when none is that close.
 */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  const sameButCase = known.find((k) => k.toLowerCase() === lower);
  if (sameButCase !== undefined) return sameButCase;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = levenshtein(unknown, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The parts of zod's schema definitions that lead from a schema to the one at a path inside it. */
interface WalkableDef {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  items?: z.core.$ZodType[];
  rest?: z.core.$ZodType | null;
  options?: readonly z.core.$ZodType[];
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
}

/** The keys of the object schema at `path` inside `schema` (as its input is shaped); undefined when there is none. */
function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const def = schema._zod.def as unknown as WalkableDef;
  const [head, ...rest] = path;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'nonoptional':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
      return def.innerType && knownKeysAt(def.innerType, path);
    case 'pipe': // transforms, preprocess: the input side holds the keys the file may use
      return def.in && knownKeysAt(def.in, path);
    case 'lazy':
      return def.getter && knownKeysAt(def.getter(), path);
    case 'object':
      if (!path.length) return Object.keys(def.shape ?? {});
      return typeof head === 'string' && def.shape && Object.hasOwn(def.shape, head) ? knownKeysAt(def.shape[head]!, rest) : undefined;
    case 'array':
      return path.length && def.element ? knownKeysAt(def.element, rest) : undefined;
    case 'tuple': {
      const item = typeof head === 'number' ? (def.items?.[head] ?? def.rest ?? undefined) : undefined;
      return item ? knownKeysAt(item, rest) : undefined;
    }
    case 'record':
      return path.length && def.valueType ? knownKeysAt(def.valueType, rest) : undefined;
    case 'union':
    case 'intersection': {
      const branches = def.type === 'union' ? (def.options ?? []) : [def.left, def.right].filter((b) => b !== undefined);
      const keys = branches.flatMap((b) => knownKeysAt(b, path) ?? []);
      return keys.length ? [...new Set(keys)] : undefined;
    }
    default:
      return undefined;
  }
}

/** Validates raw config; throws ConfigError naming each bad field. */
export function parseConfig(raw: unknown, source = '(built-in example)'): VigilConfig {
  const prototypeKeys = prototypeKeyIssues(raw);
  if (prototypeKeys.length) throw new ConfigError(source, prototypeKeys);
  const result = VigilConfig.safeParse(raw);
  if (!result.success) throw new ConfigError(source, formatZodIssues(result.error, VigilConfig));
  const config = result.data;
  // Runbook overrides are validated now, not when an incident opens.
  const issues: { path: string; message: string }[] = [];
  for (const [i, model] of config.models.entries()) {
    const inRunbooks = (x: { path: string; message: string }) => ({ ...x, path: `models.${i}.runbooks.${x.path}` });
    issues.push(...runbookChoiceIssues(model).map(inRunbooks));
    let runbooks: Runbooks;
    try {
      runbooks = runbooksFor(model);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues.map(inRunbooks));
      continue;
    }
    if (model.deployment.kind === 'kserve') issues.push(...kserveRunbookIssues(runbooks).map(inRunbooks));
    if (model.source.kind === 'postgres') issues.push(...sourceRunbookIssues(runbooks).map(inRunbooks));
  }
  if (issues.length) throw new ConfigError(source, issues);
  return config;
}

/**
 * What a KServe InferenceService cannot do, among the choices a model's runbooks may make (paths relative
 * to `runbooks`): a shadow canary (its canary answers its share of the traffic), and a fallback (Vigil's
 * KServe adapter has no rules-based default to serve).
 */
function kserveRunbookIssues(runbooks: Runbooks): { path: string; message: string }[] {
  const noFallback = 'needs a deployment target that serves a fallback; deployment.kind "kserve" has none';
  return FAILURE_MODES.flatMap((m) => {
    const rb = runbooks[m];
    const issues: { path: string; message: string }[] = [];
    if (rb.retrain.canary.enabled && rb.retrain.canary.mode === 'shadow') {
      issues.push({
        path: `${m}.retrain.canary.mode`,
        message: 'a KServe InferenceService canary answers its share of the traffic and has no shadow mode: use "split"',
      });
    }
    if (rb.actions.includes('fallback')) {
      issues.push({ path: `${m}.actions`, message: `"fallback" ${noFallback}: remove it from the actions, or use the builtin target` });
    }
    if (rb.safeDefault === 'fallback') {
      issues.push({ path: `${m}.safeDefault`, message: `"fallback" ${noFallback}: choose "monitor" or "escalate_upstream", or use the builtin target` });
    }
    if (rb.degrade.whileAwaitingApproval) {
      issues.push({
        path: `${m}.degrade.whileAwaitingApproval`,
        message: `serving the fallback while awaiting approval ${noFallback}: set it to false, or use the builtin target`,
      });
    }
    return issues;
  });
}

/**
 * What a model read from its own table cannot do (paths relative to `runbooks`): a shadow canary, whose
 * answers are logged to Vigil's own `shadow_predictions` — the team's table has no shadows to judge.
 */
function sourceRunbookIssues(runbooks: Runbooks): { path: string; message: string }[] {
  return FAILURE_MODES.flatMap((m) =>
    runbooks[m].retrain.canary.enabled && runbooks[m].retrain.canary.mode === 'shadow'
      ? [
          {
            path: `${m}.retrain.canary.mode`,
            message:
              'a shadow canary is judged on shadow answers logged in Vigil; source.kind "postgres" reads the model\'s own table, which has none: use "split"',
          },
        ]
      : [],
  );
}

/** The keys of a model's per-mode runbook entry that choose a team's runbook rather than tune the policy. */
const RUNBOOK_CHOICE_KEYS = ['use', 'params'] as const;

/** Which failure modes run a team's runbook (`use`), with the params as configured (the runbook's schema checks them). */
export function customRunbooksFor(model: ModelConfig): Partial<Record<FailureMode, { name: string; params: Record<string, unknown> }>> {
  const out: Partial<Record<FailureMode, { name: string; params: Record<string, unknown> }>> = {};
  for (const mode of FAILURE_MODES) {
    const entry = (model.runbooks[mode] ?? {}) as Record<string, unknown>;
    if (typeof entry.use === 'string') out[mode] = { name: entry.use, params: (entry.params ?? {}) as Record<string, unknown> };
  }
  return out;
}

/** `use` and `params` of each per-mode entry: a name, and an object. */
function runbookChoiceIssues(model: ModelConfig): { path: string; message: string }[] {
  return FAILURE_MODES.flatMap((mode) => {
    const entry = (model.runbooks[mode] ?? {}) as Record<string, unknown>;
    const issues: { path: string; message: string }[] = [];
    if (entry.use !== undefined && (typeof entry.use !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(entry.use))) {
      issues.push({ path: `${mode}.use`, message: 'must be a runbook name: lowercase letters, digits, . _ -' });
    }
    if (entry.params !== undefined && (typeof entry.params !== 'object' || entry.params === null || Array.isArray(entry.params))) {
      issues.push({ path: `${mode}.params`, message: 'must be an object' });
    }
    if (entry.params !== undefined && entry.use === undefined) issues.push({ path: `${mode}.params`, message: 'params need `use`: the runbook they are for' });
    return issues;
  });
}

/** The model's runbooks: shipped defaults with its overrides merged in, validated. */
export function runbooksFor(model: ModelConfig): Runbooks {
  const out = {} as Runbooks;
  for (const mode of FAILURE_MODES) {
    const base = DEFAULT_RUNBOOKS[mode];
    const override = Object.fromEntries(
      Object.entries((model.runbooks[mode] ?? {}) as Record<string, unknown>).filter(([k]) => !(RUNBOOK_CHOICE_KEYS as readonly string[]).includes(k)),
    );
    const merged = deepMerge(base as Record<string, unknown>, override);
    const parsed = RunbookPolicy.safeParse(merged);
    if (!parsed.success) {
      throw new ConfigError(
        'runbook',
        formatZodIssues(parsed.error, RunbookPolicy).map((i) => ({ ...i, path: `${mode}${i.path ? '.' + i.path : ''}` })),
      );
    }
    out[mode] = parsed.data;
  }
  return out;
}

export function findModel(config: VigilConfig, id: string): ModelConfig | undefined {
  return config.models.find((m) => m.id === id);
}

/**
 * The signal the model's `alerts` maps an Alertmanager alert name to. Own keys only: an alert named
 * "toString" or "constructor" must not find Object.prototype's members.
 */
export function signalForAlertname(model: ModelConfig, alertname: string): SignalKind | undefined {
  return ownValue(model.alerts, alertname);
}

/**
 * What the workflow is told about the model. Approver lists go as written: groups and `$USER` are
 * resolved by the worker when approval is requested (adapters/notify/peopleNotifier.ts), never here, where
 * `$USER` would be whoever opened the incident (an alert, a monitor, anyone with `vigil incident open`).
 * `$USER` in `escalation` is only a mention, and stays the opener.
 */
export function modelRef(model: ModelConfig, user = localUser()): ModelRef {
  const dedupe = (list: string[]) => [...new Set(list)];
  const resolve = (list: string[]) => dedupe(list.map((a) => (a === LOCAL_USER_PLACEHOLDER ? user : a)));
  const bySeverity = Object.entries(model.approversBySeverity ?? {}).filter((e): e is [Severity, string[]] => Array.isArray(e[1]));
  return {
    id: model.id,
    displayName: model.displayName,
    tier: model.tier,
    approvers: dedupe(model.approvers),
    // Only the Slack mentions and names: PagerDuty targets are the worker's, and never enter an incident's input.
    escalation: resolve(model.escalation.filter((e): e is string => typeof e === 'string')),
    // Only when configured: an incident's input stays what it was for models without them.
    ...(bySeverity.length ? { approversBySeverity: Object.fromEntries(bySeverity.map(([sev, list]) => [sev, dedupe(list)])) } : {}),
    ...(model.slack ? { slackChannel: model.slack.channel } : {}),
  };
}

/**
 * Every `"__proto__"` key in a parsed file: zod drops it without a word (the setting would be silently
 * ignored), and copied onto an object it would replace that object's prototype (runbook overrides are
 * merged over the shipped policy).
 */
function prototypeKeyIssues(raw: unknown): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const pending: { value: unknown; path: string[] }[] = [{ value: raw, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (key === '__proto__') issues.push({ path: zodIssuePath([...path, key]), message: 'is not allowed as a key' });
      else pending.push({ value: child, path: [...path, key] });
    }
  }
  return issues;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = ownValue(out, k);
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
