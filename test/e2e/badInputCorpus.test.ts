/**
 * The bad-input corpus: what users and systems really send wrong, per edge, from
 * test/fixtures/bad-input/<edge>/*.json (see test/support/badInputFixtures.ts), against a real Vigil
 * (Temporal, PostgreSQL, the HTTP server `vigil up` runs, the Bolt app, the `vigil` command). Each case
 * is refused with its 4xx (or exit 2), the message names the field, row or index, nothing is started or
 * written (incidents, predictions, pending labels, audit rows, Slack calls), and the edge still answers
 * a valid request afterwards. Also: a flood of unsigned Slack requests writes no row per request.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import type { RunningSlackApp } from '../../adapters/slack/slackApp.js';
import { REJECT_MODAL, SLACK_ACTIONS } from '../../adapters/slack/slackContract.js';
import { parseProtocol } from '../../adapters/training/localProcessBackend.js';
import { compareCsvFiles, readSchemaFile } from '../../cli/driftCompare.js';
import { loadConfig } from '../../cli/loadConfig.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import type { DriftOptions } from '../../domain/drift/datasetDrift.js';
import { UserInputError } from '../../domain/errors.js';
import { expandFixture, loadBadInputCases, missingMentions, type BadInputCase, type Templates } from '../support/badInputFixtures.js';
import { configError } from '../support/configError.js';
import { startSlackApiRecorder, type SlackApiRecorder } from '../support/slackApiRecorder.js';
import { sendSlackRequest, signedRequest, startResponseUrlCapture, startTestSlackApp, type ResponseUrlCapture } from '../support/slackRequests.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers are checked field by field

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));
const ALERT_TOKEN = 'corpus-alert-token-0123456789';
const INGEST_TOKEN = 'corpus-ingest-token-0123456789';
const SIGNING_SECRET = 'corpus-signing-secret-5b8e2c7a9d1f';
const BOT_TOKEN = 'xoxb-1234567890-0987654321-CorpusBotToken';
const FORM = 'application/x-www-form-urlencoded';
const INCIDENT = 'incident-credit-risk-infrastructure-20251126140000';

interface Expect {
  status?: number;
  mentions: string[];
  /** How many issues the answer lists, when that is the point of the case. */
  issues?: number;
}

/** The example model (alert names mapped), a binary model with an input schema and a multiclass one; small ingest bounds. */
function corpusConfig(taskQueue: string): VigilConfig {
  const base = testConfig({}, taskQueue);
  const model = { tier: 'medium', approvers: ['alice'] };
  return parseConfig({
    ...base,
    ingest: { maxRowsPerRequest: 100, maxBodyBytes: 65_536 },
    models: [
      { ...base.models[0], alerts: { InferenceLatencyHigh: 'latency' } },
      {
        ...model,
        id: 'fraud',
        displayName: 'Fraud',
        task: { type: 'binary', positiveClass: 'fraud', negativeClass: 'legit' },
        inputSchema: { columns: { amount: { type: 'numeric' }, country: { type: 'categorical' } }, allowExtraColumns: true },
      },
      { ...model, id: 'species', displayName: 'Species', task: { type: 'multiclass', classes: ['cat', 'dog', 'bird'] } },
    ],
  });
}

const STARTED = '2025-11-26T14:00:00Z';

