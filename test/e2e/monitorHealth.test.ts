/**
 * The monitor with a real Prometheus: per-model PromQL health checks open an infrastructure incident
 * when p99 latency breaches, an upstream incident when a dependency fails, and report checks that
 * cannot give a verdict (no series) without opening anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import type { MonitorOutcome } from '../../contracts/monitorWorkflow.js';
import { formatIncident } from '../../cli/formatIncident.js';
import { parseConfig } from '../../domain/config.js';
import { startMetricsExporter, type MetricsExporter } from '../support/metricsExporter.js';
import { scrapeEverySecond, startPrometheus, type PrometheusServer } from '../support/prometheusServer.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

describe('model monitor with Prometheus health checks', () => {
  const registry = new Registry();
  const latency = new Gauge({ name: 'vigil_test_latency_p99_seconds', help: 'p99 latency', labelNames: ['model'], registers: [registry] });
  const upstream = new Gauge({ name: 'vigil_test_feature_store_error_ratio', help: 'feature store errors', labelNames: ['model'], registers: [registry] });
  let exporter: MetricsExporter;
  let prometheus: PrometheusServer;
  let env: VigilTestEnv;
  let runMonitor: (args: { modelId: string }) => Promise<MonitorOutcome>;

  const closeAll = async () => {
    for (const i of await env.services.incidents.list({ open: true })) {
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.phase === 'awaiting_approval',
        'awaiting_approval',
      );
      await env.services.incidents.decide(i.id, { verdict: 'reject', by: 'alice', reason: 'test cleanup' });
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.status === 'closed',
        'closed',
      );
    }
  };

  before(async () => {
    latency.set({ model: TEST_MODEL }, 0.12);
    upstream.set({ model: TEST_MODEL }, 0.001);
    exporter = await startMetricsExporter(registry);
    prometheus = await startPrometheus({ config: scrapeEverySecond(exporter.target) });
    env = await createVigilTestEnv({
      config: (taskQueue) => {
        const base = testConfig({}, taskQueue);
        const m = base.models[0];
        return parseConfig({
          ...base,
          prometheus: { url: prometheus.url },
          models: [
            {
              ...m,
              health: {
                latency_p99_ms: { query: `vigil_test_latency_p99_seconds{model="${TEST_MODEL}"} * 1000`, above: 500 },
                upstream_error_rate: { query: `vigil_test_feature_store_error_ratio{model="${TEST_MODEL}"}`, above: 0.05 },
                queue_depth: { query: `vigil_test_inference_queue_depth{model="${TEST_MODEL}"}`, above: 100 },
              },
            },
          ],
        });
      },
    });
    await env.startWorker();
    runMonitor = createMonitorActivities(env.services).runMonitor;
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    // Wait for the first scrape: the latency check gives a value.
    await waitFor(
      () => runMonitor({ modelId: TEST_MODEL }),
      (r) => !r.healthNotes.some((n) => /latency/i.test(n)),
      'first scrape',
      20_000,
    );
  });

  after(async () => {
    await env?.close();
    await prometheus?.stop();
    await exporter?.stop();
  });

  it('healthy metrics open nothing; a check with no series is reported, not a breach', async () => {
    const r = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(r.breaches, [], JSON.stringify(r));
    assert.equal(r.healthNotes.length, 1, JSON.stringify(r.healthNotes));
    assert.match(r.healthNotes[0]!, /no series/);
    assert.equal((await env.services.incidents.list()).length, 0, 'no incident');
  });

  it('p99 latency over its threshold opens an infrastructure incident with the measured value', async () => {
    latency.set({ model: TEST_MODEL }, 0.812);
    const r = await waitFor(
      () => runMonitor({ modelId: TEST_MODEL }),
      (o) => o.breaches.length > 0,
      'latency breach',
      15_000,
    );
    assert.deepEqual(r.breaches, ['latency'], JSON.stringify(r));
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(shown.failureMode, 'infrastructure');
    assert.equal(shown.state.evidence[0]!.values.latency_p99_ms, 812);
    assert.match(formatIncident(shown), /infrastructure signal: latency \(p99 latency ms 812\)/);
    // The next run feeds the same incident.
    const again = await runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(
      again.incidents.map((i) => [i.id, i.created]),
      [[r.incidents[0]!.id, false]],
      'fed, not opened',
    );
    latency.set({ model: TEST_MODEL }, 0.12);
    // Prometheus must have scraped the recovery before the incident closes, or the next run opens a new one.
    await waitFor(
      () => runMonitor({ modelId: TEST_MODEL }),
      (o) => !o.breaches.includes('latency'),
      'latency recovered',
      15_000,
    );
    await closeAll();
  });

  it('a failing dependency opens an upstream incident, recommended for escalation rather than a model change', async () => {
    upstream.set({ model: TEST_MODEL }, 0.31);
    const r = await waitFor(
      () => runMonitor({ modelId: TEST_MODEL }),
      (o) => o.breaches.includes('upstream_error'),
      'upstream breach',
      15_000,
    );
    assert.deepEqual(r.breaches, ['upstream_error'], JSON.stringify(r));
    const shown = await waitFor(
      () => env.services.incidents.show(r.incidents[0]!.id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(shown.failureMode, 'upstream');
    assert.match(formatIncident(shown), /a dependency is failing \(upstream error rate 0\.31\)/);
    assert.equal(shown.recommendedAction, 'escalate_upstream', JSON.stringify(shown.state.recommendation));
    upstream.set({ model: TEST_MODEL }, 0.001);
    await closeAll();
  });
});
