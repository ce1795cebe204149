/**
 * The Slack approval issue's "done when", with the test harness standing in for Slack's servers: the
 * example model's drifted traffic raises an incident whose message is posted to the model's channel;
 * a non-approver's click on its button is refused with an explanation and recorded; a forged click is
 * refused; an approver's click resumes the workflow and the message is updated in place; a decision
 * made with the CLI updates the Slack message too. Worker side (notifier) and Bolt app side together.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { createCompositeNotifier } from '../../adapters/notify/compositeNotifier.js';
import { createLogNotifier } from '../../adapters/notify/logNotifier.js';
import type { RunningSlackApp } from '../../adapters/slack/slackApp.js';
import { SLACK_ACTIONS, SLACK_METADATA_EVENT } from '../../adapters/slack/slackContract.js';
import { createSlackNotifier } from '../../adapters/slack/slackNotifier.js';
import { createSlackWebClient } from '../../adapters/slack/slackWebClient.js';
import { parseConfig } from '../../domain/config.js';
import { CREDIT_RISK_INPUT_SCHEMA } from '../../examples/credit-risk/inputSchema.js';
import { untilIncident } from '../support/driftIncident.js';
import { startSlackApiRecorder, type SlackApiCall, type SlackApiRecorder } from '../support/slackApiRecorder.js';
import {
  blockActionsRequest,
  sendSlackRequest,
  startResponseUrlCapture,
  startTestSlackApp,
  type ResponseUrlCapture,
  type SlackUser,
} from '../support/slackRequests.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));
const SECRET = 'vigil-approval-signing-secret-5e4d3c2b1a';
const BOT_TOKEN = 'xoxb-2222-3333-VigilApprovalTestBot';
const CHANNEL = 'C0CREDITRISK';
const ALICE: SlackUser = { id: 'U0ALICE', username: 'alice' };
const BOB: SlackUser = { id: 'U0BOB', username: 'bob' };
const CAROL: SlackUser = { id: 'U0CAROL', username: 'carol' };

/** `monitor` changes nothing, so an approved incident closes in a few steps. */
const FAST = {
  approval: { timeout: '5m', escalationTimeout: '0s' },
  actions: ['monitor'],
  safeDefault: 'monitor',
  validation: { window: '1s', maxExtraWindows: 0, minSamples: 100 },
};

type Block = { type: string; block_id?: string; text?: { text: string }; elements?: { action_id?: string; value?: string }[] };
const blocksOf = (c: SlackApiCall) => (c.args.blocks ?? []) as Block[];
const allText = (c: SlackApiCall) => JSON.stringify(c.args.blocks ?? []) + String(c.args.text ?? '');
const buttonsOf = (c: SlackApiCall) =>
  blocksOf(c)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);

