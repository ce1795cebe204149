/**
 * The worker's Slack side against a local Slack Web API (the recorder): the incident message is posted
 * once (also when the first post's answer is lost), decisions from the CLI update it in place, phases go
 * to its thread, user-group approvers are expanded, SEV1 shows votes so far, escalation mentions the
 * escalation group, and an unusable channel leaves the incident to the CLI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCompositeNotifier } from '../../adapters/notify/compositeNotifier.js';
import { createLogNotifier } from '../../adapters/notify/logNotifier.js';
import { MESSAGE_BLOCKS, type SlackBlock } from '../../adapters/slack/incidentMessage.js';
import { SLACK_ACTIONS, SLACK_METADATA_EVENT } from '../../adapters/slack/slackContract.js';
import { createSlackNotifier, SLACK_REPLY_METADATA_EVENT } from '../../adapters/slack/slackNotifier.js';
import { createSlackWebClient } from '../../adapters/slack/slackWebClient.js';
import { parseConfig } from '../../domain/config.js';
import { DecisionRefusedError } from '../../domain/errors.js';
import type { IncidentState } from '../../domain/incident.js';
import { startSlackApiRecorder, type SlackApiCall, type SlackApiRecorder } from '../support/slackApiRecorder.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const CHANNEL = 'C0INCIDENTS';
const UI = 'http://temporal-ui.test:8233';

/** Fast runbooks: `monitor` changes nothing, so an approved incident closes in a few steps. */
const FAST = {
  approval: { timeout: '5m', escalationTimeout: '0s' },
  actions: ['monitor'],
  safeDefault: 'monitor',
  validation: { window: '1s', maxExtraWindows: 0, minSamples: 100 },
};

