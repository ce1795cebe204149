/**
 * Reads Prometheus over its HTTP API (`/api/v1/query`, `/api/v1/query_range`). Queries are POSTed
 * form-encoded so long PromQL stays out of URLs (and out of proxy access logs). Sample values are
 * parsed to numbers, Prometheus's "NaN", "+Inf" and "-Inf" included.
 */
import type { VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { durationMs } from '../../domain/runbook.js';
import { PrometheusApiError, PrometheusResponseError, PrometheusUnavailableError } from './prometheusErrors.js';
import { redactUrl } from '../net/redactUrl.js';

export type Labels = Record<string, string>;
/** One sample: `time` in Unix seconds (fractional), `value` possibly NaN or ±Infinity. */
export interface Sample {
  time: number;
  value: number;
}
export interface InstantSeries {
  labels: Labels;
  sample: Sample;
}
export interface RangeSeries {
  labels: Labels;
  samples: Sample[];
}

/** An instant query's answer, by the expression's type (a range selector such as `x[5m]` gives a matrix). */
export type InstantData =
  | { resultType: 'vector'; series: InstantSeries[] }
  | { resultType: 'matrix'; series: RangeSeries[] }
  | { resultType: 'scalar'; sample: Sample }
  | { resultType: 'string'; time: number; value: string };
export type InstantResult = InstantData & { warnings: string[] };

export interface RangeResult {
  resultType: 'matrix';
  series: RangeSeries[];
  warnings: string[];
}

export interface PrometheusClient {
  /** Base URL with any credentials masked, for messages. */
  readonly url: string;
  query(promql: string, at?: Date): Promise<InstantResult>;
  queryRange(promql: string, range: { start: Date; end: Date; stepSeconds: number }): Promise<RangeResult>;
}

export interface PrometheusClientOptions {
  /** Base URL of the API, e.g. `http://prometheus:9090` or `https://user:pass@host/prometheus`. */
  url: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export function createPrometheusClient(opts: PrometheusClientOptions): PrometheusClient {
  const shown = redactUrl(opts.url);
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new Error(`Prometheus URL ${shown} is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`Prometheus URL ${shown} must be http or https`);
  }
  // fetch refuses URLs with credentials: they travel as a Basic Authorization header instead.
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (base.username || base.password) {
    const user = decodeURIComponent(base.username);
    const pass = decodeURIComponent(base.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  const root = base.toString().replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  // Prometheus stops evaluating at its own `timeout` too, so a slow query does not keep running there.
  const serverTimeout = `${Math.max(1, Math.floor(opts.timeoutMs / 1000))}s`;

  async function call(endpoint: string, params: Record<string, string>, promql: string): Promise<{ data: unknown; warnings: string[] }> {
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${root}${endpoint}`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ ...params, timeout: serverTimeout }).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${opts.timeoutMs / 1000} s` : networkReason(e);
      throw new PrometheusUnavailableError(shown, reason, { cause: err });
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      if (res.status >= 500) throw new PrometheusUnavailableError(shown, `HTTP ${res.status} ${res.statusText} (not an API answer)`);
      if (res.status === 401 || res.status === 403) {
        throw new PrometheusResponseError(
          shown,
          endpoint,
          `HTTP ${res.status}: credentials missing or refused (give them in the URL as https://user:password@host)`,
        );
      }
      throw new PrometheusResponseError(shown, endpoint, `HTTP ${res.status}, not JSON: ${snippet(text)}`);
    }
    if (!isObject(body)) throw new PrometheusResponseError(shown, endpoint, `HTTP ${res.status}, not a JSON object`);
    if (body.status === 'error') {
      throw new PrometheusApiError(res.status, String(body.errorType ?? 'unknown'), String(body.error ?? '(no message)'), promql);
    }
    if (body.status !== 'success') {
      throw new PrometheusResponseError(shown, endpoint, `HTTP ${res.status}, status is ${JSON.stringify(body.status)}`);
    }
    const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
    return { data: body.data, warnings };
  }

  const parser = (endpoint: string) => new ResultParser(shown, endpoint);

  return {
    url: shown,
    async query(promql, at) {
      const params: Record<string, string> = { query: promql };
      if (at) params.time = unixSeconds(at);
      const { data, warnings } = await call('/api/v1/query', params, promql);
      return { ...parser('/api/v1/query').instant(data), warnings };
    },
    async queryRange(promql, range) {
      if (!(range.stepSeconds > 0)) throw new Error(`queryRange: stepSeconds must be positive, got ${range.stepSeconds}`);
      if (range.end < range.start) throw new Error('queryRange: end is before start');
      const params = {
        query: promql,
        start: unixSeconds(range.start),
        end: unixSeconds(range.end),
        step: String(range.stepSeconds),
      };
      const { data, warnings } = await call('/api/v1/query_range', params, promql);
      const p = parser('/api/v1/query_range');
      const result = p.instant(data);
      if (result.resultType !== 'matrix') throw p.fail(`resultType is "${result.resultType}", a range query answers "matrix"`);
      return { resultType: 'matrix', series: result.series, warnings };
    },
  };
}

