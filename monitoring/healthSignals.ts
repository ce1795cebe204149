/**
 * A model's health checks against Prometheus: each configured PromQL query is evaluated, its worst
 * series compared with the threshold. One check failing (bad PromQL, Prometheus down) never stops the
 * others; it is reported as status `error`. No series and all-NaN results are reported as such, never
 * as breaches: no data is not evidence of a problem, and NaN is usually 0/0 (no traffic).
 */
import type { InstantResult, Labels, PrometheusClient, RangeSeries } from '../adapters/prometheus/prometheusClient.js';
import { HEALTH_METRIC_SIGNALS, HEALTH_METRICS, type HealthCheck, type HealthMetric, type ModelConfig } from '../domain/config.js';
import type { SignalKind } from '../domain/incident.js';
import { durationMs } from '../domain/runbook.js';

export type HealthStatus = 'ok' | 'breach' | 'no_data' | 'nan' | 'error';

export interface HealthCheckResult {
  metric: HealthMetric;
  signal: SignalKind;
  query: string;
  status: HealthStatus;
  /** The worst series' value (its latest value under `for`); absent for no_data, nan and error. */
  value?: number;
  threshold: number;
  direction: 'above' | 'below';
  /** The `for` window, when the check has one. */
  for?: string;
  /** Labels of the worst series. */
  series?: Labels;
  message: string;
}

export interface HealthReport {
  checks: HealthCheckResult[];
  breaches: HealthCheckResult[];
}

export const NO_PROMETHEUS_MESSAGE = 'no Prometheus configured (set prometheus.url or PROMETHEUS_URL)';

/** How each metric reads in a sentence. */
const DESCRIBE: Record<HealthMetric, { name: string; unit: string }> = {
  latency_p99_ms: { name: 'p99 latency', unit: ' ms' },
  error_rate: { name: 'error rate', unit: '' },
  gpu_memory_util: { name: 'GPU memory utilisation', unit: '' },
  queue_depth: { name: 'queue depth', unit: '' },
  upstream_error_rate: { name: 'upstream error rate', unit: '' },
  prediction_confidence: { name: 'prediction confidence', unit: '' },
};

/** Points a `for` window is sampled at. */
const WINDOW_POINTS = 30;

export async function computeHealthSignals(
  deps: { prometheus?: PrometheusClient },
  model: Pick<ModelConfig, 'health'>,
  opts: { now?: Date } = {},
): Promise<HealthReport> {
  const health = model.health;
  if (!health) return { checks: [], breaches: [] };
  const configured = HEALTH_METRICS.flatMap((metric) => (health[metric] ? [{ metric, check: health[metric] }] : []));
  const checks = await Promise.all(
    configured.map(async ({ metric, check }) => {
      const base = baseResult(metric, check);
      if (!deps.prometheus) return { ...base, status: 'error' as const, message: `${DESCRIBE[metric].name}: ${NO_PROMETHEUS_MESSAGE}` };
      try {
        return await evaluate(deps.prometheus, base, check, opts.now);
      } catch (err) {
        return { ...base, status: 'error' as const, message: `${DESCRIBE[metric].name}: ${err instanceof Error ? err.message : String(err)}` };
      }
    }),
  );
  return { checks, breaches: checks.filter((c) => c.status === 'breach') };
}

/**
 * A check that gave no verdict — no data, only NaN, or an error (Prometheus unreachable or timed out,
 * a refused query): it says nothing about health, so it is unknown, never ok.
 */
export function isUnknownHealth(c: Pick<HealthCheckResult, 'status'>): boolean {
  return c.status === 'no_data' || c.status === 'nan' || c.status === 'error';
}

/** Why a check gave no verdict, naming it: "error rate: no data for <query>", or its error (e.g. Prometheus unavailable). */
export function unknownHealthNote(c: HealthCheckResult): string {
  const name = DESCRIBE[c.metric].name;
  if (c.status === 'no_data') return `${name}: no data for ${c.query}`;
  if (c.status === 'nan') return `${name}: only NaN for ${c.query} (no traffic: 0/0?)`;
  return c.message;
}