describe('Slack notifier', () => {
  let env: VigilTestEnv;
  let slack: SlackApiRecorder;
  const logs: string[] = [];

  before(async () => {
    slack = await startSlackApiRecorder({ userGroups: { S0ONCALL: ['U0BOB', 'U0CAROL'], S0PLATFORM: ['U0PAT'] } });
    env = await createVigilTestEnv({
      config: (taskQueue) =>
        parseConfig({
          taskQueue,
          models: [
            {
              id: TEST_MODEL,
              displayName: 'Credit risk (test)',
              tier: 'critical',
              approvers: ['U0ALICE', 'S0ONCALL', 'alice'],
              approversBySeverity: { SEV1: ['U0LEAD1', 'U0LEAD2'] },
              escalation: ['S0PLATFORM'],
              slack: { channel: CHANNEL },
              example: true,
              monitor: { window: 500, minLabelled: 100 },
              runbooks: {
                data_drift: FAST,
                infrastructure: { ...FAST, approval: { timeout: '2s', escalationTimeout: '0s' } },
              },
            },
          ],
        }),
      // As in production (SLACK_BOT_TOKEN set): the log and Slack, the WebClient pointed at the recorder.
      notifier: ({ pool, config, namespace }) =>
        createCompositeNotifier([
          { name: 'log', notifier: createLogNotifier((l) => logs.push(l)) },
          {
            name: 'slack',
            notifier: createSlackNotifier({
              client: createSlackWebClient({ token: 'xoxb-vigil-test', apiUrl: slack.url }),
              pool,
              config,
              namespace,
              temporalUiUrl: UI,
              log: (l) => logs.push(l),
            }),
          },
        ]),
    });
    // Unlabelled: the measurement before classifying finds the drift but no accuracy figure, so the
    // severities stay those of the evidence each test reports.
    await env.simulator.writeBatch({ n: 600, drift: 1, labelled: false });
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
    await slack?.stop();
  });

  const incidentOf = (c: SlackApiCall) => (c.args.metadata as { event_payload?: { incident_id?: string } } | undefined)?.event_payload?.incident_id;
  const isMessage = (id: string) => (c: SlackApiCall) =>
    incidentOf(c) === id && !c.args.thread_ts && (c.args.metadata as { event_type?: string }).event_type === SLACK_METADATA_EVENT;
  const blocksOf = (c: SlackApiCall) => c.args.blocks as SlackBlock[];
  const textOf = (blocks: SlackBlock[], id: string) => {
    const b = blocks.find((x) => x.block_id === id);
    return b && b.type === 'section' ? (b.text?.text ?? '') : '';
  };
  const hasButtons = (blocks: SlackBlock[]) => blocks.some((b) => b.type === 'actions');
  const show = (id: string) => env.services.incidents.show(id);
  const until = async (id: string, done: (s: IncidentState) => boolean, what: string): Promise<IncidentState> =>
    (
      await waitFor(
        () => show(id),
        (d) => done(d.state as IncidentState),
        `${id}: ${what}`,
        60_000,
      )
    ).state as IncidentState;

  async function open(evidence: Record<string, number>, signal: 'data_drift' | 'latency' = 'data_drift'): Promise<string> {
    const { id, created } = await env.services.incidents.open({ modelId: TEST_MODEL, signal, source: 'test', evidence });
    assert.equal(created, true, `expected a new incident, ${id} was already open`);
    return id;
  }

  async function messageOf(id: string) {
    const post = await slack.waitForCall('chat.postMessage', isMessage(id));
    const row = await waitFor(
      () => env.services.pool.query<{ channel: string; ts: string | null }>('SELECT channel, ts FROM slack_messages WHERE incident_id = $1', [id]),
      (r) => Boolean(r.rows[0]?.ts),
      `${id}: message reference stored`,
    );
    return { post, channel: row.rows[0]!.channel, ts: row.rows[0]!.ts! };
  }

  const repliesTo = (ts: string) => slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
  const topLevelMessagesFor = (id: string) =>
    slack
      .messages(CHANNEL)
      .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
      .filter((m) => m.metadata?.event_payload.incident_id === id);

  it('posts one incident message when approval is needed, with summary, approvers, deadline and buttons', async () => {
    const id = await open({ psi_max: 0.3 });
    const { post, ts } = await messageOf(id);
    assert.equal(post.args.channel, CHANNEL, 'posted to the model channel');
    assert.equal(post.token, 'xoxb-vigil-test', 'bot token sent as Bearer');
    const blocks = blocksOf(post);
    const header = blocks.find((b) => b.type === 'header');
    assert.match(header && header.type === 'header' ? header.text.text : '', /SEV2 data drift on Credit risk \(test\)/, 'header');
    assert.match(textOf(blocks, MESSAGE_BLOCKS.evidence), /max PSI 0\.3/, 'evidence with numbers');
    assert.match(textOf(blocks, MESSAGE_BLOCKS.action), /^\*Recommended action: monitor\*\nChange nothing/, 'action and what it does');
    const approvers = textOf(blocks, MESSAGE_BLOCKS.approvers);
    assert.match(approvers, /\*Who may approve:\* <@U0ALICE>, <!subteam\^S0ONCALL>, alice/, approvers);
    assert.match(approvers, /\*Decide by:\* <!date\^\d+\^\{date_short_pretty\} \{time\}\|[^>]+>/, approvers);
    const actions = blocks.find((b) => b.type === 'actions');
    assert.ok(actions && actions.type === 'actions', 'buttons');
    assert.deepEqual(
      actions.elements.map((e) => [e.action_id, e.style, JSON.parse(e.value)]),
      [
        [SLACK_ACTIONS.approve, 'primary', { incidentId: id }],
        [SLACK_ACTIONS.reject, 'danger', { incidentId: id }],
      ],
      'approve and reject buttons',
    );
    assert.ok(JSON.stringify(blocks).includes(`${UI}/namespaces/default/workflows/${id}`), 'Temporal UI link');
    assert.match(String(post.args.text), /approval needed for monitor/, 'notification text');

    // The group was expanded when the request was made: its members may decide.
    const listed = await slack.waitForCall('usergroups.users.list', (c) => c.args.usergroup === 'S0ONCALL');
    assert.ok(listed, 'group members read');
    const state = await until(id, (s) => Boolean(s.approval?.approvers.includes('U0BOB')), 'group members among approvers');
    assert.deepEqual(state.approval!.approvers, ['U0ALICE', 'S0ONCALL', 'alice', 'U0BOB', 'U0CAROL'], 'listed ∪ expanded');
    assert.equal(slack.callsTo('chat.postMessage').filter(isMessage(id)).length, 1, 'one post');
    assert.equal(topLevelMessagesFor(id).length, 1, 'one message in the channel');
    assert.equal(topLevelMessagesFor(id)[0]!.ts, ts, 'stored reference is the message');
  });

  it('a group member decides from the CLI: the message updates in place, a non-member is refused, phases go to the thread', async () => {
    const [incident] = await env.services.incidents.list({ open: true });
    assert.ok(incident, 'the incident of the previous test is open');
    const id = incident.id;
    const { ts } = await messageOf(id);

    await assert.rejects(
      env.services.incidents.decide(id, { verdict: 'approve', by: 'U0MALLORY', via: 'cli' }),
      (err: Error) => err instanceof DecisionRefusedError && /U0MALLORY is not an approver/.test(err.message),
      'a non-member is refused',
    );
    const result = await env.services.incidents.decide(id, { verdict: 'approve', by: 'U0BOB', via: 'cli' });
    assert.equal(result.outcome, 'approved', 'the group member approved');

    const update = await slack.waitForCall('chat.update', (c) => c.args.ts === ts && /Approved/.test(JSON.stringify(c.args.blocks)));
    assert.equal(update.args.channel, CHANNEL, 'updated in its channel');
    const blocks = blocksOf(update);
    assert.equal(hasButtons(blocks), false, 'buttons removed');
    assert.match(textOf(blocks, MESSAGE_BLOCKS.decision), /^:white_check_mark: \*Approved\* by <@U0BOB> at <!date\^\d+\^/, 'who decided and when');
    assert.match(String(update.args.text), /monitor approved by U0BOB/, 'notification text');

    await until(id, (s) => s.status === 'closed', 'closed');
    const closed = await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /\*closed\*/.test(String(c.args.text)));
    assert.equal(closed.args.channel, CHANNEL, 'reply in the same channel');
    const replies = repliesTo(ts).map((c) => String(c.args.text));
    for (const expected of [
      /:hammer_and_wrench: \*remediating\* — Remediate: monitor/,
      /Remediated — no change; monitoring/,
      /\*reviewing\* — Outcome: monitoring/,
      /\*closed\* — Closed: monitoring/,
    ]) {
      assert.ok(
        replies.some((r) => expected.test(r)),
        `${expected} among replies: ${replies.join(' | ')}`,
      );
    }
    assert.ok(
      repliesTo(ts).every((c) => (c.args.metadata as { event_type?: string }).event_type === SLACK_REPLY_METADATA_EVENT),
      'replies carry their metadata',
    );
    assert.equal(new Set(replies).size, replies.length, 'each reply once');
    assert.equal(topLevelMessagesFor(id).length, 1, 'still one message in the channel');
    const stored = slack.messages(CHANNEL).find((m) => m.ts === ts);
    assert.equal(
      stored?.blocks?.some((b) => (b as SlackBlock).type === 'actions'),
      false,
      'the channel shows the decided message',
    );
  });

  it('a retried post whose first answer was lost still leaves exactly one message', async () => {
    slack.failNext('chat.postMessage', { dropAfterHandling: true });
    const id = await open({ psi_max: 0.3 });
    const { ts } = await messageOf(id);
    // The retry searched the channel by metadata and found the message instead of posting again.
    const lookup = await slack.waitForCall('conversations.history', (c) => c.args.channel === CHANNEL);
    assert.equal(lookup.args.include_all_metadata, 'true', 'history read with metadata');
    assert.equal(slack.callsTo('chat.postMessage').filter(isMessage(id)).length, 1, 'posted once; the retry did not post');
    assert.equal(topLevelMessagesFor(id).length, 1, 'exactly one message in the channel');
    assert.equal(topLevelMessagesFor(id)[0]!.ts, ts, 'the reference is the message that was posted');

    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'a false alarm', via: 'cli' });
    const update = await slack.waitForCall('chat.update', (c) => c.args.ts === ts && /Rejected/.test(JSON.stringify(c.args.blocks)));
    assert.match(
      textOf(blocksOf(update), MESSAGE_BLOCKS.decision),
      /\*Rejected\* by alice at <!date\^\d+\^[^|]+\|[^>]+>: a false alarm$/,
      'who rejected and why',
    );
    assert.equal(hasButtons(blocksOf(update)), false, 'buttons removed');
    await until(id, (s) => s.status === 'closed', 'closed');
    await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /\*closed\*/.test(String(c.args.text)));
  });

  it('SEV1 asks its own approvers for a quorum of two and shows the votes so far', async () => {
    const id = await open({ psi_max: 0.6 });
    const { post, ts } = await messageOf(id);
    const approvers = textOf(blocksOf(post), MESSAGE_BLOCKS.approvers);
    assert.match(approvers, /\*Who may approve:\* <@U0LEAD1>, <@U0LEAD2>\n\*Quorum:\* 2 approvals\n/, approvers);
    assert.match(String(post.args.text), /^SEV1 /, 'SEV1');

    await assert.rejects(
      env.services.incidents.decide(id, { verdict: 'approve', by: 'U0ALICE', via: 'slack' }),
      (err: Error) => err instanceof DecisionRefusedError && /U0ALICE is not an approver/.test(err.message),
      'a model approver who is not a SEV1 approver is refused',
    );
    const first = await env.services.incidents.decide(id, { verdict: 'approve', by: 'U0LEAD1', via: 'slack' });
    assert.equal(first.outcome, 'vote_recorded', 'one of two');
    const voted = await slack.waitForCall('chat.update', (c) => c.args.ts === ts && /Votes so far/.test(JSON.stringify(c.args.blocks)));
    assert.match(textOf(blocksOf(voted), MESSAGE_BLOCKS.approvers), /\*Votes so far:\* 1 of 2 — <@U0LEAD1> approved \(slack\)/, 'votes so far');
    assert.equal(hasButtons(blocksOf(voted)), true, 'buttons stay until the quorum is reached');

    const second = await env.services.incidents.decide(id, { verdict: 'approve', by: 'U0LEAD2', via: 'cli' });
    assert.equal(second.outcome, 'approved', 'quorum reached');
    const decided = await slack.waitForCall('chat.update', (c) => c.args.ts === ts && /Approved/.test(JSON.stringify(c.args.blocks)));
    assert.match(textOf(blocksOf(decided), MESSAGE_BLOCKS.decision), /\*Approved\* by <@U0LEAD1>, <@U0LEAD2> at/, 'both approvers named');
    assert.equal(hasButtons(blocksOf(decided)), false, 'buttons removed');
    await until(id, (s) => s.status === 'closed', 'closed');
    await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /\*closed\*/.test(String(c.args.text)));
    // Whatever order the updates were sent in, the channel shows the final state.
    const stored = slack.messages(CHANNEL).find((m) => m.ts === ts);
    assert.match(JSON.stringify(stored?.blocks), /Approved\* by <@U0LEAD1>, <@U0LEAD2>/, 'the channel shows the decision');
  });

  it('on the deadline, the thread mentions the escalation group; then the safe default is shown', async () => {
    // High impact on its own (p99 over 2 s), whatever the model's drifted log adds when measured: SEV1.
    const id = await open({ latency_p99_ms: 2500 }, 'latency');
    const { ts } = await messageOf(id);
    const escalation = await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /Escalation/.test(String(c.args.text)));
    assert.match(
      String(escalation.args.text),
      /^:rotating_light: Escalation to <!subteam\^S0PLATFORM>: no decision within 2s\nStill awaiting 2 approval\(s\) from <@U0LEAD1>, <@U0LEAD2>/,
      String(escalation.args.text),
    );
    const safe = await slack.waitForCall('chat.update', (c) => c.args.ts === ts && /No decision/.test(JSON.stringify(c.args.blocks)));
    assert.match(textOf(blocksOf(safe), MESSAGE_BLOCKS.decision), /\*No decision\*: runbook safe default \*monitor\* applied at/, 'safe default shown');
    assert.equal(hasButtons(blocksOf(safe)), false, 'buttons removed');
    await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /Approval escalated/.test(String(c.args.text)));
    await slack.waitForCall('chat.postMessage', (c) => c.args.thread_ts === ts && /^:hourglass: No decision/.test(String(c.args.text)));
    await until(id, (s) => s.status === 'closed', 'closed');
  });

  it('a channel the app cannot post to is logged, and the incident goes on with the CLI', async () => {
    // The incident message itself (not a late thread reply of an earlier incident) meets the closed channel.
    slack.failNext('chat.postMessage', { error: 'not_in_channel' }, 1, (args) => !args.thread_ts);
    const id = await open({ psi_max: 0.3 });
    await slack.waitForCall('chat.postMessage', isMessage(id));
    await waitFor(
      async () => logs.join('\n'),
      (l) => l.includes(`cannot post ${id} to ${CHANNEL} (not_in_channel)`),
      'the log names the problem',
    );
    await until(id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'cleanup', via: 'cli' });
    await until(id, (s) => s.status === 'closed', 'closed without Slack');
    const row = await env.services.pool.query('SELECT 1 FROM slack_messages WHERE incident_id = $1', [id]);
    assert.equal(row.rowCount, 0, 'no message reference');
    assert.equal(topLevelMessagesFor(id).length, 0, 'nothing in the channel');
    assert.equal(
      slack.calls.some((c) => c.token !== 'xoxb-vigil-test'),
      false,
      'every call carried the bot token',
    );
    assert.equal(
      logs.some((l) => l.includes('xoxb-')),
      false,
      'the token never appears in logs',
    );
  });

  it('a revoked token when the review is announced: the review is written and the incident closes', async () => {
    const id = await open({ psi_max: 0.3 });
    const { ts } = await messageOf(id);
    // Every try to announce this incident's review meets a revoked token (not a channel problem).
    slack.failNext('chat.postMessage', { error: 'token_revoked' }, 100, (args) => args.thread_ts === ts && /review written/i.test(String(args.text)));
    await until(id, (s) => s.phase === 'awaiting_approval', 'awaiting approval');
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'cleanup', via: 'cli' });
    await until(id, (s) => s.status === 'closed', 'closed although Slack refuses the announcement');
    const review = await env.services.pool.query('SELECT 1 FROM reviews WHERE incident_id = $1', [id]);
    assert.equal(review.rowCount, 1, 'the review is saved');
  });
});