describe('Slack approval (done when)', () => {
  let env: VigilTestEnv;
  let recorder: SlackApiRecorder;
  let capture: ResponseUrlCapture;
  let slack: RunningSlackApp;
  const logs: string[] = [];

  before(async () => {
    recorder = await startSlackApiRecorder();
    capture = await startResponseUrlCapture();
    env = await createVigilTestEnv({
      config: (taskQueue) =>
        parseConfig({
          taskQueue,
          models: [
            {
              id: TEST_MODEL,
              displayName: 'Credit risk (example)',
              tier: 'high',
              approvers: [ALICE.id, BOB.id, 'alice'],
              escalation: ['S0MLLEADS'],
              slack: { channel: CHANNEL },
              example: true,
              monitor: { window: 500, minLabelled: 100 },
              inputSchema: CREDIT_RISK_INPUT_SCHEMA,
              runbooks: { data_drift: FAST, concept_drift: FAST, data_quality: FAST },
            },
          ],
        }),
      // As in production with SLACK_BOT_TOKEN set: the log and Slack, Slack's Web API being the recorder.
      notifier: ({ pool, config, namespace }) =>
        createCompositeNotifier([
          { name: 'log', notifier: createLogNotifier((l) => logs.push(l)) },
          {
            name: 'slack',
            notifier: createSlackNotifier({
              client: createSlackWebClient({ token: BOT_TOKEN, apiUrl: recorder.url }),
              pool,
              config,
              namespace,
              temporalUiUrl: 'http://localhost:8233',
              log: (l) => logs.push(l),
            }),
          },
        ]),
    });
    await env.startWorker();
    slack = await startTestSlackApp({ env, recorderUrl: recorder.url, botToken: BOT_TOKEN, signingSecret: SECRET, logs });
  });
  after(async () => {
    await slack?.stop();
    await env?.close();
    await capture?.stop();
    await recorder?.stop();
    assert.ok(!logs.some((l) => l.includes(BOT_TOKEN) || l.includes(SECRET)), 'no token or secret in the logs');
  });

  /** Clicks a button of the posted incident message, exactly as Slack would send it. */
  const clickButton = (user: SlackUser, message: SlackApiCall, action: 'approve' | 'reject', signingSecret = SECRET) => {
    const button = buttonsOf(message).find((b) => b.action_id === SLACK_ACTIONS[action]);
    assert.ok(button?.value, `the message has a ${action} button: ${JSON.stringify(blocksOf(message))}`);
    return sendSlackRequest(
      slack.url!,
      blockActionsRequest({
        signingSecret,
        teamId: recorder.teamId,
        user,
        actionId: button.action_id!,
        value: button.value,
        channel: CHANNEL,
        messageTs: String(message.args.ts ?? ''),
        responseUrl: capture.next(),
      }),
    );
  };

  /** The chat.postMessage of the incident message, with the ts Slack answered (recorded apart). */
  const postedMessage = async (id: string): Promise<SlackApiCall> => {
    const call = await recorder.waitForCall(
      'chat.postMessage',
      (c) =>
        !c.args.thread_ts &&
        (c.args.metadata as { event_type?: string; event_payload?: { incident_id?: string } } | undefined)?.event_payload?.incident_id === id,
      60_000,
    );
    const stored = recorder.messages(CHANNEL).find((m) => m.metadata?.event_type === SLACK_METADATA_EVENT && m.metadata.event_payload.incident_id === id);
    assert.ok(stored, 'the message is in the channel');
    return { ...call, args: { ...call.args, ts: stored.ts } };
  };

  it('drifted traffic raises an incident and its message is posted; a non-approver is refused; a forged click is refused; an approver resumes it and the message updates', async () => {
    // 1. The example model's traffic drifts; its monitor raises the incident.
    await env.simulator.writeBatch({ n: 600, drift: 1 });
    const run = await createMonitorActivities(env.services).runMonitor({ modelId: TEST_MODEL });
    assert.deepEqual(run.breaches, ['data_drift'], 'the monitor sees the drift');
    const id = run.incidents[0]!.id;

    // 2. Its message is posted to the model's channel, with the buttons.
    const message = await postedMessage(id);
    assert.equal(message.args.channel, CHANNEL, "the model's channel");
    assert.equal(message.token, BOT_TOKEN, 'with the bot token');
    assert.deepEqual(
      buttonsOf(message).map((b) => [b.action_id, JSON.parse(b.value!)]),
      [
        [SLACK_ACTIONS.approve, { incidentId: id }],
        [SLACK_ACTIONS.reject, { incidentId: id }],
      ],
      'Approve and Reject carry the incident',
    );
    assert.match(allText(message), /psi_max/, 'evidence with numbers');
    const awaiting = await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');
    assert.equal(recorder.callsTo('chat.postMessage').filter((c) => !c.args.thread_ts).length, 1, 'posted once');

    // 3. A non-approver clicks Approve: refused, told why, recorded.
    const carol = await clickButton(CAROL, message, 'approve');
    assert.equal(carol.status, 200, 'acknowledged');
    const refused = await recorder.waitForCall('chat.postEphemeral', (c) => c.args.user === CAROL.id, 30_000);
    assert.equal(refused.args.channel, CHANNEL, 'told in the channel, only to them');
    assert.match(
      String(refused.args.text),
      /Your approval of \*incident-credit-risk-data-drift-\d+\* was not recorded: <@U0CAROL> is not an approver for model credit-risk/,
      String(refused.args.text),
    );
    const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused'`, [id]);
    assert.deepEqual(
      audit.rows.map((r) => [r.actor, r.detail.via]),
      [[CAROL.id, 'slack']],
      'refusal recorded',
    );

    // 4. A forged click (wrong signing secret): 401, audited, nothing decided.
    const forged = await clickButton(ALICE, message, 'approve', 'forged-signing-secret-000000');
    assert.equal(forged.status, 401, 'refused');
    const forgedAudit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE kind = 'slack_request_refused'`);
    assert.deepEqual(
      forgedAudit.rows.map((r) => [r.actor, r.detail.reason]),
      [['unverified', 'bad_signature']],
      'forged attempt recorded',
    );
    assert.deepEqual((await env.services.incidents.show(id)).state.approval?.votes, [], 'no vote from refused clicks');
    assert.equal(recorder.callsTo('chat.update').length, 0, 'message unchanged so far');
    assert.equal(awaiting.phase, 'awaiting_approval', 'still waiting');

    // 5. An approver clicks Approve: the workflow resumes and the message is updated in place.
    const alice = await clickButton(ALICE, message, 'approve');
    assert.equal(alice.status, 200, 'acknowledged');
    const confirmed = await recorder.waitForCall('chat.postEphemeral', (c) => c.args.user === ALICE.id, 30_000);
    assert.match(String(confirmed.args.text), new RegExp(`${id}\\* approved by <@U0ALICE>`), String(confirmed.args.text));
    const moved = await untilIncident(env, id, (s) => s.phase !== 'awaiting_approval', 'the workflow resumes');
    assert.deepEqual(moved.decision?.by, [ALICE.id], 'decided by the clicker');
    const update = await recorder.waitForCall('chat.update', (c) => c.args.ts === message.args.ts && /Approved\* by <@U0ALICE>/.test(allText(c)), 30_000);
    assert.equal(update.args.channel, CHANNEL, 'the same message');
    assert.deepEqual(buttonsOf(update), [], 'buttons removed');
    const shown = recorder.messages(CHANNEL).find((m) => m.ts === message.args.ts);
    assert.ok(shown && !JSON.stringify(shown.blocks).includes(SLACK_ACTIONS.approve), 'the stored message has no buttons left');
    await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
  });

  it('a slow Slack does not hold an approver: the vote is answered while the message update is still waiting on Slack', async () => {
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'accuracy_drop', source: 'test', evidence: { accuracy_drop: 0.12 } });
    const message = await postedMessage(id);
    await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');

    // Slack now takes 20 s to answer each message update: recording the vote must not wait for it.
    recorder.failNext('chat.update', { delayMs: 20_000 }, 3);
    const decided = await env.services.incidents.decide(id, { verdict: 'approve', by: ALICE.id, via: 'cli', reason: 'fine' });
    assert.equal(decided.outcome, 'approved');
    assert.ok(
      recorder.unanswered('chat.update') > 0 || recorder.callsTo('chat.update').every((c) => c.args.ts !== message.args.ts),
      'the decision was answered before Slack answered the message update',
    );

    // The notification still arrives, late and in order: the message shows the approval.
    const update = await recorder.waitForCall('chat.update', (c) => c.args.ts === message.args.ts && /Approved\* by <@U0ALICE>/.test(allText(c)), 60_000);
    assert.ok(update);
    await untilIncident(env, id, (s) => s.status === 'closed', 'closed');
  });

  it('a decision made with the CLI updates the Slack message', async () => {
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'accuracy_drop', source: 'test', evidence: { accuracy_drop: 0.11 } });
    const message = await postedMessage(id);
    await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');

    const dir = fs.mkdtempSync(path.join(env.stateDir, 'cli-'));
    const configFile = path.join(dir, 'vigil.config.json');
    fs.writeFileSync(configFile, JSON.stringify(env.config));
    // Asynchronous on purpose: this process hosts the worker.
    const cli = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(
        VIGIL,
        ['--config', configFile, 'reject', id, '--as', BOB.id, '--reason', 'a holiday effect, it will pass'],
        { env: { ...process.env, DATABASE_URL: env.databaseUrl }, encoding: 'utf8', timeout: 60_000 },
        (error, out, err) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out, err }),
      );
    });
    assert.equal(cli.code, 0, `vigil reject: ${cli.err}`);
    assert.match(cli.out, /rejected by U0BOB/, cli.out);

    const update = await recorder.waitForCall('chat.update', (c) => c.args.ts === message.args.ts && /Rejected\* by <@U0BOB>/.test(allText(c)), 30_000);
    assert.match(allText(update), /a holiday effect, it will pass/, 'with the reason');
    assert.deepEqual(buttonsOf(update), [], 'buttons removed');
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed');
    assert.equal(closed.state.approval?.votes[0]!.via, 'cli', 'decided via the CLI');

    // A click on the stale message afterwards is refused with the reason, not acted on.
    await clickButton(ALICE, message, 'approve');
    const late = await recorder.waitForCall('chat.postEphemeral', (c) => c.args.user === ALICE.id && String(c.args.text).includes(id), 30_000);
    assert.match(String(late.args.text), /is closed|no pending approval/, String(late.args.text));
  });
});