/**
 * The configured client: `PROMETHEUS_URL` overrides `prometheus.url` (so a deployment can point at its
 * Prometheus without editing the file); none when neither is set.
 */
export function prometheusClientFromConfig(config: Pick<VigilConfig, 'prometheus'>, env: NodeJS.ProcessEnv = process.env): PrometheusClient | undefined {
  const fromEnv = env.PROMETHEUS_URL?.trim();
  const url = fromEnv || config.prometheus?.url;
  if (!url) return undefined;
  if (fromEnv && !isHttpUrl(fromEnv)) {
    throw new UserInputError(`PROMETHEUS_URL: must be an http(s) URL such as "http://prometheus:9090", got "${redactUrl(fromEnv)}"`);
  }
  return createPrometheusClient({ url, timeoutMs: durationMs(config.prometheus?.timeout ?? '10s') });
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Parses `data` of a success answer; every shape error names what was wrong. */
class ResultParser {
  constructor(
    private readonly url: string,
    private readonly endpoint: string,
  ) {}

  fail(reason: string): PrometheusResponseError {
    return new PrometheusResponseError(this.url, this.endpoint, reason);
  }

  instant(data: unknown): InstantData {
    if (!isObject(data)) throw this.fail('"data" is missing or not an object');
    const { resultType, result } = data;
    switch (resultType) {
      case 'vector':
        return { resultType, series: this.array(result).map((s) => ({ labels: this.labels(s), sample: this.sample(this.field(s, 'value')) })) };
      case 'matrix':
        return {
          resultType,
          series: this.array(result).map((s) => ({ labels: this.labels(s), samples: this.array(this.field(s, 'values')).map((v) => this.sample(v)) })),
        };
      case 'scalar':
        return { resultType, sample: this.sample(result) };
      case 'string': {
        if (!Array.isArray(result) || result.length !== 2 || typeof result[1] !== 'string') throw this.fail('a string result is not [time, "text"]');
        return { resultType, time: this.time(result[0]), value: result[1] };
      }
      default:
        throw this.fail(`unknown resultType ${JSON.stringify(resultType)}`);
    }
  }

  private array(v: unknown): unknown[] {
    if (!Array.isArray(v)) throw this.fail('"result" is not an array');
    return v;
  }

  private field(series: unknown, name: 'value' | 'values'): unknown {
    if (!isObject(series)) throw this.fail('a series is not an object');
    if (name in series) return series[name];
    // Native histograms have no single value to compare with a threshold.
    if ('histogram' in series || 'histograms' in series) {
      throw this.fail('native histogram samples are not supported; use histogram_quantile(), histogram_count() or similar');
    }
    throw this.fail(`a series has no "${name}"`);
  }

  private labels(series: unknown): Labels {
    const metric = isObject(series) ? series.metric : undefined;
    if (metric === undefined) return {};
    if (!isObject(metric)) throw this.fail('a series\' "metric" is not an object');
    const out: Labels = {};
    for (const [k, v] of Object.entries(metric)) {
      if (typeof v !== 'string') throw this.fail(`label ${k} is not a string`);
      out[k] = v;
    }
    return out;
  }

  private sample(v: unknown): Sample {
    if (!Array.isArray(v) || v.length !== 2) throw this.fail(`a sample is not [time, "value"]: ${snippet(JSON.stringify(v))}`);
    return { time: this.time(v[0]), value: this.value(v[1]) };
  }

  private time(t: unknown): number {
    if (typeof t !== 'number' || !Number.isFinite(t)) throw this.fail(`a sample time is not a number: ${snippet(JSON.stringify(t))}`);
    return t;
  }

  private value(v: unknown): number {
    if (typeof v !== 'string') throw this.fail(`a sample value is not a string: ${snippet(JSON.stringify(v))}`);
    const parsed = parseSampleValue(v);
    if (parsed === undefined) throw this.fail(`a sample value is not a number: ${snippet(v)}`);
    return parsed;
  }
}

/** Prometheus's float text: Go's strconv format plus "NaN", "+Inf", "-Inf" (which Number() does not all accept). */
export function parseSampleValue(v: string): number | undefined {
  switch (v) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isNaN(n) ? undefined : n;
}

/** Seconds with millisecond precision, the form the API documents for `time`, `start` and `end`. */
function unixSeconds(d: Date): string {
  return (d.getTime() / 1000).toFixed(3);
}

function networkReason(e: Error): string {
  // undici puts the system error (ECONNREFUSED, ENOTFOUND…) in `cause`.
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code && KNOWN_CODES[code]) return `${KNOWN_CODES[code]} (${code})`;
  if (code) return cause?.message && cause.message.includes(code) ? cause.message : `${code}${cause?.message ? ` (${cause.message})` : ''}`;
  return cause?.message || e.message;
}

const KNOWN_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snippet(text: string | undefined): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > 120 ? `${t.slice(0, 120)}…` : t || '(empty)';
}
