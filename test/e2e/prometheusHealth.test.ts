/**
 * Health checks against a real Prometheus scraping a real prom-client exporter every second: breaches
 * above and below a threshold with the worst series named, p99 from a histogram, no data, NaN from a
 * 0/0 ratio, the API's own error for bad PromQL, an unreachable Prometheus, and `for` windows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import promClient from 'prom-client';
import { freePort } from '../../adapters/net/freePort.js';
import { createPrometheusClient, type PrometheusClient } from '../../adapters/prometheus/prometheusClient.js';
import { PrometheusApiError, PrometheusResponseError, PrometheusUnavailableError } from '../../adapters/prometheus/prometheusErrors.js';
import type { HealthConfig } from '../../domain/config.js';
import { computeHealthSignals, healthAsEvidence, NO_PROMETHEUS_MESSAGE, type HealthCheckResult } from '../../monitoring/healthSignals.js';
import { startMetricsExporter, type MetricsExporter } from '../support/metricsExporter.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheusServer.js';
import { waitFor } from '../support/waitFor.js';

const { Registry, Gauge, Counter, Histogram } = promClient;

/** bcrypt of "test", from the Prometheus basic-auth guide (no bcrypt tool is needed to run the tests). */
const TEST_PASSWORD_HASH = '$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay';