const TEMPLATES: Templates = {
  $webhook: () => ({
    version: '4',
    groupKey: '{}:{alertname="ModelLatencyHigh"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'vigil',
    groupLabels: { alertname: 'ModelLatencyHigh' },
    commonLabels: { model: TEST_MODEL },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [TEMPLATES.$alert!()],
  }),
  $alert: () => ({
    status: 'firing',
    labels: { alertname: 'ModelLatencyHigh', model: TEST_MODEL, signal: 'latency', severity: 'page' },
    annotations: { summary: 'p99 latency above 500 ms', value: '730' },
    startsAt: STARTED,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example:9090/graph?g0.expr=vigil_latency_p99',
    fingerprint: '1a2b3c4d5e6f7a8b',
  }),
  $prediction: () => ({
    requestId: 'r-1',
    ts: '2025-11-26T14:03:00Z',
    modelVersion: 3,
    features: { amount: 120.5, country: 'DE' },
    prediction: { score: 0.91 },
  }),
  $action: () => ({
    action_id: SLACK_ACTIONS.approve,
    block_id: 'decision',
    text: { type: 'plain_text', text: 'Approve', emoji: true },
    value: JSON.stringify({ incidentId: INCIDENT }),
    type: 'button',
    action_ts: '1764165600.000100',
  }),
  $blockActions: () => ({
    type: 'block_actions',
    user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0VIGIL01' },
    api_app_id: 'A0VIGILAPP',
    token: 'legacy-verification-token-unused',
    container: { type: 'message', message_ts: '1764165600.000100', channel_id: 'C0INCIDENTS', is_ephemeral: false },
    trigger_id: `1764165600.T0VIGIL01.${crypto.randomBytes(8).toString('hex')}`,
    team: { id: 'T0VIGIL01', domain: 'vigil-test' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: 'C0INCIDENTS', name: 'ml-incidents' },
    message: { type: 'message', ts: '1764165600.000100', text: 'Vigil incident', bot_id: 'B0VIGILBOT', blocks: [] },
    state: { values: {} },
    response_url: 'http://127.0.0.1:9/commands/unused',
    actions: [TEMPLATES.$action!()],
  }),
  $view: () => ({
    id: 'V0REJECT01',
    team_id: 'T0VIGIL01',
    type: 'modal',
    blocks: [],
    private_metadata: JSON.stringify({ incidentId: INCIDENT, channel: 'C0INCIDENTS', messageTs: '1764165600.000100' }),
    callback_id: REJECT_MODAL.callbackId,
    state: { values: { [REJECT_MODAL.reasonBlockId]: { [REJECT_MODAL.reasonActionId]: { type: 'plain_text_input', value: 'planned campaign' } } } },
    hash: '1764165600.V0REJECT01',
    app_id: 'A0VIGILAPP',
  }),
  $viewSubmission: () => ({
    type: 'view_submission',
    team: { id: 'T0VIGIL01', domain: 'vigil-test' },
    user: { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0VIGIL01' },
    api_app_id: 'A0VIGILAPP',
    token: 'legacy-verification-token-unused',
    trigger_id: `1764165600.T0VIGIL01.${crypto.randomBytes(8).toString('hex')}`,
    view: TEMPLATES.$view!(),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  }),
  $slashCommand: () => ({
    token: 'legacy-verification-token-unused',
    team_id: 'T0VIGIL01',
    team_domain: 'vigil-test',
    channel_id: 'C0INCIDENTS',
    channel_name: 'ml-incidents',
    user_id: 'U0ALICE',
    user_name: 'alice',
    command: '/vigil',
    text: 'list',
    api_app_id: 'A0VIGILAPP',
    is_enterprise_install: 'false',
    response_url: 'http://127.0.0.1:9/commands/unused',
    trigger_id: `1764165600.T0VIGIL01.${crypto.randomBytes(8).toString('hex')}`,
  }),
  $model: () => ({ id: 'fraud-scorer', displayName: 'Fraud', tier: 'high', approvers: ['alice'] }),
  $config: () => ({ models: [TEMPLATES.$model!()] }),
};

const expand = (v: unknown) => expandFixture(v, TEMPLATES);
const expectOf = (c: BadInputCase) => c.expect as Expect;
const title = (c: BadInputCase) => `${c.name}: ${c.description}`;

/** The answer's own words: `error` (Vigil's answers) and `message` (fastify's). */
function messageOf(text: string): string {
  try {
    const json = JSON.parse(text) as Json;
    const words = [json?.error, json?.message].filter((w) => typeof w === 'string');
    return words.length ? words.join(' ') : text;
  } catch {
    return text;
  }
}

function assertRefused(c: BadInputCase, res: { status: number; text: string }) {
  const expected = expectOf(c);
  assert.equal(res.status, expected.status, `${c.name}: status (${res.text.slice(0, 400)})`);
  const message = messageOf(res.text);
  assert.deepEqual(missingMentions(message, expected.mentions), [], `${c.name}: the message names the field (${message.slice(0, 600)})`);
  if (expected.issues !== undefined) assert.equal((JSON.parse(res.text) as Json).issues.length, expected.issues, `${c.name}: issues listed`);
}

describe('bad-input corpus', () => {
  let env: VigilTestEnv;
  let server: FastifyInstance;
  let base: string;
  let recorder: SlackApiRecorder;
  let capture: ResponseUrlCapture;
  let slack: RunningSlackApp;
  const logs: string[] = [];

  /** Everything a refused request must leave as it was. */
  const written = async () => {
    const { rows } = await env.services.pool.query<Json>(
      `SELECT (SELECT count(*) FROM incidents)::int AS incidents, (SELECT count(*) FROM predictions)::int AS predictions,
              (SELECT count(*) FROM pending_labels)::int AS pending, (SELECT count(*) FROM audit_events)::int AS audit`,
    );
    return { ...rows[0], slackCalls: recorder.calls.length };
  };

  const http = async (method: string, url: string, opts: { headers?: Record<string, string>; body?: string } = {}) => {
    const res = await fetch(`${base}${url}`, { method, headers: opts.headers ?? {}, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    env = await createVigilTestEnv({ config: corpusConfig, bootstrapExample: (m) => m.id === TEST_MODEL });
    server = createAlertReceiver({
      incidents: env.services.incidents,
      config: env.config,
      token: ALERT_TOKEN,
      log: (m) => logs.push(m),
      ingest: { predictions: env.services.predictions, token: INGEST_TOKEN },
      routing: { deploymentFor: env.services.deploymentFor },
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object', 'listening');
    base = `http://127.0.0.1:${address.port}`;
    recorder = await startSlackApiRecorder();
    capture = await startResponseUrlCapture();
    slack = await startTestSlackApp({ env, recorderUrl: recorder.url, botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, logs });
    // The prediction each ingestion check sends again: a valid request that stores nothing new.
    const seeded = await postPredictions('fraud', JSON.stringify({ predictions: [TEMPLATES.$prediction!()] }));
    assert.equal(seeded.status, 200, seeded.text);
  });
  after(async () => {
    await slack?.stop();
    await capture?.stop();
    await recorder?.stop();
    await server?.close();
    await env?.close();
  });

  const postPredictions = (model: string, body: string, route = 'predictions', headers: Record<string, string> = {}) =>
    http('POST', `/v1/models/${model}/${route}`, {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}`, ...headers },
      body,
    });

  describe('Alertmanager webhook', () => {
    const resolvedAlert = JSON.stringify({
      ...TEMPLATES.$webhook!(),
      status: 'resolved',
      alerts: [{ ...TEMPLATES.$alert!(), status: 'resolved', labels: { alertname: 'FeatureStoreErrors', model: TEST_MODEL, signal: 'upstream_error' } }],
    });
    for (const c of loadBadInputCases('alertmanager')) {
      it(title(c), async () => {
        const before = await written();
        const body = c.rawBody !== undefined ? String(c.rawBody) : JSON.stringify(expand(c.body));
        const headers = { 'content-type': String(c.contentType ?? 'application/json'), authorization: `Bearer ${ALERT_TOKEN}` };
        assertRefused(c, await http('POST', '/alerts/alertmanager', { headers, body }));
        assert.deepEqual(await written(), before, `${c.name}: nothing started or written`);
        const valid = await http('POST', '/alerts/alertmanager', { headers: { ...headers, 'content-type': 'application/json' }, body: resolvedAlert });
        assert.equal(valid.status, 200, `${c.name}: a valid webhook is still answered (${valid.text})`);
      });
    }
  });

  describe('ingestion API', () => {
    for (const c of loadBadInputCases('ingest')) {
      it(title(c), async () => {
        const before = await written();
        const body = c.rawBody !== undefined ? String(c.rawBody) : JSON.stringify(expand(c.body));
        const headers: Record<string, string> = { 'content-type': String(c.contentType ?? 'application/json') };
        if (c.token === 'alert') headers.authorization = `Bearer ${ALERT_TOKEN}`;
        assertRefused(c, await postPredictions(String(c.model), body, String(c.route), headers));
        assert.deepEqual(await written(), before, `${c.name}: nothing stored`);
        const again = await postPredictions('fraud', JSON.stringify({ predictions: [TEMPLATES.$prediction!()] }));
        assert.equal(again.status, 200, `${c.name}: a valid batch is still answered (${again.text})`);
        assert.deepEqual(JSON.parse(again.text), { accepted: 0, duplicates: 1, labelsMatched: 0 }, `${c.name}: the seeded row, once`);
      });
    }
  });

  describe('routing API', () => {
    for (const c of loadBadInputCases('routing')) {
      it(title(c), async () => {
        const before = await written();
        const token = c.token === 'none' ? undefined : c.token === 'alert' ? ALERT_TOKEN : INGEST_TOKEN;
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
        assertRefused(c, await http('GET', `/v1/models/${encodeURIComponent(String(expand(c.model)))}/routing`, { headers }));
        assert.deepEqual(await written(), before, `${c.name}: nothing written`);
        const valid = await http('GET', `/v1/models/${TEST_MODEL}/routing`, { headers: { authorization: `Bearer ${INGEST_TOKEN}` } });
        assert.equal(valid.status, 200, `${c.name}: a valid poll is still answered (${valid.text})`);
        assert.equal((JSON.parse(valid.text) as Json).champion?.version, 1, `${c.name}: with the champion`);
      });
    }
  });

  describe('Slack interactions, correctly signed but malformed', () => {
    const sign = (body: string, contentType: string) => signedRequest(body, contentType, { signingSecret: SIGNING_SECRET });
    const help = () =>
      sign(new URLSearchParams({ ...(TEMPLATES.$slashCommand!() as Record<string, string>), text: 'help', response_url: capture.next() }).toString(), FORM);

    for (const c of loadBadInputCases('slack')) {
      it(title(c), async () => {
        const before = await written();
        let request;
        if (c.interaction !== undefined) request = sign(new URLSearchParams({ payload: JSON.stringify(expand(c.interaction)) }).toString(), FORM);
        else if (c.command !== undefined) request = sign(new URLSearchParams(expand(c.command) as Record<string, string>).toString(), FORM);
        else request = sign(String(c.rawBody), String(c.contentType));
        const res = await sendSlackRequest(slack.url!, request);
        assertRefused(c, res);
        assert.deepEqual(await written(), before, `${c.name}: nothing decided, opened, audited or posted`);
        const valid = await sendSlackRequest(slack.url!, help());
        assert.equal(valid.status, 200, `${c.name}: a valid /vigil help is still answered (${valid.text})`);
      });
    }

    it('a flood of unsigned and forged requests: 401 each, at most one audit row per reason, the rest counted and written as one row on stop', async () => {
      const refusedRows = async () =>
        (
          await env.services.pool.query<{ actor: string; detail: Json }>(
            `SELECT actor, detail FROM audit_events WHERE kind = 'slack_request_refused' ORDER BY id`,
          )
        ).rows;
      const before = (await refusedRows()).length;
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const body = new URLSearchParams({ payload: JSON.stringify(TEMPLATES.$blockActions!()) }).toString();
        const headers: Record<string, string> =
          i % 2 === 0 ? { 'content-type': FORM } : signedRequest(body, FORM, { signingSecret: `not-the-secret-${i}-0000000000` }).headers;
        const res = await fetch(slack.url!, { method: 'POST', headers, body });
        statuses.push(res.status);
      }
      assert.deepEqual(new Set(statuses), new Set([401]), 'every one refused with 401');
      const during = await refusedRows();
      assert.ok(during.length - before <= 2, `at most one row per reason (missing and bad signature), not 40: ${during.length - before}`);
      await slack.stop();
      const rows = (await refusedRows()).slice(before);
      const counted = rows.reduce((n, r) => n + (r.detail.counted ?? 1), 0);
      assert.equal(counted, 40, `all 40 accounted for in ${rows.length} rows: ${JSON.stringify(rows.map((r) => r.detail))}`);
      assert.ok(rows.length <= 4, `a row per reason and a summary per reason, at most: ${rows.length}`);
      assert.ok(
        rows.every((r) => r.actor === 'unverified'),
        'an unverified request names nobody',
      );
      // The next describe needs no Slack app; a fresh one is not started.
    });
  });

  describe('CSV files for vigil drift compare', () => {
    for (const c of loadBadInputCases('csv')) {
      it(title(c), () => {
        const dir = fs.mkdtempSync(path.join(env.stateDir, `csv-${c.name}-`));
        const file = (name: string, lines: unknown) => {
          const f = path.join(dir, name);
          fs.writeFileSync(f, (lines as string[]).map((l) => `${l}\n`).join(''));
          return f;
        };
        const reference = file('reference.csv', c.reference);
        const current = file('current.csv', c.current);
        let types: ReturnType<typeof readSchemaFile> | undefined;
        if (c.schema !== undefined) {
          const schemaFile = path.join(dir, 'schema.json');
          fs.writeFileSync(schemaFile, JSON.stringify(c.schema));
          types = readSchemaFile(schemaFile);
        }
        assert.throws(
          () => compareCsvFiles(reference, current, (c.options ?? {}) as DriftOptions, types),
          (err: Error) => {
            assert.ok(err instanceof UserInputError && err.exitCode === 2, `${c.name}: exit 2, got ${err.constructor.name}: ${err.message}`);
            assert.deepEqual(missingMentions(err.message, expectOf(c).mentions), [], `${c.name}: names file, row and column (${err.message})`);
            return true;
          },
        );
      });
    }
  });

  describe('config files', () => {
    for (const c of loadBadInputCases('config')) {
      it(title(c), () => {
        const dir = fs.mkdtempSync(path.join(env.stateDir, `config-${c.name}-`));
        const file = path.join(dir, 'vigil.config.json');
        if (c.rawText !== undefined) fs.writeFileSync(file, String(c.rawText));
        else {
          const raw = expand(c.config);
          const err = configError(raw);
          const paths = err.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
          assert.deepEqual(missingMentions(paths, expectOf(c).mentions), [], `${c.name}: the issue names the field (${paths})`);
          fs.writeFileSync(file, JSON.stringify(raw));
        }
        // As the CLI reads it: a UserInputError, exit 2, naming the field.
        assert.throws(
          () => loadConfig(file),
          (err: Error) => {
            assert.ok(err instanceof UserInputError && err.exitCode === 2, `${c.name}: exit 2, got ${err.constructor.name}: ${err.message}`);
            assert.deepEqual(missingMentions(err.message, expectOf(c).mentions), [], `${c.name}: names the field (${err.message})`);
            return true;
          },
        );
      });
    }
  });

  describe('vigil command arguments', () => {
    let configFile: string;
    let csvDir: string;
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        // Asynchronous: a blocking spawn would starve this process's servers.
        execFile(
          VIGIL,
          ['--config', configFile, ...args],
          { env: { ...process.env, DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir }, encoding: 'utf8', timeout: 60_000 },
          (error, _out, err) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, err }),
        );
      });

    before(() => {
      configFile = path.join(env.stateDir, 'corpus.config.json');
      fs.writeFileSync(configFile, JSON.stringify(env.config));
      csvDir = fs.mkdtempSync(path.join(env.stateDir, 'cli-csv-'));
      const rows = ['age,region', '34,north', '41,south', '29,north', '52,east'].join('\n');
      fs.writeFileSync(path.join(csvDir, 'reference.csv'), `${rows}\n`);
      fs.writeFileSync(path.join(csvDir, 'current.csv'), `${rows}\n`);
    });

    for (const c of loadBadInputCases('cli')) {
      it(title(c), async () => {
        const before = await written();
        const args = (c.args as string[]).map((a) =>
          a.replace('{reference}', path.join(csvDir, 'reference.csv')).replace('{current}', path.join(csvDir, 'current.csv')),
        );
        const r = await run(args);
        assert.equal(r.code, 2, `${c.name}: exit 2 (${r.err})`);
        assert.deepEqual(missingMentions(r.err, expectOf(c).mentions), [], `${c.name}: names the flag (${r.err})`);
        assert.deepEqual(await written(), before, `${c.name}: nothing started or written`);
      });
    }

    it('a valid command still runs against the same config and database', async () => {
      const r = await run(['drift', 'compare', '--reference', path.join(csvDir, 'reference.csv'), '--current', path.join(csvDir, 'current.csv'), '--json']);
      assert.equal(r.code, 0, r.err);
    });
  });

  describe('trainer output lines', () => {
    for (const c of loadBadInputCases('trainer')) {
      it(title(c), () => {
        const lines = expand(c.stdout) as string[];
        const fields = parseProtocol(lines.map((l) => `${l}\n`).join(''));
        assert.deepEqual({ ...fields }, (c.expect as { fields: object }).fields, `${c.name}: what the watch reads`);
        assert.equal(({} as Json).polluted, undefined, `${c.name}: no prototype changed`);
      });
    }
  });
});
