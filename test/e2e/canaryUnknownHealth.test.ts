/**
 * A canary whose health cannot be verified: the model's health checks answer from a real Prometheus
 * until the canary starts, then Prometheus stops. Every later check is refused (ECONNREFUSED), which is
 * unknown health, not "no breach": the good candidate is not promoted blind but rolled back, and the
 * retrain says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { parseConfig } from '../../domain/config.js';
import { computeHealthSignals } from '../../monitoring/healthSignals.js';
import { untilIncident, openApprovedDriftIncident } from '../support/driftIncident.js';
import { startMetricsExporter, type MetricsExporter } from '../support/metricsExporter.js';
import { scrapeEverySecond, startPrometheus, type PrometheusServer } from '../support/prometheusServer.js';
import { createVigilTestEnv, TEST_CANARY, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

describe('a canary while Prometheus is down', () => {
  const registry = new Registry();
  const latency = new Gauge({ name: 'vigil_test_canary_latency_p99_seconds', help: 'p99 latency', registers: [registry] });
  const errors = new Gauge({ name: 'vigil_test_canary_error_ratio', help: 'errors / requests', registers: [registry] });
  let exporter: MetricsExporter;
  let prometheus: PrometheusServer;
  let env: VigilTestEnv;

  before(async () => {
    latency.set(0.12);
    errors.set(0.001);
    exporter = await startMetricsExporter(registry);
    // A free port of its own (startPrometheus picks one), never the 9090 default.
    prometheus = await startPrometheus({ config: scrapeEverySecond(exporter.target) });
    env = await createVigilTestEnv({
      config: (taskQueue) => {
        const base = testConfig({ canary: TEST_CANARY }, taskQueue);
        return parseConfig({
          ...base,
          prometheus: { url: prometheus.url, timeout: '3s' },
          models: [
            {
              ...base.models[0],
              health: {
                latency_p99_ms: { query: 'vigil_test_canary_latency_p99_seconds * 1000', above: 500 },
                error_rate: { query: 'vigil_test_canary_error_ratio', above: 0.05 },
              },
            },
          ],
        });
      },
    });
    await env.startWorker();
    // The checks are sound: once scraped, both answer without a breach.
    const model = env.config.models[0]!;
    await waitFor(
      () => computeHealthSignals(env.services, model),
      (r) => r.checks.length === 2 && r.checks.every((c) => c.status === 'ok'),
      'both health checks answering ok',
      20_000,
    );
  });

  after(async () => {
    await env?.close();
    await prometheus?.stop();
    await exporter?.stop();
  });

  it('is not promoted: rolled back because health could not be verified, and the retrain says why', async () => {
    const id = await openApprovedDriftIncident(env);
    await waitFor(
      () => env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL),
      (t) => t.routes.some((r) => r.role === 'canary'),
      'a canary route',
      120_000,
    );
    await prometheus.stop();
    // A candidate that would pass on live accuracy: only health stands in its way.
    await env.simulator.writeBatch({ n: 800, drift: 1 });

    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 120_000);
    const retrain = closed.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'canary_rolled_back', JSON.stringify(closed.state.remediation));
    const judgement = retrain.canary!.judgement;
    assert.equal(judgement.verdict, 'rollback');
    assert.equal(judgement.health, 'unknown', JSON.stringify(judgement));
    const refused = new RegExp(`Prometheus at http://127\\.0\\.0\\.1:${prometheus.port}/? is unavailable: connection refused \\(ECONNREFUSED\\)`);
    assert.equal(judgement.healthNotes?.length, 2, JSON.stringify(judgement));
    for (const note of judgement.healthNotes!) assert.match(note, refused);
    assert.match(
      retrain.reason,
      /^canary rolled back: health could not be verified: 2 of 2 health check\(s\) could not be evaluated at the end of the window; the runbook does not promote blind \(canary\.onUnknownHealth: rollback\)/,
    );
    assert.match(retrain.reason, /health check could not be evaluated: p99 latency: Prometheus at .* connection refused/);
    assert.match(retrain.reason, /health check could not be evaluated: error rate: Prometheus at .* connection refused/);
    assert.doesNotMatch(retrain.reason, /without a breach/, 'no check counted healthy');
    assert.equal(closed.outcome, 'remediation_failed');
    assert.match(closed.state.remediation?.summary ?? '', /canary rolled back: health could not be verified/);

    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1, 'the champion stayed');
    assert.equal((await env.services.registry.getVersion(TEST_MODEL, 2))?.status, 'bad', 'the candidate is marked bad');
    const traffic = await env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL);
    assert.deepEqual(
      traffic.routes.map((r) => [r.role, r.version, r.percent]),
      [['stable', 1, 100]],
      'all traffic back on v1',
    );
  });
});
