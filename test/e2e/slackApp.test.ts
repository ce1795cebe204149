/**
 * Vigil's Slack app over real HTTP: the real Bolt HTTPReceiver on loopback behind Vigil's guard, sent
 * correctly signed block_actions, view_submission and slash-command requests in Slack's format; Slack's
 * Web API is the recording server (SLACK_API_URL), response_url a local capture. A real Vigil behind it
 * (Temporal, PostgreSQL, worker). Covers approve, reject with a reason, non-approver refusals, SEV1
 * quorum, forged / stale / foreign-workspace requests (401 or refused, audited, nothing started), the
 * `/vigil` commands, and `vigil up` / `vigil slack` with and without credentials.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertPortFree, freePort } from '../../adapters/net/freePort.js';
import type { RunningSlackApp } from '../../adapters/slack/slackApp.js';
import { REJECT_MODAL, SLACK_ACTIONS, type RejectModalMetadata } from '../../adapters/slack/slackContract.js';
import { REASON_REQUIRED } from '../../adapters/slack/slackHandlers.js';
import { parseConfig, type VigilConfig } from '../../domain/config.js';
import { openDriftIncident, untilIncident } from '../support/driftIncident.js';
import { startSlackApiRecorder, type SlackApiRecorder } from '../support/slackApiRecorder.js';
import {
  blockActionsRequest,
  sendSlackRequest,
  slashCommandRequest,
  startResponseUrlCapture,
  startTestSlackApp,
  viewSubmissionRequest,
  type ResponseUrlCapture,
  type SlackUser,
} from '../support/slackRequests.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));
const SECRET = 'vigil-test-signing-secret-6f1c2d9e8a7b';
const BOT_TOKEN = 'xoxb-1234567890-0987654321-VigilTestBotToken';
const CHANNEL = 'C0INCIDENTS';
const CRITICAL_MODEL = 'credit-risk-critical';
const ALICE: SlackUser = { id: 'U0ALICE', username: 'alice' };
const BOB: SlackUser = { id: 'U0BOB', username: 'bob' };
const CAROL: SlackUser = { id: 'U0CAROL', username: 'carol' }; // in the workspace, not an approver

function slackTestConfig(taskQueue: string): VigilConfig {
  const base = testConfig({}, taskQueue);
  const runbooks = base.models[0]!.runbooks;
  return parseConfig({
    ...base,
    models: [
      { ...base.models[0], approvers: [ALICE.id, BOB.id], slack: { channel: CHANNEL } },
      // Critical tier: a high-impact incident is SEV1, which needs two distinct approvers.
      {
        id: CRITICAL_MODEL,
        displayName: 'Credit risk, critical (test)',
        tier: 'critical',
        approvers: [ALICE.id, BOB.id],
        slack: { channel: CHANNEL },
        runbooks,
      },
    ],
  });
}

describe('Slack app', () => {
  let env: VigilTestEnv;
  let recorder: SlackApiRecorder;
  let capture: ResponseUrlCapture;
  let slack: RunningSlackApp;
  const logs: string[] = [];

  before(async () => {
    env = await createVigilTestEnv({ config: slackTestConfig });
    await env.startWorker();
    recorder = await startSlackApiRecorder();
    capture = await startResponseUrlCapture();
    slack = await startTestSlackApp({ env, recorderUrl: recorder.url, botToken: BOT_TOKEN, signingSecret: SECRET, logs });
  });
  after(async () => {
    await slack?.stop();
    await capture?.stop();
    await recorder?.stop();
    await env?.close();
    assert.ok(!logs.some((l) => l.includes(BOT_TOKEN) || l.includes(SECRET)), 'no token or secret in the logs');
  });

  const click = (
    user: SlackUser,
    action: 'approve' | 'reject',
    incidentId: string,
    over: { teamId?: string; signingSecret?: string; timestamp?: number } = {},
  ) =>
    sendSlackRequest(
      slack.url!,
      blockActionsRequest({
        signingSecret: over.signingSecret ?? SECRET,
        timestamp: over.timestamp,
        teamId: over.teamId ?? recorder.teamId,
        user,
        actionId: SLACK_ACTIONS[action],
        value: JSON.stringify({ incidentId }),
        channel: CHANNEL,
        messageTs: '1763856000.000100',
        responseUrl: capture.next(),
      }),
    );

  const submitReason = (user: SlackUser, metadata: RejectModalMetadata, reason: string | null) =>
    sendSlackRequest(
      slack.url!,
      viewSubmissionRequest({
        signingSecret: SECRET,
        teamId: recorder.teamId,
        user,
        callbackId: REJECT_MODAL.callbackId,
        privateMetadata: JSON.stringify(metadata),
        values: { [REJECT_MODAL.reasonBlockId]: { [REJECT_MODAL.reasonActionId]: reason } },
      }),
    );

  /** Runs `/vigil <text>` as `user`; returns the ephemeral answer posted to response_url. */
  const command = async (user: SlackUser, text: string) => {
    const responseUrl = capture.next();
    const res = await sendSlackRequest(
      slack.url!,
      slashCommandRequest({ signingSecret: SECRET, teamId: recorder.teamId, user, text, channel: CHANNEL, responseUrl }),
    );
    assert.equal(res.status, 200, `/vigil ${text}: acknowledged (${res.text})`);
    const post = await capture.waitFor(responseUrl);
    assert.equal(post.body.response_type, 'ephemeral', 'slash command answers are ephemeral');
    return String(post.body.text);
  };

  const ephemeralTo = (user: SlackUser, incidentId: string) =>
    recorder.waitForCall('chat.postEphemeral', (c) => c.args.user === user.id && String(c.args.text).includes(incidentId), 60_000);

  const awaiting = (id: string) => untilIncident(env, id, (s) => s.phase === 'awaiting_approval', `${id} awaiting_approval`);

  const refusedAudit = async (since: number) =>
    (await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE kind = 'slack_request_refused' AND id > $1 ORDER BY id`, [since])).rows;
  const lastAuditId = async () => Number((await env.services.pool.query(`SELECT coalesce(max(id), 0) AS n FROM audit_events`)).rows[0].n);

  let driftId: string;

  it('refuses a non-approver with an ephemeral explanation, and the refusal is audited', async () => {
    driftId = await openDriftIncident(env);
    await awaiting(driftId);
    const res = await click(CAROL, 'approve', driftId);
    assert.equal(res.status, 200, `acknowledged at once: ${res.text}`);
    const eph = await ephemeralTo(CAROL, driftId);
    assert.equal(eph.args.channel, CHANNEL, 'in the channel of the message');
    assert.match(String(eph.args.text), /<@U0CAROL> is not an approver for model credit-risk/, 'says why');
    assert.match(String(eph.args.text), /<@U0ALICE>, <@U0BOB>/, 'names who may approve');
    assert.equal(eph.token, BOT_TOKEN, 'posted with the bot token');

    const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused'`, [driftId]);
    assert.equal(audit.rows.length, 1, 'one refusal audited');
    assert.equal(audit.rows[0].actor, CAROL.id, 'the clicker is the actor');
    assert.equal(audit.rows[0].detail.via, 'slack', 'via slack');
    assert.match(audit.rows[0].detail.reason, /not an approver/, 'with the reason');
    const s = await env.services.incidents.show(driftId);
    assert.equal(s.phase, 'awaiting_approval', 'nothing decided');
    assert.deepEqual(s.state.approval?.votes, [], 'no vote recorded');
  });

  it("a runbook's signal button sends its signal as the clicker; the answer says so", async () => {
    const res = await sendSlackRequest(
      slack.url!,
      blockActionsRequest({
        signingSecret: SECRET,
        teamId: recorder.teamId,
        user: CAROL,
        actionId: SLACK_ACTIONS.signal,
        value: JSON.stringify({ incidentId: driftId, signal: 'upstream_fixed' }),
        channel: CHANNEL,
        messageTs: '1763856000.000100',
        responseUrl: capture.next(),
      }),
    );
    assert.equal(res.status, 200, `acknowledged: ${res.text}`);
    const eph = await recorder.waitForCall('chat.postEphemeral', (c) => c.args.user === CAROL.id && String(c.args.text).startsWith('Sent'), 60_000);
    assert.equal(String(eph.args.text), `Sent \`upstream_fixed\` to *${driftId}*.`);
    const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'runbook_signal'`, [driftId]);
    assert.deepEqual(
      audit.rows.map((r) => [r.actor, r.detail.name]),
      [[CAROL.id, 'upstream_fixed']],
    );
  });

  it("an approver's Approve click drives the incident on", async () => {
    const res = await click(ALICE, 'approve', driftId);
    assert.equal(res.status, 200, `acknowledged: ${res.text}`);
    const eph = await ephemeralTo(ALICE, driftId);
    assert.match(String(eph.args.text), /approved by <@U0ALICE>/, `confirmation: ${eph.args.text}`);
    const moved = await untilIncident(env, driftId, (s) => s.phase !== 'awaiting_approval', 'leaves awaiting_approval');
    assert.equal(moved.decision?.verdict, 'approve', 'approved');
    assert.deepEqual(moved.decision?.by, [ALICE.id], 'by the clicker');
    assert.equal(moved.state.approval?.votes[0]!.via, 'slack', 'vote came via slack');

    // A late click once the decision is made: refused, with the reason.
    await click(BOB, 'approve', driftId);
    const late = await ephemeralTo(BOB, driftId);
    assert.match(String(late.args.text), /has no pending approval|is closed/, `late click refused: ${late.args.text}`);
  });

  it('Reject opens the reason modal; an empty reason is refused in the modal and decides nothing; a reason rejects', async () => {
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'accuracy_drop', source: 'test', evidence: { accuracy_drop: 0.12 } });
    await awaiting(id);
    const res = await click(BOB, 'reject', id);
    assert.equal(res.status, 200, `acknowledged: ${res.text}`);
    const open = await recorder.waitForCall('views.open', (c) => String((c.args.view as any)?.private_metadata).includes(id));
    const view = open.args.view as any;
    assert.equal(view.type, 'modal', 'a modal');
    assert.equal(view.callback_id, REJECT_MODAL.callbackId, 'the contract callback id');
    assert.ok(String(open.args.trigger_id).length > 10, 'opened with the click trigger_id');
    const metadata = JSON.parse(view.private_metadata) as RejectModalMetadata;
    assert.deepEqual(metadata, { incidentId: id, channel: CHANNEL, messageTs: '1763856000.000100' }, 'metadata names the incident and message');
    const input = view.blocks.find((b: any) => b.block_id === REJECT_MODAL.reasonBlockId);
    assert.equal(input?.type, 'input', 'a required input block');
    assert.equal(input.optional ?? false, false, 'required');
    assert.equal(input.element.action_id, REJECT_MODAL.reasonActionId, 'the contract action id');
    assert.equal(input.element.multiline, true, 'multiline');

    for (const empty of ['', '   \n ', null]) {
      const r = await submitReason(BOB, metadata, empty);
      assert.equal(r.status, 200, 'answered');
      assert.deepEqual(
        r.json,
        { response_action: 'errors', errors: { [REJECT_MODAL.reasonBlockId]: REASON_REQUIRED } },
        `empty reason ${JSON.stringify(empty)} shown in the modal`,
      );
    }
    const still = await env.services.incidents.show(id);
    assert.equal(still.phase, 'awaiting_approval', 'nothing decided');
    assert.deepEqual(still.state.approval?.votes, [], 'no vote');

    const ok = await submitReason(BOB, metadata, '  Planned campaign: the shift is expected  ');
    assert.equal(ok.status, 200, 'accepted');
    assert.equal(ok.text, '', 'modal closes (empty ack)');
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed as rejected');
    assert.equal(closed.outcome, 'rejected', 'rejected');
    assert.deepEqual(closed.decision?.by, [BOB.id], 'by the submitter');
    assert.equal(closed.decision?.reason, 'Planned campaign: the shift is expected', 'with the reason, trimmed');
    const eph = await ephemeralTo(BOB, id);
    assert.match(String(eph.args.text), /rejected/, 'confirmed to the submitter');
    assert.equal(eph.args.thread_ts, '1763856000.000100', "in the incident message's thread");
  });

  it('SEV1 needs two distinct approvers: one vote is recorded, the same person twice is refused, the second approver decides', async () => {
    const { id } = await env.services.incidents.open({ modelId: CRITICAL_MODEL, signal: 'latency', source: 'test', evidence: { latency_p99_ms: 4200 } });
    const s = await awaiting(id);
    assert.equal(s.severity, 'SEV1', 'critical tier, high impact');
    assert.equal(s.state.approval?.quorum, 2, 'quorum of two');

    await click(ALICE, 'approve', id);
    const first = await ephemeralTo(ALICE, id);
    assert.match(String(first.args.text), /1 of 2 approvals/, `vote recorded: ${first.args.text}`);
    const one = await untilIncident(env, id, (x) => (x.state.approval?.votes.length ?? 0) === 1, 'one vote');
    assert.equal(one.phase, 'awaiting_approval', 'still waiting for the second approver');

    recorder.clear();
    await click(ALICE, 'approve', id);
    const twice = await ephemeralTo(ALICE, id);
    assert.match(String(twice.args.text), /<@U0ALICE> has already voted/, `same person twice refused: ${twice.args.text}`);
    const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused'`, [id]);
    assert.deepEqual(
      audit.rows.map((r) => [r.actor, /already voted/.test(r.detail.reason)]),
      [[ALICE.id, true]],
      'second vote refused and audited',
    );

    await click(BOB, 'approve', id);
    const second = await ephemeralTo(BOB, id);
    assert.match(String(second.args.text), /approved by <@U0ALICE>, <@U0BOB>/, `decided: ${second.args.text}`);
    const decided = await untilIncident(env, id, (x) => x.phase !== 'awaiting_approval', 'decided');
    assert.deepEqual(decided.decision?.by, [ALICE.id, BOB.id], 'both approvers');
  });

  describe('refused requests: audited, 401 where the signature fails, nothing started', () => {
    let id: string;
    before(async () => {
      ({ id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'missing_values', source: 'test', evidence: { missing_share: 0.3 } }));
      await awaiting(id);
    });

    const assertNothingHappened = async (what: string, incidentsBefore: number) => {
      // Give a wrongly accepted request time to act before asserting it did not.
      await new Promise((r) => setTimeout(r, 500));
      const s = await env.services.incidents.show(id);
      assert.deepEqual(s.state.approval?.votes, [], `${what}: no vote`);
      assert.equal((await env.services.incidents.list()).length, incidentsBefore, `${what}: no incident opened`);
      assert.equal(recorder.callsTo('chat.postEphemeral').length + recorder.callsTo('views.open').length, 0, `${what}: no Slack call made`);
    };

    it('a forged signature gets 401 and is audited', async () => {
      recorder.clear();
      const before = await lastAuditId();
      const n = (await env.services.incidents.list()).length;
      const res = await click(ALICE, 'approve', id, { signingSecret: 'not-the-signing-secret-at-all' });
      assert.equal(res.status, 401, 'refused');
      const rows = await refusedAudit(before);
      assert.equal(rows.length, 1, 'audited once');
      assert.equal(rows[0].actor, 'unverified', 'an unverified request names nobody as actor');
      assert.equal(rows[0].detail.reason, 'bad_signature', 'reason');
      assert.deepEqual(rows[0].detail.claimed, { user: ALICE.id, team: recorder.teamId }, 'the claimed ids kept for forensics');
      assert.ok(!JSON.stringify(rows[0]).includes(SECRET), 'no secret in the audit log');
      await assertNothingHappened('forged', n);

      // No signature at all, and a slash command with a forged signature: also refused before Bolt.
      const bare = await fetch(slack.url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload={}' });
      assert.equal(bare.status, 401, 'unsigned refused');
      const declare = slashCommandRequest({
        signingSecret: 'wrong-secret-wrong-secret',
        teamId: recorder.teamId,
        user: ALICE,
        text: 'declare credit-risk latency',
        channel: CHANNEL,
        responseUrl: capture.next(),
      });
      assert.equal((await sendSlackRequest(slack.url!, declare)).status, 401, 'forged declare refused');
      const more = await refusedAudit(before);
      assert.deepEqual(
        more.map((r) => r.detail.reason),
        ['bad_signature', 'missing_signature'],
        'the first refusal of each reason audited; the second bad signature is counted, not written (unsigned requests cannot grow the log)',
      );
      await assertNothingHappened('unsigned / forged declare', n);
    });

    it('a stale timestamp (over five minutes) gets 401 and is audited, even when correctly signed', async () => {
      recorder.clear();
      const before = await lastAuditId();
      const n = (await env.services.incidents.list()).length;
      const res = await click(ALICE, 'approve', id, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
      assert.equal(res.status, 401, 'refused');
      const future = await click(ALICE, 'approve', id, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
      assert.equal(future.status, 401, 'a timestamp from the future is refused too');
      const rows = await refusedAudit(before);
      assert.deepEqual(
        rows.map((r) => r.detail.reason),
        ['stale_request'],
        'audited as stale, once for the interval',
      );
      assert.match(rows[0].detail.message, /36\d s old/, 'says how old');
      await assertNothingHappened('stale', n);
    });

    it('a flood of unsigned and forged requests: 401 each, and no audit row per request', async () => {
      const before = await lastAuditId();
      const n = (await env.services.incidents.list()).length;
      for (let i = 0; i < 30; i++) {
        const res =
          i % 2
            ? await click(ALICE, 'approve', id, { signingSecret: `forged-secret-${i}-00000000000` })
            : await fetch(slack.url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload={}' });
        assert.equal(res.status, 401, `request ${i} refused`);
      }
      const rows = await refusedAudit(before);
      assert.ok(rows.length <= 2, `at most one row per reason (bad and missing signature), not one per request: ${rows.length}`);
      await assertNothingHappened('flood', n);
    });

    it('a correctly signed request from another workspace (or a Slack Connect guest) is refused and audited', async () => {
      recorder.clear();
      const before = await lastAuditId();
      const n = (await env.services.incidents.list()).length;
      const res = await click({ id: 'U0MALLORY' }, 'approve', id, { teamId: 'T0OTHERORG' });
      assert.equal(res.status, 200, 'Slack gets its acknowledgement (no retries)');
      const responseUrl = capture.next();
      const declare = slashCommandRequest({
        signingSecret: SECRET,
        teamId: 'T0OTHERORG',
        user: { id: 'U0MALLORY' },
        text: 'declare credit-risk latency latency_p99_ms=9000',
        channel: CHANNEL,
        responseUrl,
      });
      assert.equal((await sendSlackRequest(slack.url!, declare)).status, 200, 'acknowledged');
      // A guest from another organisation in a shared channel: right workspace, foreign user.
      await click({ id: 'U0GUEST', teamId: 'T0OTHERORG' }, 'approve', id);
      const rows = await waitFor(
        () => refusedAudit(before),
        (r) => r.length >= 3,
        'three refusals audited',
        10_000,
      );
      assert.deepEqual(
        rows.map((r) => [r.actor, r.detail.reason, r.detail.team]),
        [
          ['U0MALLORY', 'other_workspace', 'T0OTHERORG'],
          ['U0MALLORY', 'other_workspace', 'T0OTHERORG'],
          ['U0GUEST', 'other_workspace_user', recorder.teamId],
        ],
        'who, why, from where',
      );
      await assertNothingHappened('other workspace', n);
      assert.ok(!capture.posts.some((p) => p.path === new URL(responseUrl).pathname), 'the foreign command got no answer');
    });
  });

  describe('/vigil', () => {
    let id: string;
    before(async () => {
      ({ id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'out_of_range', source: 'test', evidence: { out_of_range_share: 0.25 } }));
      await awaiting(id);
    });

    it('list and show', async () => {
      const list = await command(ALICE, 'list');
      assert.match(list, /\*Open incidents \(\d+\)\*/, `heading: ${list}`);
      assert.ok(list.includes(`*${id}*`), `lists ${id}: ${list}`);
      const show = await command(ALICE, `show ${id}`);
      assert.ok(show.startsWith(`*${id}* — open, phase awaiting approval`), show);
      assert.match(show, /Approvers: <@U0ALICE>, <@U0BOB>/, 'approvers as mentions');
      assert.ok(show.includes(`/vigil approve ${id}`), 'how to decide');
      const unknown = await command(ALICE, 'show incident-nope');
      assert.match(unknown, /unknown incident "incident-nope"/, unknown);
    });

    it('approve and reject go through the same authorisation; reject needs a reason', async () => {
      const refused = await command(CAROL, `approve ${id}`);
      assert.ok(refused.startsWith(`:no_entry: Your approval of *${id}* was not recorded: <@U0CAROL> is not an approver`), refused);
      const audit = await env.services.pool.query(`SELECT actor FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused'`, [id]);
      assert.deepEqual(
        audit.rows.map((r) => r.actor),
        [CAROL.id],
        'audited',
      );

      const noReason = await command(ALICE, `reject ${id}`);
      assert.match(noReason, /a rejection needs a reason/, noReason);
      assert.match(noReason, /\/vigil reject <id> <reason>/, 'with usage');
      assert.deepEqual((await env.services.incidents.show(id)).state.approval?.votes, [], 'nothing decided');

      const unknown = await command(ALICE, 'approve incident-nope');
      assert.match(unknown, /unknown incident "incident-nope"/, unknown);
      const unknownAudit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = 'incident-nope'`);
      assert.deepEqual(
        unknownAudit.rows.map((r) => [r.actor, r.detail.via]),
        [[ALICE.id, 'slack']],
        'unknown incident refusal audited',
      );

      const rejected = await command(ALICE, `reject ${id} inputs are fine upstream   fixed it`);
      assert.match(rejected, /rejected/, rejected);
      const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed');
      assert.equal(closed.decision?.reason, 'inputs are fine upstream   fixed it', 'the reason as typed');
      assert.equal(closed.state.approval?.votes[0]!.via, 'slack', 'via slack');

      const approveLate = await command(BOB, `approve ${id}`);
      assert.match(approveLate, /is closed|no pending approval/, approveLate);
    });

    it('declare opens an incident like `vigil incident open`; bad input is explained', async () => {
      const text = await command(BOB, 'declare credit-risk latency latency_p99_ms=2500 region=eu');
      const m = /Declared \*(incident-credit-risk-infrastructure-\d{14})\*/.exec(text);
      assert.ok(m, `declared: ${text}`);
      const s = await awaiting(m[1]!);
      assert.equal(s.failureMode, 'infrastructure', 'classified');
      assert.deepEqual(s.state.evidence[0]!.values, { latency_p99_ms: 2500, region: 'eu', declared_by: BOB.id }, 'typed evidence and who declared');
      assert.equal(s.state.evidence[0]!.source, 'slack', 'source slack');
      const again = await command(BOB, 'declare credit-risk latency latency_p99_ms=2600');
      assert.match(again, /already open/, again);

      assert.match(await command(BOB, 'declare no-such-model latency'), /unknown model "no-such-model"/, 'unknown model');
      assert.match(await command(BOB, 'declare credit-risk sunspots'), /unknown signal "sunspots"/, 'unknown signal');
      assert.match(await command(BOB, 'declare credit-risk latency p99'), /evidence "p99": expected key=value/, 'bad evidence');
      await env.services.incidents.decide(m[1]!, { verdict: 'reject', by: ALICE.id, reason: 'test cleanup' });
    });

    it('help and unknown commands answer with the usage', async () => {
      const help = await command(ALICE, '');
      assert.match(help, /\/vigil list/, help);
      const unknown = await command(ALICE, 'frobnicate now');
      assert.match(unknown, /^unknown command "frobnicate"/, unknown);
      assert.match(unknown, /\/vigil declare <model> <signal>/, 'usage follows');
    });
  });

  describe('vigil up and vigil slack', () => {
    const stateDirFor = (name: string) => {
      const dir = fs.mkdtempSync(path.join(env.stateDir, `${name}-`));
      const configFile = path.join(dir, 'vigil.config.json');
      // Its own model and task queue: its monitor schedule stays apart from the other tests'.
      fs.writeFileSync(
        configFile,
        JSON.stringify({
          taskQueue: `${env.taskQueue}-${name}`,
          models: [{ id: `slack-${name}`, displayName: 'Slack demo', tier: 'medium', approvers: [ALICE.id] }],
        }),
      );
      return { dir, configFile };
    };
    const baseEnv = (): NodeJS.ProcessEnv => {
      const e: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: env.databaseUrl };
      for (const k of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SLACK_API_URL', 'VIGIL_SLACK_PORT']) delete e[k];
      return e;
    };
    // Asynchronous on purpose: this process hosts a worker, which a blocking spawn would starve.
    const run = (args: string[], extraEnv: Record<string, string>) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        execFile(VIGIL, args, { env: { ...baseEnv(), ...extraEnv }, encoding: 'utf8', timeout: 60_000 }, (error, out, err) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out, err }),
        );
      });
    /** Starts a long-running vigil command and waits for `ready` in its output. */
    const start = async (args: string[], extraEnv: Record<string, string>, ready: string) => {
      const child = spawn(VIGIL, args, { env: { ...baseEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor(
        async () => output,
        (o) => o.includes(ready) || child.exitCode !== null,
        ready,
        60_000,
      ).catch(() => undefined);
      return { child, exited, output: () => output };
    };

    it('refuses partial or malformed Slack credentials with exit 2, naming the variable, before starting anything', async () => {
      const { dir, configFile } = stateDirFor('bad');
      const httpPort = String(await freePort());
      // Each message is covered in the unit tests; here: the exit code, and that nothing started.
      const cases: [Record<string, string>, RegExp][] = [
        [{ SLACK_BOT_TOKEN: BOT_TOKEN }, /SLACK_SIGNING_SECRET is not set: HTTP mode/],
        [{ SLACK_BOT_TOKEN: 'xoxp-user-token-123', SLACK_SIGNING_SECRET: SECRET }, /SLACK_BOT_TOKEN must be a bot token starting with "xoxb-"/],
      ];
      for (const [vars, expected] of cases) {
        const r = await run(['--config', configFile, '--state-dir', dir, 'up'], { VIGIL_HTTP_PORT: httpPort, ...vars });
        assert.equal(r.code, 2, `${JSON.stringify(Object.keys(vars))}: exit 2 (${r.err})`);
        assert.match(r.err, expected, 'names the variable');
        assert.ok(!r.err.includes(SECRET) && !r.err.includes('xoxp-user-token-123') && !r.err.includes(BOT_TOKEN), 'no secret echoed');
      }
      const slackCmd = await run(['--config', configFile, 'slack'], { SLACK_BOT_TOKEN: BOT_TOKEN });
      assert.equal(slackCmd.code, 2, `vigil slack: exit 2 (${slackCmd.err})`);
      assert.match(slackCmd.err, /SLACK_SIGNING_SECRET is not set/, 'vigil slack names it too');
      const none = await run(['--config', configFile, 'slack'], {});
      assert.equal(none.code, 2, `vigil slack without credentials: exit 2 (${none.err})`);
      assert.match(none.err, /Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/, none.err);
      assert.deepEqual(fs.readdirSync(dir), ['vigil.config.json'], 'nothing started, nothing written');
    });

    it('vigil up without Slack variables runs CLI-only and says so once', async () => {
      const { dir, configFile } = stateDirFor('cli-only');
      const up = await start(['--config', configFile, '--state-dir', dir, 'up', '--no-example'], { VIGIL_HTTP_PORT: String(await freePort()) }, 'Vigil is up');
      try {
        assert.ok(up.output().includes('Vigil is up'), up.output());
        const lines = up
          .output()
          .split('\n')
          .filter((l) => l.includes('Slack: off'));
        assert.equal(lines.length, 1, `said once: ${up.output()}`);
        assert.match(lines[0]!, /CLI-only.*SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/, lines[0]);
      } finally {
        up.child.kill('SIGINT');
      }
      assert.equal(await up.exited, 0, up.output());
    });

    it('vigil up with Slack variables serves the Bolt app after the worker and stops it with the rest', async () => {
      const { dir, configFile } = stateDirFor('with-slack');
      const port = await freePort();
      const vars = {
        VIGIL_HTTP_PORT: String(await freePort()),
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: recorder.url,
        VIGIL_SLACK_PORT: String(port),
      };
      const up = await start(['--config', configFile, '--state-dir', dir, 'up', '--no-example'], vars, 'Vigil is up');
      const url = `http://127.0.0.1:${port}/slack/events`;
      try {
        const out = up.output();
        assert.ok(out.includes(`Slack app: POST ${url} (HTTP mode, workspace ${recorder.teamId})`), out);
        assert.ok(out.indexOf('worker: task queue') < out.indexOf('Slack app: POST'), 'after the worker');
        assert.ok(!out.includes('Slack: off'), 'not CLI-only');
        const responseUrl = capture.next();
        const res = await sendSlackRequest(
          url,
          slashCommandRequest({ signingSecret: SECRET, teamId: recorder.teamId, user: ALICE, text: 'list', channel: CHANNEL, responseUrl }),
        );
        assert.equal(res.status, 200, 'served');
        assert.match(String((await capture.waitFor(responseUrl)).body.text), /No open incidents|Open incidents/, 'answered from the running Vigil');
      } finally {
        up.child.kill('SIGINT');
      }
      assert.equal(await up.exited, 0, up.output());
      assert.ok(!up.output().includes(BOT_TOKEN) && !up.output().includes(SECRET), 'no secret in the output');
      await assertPortFree(port, 'Slack port after vigil up stopped');
    });

    it('vigil slack serves the Bolt app against the running Vigil and stops on SIGTERM', async () => {
      const { configFile } = stateDirFor('standalone');
      const port = await freePort();
      const vars = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: recorder.url, VIGIL_SLACK_PORT: String(port) };
      const app = await start(['--config', configFile, 'slack'], vars, 'Slack app:');
      const url = `http://127.0.0.1:${port}/slack/events`;
      try {
        assert.ok(app.output().includes(`Slack app: POST ${url} (HTTP mode, workspace ${recorder.teamId})`), app.output());
        const responseUrl = capture.next();
        const res = await sendSlackRequest(
          url,
          slashCommandRequest({ signingSecret: SECRET, teamId: recorder.teamId, user: ALICE, text: 'help', channel: CHANNEL, responseUrl }),
        );
        assert.equal(res.status, 200, 'served');
        assert.match(String((await capture.waitFor(responseUrl)).body.text), /\/vigil list/, 'answered');
        const forged = await sendSlackRequest(
          url,
          slashCommandRequest({
            signingSecret: 'another-secret-entirely',
            teamId: recorder.teamId,
            user: ALICE,
            text: 'list',
            channel: CHANNEL,
            responseUrl: capture.next(),
          }),
        );
        assert.equal(forged.status, 401, 'guarded');
      } finally {
        app.child.kill('SIGTERM');
      }
      assert.equal(await app.exited, 0, app.output());
      assert.ok(!app.output().includes(BOT_TOKEN) && !app.output().includes(SECRET), 'no secret in the output');
      await assertPortFree(port, 'Slack port after vigil slack stopped');
    });
  });
});