/**
 * Evidence for the incident: each finite value under its metric name (the classifier reads these), and
 * which metrics had no data, only NaN, or could not be evaluated.
 */
export function healthAsEvidence(report: HealthReport): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const c of report.checks) if (c.value !== undefined && Number.isFinite(c.value)) out[c.metric] = round4(c.value);
  const list = (status: HealthStatus) => report.checks.filter((c) => c.status === status).map((c) => c.metric);
  for (const [key, status] of [
    ['health_no_data', 'no_data'],
    ['health_nan', 'nan'],
    ['health_errors', 'error'],
  ] as const) {
    const metrics = list(status);
    if (metrics.length) out[key] = metrics.join(',');
  }
  return out;
}

type Base = Omit<HealthCheckResult, 'status' | 'message'>;

function baseResult(metric: HealthMetric, check: HealthCheck): Base {
  const direction = check.above !== undefined ? 'above' : 'below';
  return {
    metric,
    signal: HEALTH_METRIC_SIGNALS[metric],
    query: check.query,
    threshold: (check.above ?? check.below)!,
    direction,
    ...(check.for ? { for: check.for } : {}),
  };
}

async function evaluate(prometheus: PrometheusClient, base: Base, check: HealthCheck, now?: Date): Promise<HealthCheckResult> {
  const windowMs = check.for ? durationMs(check.for) : 0;
  if (windowMs <= 0) return evaluateInstant(base, await prometheus.query(check.query, now));
  const end = now ?? new Date();
  const start = new Date(end.getTime() - windowMs);
  const stepSeconds = Math.max(1, Math.round(windowMs / WINDOW_POINTS) / 1000);
  const result = await prometheus.queryRange(check.query, { start, end, stepSeconds });
  return evaluateWindow(base, result.series, start.getTime() / 1000, stepSeconds);
}

function evaluateInstant(base: Base, result: InstantResult): HealthCheckResult {
  let series: { labels: Labels; value: number }[];
  switch (result.resultType) {
    case 'vector':
      series = result.series.map((s) => ({ labels: s.labels, value: s.sample.value }));
      break;
    case 'scalar':
      series = [{ labels: {}, value: result.sample.value }];
      break;
    case 'matrix':
      // A range selector (`x[5m]`) at an instant: each series' latest sample is its current value.
      series = result.series.flatMap((s) => (s.samples.length ? [{ labels: s.labels, value: s.samples.at(-1)!.value }] : []));
      break;
    case 'string':
      return { ...base, status: 'error', message: `${describe(base)}: the query returns a string, not a number` };
  }
  if (series.length === 0) return noData(base);
  const numeric = series.filter((s) => !Number.isNaN(s.value));
  if (numeric.length === 0) return allNaN(base, series.length);
  const worst = numeric.reduce((w, s) => (worse(base, s.value, w.value) ? s : w));
  const breach = breaches(base, worst.value);
  return {
    ...base,
    status: breach ? 'breach' : 'ok',
    value: worst.value,
    series: worst.labels,
    message: `${describe(base)} ${fmt(base, worst.value)} ${breach ? op(base) : notOp(base)} ${fmt(base, base.threshold)}${on(worst.labels, numeric.length)}`,
  };
}

/**
 * `for`: a breach only if some series breached at every non-NaN point and covers the whole window
 * (its first point within one step of the start), like an alerting rule's `for`.
 */
