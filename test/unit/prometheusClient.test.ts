/**
 * The Prometheus config (`prometheus.url`, per-model `health` checks), PROMETHEUS_URL, sample-value
 * parsing and URL redaction. Queries against a real Prometheus are in test/e2e/prometheusHealth.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSampleValue, prometheusClientFromConfig } from '../../adapters/prometheus/prometheusClient.js';
import { redactUrl } from '../../adapters/net/redactUrl.js';
import { ConfigError, HEALTH_METRIC_SIGNALS, parseConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { round4 } from '../../monitoring/healthSignals.js';

const model = (health: unknown) => ({ id: 'm', displayName: 'M', tier: 'high', approvers: ['alice'], health });

function configIssues(raw: unknown): { path: string; message: string }[] {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  assert.fail('the config should have been refused');
}

describe('health config', () => {
  it('accepts checks with a threshold in one direction and an optional for-window', () => {
    const config = parseConfig({
      prometheus: { url: 'http://prometheus:9090' },
      models: [
        model({
          error_rate: { query: 'sum(rate(errors[5m])) / sum(rate(requests[5m]))', above: 0.05, for: '2m' },
          prediction_confidence: { query: 'avg(confidence)', below: 0.6 },
        }),
      ],
    });
    assert.deepEqual(config.prometheus, { url: 'http://prometheus:9090', timeout: '10s' }, 'timeout defaults to 10s');
    assert.equal(config.models[0]!.health?.error_rate?.for, '2m', 'for kept');
    assert.equal(config.models[0]!.health?.prediction_confidence?.below, 0.6, 'below kept');
  });

  it('refuses both above and below, naming the field', () => {
    const issues = configIssues({ models: [model({ error_rate: { query: 'x', above: 0.1, below: 0.01 } })] });
    assert.deepEqual(
      issues,
      [{ path: 'models.0.health.error_rate.below', message: 'give exactly one of "above" or "below", not both' }],
      JSON.stringify(issues),
    );
  });

  it('refuses a check with no threshold, naming the field', () => {
    const issues = configIssues({ models: [model({ queue_depth: { query: 'x' } })] });
    assert.deepEqual(
      issues,
      [{ path: 'models.0.health.queue_depth.above', message: 'exactly one of "above" or "below" is required (the threshold)' }],
      JSON.stringify(issues),
    );
  });

  it('refuses empty PromQL, a bad for-window, an unknown metric and a non-http Prometheus URL', () => {
    const issues = configIssues({
      prometheus: { url: 'ftp://prometheus' },
      models: [model({ latency_p99_ms: { query: '  ', above: 500, for: '5' }, latency_p50_ms: { query: 'x', above: 1 } })],
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    assert.equal(byPath['models.0.health.latency_p99_ms.query'], 'must be a non-empty PromQL query', JSON.stringify(issues));
    assert.match(byPath['models.0.health.latency_p99_ms.for'] ?? '', /duration/, JSON.stringify(issues));
    assert.match(byPath['models.0.health'] ?? '', /unknown health metric "latency_p50_ms" \(known: latency_p99_ms,/, JSON.stringify(issues));
    assert.match(byPath['prometheus.url'] ?? '', /http\(s\) URL/, JSON.stringify(issues));
  });

  it('maps each metric to the signal its breach raises', () => {
    assert.deepEqual(
      HEALTH_METRIC_SIGNALS,
      {
        latency_p99_ms: 'latency',
        error_rate: 'error_rate',
        gpu_memory_util: 'gpu_memory',
        queue_depth: 'queue_depth',
        upstream_error_rate: 'upstream_error',
        prediction_confidence: 'data_drift',
      },
      'metric → signal',
    );
  });
});

describe('Prometheus client setup', () => {
  const config = { prometheus: { url: 'http://from-config:9090', timeout: '5s' } };

  it('uses prometheus.url, lets PROMETHEUS_URL override it, and is absent when neither is set', () => {
    assert.equal(prometheusClientFromConfig(config, {})?.url, 'http://from-config:9090', 'from config');
    assert.equal(prometheusClientFromConfig(config, { PROMETHEUS_URL: 'http://from-env:9090' })?.url, 'http://from-env:9090', 'env wins');
    assert.equal(prometheusClientFromConfig({}, { PROMETHEUS_URL: 'http://from-env:9090' })?.url, 'http://from-env:9090', 'env alone');
    assert.equal(prometheusClientFromConfig({}, {}), undefined, 'no client without a URL');
  });

  it('refuses a bad PROMETHEUS_URL with a message naming the variable and hiding credentials', () => {
    assert.throws(
      () => prometheusClientFromConfig(config, { PROMETHEUS_URL: 'ftp://bob:s3cret@host' }),
      (e: unknown) => e instanceof UserInputError && /^PROMETHEUS_URL: must be an http\(s\) URL/.test(e.message) && !e.message.includes('s3cret'),
      'PROMETHEUS_URL named, password hidden',
    );
  });

  it('shows URLs with credentials masked', () => {
    assert.equal(redactUrl('https://bob:s3cret@prom.example:9090/prometheus'), 'https://***@prom.example:9090/prometheus', 'user and password');
    assert.equal(redactUrl('http://prometheus:9090'), 'http://prometheus:9090', 'nothing to mask');
    assert.equal(redactUrl('not a url //bob:s3cret@host'), 'not a url //***@host', 'unparseable text masked too');
    assert.equal(prometheusClientFromConfig({}, { PROMETHEUS_URL: 'https://bob:s3cret@prom:9090' })?.url, 'https://***@prom:9090/', 'client url');
  });
});

describe('sample values', () => {
  it("parses Prometheus's float text, NaN and infinities included", () => {
    assert.equal(parseSampleValue('0.12'), 0.12, 'decimal');
    assert.equal(parseSampleValue('1e+06'), 1e6, 'exponent');
    assert.ok(Number.isNaN(parseSampleValue('NaN')), 'NaN');
    assert.equal(parseSampleValue('+Inf'), Infinity, '+Inf');
    assert.equal(parseSampleValue('-Inf'), -Infinity, '-Inf');
    assert.equal(parseSampleValue(''), undefined, 'empty');
    assert.equal(parseSampleValue('twelve'), undefined, 'text');
  });

  it('rounds evidence to 4 significant digits, keeping large counts whole', () => {
    assert.equal(round4(812.34567), 812.3, 'latency');
    assert.equal(round4(0.0123456), 0.01235, 'small ratio');
    assert.equal(round4(123456.7), 123457, 'large count');
  });
});