describe('Prometheus health signals', () => {
  const registry = new Registry();
  const errorRatio = new Gauge({ name: 'vigil_test_model_error_ratio', help: 'errors / requests', labelNames: ['model'], registers: [registry] });
  const confidence = new Gauge({ name: 'vigil_test_prediction_confidence', help: 'mean confidence', labelNames: ['model'], registers: [registry] });
  const gpu = new Gauge({ name: 'vigil_test_gpu_memory_util', help: 'GPU memory used / total', registers: [registry] });
  const queue = new Gauge({ name: 'vigil_test_queue_depth', help: 'requests waiting', registers: [registry] });
  const requests = new Counter({ name: 'vigil_test_requests_total', help: 'requests', labelNames: ['model'], registers: [registry] });
  const errors = new Counter({ name: 'vigil_test_errors_total', help: 'failed requests', labelNames: ['model'], registers: [registry] });
  const latency = new Histogram({
    name: 'vigil_test_request_latency_seconds',
    help: 'request latency',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  let exporter: MetricsExporter;
  let ticker: NodeJS.Timeout;
  let server: PrometheusServer;
  let prometheus: PrometheusClient;

  before(async () => {
    errorRatio.set({ model: 'credit-risk' }, 0.12);
    errorRatio.set({ model: 'fraud' }, 0.01);
    confidence.set({ model: 'credit-risk' }, 0.55);
    confidence.set({ model: 'fraud' }, 0.91);
    gpu.set(0.42);
    queue.set(5);
    // An idle model: both counters exist and stay at 0, so their rate ratio is 0/0.
    requests.inc({ model: 'idle' }, 0);
    errors.inc({ model: 'idle' }, 0);
    // 98 fast and 2 slow requests per tick, in one synchronous step so every scrape sees whole ticks:
    // the p99 falls in the (0.5 s, 1 s] bucket at 0.5 + 0.5 × (0.99 − 0.98) / 0.02 = 0.75 s.
    ticker = setInterval(() => {
      for (let i = 0; i < 98; i++) latency.observe(0.03);
      latency.observe(0.8);
      latency.observe(0.8);
    }, 200);

    exporter = await startMetricsExporter(registry);

    server = await startPrometheus({
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: vigil-test',
        '    static_configs:',
        `      - targets: ['${exporter.target}']`,
      ].join('\n'),
    });
    prometheus = createPrometheusClient({ url: server.url, timeoutMs: 5_000 });
    // Three scrapes: every rate() below has two samples to work with.
    await waitFor(
      () => prometheus.query('count_over_time(up{job="vigil-test"}[1m]) >= 3 and up{job="vigil-test"} == 1'),
      (r) => r.resultType === 'vector' && r.series.length === 1,
      'three successful scrapes of the test exporter',
      20_000,
    );
  });

  after(async () => {
    clearInterval(ticker);
    await server?.stop();
    await exporter?.stop();
  });

  const byMetric = (checks: HealthCheckResult[], metric: string): HealthCheckResult => {
    const c = checks.find((x) => x.metric === metric);
    assert.ok(c, `a result for ${metric} in ${JSON.stringify(checks.map((x) => x.metric))}`);
    return c;
  };

  it('evaluates every check of a model against real query results, each with its own verdict', async () => {
    const health: HealthConfig = {
      latency_p99_ms: {
        query: 'histogram_quantile(0.99, sum by (le) (rate(vigil_test_request_latency_seconds_bucket[30s]))) * 1000',
        above: 500,
      },
      error_rate: { query: 'vigil_test_model_error_ratio', above: 0.05 },
      gpu_memory_util: { query: 'vigil_test_gpu_memory_util', above: 0.9 },
      queue_depth: { query: 'vigil_test_queue_depth_that_nobody_exports', above: 100 },
      prediction_confidence: { query: 'vigil_test_prediction_confidence', below: 0.7 },
      upstream_error_rate: {
        query: 'sum(rate(vigil_test_errors_total{model="idle"}[30s])) / sum(rate(vigil_test_requests_total{model="idle"}[30s]))',
        above: 0.1,
      },
    };
    const report = await computeHealthSignals({ prometheus }, { health });
    const summary = JSON.stringify(report.checks, null, 1);
    assert.equal(report.checks.length, 6, `six checks: ${summary}`);

    const p99 = byMetric(report.checks, 'latency_p99_ms');
    assert.equal(p99.status, 'breach', `p99 breach: ${summary}`);
    assert.ok(Math.abs(p99.value! - 750) < 1, `p99 is 750 ms from the histogram's buckets, got ${p99.value}`);
    assert.equal(p99.signal, 'latency', 'latency signal');
    assert.match(p99.message, /^p99 latency 750 ms > 500 ms/, 'p99 message with the numbers');

    const err = byMetric(report.checks, 'error_rate');
    assert.equal(err.status, 'breach', `error rate breach: ${summary}`);
    assert.equal(err.value, 0.12, 'the worst series value');
    assert.equal(err.series?.model, 'credit-risk', 'the worst of the two series is named');
    assert.equal(err.series?.job, 'vigil-test', 'the series carries its scrape labels');
    assert.match(
      err.message,
      /^error rate 0\.12 > 0\.05 on vigil_test_model_error_ratio\{instance="127\.0\.0\.1:\d+", job="vigil-test", model="credit-risk"\} \(worst of 2 series\)$/,
      `message: ${err.message}`,
    );

    const gpuCheck = byMetric(report.checks, 'gpu_memory_util');
    assert.equal(gpuCheck.status, 'ok', `gpu ok: ${summary}`);
    assert.equal(gpuCheck.value, 0.42, 'gpu value');

    const conf = byMetric(report.checks, 'prediction_confidence');
    assert.equal(conf.status, 'breach', `confidence below threshold: ${summary}`);
    assert.equal(conf.direction, 'below', 'below check');
    assert.equal(conf.value, 0.55, 'the lowest series is the worst for a below check');
    assert.equal(conf.series?.model, 'credit-risk', 'lowest-confidence model named');
    assert.equal(conf.signal, 'data_drift', 'collapsing confidence is a data-drift signal');
    assert.match(conf.message, /prediction confidence 0\.55 < 0\.7/, `message: ${conf.message}`);

    const missing = byMetric(report.checks, 'queue_depth');
    assert.equal(missing.status, 'no_data', `no series: ${summary}`);
    assert.equal(missing.value, undefined, 'no value without data');
    assert.match(missing.message, /returned no series/, `message: ${missing.message}`);

    const idle = byMetric(report.checks, 'upstream_error_rate');
    assert.equal(idle.status, 'nan', `0/0 is NaN: ${summary}`);
    assert.match(idle.message, /NaN.*no traffic/, `message: ${idle.message}`);

    assert.deepEqual(
      report.breaches.map((b) => b.metric).sort(),
      ['error_rate', 'latency_p99_ms', 'prediction_confidence'],
      'breaches are exactly the breached checks',
    );

    const evidence = healthAsEvidence(report);
    assert.deepEqual(
      { ...evidence, latency_p99_ms: Math.round(evidence.latency_p99_ms as number) },
      {
        latency_p99_ms: 750,
        error_rate: 0.12,
        gpu_memory_util: 0.42,
        prediction_confidence: 0.55,
        health_no_data: 'queue_depth',
        health_nan: 'upstream_error_rate',
      },
      `evidence: ${JSON.stringify(evidence)}`,
    );
  });

  it("reports invalid PromQL with the API's own message and still evaluates the other checks", async () => {
    const report = await computeHealthSignals(
      { prometheus },
      {
        health: {
          error_rate: { query: 'sum(rate(vigil_test_errors_total[1m])', above: 0.05 },
          gpu_memory_util: { query: 'vigil_test_gpu_memory_util', above: 0.9 },
        },
      },
    );
    const bad = byMetric(report.checks, 'error_rate');
    assert.equal(bad.status, 'error', `bad PromQL is an error: ${bad.message}`);
    assert.match(bad.message, /HTTP 400 bad_data.*parse error/, `the API's message surfaces: ${bad.message}`);
    assert.equal(byMetric(report.checks, 'gpu_memory_util').status, 'ok', 'the other check is evaluated');
    assert.deepEqual(healthAsEvidence(report), { gpu_memory_util: 0.42, health_errors: 'error_rate' }, 'errors listed in evidence');

    await assert.rejects(
      prometheus.query('sum(rate(vigil_test_errors_total[1m])'),
      (e: unknown) => e instanceof PrometheusApiError && e.httpStatus === 400 && e.errorType === 'bad_data' && /parse error/.test(e.error),
      'the client throws PrometheusApiError with the API fields',
    );
  });

  it('reports an unreachable Prometheus as an error naming the URL, without its password', async () => {
    const deadPort = await freePort();
    const unreachable = createPrometheusClient({ url: `http://vigil:hunter2@127.0.0.1:${deadPort}`, timeoutMs: 2_000 });
    const report = await computeHealthSignals({ prometheus: unreachable }, { health: { error_rate: { query: 'up', above: 0.5 } } });
    const c = report.checks[0]!;
    assert.equal(c.status, 'error', `unreachable is an error: ${c.message}`);
    assert.match(
      c.message,
      new RegExp(`Prometheus at http://\\*\\*\\*@127\\.0\\.0\\.1:${deadPort}/ is unavailable: connection refused \\(ECONNREFUSED\\)`),
      `message names URL and cause: ${c.message}`,
    );
    assert.doesNotMatch(c.message, /hunter2/, 'no password in the message');
    await assert.rejects(unreachable.query('up'), PrometheusUnavailableError, 'client error class');
  });

  it('reports a URL that is not a Prometheus API as a malformed answer', async () => {
    // The exporter's root: every API path under it is a 404 page.
    const wrong = createPrometheusClient({ url: `http://${exporter.target}`, timeoutMs: 2_000 });
    await assert.rejects(
      wrong.query('up'),
      (e: unknown) => e instanceof PrometheusResponseError && /HTTP 404, not JSON/.test(e.message),
      'a 404 page is a malformed answer',
    );
  });

  it('reports every check as an error when no Prometheus is configured, and nothing without health', async () => {
    const report = await computeHealthSignals({}, { health: { queue_depth: { query: 'vigil_test_queue_depth', above: 100 } } });
    assert.equal(report.checks[0]?.status, 'error', 'no client is an error per check');
    assert.match(report.checks[0]!.message, new RegExp(NO_PROMETHEUS_MESSAGE.replace(/[()]/g, '\\$&')), 'tells how to configure it');
    assert.deepEqual(await computeHealthSignals({ prometheus }, {}), { checks: [], breaches: [] }, 'no health, no checks');
  });

  it('parses every result type, NaN and ±Inf included', async () => {
    const scalar = await prometheus.query('1.5');
    assert.ok(scalar.resultType === 'scalar' && scalar.sample.value === 1.5, `scalar: ${JSON.stringify(scalar)}`);
    const text = await prometheus.query('"hello"');
    assert.ok(text.resultType === 'string' && text.value === 'hello', `string: ${JSON.stringify(text)}`);
    const matrix = await prometheus.query('up{job="vigil-test"}[10s]');
    assert.ok(matrix.resultType === 'matrix' && matrix.series[0]!.samples.length >= 2, `matrix: ${JSON.stringify(matrix)}`);
    const inf = await prometheus.query('vector(1) / vector(0)');
    assert.ok(inf.resultType === 'vector' && inf.series[0]!.sample.value === Infinity, `+Inf: ${JSON.stringify(inf)}`);
    const negInf = await prometheus.query('vector(-1) / vector(0)');
    assert.ok(negInf.resultType === 'vector' && negInf.series[0]!.sample.value === -Infinity, `-Inf: ${JSON.stringify(negInf)}`);
    const nan = await prometheus.query('vector(0) / vector(0)');
    assert.ok(nan.resultType === 'vector' && Number.isNaN(nan.series[0]!.sample.value), `NaN: ${JSON.stringify(nan)}`);
    const end = new Date();
    const range = await prometheus.queryRange('vigil_test_gpu_memory_util', { start: new Date(end.getTime() - 4_000), end, stepSeconds: 1 });
    assert.equal(range.resultType, 'matrix', 'range result');
    assert.ok(
      range.series[0]!.samples.every((s) => s.value === 0.42),
      `range samples: ${JSON.stringify(range)}`,
    );
  });

  it('sends credentials from the URL to a Prometheus behind basic auth', async () => {
    const secured = await startPrometheus({
      config: 'global:\n  scrape_interval: 1m\n',
      files: { 'web.yml': `basic_auth_users:\n  vigil: ${TEST_PASSWORD_HASH}\n` },
      extraArgs: ['--web.config.file=web.yml'],
      auth: { username: 'vigil', password: 'test' },
    });
    try {
      const withAuth = createPrometheusClient({ url: secured.url.replace('http://', 'http://vigil:test@'), timeoutMs: 5_000 });
      const r = await withAuth.query('vector(7)');
      assert.ok(r.resultType === 'vector' && r.series[0]!.sample.value === 7, `authorised query: ${JSON.stringify(r)}`);
      const wrongPassword = createPrometheusClient({ url: secured.url.replace('http://', 'http://vigil:wrong-secret@'), timeoutMs: 5_000 });
      await assert.rejects(
        wrongPassword.query('vector(7)'),
        (e: unknown) => e instanceof PrometheusResponseError && /HTTP 401/.test(e.message) && !/wrong-secret/.test(e.message),
        'a refused password is reported without the password',
      );
    } finally {
      await secured.stop();
    }
  });

  it('with `for`, breaches only once the condition held over the whole window', async () => {
    const check = (forWindow?: string): HealthConfig => ({
      queue_depth: { query: 'vigil_test_queue_depth', above: 100, ...(forWindow ? { for: forWindow } : {}) },
    });
    // The low value must have been scraped for longer than the 4 s window before it jumps.
    await waitFor(
      () => prometheus.query('count_over_time(vigil_test_queue_depth[10s]) >= 6'),
      (r) => r.resultType === 'vector' && r.series.length === 1,
      'six scrapes of the queue depth at 5',
      15_000,
    );
    queue.set(500);
    // The instant check sees the new value at the next scrape…
    const { now } = await waitFor(
      async () => {
        const at = new Date();
        return { now: at, report: await computeHealthSignals({ prometheus }, { health: check() }, { now: at }) };
      },
      (v) => v.report.breaches.length === 1,
      'the instant check to breach',
      10_000,
    );
    // …but at that same instant the series was 5 for most of a 4 s window, and did not exist a minute ago.
    const [short, long] = await Promise.all([
      computeHealthSignals({ prometheus }, { health: check('4s') }, { now }),
      computeHealthSignals({ prometheus }, { health: check('1m') }, { now }),
    ]);
    assert.equal(short.checks[0]!.status, 'ok', `just breached is not a 4s breach: ${short.checks[0]!.message}`);
    assert.equal(short.checks[0]!.value, 500, 'the latest value is reported');
    assert.match(short.checks[0]!.message, /queue depth 500 > 100 .*not throughout the last 4s \(it was 5 in the window\)/, short.checks[0]!.message);
    assert.equal(long.checks[0]!.status, 'ok', `a series younger than the window is not a breach: ${long.checks[0]!.message}`);
    assert.match(long.checks[0]!.message, /only has data for the last \d+ s of 1m/, long.checks[0]!.message);

    const held = await waitFor(
      () => computeHealthSignals({ prometheus }, { health: check('4s') }),
      (r) => r.breaches.length === 1,
      'the 4s window to breach once the value held',
      15_000,
    );
    const b = held.checks[0]!;
    assert.equal(b.value, 500, 'breach value');
    assert.equal(b.for, '4s', 'the window is reported');
    assert.match(b.message, /^queue depth 500 > 100 for 4s on vigil_test_queue_depth\{.*job="vigil-test".*\}/, b.message);
  });
});
