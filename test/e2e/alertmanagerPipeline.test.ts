/**
 * The real chain: a test exporter → Prometheus (scrape, alerting rule) → Alertmanager (route, webhook
 * with a bearer token file) → Vigil's receiver → one incident. A second breaching series feeds the same
 * incident, and recovery is recorded as resolved evidence. Also checks the shipped example files load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Gauge, Registry } from 'prom-client';
import { startAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { OutputTail } from '../../adapters/process/outputTail.js';
import type { Evidence } from '../../domain/incident.js';
import { stateQuery } from '../../contracts/incidentWorkflow.js';
import { startAlertmanager, type AlertmanagerServer } from '../support/alertmanagerServer.js';
import { startMetricsExporter, type MetricsExporter } from '../support/metricsExporter.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheusServer.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/alerting/', import.meta.url));
const TOKEN = 'pipeline-token-0123456789abcdef';

describe('Prometheus → Alertmanager → Vigil', () => {
  let env: VigilTestEnv;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let exporter: MetricsExporter;
  let alertmanager: AlertmanagerServer;
  let prometheus: PrometheusServer;
  const receiverLog: string[] = [];
  const registry = new Registry();
  const errorRatio = new Gauge({
    name: 'vigil_test_error_ratio',
    help: 'Share of failed inference requests',
    labelNames: ['model', 'replica'],
    registers: [registry],
  });

  const evidence = async (id: string): Promise<Evidence[]> => (await env.services.temporal.workflow.getHandle(id).query(stateQuery)).evidence;
  /** waitFor, with what the receiver and Alertmanager said when it times out. */
  const waitExplained = async <T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> => {
    try {
      return await waitFor(read, done, what, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- receiver ---\n${receiverLog.join('\n')}\n--- alertmanager ---\n${alertmanager.output()}`);
    }
  };

  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
    receiver = await startAlertReceiver({
      incidents: env.services.incidents,
      config: env.config,
      token: TOKEN,
      log: (m) => receiverLog.push(m),
      host: '127.0.0.1',
      port: 0,
    });

    exporter = await startMetricsExporter(registry);
    errorRatio.set({ model: TEST_MODEL, replica: 'a' }, 0.01);

    alertmanager = await startAlertmanager({
      files: { 'vigil-alert-token': `${TOKEN}\n` },
      config: `
route:
  receiver: vigil
  group_by: ['alertname', 'model']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 10s
receivers:
  - name: vigil
    webhook_configs:
      - url: ${receiver.url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: vigil-alert-token
`,
    });

    prometheus = await startPrometheus({
      extraArgs: ['--rules.alert.resend-delay=1s'],
      files: {
        'test-rules.yml': `
groups:
  - name: vigil-test
    rules:
      - alert: ModelErrorRateHigh
        expr: vigil_test_error_ratio > 0.05
        labels:
          signal: error_rate
          severity: page
        annotations:
          summary: 'error rate of {{ $labels.model }} ({{ $labels.replica }}) is {{ $value }}'
          value: '{{ $value }}'
`,
        // The shipped example rules must load too (their metrics do not exist here, so they never fire).
        'example-rules.yml': fs.readFileSync(path.join(EXAMPLES, 'vigil-rules.yml'), 'utf8'),
      },
      config: `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['test-rules.yml', 'example-rules.yml']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:${alertmanager.port}']
scrape_configs:
  - job_name: model
    static_configs:
      - targets: ['${exporter.target}']
`,
    });
  });

  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await receiver?.stop();
    await exporter?.stop();
    await env?.close();
  });

  it('loads the shipped example rules and Alertmanager config', async () => {
    const rules = await fetch(`${prometheus.url}/api/v1/rules`).then((r) => r.json() as Promise<any>);
    const names = rules.data.groups.flatMap((g: any) => g.rules.map((r: any) => r.name));
    assert.ok(names.includes('ModelInputDriftHigh') && names.includes('ModelErrorRateHigh'), `rules loaded: ${names.join(', ')}`);
    const check = await run('amtool', ['check-config', path.join(EXAMPLES, 'alertmanager.yml')]);
    assert.equal(check.code, 0, `amtool check-config: ${check.output}`);
  });

  it('opens one incident when the rule fires, feeds it on a second breaching series, and records recovery', async () => {
    assert.equal((await env.services.incidents.list()).length, 0, 'nothing open before the breach');

    // 1. Replica a breaches: the rule fires and Alertmanager notifies Vigil.
    errorRatio.set({ model: TEST_MODEL, replica: 'a' }, 0.12);
    const [incident] = await waitExplained(
      () => env.services.incidents.list(),
      (l) => l.length > 0,
      'an incident from the alert',
    );
    assert.equal(incident!.model, TEST_MODEL, 'model from the series label');
    assert.equal(incident!.signal, 'error_rate', 'signal from the rule label');
    const first = await waitExplained(
      () => evidence(incident!.id),
      (e) => e.length > 0,
      'first evidence',
    );
    assert.equal(first[0]!.source, 'alertmanager', 'source');
    assert.equal(first[0]!.values.alertname, 'ModelErrorRateHigh', 'alertname');
    assert.equal(first[0]!.values.status, 'firing', 'status');
    assert.equal(first[0]!.values.severity, 'page', 'severity');
    assert.equal(first[0]!.values.error_rate, 0.12, 'value annotation under error_rate');
    assert.match(String(first[0]!.values.generatorURL), /^http:\/\/.+\/graph\?g0\.expr=/, 'generatorURL from Prometheus');
    const fingerprintA = first[0]!.values.fingerprint;

    // 2. Replica b breaches too: a second alert in the same group → a new notification → same incident.
    errorRatio.set({ model: TEST_MODEL, replica: 'b' }, 0.3);
    const both = await waitExplained(
      () => evidence(incident!.id),
      (e) => new Set(e.map((x) => x.values.fingerprint)).size === 2,
      'evidence from the second series',
    );
    const fingerprintB = both.map((e) => e.values.fingerprint).find((f) => f !== fingerprintA);
    assert.ok(
      both.some((e) => e.values.fingerprint === fingerprintB && e.values.error_rate === 0.3),
      `second series' value: ${JSON.stringify(both.map((e) => e.values))}`,
    );
    assert.ok(both.length > first.length, 'evidence count grew');
    assert.deepEqual(
      (await env.services.incidents.list()).map((i) => i.id),
      [incident!.id],
      'still exactly one incident',
    );

    // 3. Both recover: Alertmanager sends the resolved notification, recorded on the incident.
    errorRatio.set({ model: TEST_MODEL, replica: 'a' }, 0.01);
    errorRatio.set({ model: TEST_MODEL, replica: 'b' }, 0.01);
    const resolved = await waitExplained(
      () => evidence(incident!.id),
      (e) => [fingerprintA, fingerprintB].every((f) => e.some((x) => x.values.fingerprint === f && x.values.status === 'resolved')),
      'resolved evidence for both series',
    );
    const last = resolved.filter((e) => e.values.status === 'resolved');
    assert.ok(
      last.every((e) => typeof e.values.endsAt === 'string' && Date.parse(e.values.endsAt) >= Date.parse(String(e.values.startsAt))),
      `endsAt recorded: ${JSON.stringify(last.map((e) => e.values))}`,
    );
    assert.deepEqual(
      (await env.services.incidents.list()).map((i) => i.id),
      [incident!.id],
      'recovery opened nothing new',
    );
    // Match the rejection prefix only: fingerprints are hex and may contain '422' anywhere.
    assert.ok(!receiverLog.some((l) => /^alert receiver: (401|422|503) /.test(l)), `every notification was accepted:\n${receiverLog.join('\n')}`);
  });
});

/** Runs a command asynchronously (this process hosts a Temporal worker). */
function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const out = new OutputTail();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    out.attach(child);
    child.once('error', (err) => resolve({ code: -1, output: err.message }));
    child.once('close', (code) => resolve({ code: code ?? -1, output: out.text() }));
  });
}