function evaluateWindow(base: Base, series: RangeSeries[], startSeconds: number, stepSeconds: number): HealthCheckResult {
  if (series.length === 0) return noData(base);
  const summaries = series.flatMap((s) => {
    const points = s.samples.filter((p) => !Number.isNaN(p.value));
    if (points.length === 0) return [];
    // The least alarming point: the series breached throughout exactly when this one breaches.
    const sustained = points.reduce((m, p) => (worse(base, m, p.value) ? p.value : m), points[0]!.value);
    const covers = s.samples[0]!.time <= startSeconds + stepSeconds + 1e-3;
    return [{ labels: s.labels, latest: points.at(-1)!.value, sustained, covers, firstTime: s.samples[0]!.time }];
  });
  if (summaries.length === 0) return allNaN(base, series.length);

  const sustainedBreaches = summaries.filter((s) => s.covers && breaches(base, s.sustained));
  if (sustainedBreaches.length > 0) {
    const worst = sustainedBreaches.reduce((w, s) => (worse(base, s.sustained, w.sustained) ? s : w));
    return {
      ...base,
      status: 'breach',
      value: worst.latest,
      series: worst.labels,
      message:
        `${describe(base)} ${fmt(base, worst.latest)} ${op(base)} ${fmt(base, base.threshold)} for ${base.for}` +
        `${on(worst.labels, summaries.length)} (${base.direction === 'above' ? 'lowest' : 'highest'} in the window ${fmt(base, worst.sustained)})`,
    };
  }

  const worst = summaries.reduce((w, s) => (worse(base, s.latest, w.latest) ? s : w));
  let why = '';
  if (breaches(base, worst.latest)) {
    why = worst.covers
      ? `, but not throughout the last ${base.for} (it was ${fmt(base, worst.sustained)} in the window)`
      : `, but the series only has data for the last ${Math.round(startSeconds + durationMs(base.for!) / 1000 - worst.firstTime)} s of ${base.for}`;
  }
  return {
    ...base,
    status: 'ok',
    value: worst.latest,
    series: worst.labels,
    message: `${describe(base)} ${fmt(base, worst.latest)} ${breaches(base, worst.latest) ? op(base) : notOp(base)} ${fmt(base, base.threshold)}${on(worst.labels, summaries.length)}${why}`,
  };
}

function noData(base: Base): HealthCheckResult {
  return { ...base, status: 'no_data', message: `${describe(base)}: the query returned no series (is the metric exported and scraped?)` };
}

function allNaN(base: Base, count: number): HealthCheckResult {
  const what = count === 1 ? 'the query returned NaN' : `all ${count} series returned NaN`;
  return { ...base, status: 'nan', message: `${describe(base)}: ${what} (no traffic: 0/0?)` };
}

function breaches(base: Base, value: number): boolean {
  return base.direction === 'above' ? value > base.threshold : value < base.threshold;
}

/** Whether `a` is further towards a breach than `b`. */
function worse(base: Base, a: number, b: number): boolean {
  return base.direction === 'above' ? a > b : a < b;
}

function describe(base: Base): string {
  return DESCRIBE[base.metric].name;
}

function op(base: Base): string {
  return base.direction === 'above' ? '>' : '<';
}

function notOp(base: Base): string {
  return base.direction === 'above' ? '<=' : '>=';
}

function fmt(base: Base, v: number): string {
  const text = Number.isFinite(v) ? String(round4(v)) : v > 0 ? '+Inf' : '-Inf';
  return `${text}${DESCRIBE[base.metric].unit}`;
}

function on(labels: Labels, seriesCount: number): string {
  // Prometheus notation: `name{label="value", …}`.
  const { __name__: name, ...rest } = labels;
  const entries = Object.entries(rest);
  const where = name || entries.length ? ` on ${name ?? ''}{${entries.map(([k, v]) => `${k}="${v}"`).join(', ')}}` : '';
  return seriesCount > 1 ? `${where} (worst of ${seriesCount} series)` : where;
}

/** 4 significant digits; whole numbers from 10 000 up stay whole (a queue depth of 123456 is not 123500). */
export function round4(v: number): number {
  return Math.abs(v) >= 10_000 ? Math.round(v) : Number(v.toPrecision(4));
}
