/**
 * The Alertmanager webhook receiver over real HTTP, on a real Vigil (Temporal + PostgreSQL + worker):
 * authentication, payload validation, model/signal mapping, incidents opened and fed by firing
 * alerts, resolved alerts recorded, and 503 when the incident store is down. Plus the alert token.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createAlertReceiver, httpAddressFromEnv, startAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { resolveAlertToken } from '../../adapters/alertmanager/alertToken.js';
import { ALERT_LIMITS } from '../../adapters/alertmanager/alertmanagerWebhook.js';
import { freePort } from '../../adapters/net/freePort.js';
import { createIncidentStore } from '../../adapters/postgres/incidentStore.js';
import { createIncidentService } from '../../client/incidentService.js';
import { UserInputError } from '../../domain/errors.js';
import { stateQuery } from '../../contracts/incidentWorkflow.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { withVigilUp } from '../support/vigilUp.js';
import { waitFor } from '../support/waitFor.js';

const TOKEN = 'test-alert-token-0123456789';
const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));

type Alert = {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
};

const STARTED = new Date(Date.now() - 60_000).toISOString();

function alert(over: Partial<Alert> = {}): Alert {
  return {
    status: 'firing',
    labels: { alertname: 'ModelErrorRateHigh', model: TEST_MODEL, signal: 'error_rate', severity: 'page' },
    annotations: { summary: 'credit-risk error rate above 5%', value: '0.12' },
    startsAt: STARTED,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph?g0.expr=vigil_test_error_ratio',
    fingerprint: 'f00d0000000000a1',
    ...over,
  };
}

function payload(alerts: unknown[], status = 'firing') {
  return {
    version: '4',
    groupKey: '{}:{alertname="ModelErrorRateHigh"}',
    truncatedAlerts: 0,
    status,
    receiver: 'vigil',
    groupLabels: { alertname: 'ModelErrorRateHigh' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example',
    alerts,
  };
}

describe('Alertmanager webhook receiver', () => {
  let env: VigilTestEnv;
  let app: FastifyInstance;
  let url: string;
  const logs: string[] = [];
  /** The first error-rate incident; the resolved tests record on it. */
  let infraIncident: string;

  const post = async (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const liveEvidence = (id: string) =>
    env.services.temporal.workflow
      .getHandle(id)
      .query(stateQuery)
      .then((s) => s.evidence);

  before(async () => {
    env = await createVigilTestEnv({
      config: (taskQueue) => {
        const config = testConfig({}, taskQueue);
        // Alerts without a signal label are mapped by name.
        config.models[0]!.alerts = { InferenceLatencyHigh: 'latency', FeatureDriftHigh: 'data_drift' };
        return config;
      },
    });
    await env.startWorker();
    app = createAlertReceiver({ incidents: env.services.incidents, config: env.config, token: TOKEN, log: (m) => logs.push(m) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object', 'the receiver listens');
    url = `http://127.0.0.1:${address.port}/alerts/alertmanager`;
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  it('answers /healthz without a token', async () => {
    const res = await fetch(url.replace('/alerts/alertmanager', '/healthz'));
    assert.equal(res.status, 200, 'healthz status');
  });

  it('refuses a request without a token, or with a wrong or malformed one, and opens nothing', async () => {
    const body = payload([alert()]);
    const none = await post(body, {});
    assert.equal(none.status, 401, `no token: ${JSON.stringify(none.body)}`);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/, 'WWW-Authenticate header');
    assert.match(none.body.error, /Authorization/, 'error names the header');

    const wrong = await post(body, { authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401, 'wrong token');
    assert.equal(wrong.body.error, 'invalid bearer token', 'wrong token error');

    const basic = await post(body, { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` });
    assert.equal(basic.status, 401, 'basic auth is not bearer');

    // Authentication comes before parsing: a bad body without a token is still a 401.
    const badBody = await post('{not json', {});
    assert.equal(badBody.status, 401, 'no token, bad body');

    assert.equal((await env.services.incidents.list()).length, 0, 'no incident opened');
    assert.ok(!logs.some((l) => l.includes(TOKEN)), 'the token never appears in the log');
  });

  it('rejects invalid JSON with 400', async () => {
    const res = await post('{"version": "4", "alerts": [');
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error, /invalid JSON/, 'error says JSON');
    assert.ok(Array.isArray(res.body.issues), 'issues listed');
  });

  it('rejects a payload that is not a v4 webhook with 400 naming each field', async () => {
    const { labels: _labels, ...noLabels } = alert();
    const res = await post({ ...payload([noLabels, alert({ startsAt: 'yesterday' })]), version: '3' });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const paths = res.body.issues.map((i: { path: string }) => i.path);
    assert.deepEqual(paths.sort(), ['alerts.0.labels', 'alerts.1.startsAt', 'version'], JSON.stringify(res.body.issues));
    const version = res.body.issues.find((i: { path: string }) => i.path === 'version');
    assert.match(version.message, /"4"/, 'version message names the expected version');
    assert.match(res.body.error, /alerts\.0\.labels/, 'the error text names the path too');
    assert.equal((await env.services.incidents.list()).length, 0, 'no incident opened');
  });

  it('rejects unknown models and unmappable signals with 422 and opens nothing, even for the valid alerts', async () => {
    const res = await post(
      payload([
        alert(),
        alert({ fingerprint: 'b', labels: { alertname: 'X', model: 'fraud-scorer', signal: 'error_rate' } }),
        alert({ fingerprint: 'c', labels: { alertname: 'X', vigil_model: TEST_MODEL, signal: 'cosmic_rays' } }),
        alert({ fingerprint: 'd', labels: { alertname: 'DiskFull', model: TEST_MODEL } }),
        alert({ fingerprint: 'e', labels: { alertname: 'X' } }),
      ]),
    );
    assert.equal(res.status, 422, JSON.stringify(res.body));
    const byPath = Object.fromEntries(res.body.issues.map((i: { path: string; message: string }) => [i.path, i.message]));
    assert.deepEqual(
      Object.keys(byPath),
      ['alerts.1.labels.model', 'alerts.2.labels.signal', 'alerts.3.labels.alertname', 'alerts.4.labels'],
      JSON.stringify(res.body.issues),
    );
    assert.match(byPath['alerts.1.labels.model'], /alert 1: label model="fraud-scorer" is not a configured model \(configured: credit-risk\)/, 'unknown model');
    assert.match(byPath['alerts.2.labels.signal'], /alert 2: label signal="cosmic_rays" is not a signal/, 'unknown signal');
    assert.match(byPath['alerts.3.labels.alertname'], /alertname "DiskFull" is not in models\.credit-risk\.alerts/, 'unmapped alert name');
    assert.match(byPath['alerts.4.labels'], /no "model" or "vigil_model" label/, 'no model label');
    assert.equal((await env.services.incidents.list()).length, 0, 'nothing opened, not even for alert 0');
  });

  it('refuses alert names that are Object.prototype members at planning: nothing opens, not even the valid alert before them', async () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const res = await post(payload([alert(), alert({ fingerprint: `p-${name}`, labels: { alertname: name, model: TEST_MODEL } })]));
      assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(
        res.body.issues.map((i: { path: string }) => i.path),
        ['alerts.1.labels.alertname'],
        name,
      );
      assert.ok(res.body.issues[0].message.includes(`alertname "${name}" is not in models.credit-risk.alerts`), res.body.issues[0].message);
    }
    assert.equal((await env.services.incidents.list()).length, 0, 'nothing opened');
  });

  it('refuses a payload over the limits whole, naming the alert and field: 413 for the body or the alert count, 400 for labels and annotations', async () => {
    const many = await post(payload(Array.from({ length: ALERT_LIMITS.maxAlerts + 1 }, (_, i) => alert({ fingerprint: `many-${i}` }))));
    assert.equal(many.status, 413, JSON.stringify(many.body).slice(0, 300));
    assert.match(many.body.error, /alerts: more than 500 alerts in one request: set max_alerts: 500/, 'names the field and the fix');
    const big = await post(payload([alert({ annotations: { summary: 's'.repeat(ALERT_LIMITS.maxBodyBytes) } })]));
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.match(big.body.error, /larger than 1048576 bytes/, 'names the limit');
    const labels = (n: number) => ({ ...alert().labels, ...Object.fromEntries(Array.from({ length: n - 4 }, (_, i) => [`extra_${i}`, 'v'])) });
    const long = await post(
      payload([
        alert(),
        alert({ fingerprint: 'long', annotations: { description: 'd'.repeat(ALERT_LIMITS.maxValueLength + 1) } }),
        alert({ fingerprint: 'wide', labels: labels(ALERT_LIMITS.maxLabels + 1) }),
      ]),
    );
    assert.equal(long.status, 400, JSON.stringify(long.body).slice(0, 300));
    assert.deepEqual(
      long.body.issues.map((i: { path: string; message: string }) => `${i.path}: ${i.message}`),
      ['alerts.1.annotations.description: must be at most 4096 characters', 'alerts.2.labels: has 65 entries; at most 64 are accepted'],
    );
    assert.equal((await env.services.incidents.list()).length, 0, 'nothing opened');
    // At the limits exactly: accepted (a resolved alert, recorded as ignored: nothing is open for it).
    const atLimits = alert({
      status: 'resolved',
      endsAt: new Date().toISOString(),
      labels: { ...labels(ALERT_LIMITS.maxLabels), signal: 'upstream_error' },
      annotations: { description: 'd'.repeat(ALERT_LIMITS.maxValueLength) },
    });
    const fits = await post(payload([atLimits], 'resolved'));
    assert.equal(fits.status, 200, JSON.stringify(fits.body).slice(0, 300));
    assert.equal(fits.body.ignored.length, 1, 'read and mapped');
  });

  it('opens one incident for a firing alert, with the alert as evidence', async () => {
    const res = await post(payload([alert()]));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.incidents.length, 1, JSON.stringify(res.body));
    const [opened] = res.body.incidents;
    assert.equal(opened.created, true, 'created');
    assert.equal(opened.fingerprint, 'f00d0000000000a1', 'fingerprint echoed');
    assert.deepEqual(res.body.resolved, [], 'nothing resolved');
    assert.deepEqual(res.body.ignored, [], 'nothing ignored');
    infraIncident = opened.id;

    const list = await env.services.incidents.list();
    assert.deepEqual(
      list.map((i) => [i.id, i.model, i.signal, i.status]),
      [[opened.id, TEST_MODEL, 'error_rate', 'open']],
      'one open incident',
    );
    const [evidence] = await waitFor(
      () => liveEvidence(opened.id),
      (e) => e.length === 1,
      'first evidence',
    );
    assert.equal(evidence!.source, 'alertmanager', 'source');
    assert.equal(evidence!.signal, 'error_rate', 'signal');
    assert.equal(evidence!.observedAt, STARTED, 'observed when the alert started');
    const openedAt = Date.parse((await env.services.incidents.show(opened.id)).state.openedAt);
    assert.ok(openedAt - Date.parse(STARTED) >= 60_000, 'opened when the alert reached Vigil, a minute after it started: the time to detect');
    assert.deepEqual(
      evidence!.values,
      {
        alertname: 'ModelErrorRateHigh',
        fingerprint: 'f00d0000000000a1',
        status: 'firing',
        startsAt: STARTED,
        severity: 'page',
        summary: 'credit-risk error rate above 5%',
        generatorURL: 'http://prometheus.example/graph?g0.expr=vigil_test_error_ratio',
        error_rate: 0.12,
      },
      'evidence values',
    );
    const shown = await waitFor(
      () => env.services.incidents.show(opened.id),
      (s) => s.failureMode !== undefined,
      'classified',
    );
    assert.equal(shown.failureMode, 'infrastructure', 'classified from the alert');
  });

  it('attaches the same alert, sent again, to the open incident', async () => {
    const res = await post(payload([alert({ annotations: { value: '0.2' } })]));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.incidents, [{ id: infraIncident, created: false, fingerprint: 'f00d0000000000a1' }], 'same incident');
    const evidence = await waitFor(
      () => liveEvidence(infraIncident),
      (e) => e.length === 2,
      'two evidence entries',
    );
    assert.equal(evidence[1]!.values.error_rate, 0.2, 'the new value is recorded');
    assert.equal((await env.services.incidents.list()).length, 1, 'still one incident');
  });

  it('opens one incident for a group of alerts of one model and failure mode', async () => {
    const res = await post(
      payload([
        alert({ fingerprint: 'd1', labels: { alertname: 'FeatureDriftHigh', model: TEST_MODEL }, annotations: { value: '0.41' } }),
        alert({ fingerprint: 'd2', labels: { alertname: 'FeatureDriftHigh', vigil_model: TEST_MODEL, feature: 'age' }, annotations: { value: 'n/a' } }),
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [a, b] = res.body.incidents;
    assert.equal(res.body.incidents.length, 2, 'one entry per alert');
    assert.equal(a.id, b.id, 'both alerts feed one incident');
    assert.deepEqual([a.created, b.created], [true, false], 'the first opened it');
    assert.notEqual(a.id, infraIncident, 'a different failure mode is a different incident');
    const evidence = await waitFor(
      () => liveEvidence(a.id),
      (e) => e.length === 2,
      'one evidence entry per alert',
    );
    assert.deepEqual(
      evidence.map((e) => e.values.fingerprint),
      ['d1', 'd2'],
      'fingerprints',
    );
    assert.equal(evidence[0]!.signal, 'data_drift', 'signal from the alerts mapping');
    assert.equal(evidence[0]!.values.psi_max, 0.41, 'numeric value under the signal key');
    assert.equal(evidence[1]!.values.value, 'n/a', 'a non-numeric value is kept as text');
    assert.equal((await env.services.incidents.list({ open: true })).length, 2, 'two open incidents in all');
  });

  it('records a resolved alert on the open incident and opens nothing new', async () => {
    const endsAt = new Date().toISOString();
    const res = await post(payload([alert({ status: 'resolved', endsAt })], 'resolved'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { incidents: [], resolved: [{ id: infraIncident, fingerprint: 'f00d0000000000a1' }], ignored: [] }, 'resolved');
    const evidence = await waitFor(
      () => liveEvidence(infraIncident),
      (e) => e.length === 3,
      'resolved evidence',
    );
    assert.equal(evidence[2]!.values.status, 'resolved', 'status resolved');
    assert.equal(evidence[2]!.values.endsAt, endsAt, 'endsAt recorded');
    assert.equal((await env.services.incidents.list()).length, 2, 'no new incident');
  });

  it('ignores a resolved alert when no incident of its model and mode is open', async () => {
    const res = await post(
      payload(
        [
          alert({
            status: 'resolved',
            fingerprint: 'up1',
            labels: { alertname: 'FeatureStoreErrors', model: TEST_MODEL, signal: 'upstream_error' },
            endsAt: new Date().toISOString(),
          }),
        ],
        'resolved',
      ),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.incidents, [], 'nothing opened');
    assert.deepEqual(res.body.resolved, [], 'nothing resolved');
    assert.equal(res.body.ignored.length, 1, JSON.stringify(res.body));
    assert.equal(res.body.ignored[0].fingerprint, 'up1', 'fingerprint');
    assert.match(res.body.ignored[0].reason, /no incident is open for credit-risk upstream/, 'reason');
    assert.equal((await env.services.incidents.list()).length, 2, 'no new incident');
  });

  it('answers 503 when PostgreSQL is unreachable, so Alertmanager retries', async () => {
    const deadPool = new pg.Pool({ connectionString: `postgres://vigil@127.0.0.1:${await freePort()}/vigil`, connectionTimeoutMillis: 2_000 });
    const deadLogs: string[] = [];
    const down = createAlertReceiver({
      incidents: createIncidentService({ temporal: env.services.temporal, store: createIncidentStore(deadPool), config: env.config }),
      config: env.config,
      token: TOKEN,
      log: (m) => deadLogs.push(m),
    });
    try {
      await down.listen({ host: '127.0.0.1', port: 0 });
      const address = down.server.address();
      assert.ok(address && typeof address === 'object', 'listening');
      const res = await fetch(`http://127.0.0.1:${address.port}/alerts/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(payload([alert({ fingerprint: 'x1' })])),
      });
      assert.equal(res.status, 503, 'service unavailable');
      assert.match(((await res.json()) as { error: string }).error, /retry/, 'says to retry');
      assert.ok(
        deadLogs.some((l) => /^alert receiver: 503 /.test(l)),
        `logged: ${deadLogs.join(' | ')}`,
      );
      assert.ok(!deadLogs.some((l) => l.includes(TOKEN)), 'the token is not logged');
    } finally {
      await down.close();
      await deadPool.end();
    }
  });

  it('reports a port in use with the variable that changes it', async () => {
    const first = await startAlertReceiver({ incidents: env.services.incidents, config: env.config, token: TOKEN, log: () => {}, host: '127.0.0.1', port: 0 });
    try {
      await assert.rejects(
        startAlertReceiver({ incidents: env.services.incidents, config: env.config, token: TOKEN, log: () => {}, host: '127.0.0.1', port: first.port }),
        (err: Error) => err.message.includes(`port ${first.port}`) && err.message.includes('VIGIL_HTTP_PORT'),
        'port in use names the port and VIGIL_HTTP_PORT',
      );
    } finally {
      await first.stop();
    }
  });

  it('vigil up refuses a bad VIGIL_HTTP_PORT or VIGIL_ALERT_TOKEN with exit 2 before starting anything', async () => {
    const stateDir = fs.mkdtempSync(path.join(env.stateDir, 'up-bad-'));
    const configFile = path.join(stateDir, 'vigil.config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ taskQueue: `${env.taskQueue}-bad`, models: [{ id: 'alert-demo', displayName: 'Alert demo', tier: 'medium', approvers: ['alice'] }] }),
    );
    // Asynchronous on purpose: this process hosts a worker.
    const up = (extraEnv: Record<string, string>) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        execFile(
          VIGIL,
          ['--config', configFile, '--state-dir', stateDir, 'up'],
          { env: { ...process.env, DATABASE_URL: env.databaseUrl, ...extraEnv }, encoding: 'utf8', timeout: 60_000 },
          (error, _out, err) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, err }),
        );
      });
    const port = await up({ VIGIL_HTTP_PORT: '80x' });
    assert.equal(port.code, 2, port.err);
    assert.match(port.err, /VIGIL_HTTP_PORT="80x": must be an integer from 1 to 65535/, 'names the variable');
    const token = await up({ VIGIL_HTTP_PORT: String(await freePort()), VIGIL_ALERT_TOKEN: 'too-short' });
    assert.equal(token.code, 2, token.err);
    assert.match(token.err, /VIGIL_ALERT_TOKEN: the alert token must be at least 16 characters/, 'names the variable');
    assert.ok(!token.err.includes('too-short'), 'does not echo the token');
    assert.deepEqual(fs.readdirSync(stateDir), ['vigil.config.json'], 'nothing started, nothing written');
  });

  it('vigil up serves the receiver with the generated token and stops it on SIGINT', async () => {
    const stateDir = fs.mkdtempSync(path.join(env.stateDir, 'up-'));
    const configFile = path.join(stateDir, 'vigil.config.json');
    // Its own model: its monitor schedule and incident stay apart from the other tests'.
    fs.writeFileSync(
      configFile,
      JSON.stringify({ taskQueue: `${env.taskQueue}-up`, models: [{ id: 'alert-demo', displayName: 'Alert demo', tier: 'medium', approvers: ['alice'] }] }),
    );
    let token = '';
    await withVigilUp(
      { configFile, stateDir, databaseUrl: env.databaseUrl },
      async (up) => {
        const receiverUrl = `${up.base}/alerts/alertmanager`;
        const tokenFile = path.join(stateDir, 'alert-token');
        assert.ok(up.output().includes(`alert receiver: POST ${receiverUrl} (bearer token: ${tokenFile}, created)`), up.output());
        token = fs.readFileSync(tokenFile, 'utf8').trim();
        const res = await fetch(receiverUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(payload([alert({ fingerprint: 'up-1', labels: { alertname: 'LabelsOdd', model: 'alert-demo', signal: 'label_anomaly' } })])),
        });
        const body = (await res.json()) as any;
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.incidents[0].created, true, JSON.stringify(body));
        assert.match(body.incidents[0].id, /^incident-alert-demo-feedback-loop-/, 'incident of the up model');
      },
      () => token,
    );
  });
});

describe('alert token', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alert-token-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('uses VIGIL_ALERT_TOKEN when set and refuses a short one without echoing it', () => {
    const dir = tmp();
    const t = resolveAlertToken({ stateDir: dir, env: { VIGIL_ALERT_TOKEN: 'abcdefghijklmnop-long' } });
    assert.deepEqual([t.token, t.source, t.created], ['abcdefghijklmnop-long', 'VIGIL_ALERT_TOKEN', false], 'from the environment');
    assert.equal(fs.existsSync(path.join(dir, 'alert-token')), false, 'no file written');
    assert.throws(
      () => resolveAlertToken({ stateDir: dir, env: { VIGIL_ALERT_TOKEN: 'short-secret' } }),
      (err: Error) => err instanceof UserInputError && /VIGIL_ALERT_TOKEN.*at least 16/.test(err.message) && !err.message.includes('short-secret'),
      'short token refused',
    );
    assert.throws(() => resolveAlertToken({ stateDir: dir, env: { VIGIL_ALERT_TOKEN: '' } }), UserInputError, 'empty token refused');
  });

  it('reads VIGIL_HTTP_HOST and VIGIL_HTTP_PORT, refusing a bad port with the variable named', () => {
    assert.deepEqual(httpAddressFromEnv({}), { host: '127.0.0.1', port: 8080 }, 'defaults');
    assert.deepEqual(httpAddressFromEnv({ VIGIL_HTTP_PORT: '9091', VIGIL_HTTP_HOST: '0.0.0.0' }), { host: '0.0.0.0', port: 9091 }, 'from env');
    for (const bad of ['0', '65536', '80.5', 'http', '', '-1']) {
      assert.throws(
        () => httpAddressFromEnv({ VIGIL_HTTP_PORT: bad }),
        (err: Error) => err instanceof UserInputError && err.message.startsWith(`VIGIL_HTTP_PORT="${bad}"`),
        `port ${JSON.stringify(bad)}`,
      );
    }
    assert.throws(() => httpAddressFromEnv({ VIGIL_HTTP_HOST: ' ' }), /VIGIL_HTTP_HOST is set but empty/, 'empty host');
  });

  it('generates a private token file once and reads it back', () => {
    const dir = tmp();
    const first = resolveAlertToken({ stateDir: dir, env: {} });
    const file = path.join(dir, 'alert-token');
    assert.equal(first.created, true, 'created');
    assert.equal(first.source, file, 'source is the file');
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'mode 0600');
    const second = resolveAlertToken({ stateDir: dir, env: {} });
    assert.deepEqual([second.token, second.created], [first.token, false], 'read back, not regenerated');
    fs.writeFileSync(file, 'tiny\n');
    assert.throws(() => resolveAlertToken({ stateDir: dir, env: {} }), /alert-token.*at least 16/, 'a bad file is a clear error');
  });
});
