import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  escalationReply,
  FIELD_TEXT_LIMIT,
  HEADER_TEXT_LIMIT,
  incidentMessage,
  incidentMessageMetadata,
  MESSAGE_BLOCKS,
  SECTION_TEXT_LIMIT,
  slackDate,
  threadReply,
  updatesMessage,
  type SlackBlock,
} from '../../adapters/slack/incidentMessage.js';
import { mention } from '../../adapters/slack/mrkdwn.js';
import { SLACK_ACTIONS, SLACK_METADATA_EVENT } from '../../adapters/slack/slackContract.js';
import type { IncidentState, RemediationAction } from '../../domain/incident.js';

const LINK = { temporalUiUrl: 'http://temporal.example:8233/', namespace: 'ml-prod' };
const DEADLINE = '2026-03-01T10:15:00.000Z';
const DEADLINE_UNIX = Date.parse(DEADLINE) / 1000;

function pendingState(over: Partial<IncidentState> = {}, action: RemediationAction = 'retrain'): IncidentState {
  return {
    contractVersion: 1,
    id: 'incident-credit-risk-data-drift-20260301100000',
    model: {
      id: 'credit-risk',
      displayName: 'Credit risk scorer',
      tier: 'high',
      approvers: ['U0ALICE', 'S0LEADS', 'bob'],
      escalation: ['S0PLATFORM', 'U0CAROL'],
    },
    signal: 'data_drift',
    phase: 'awaiting_approval',
    status: 'open',
    openedAt: '2026-03-01T10:00:00.000Z',
    classification: {
      failureMode: 'data_drift',
      severity: 'SEV2',
      reasons: ['inputs drifted: max PSI 0.41 ≥ 0.2 on income, age', 'high impact (PSI 0.41) on a high-tier model → SEV2'],
    },
    recommendation: {
      action,
      reasons: action === 'rollback' ? ['champion changed to v3 at 2026-03-01T09:00:00Z; roll back to v2 (v2 is healthy, auc 0.81)'] : [`${action} applies`],
      considered: [],
    },
    triageEvidence: { championVersion: 3 },
    approval: { approvers: ['U0ALICE', 'S0LEADS', 'bob'], quorum: 1, deadline: DEADLINE, votes: [], escalated: false },
    evidence: [
      {
        source: 'monitor',
        signal: 'data_drift',
        observedAt: '2026-03-01T10:00:00.000Z',
        values: { psi_max: 0.41234, drifted_features: 'income,age', samples: 500 },
      },
    ],
    timeline: [{ at: '2026-03-01T10:00:00.000Z', event: 'phase:detected' }],
    runbookVersion: 'data_drift/v1',
    ...over,
  };
}

function block(blocks: SlackBlock[], id: string): SlackBlock | undefined {
  return blocks.find((b) => b.block_id === id);
}

function allText(blocks: SlackBlock[]): string {
  return JSON.stringify(blocks);
}

function sectionText(blocks: SlackBlock[], id: string): string {
  const b = block(blocks, id);
  assert.ok(b && b.type === 'section' && b.text, `expected section ${id} with text, got ${JSON.stringify(b)}`);
  return b.text.text;
}

describe('incident message (pending)', () => {
  const { text, blocks } = incidentMessage(pendingState(), LINK);

  it('has a title with severity, failure mode and model, and a notification text', () => {
    const header = block(blocks, MESSAGE_BLOCKS.header);
    assert.ok(header && header.type === 'header', 'header block');
    assert.match(header.text.text, /SEV2 data drift on Credit risk scorer/, 'header names severity, mode and model');
    assert.match(text, /SEV2 data drift on Credit risk scorer: approval needed for retrain \(incident-credit-risk/, `fallback text: ${text}`);
  });

  it('summarises model, severity, failure mode and links the incident in the Temporal UI', () => {
    const summary = block(blocks, MESSAGE_BLOCKS.summary);
    assert.ok(summary && summary.type === 'section' && summary.fields, 'summary fields');
    const fields = summary.fields.map((f) => f.text).join('\n');
    assert.match(fields, /\*Model\*\nCredit risk scorer \(`credit-risk`, high tier\)/, fields);
    assert.match(fields, /\*Severity\*\nSEV2/, fields);
    assert.match(fields, /\*Failure mode\*\ndata drift/, fields);
    const url = 'http://temporal.example:8233/namespaces/ml-prod/workflows/incident-credit-risk-data-drift-20260301100000';
    assert.ok(fields.includes(`<${url}|incident-credit-risk-data-drift-20260301100000>`), `incident link in ${fields}`);
    assert.ok(allText(blocks).includes(`<${url}|Open incident-credit-risk-data-drift-20260301100000 in the Temporal UI>`), 'context link');
  });

  it('shows the key evidence with numbers', () => {
    const evidence = sectionText(blocks, MESSAGE_BLOCKS.evidence);
    assert.match(evidence, /max PSI 0\.41 ≥ 0\.2 on income, age/, evidence);
    assert.match(evidence, /`psi_max` 0\.412 · `drifted_features` income,age · `samples` 500/, evidence);
    assert.match(evidence, /latest: data_drift from monitor, 1 report/, evidence);
  });

  it('renders approvers as user mentions, group mentions and plain names, with the deadline as a Slack date', () => {
    const approvers = sectionText(blocks, MESSAGE_BLOCKS.approvers);
    assert.match(approvers, /\*Who may approve:\* <@U0ALICE>, <!subteam\^S0LEADS>, bob/, approvers);
    assert.match(approvers, /\*Quorum:\* 1 approval$/m, approvers);
    assert.ok(approvers.includes(`*Decide by:* <!date^${DEADLINE_UNIX}^{date_short_pretty} {time}|2026-03-01 10:15 UTC>`), approvers);
  });

  it('has Approve (primary) and Reject (danger) buttons carrying the incident id', () => {
    const actions = block(blocks, MESSAGE_BLOCKS.buttons);
    assert.ok(actions && actions.type === 'actions', 'actions block');
    const [approve, reject] = actions.elements;
    assert.deepEqual(
      [approve?.action_id, approve?.style, approve?.text.text, reject?.action_id, reject?.style, reject?.text.text],
      [SLACK_ACTIONS.approve, 'primary', 'Approve', SLACK_ACTIONS.reject, 'danger', 'Reject'],
      'button ids, styles and labels',
    );
    assert.deepEqual(JSON.parse(approve!.value), { incidentId: 'incident-credit-risk-data-drift-20260301100000' }, 'approve value');
    assert.deepEqual(JSON.parse(reject!.value), { incidentId: 'incident-credit-risk-data-drift-20260301100000' }, 'reject value');
  });

  it("shows a runbook's wait with the button it names, carrying the incident and the signal; none once the wait is over", () => {
    const waiting = pendingState({
      runbook: { name: 'upstream-schema-break', steps: [], signals: [], waitingFor: { name: 'upstream_fixed', until: DEADLINE, button: 'Upstream fixed' } },
    });
    const content = incidentMessage(waiting, LINK);
    assert.match(
      sectionText(content.blocks, MESSAGE_BLOCKS.waiting),
      /\*Runbook upstream-schema-break waits for `upstream_fixed`\* until 2026-03-01T10:15:00\.000Z\n`vigil incident signal .* upstream_fixed`/,
    );
    const actions = block(content.blocks, MESSAGE_BLOCKS.signal);
    assert.ok(actions && actions.type === 'actions', 'actions block');
    const [button] = actions.elements;
    assert.deepEqual([button?.action_id, button?.text.text], [SLACK_ACTIONS.signal, 'Upstream fixed']);
    assert.deepEqual(JSON.parse(button!.value), { incidentId: waiting.id, signal: 'upstream_fixed' });
    const over = incidentMessage(pendingState({ runbook: { name: 'upstream-schema-break', steps: [], signals: [] } }), LINK);
    assert.equal(block(over.blocks, MESSAGE_BLOCKS.signal), undefined);
  });

  it('carries the incident id in message metadata', () => {
    assert.deepEqual(incidentMessageMetadata('incident-x'), { event_type: SLACK_METADATA_EVENT, event_payload: { incident_id: 'incident-x' } }, 'metadata');
  });
});

describe('incident message: the recommended action and what it will do', () => {
  const cases: [RemediationAction, RegExp][] = [
    ['rollback', /Roll the champion back from \*v3\* to \*v2\*; if the model does not recover, v3 is restored/],
    [
      'retrain',
      /snapshot recent labelled data → check label quality → train a candidate → evaluate it against the champion on the holdout \(gates\) → register → promote/,
    ],
    ['fallback', /Serve the rules-based fallback instead of the model/],
    ['escalate_upstream', /Page the team owning the failing upstream dependency\. No change to the model/],
    ['monitor', /Change nothing and keep watching the model/],
  ];
  for (const [action, expected] of cases) {
    it(`describes ${action}`, () => {
      const { blocks } = incidentMessage(pendingState({}, action), LINK);
      const text = sectionText(blocks, MESSAGE_BLOCKS.action);
      assert.match(text, new RegExp(`^\\*Recommended action: ${action.replace('_', ' ')}\\*`), text);
      assert.match(text, expected, text);
    });
  }

  it('names the rollback target even when the champion version is unknown', () => {
    const { blocks } = incidentMessage(pendingState({ triageEvidence: {} }, 'rollback'), LINK);
    assert.match(sectionText(blocks, MESSAGE_BLOCKS.action), /Roll the champion back to \*v2\*/, 'rollback to v2');
  });
});

describe('incident message: votes and decisions', () => {
  it('shows the votes so far while a SEV1 quorum is short', () => {
    const s = pendingState();
    s.classification!.severity = 'SEV1';
    s.approval = { ...s.approval!, quorum: 2, votes: [{ verdict: 'approve', by: 'U0ALICE', via: 'slack', at: '2026-03-01T10:05:00.000Z' }] };
    const { blocks } = incidentMessage(s, LINK);
    const approvers = sectionText(blocks, MESSAGE_BLOCKS.approvers);
    assert.match(approvers, /\*Quorum:\* 2 approvals · \*Votes so far:\* 1 of 2 — <@U0ALICE> approved \(slack\)/, approvers);
    assert.ok(block(blocks, MESSAGE_BLOCKS.buttons), 'buttons stay until the quorum is reached');
  });

  it('approved: buttons removed, who approved and when', () => {
    const s = pendingState();
    const at = '2026-03-01T10:07:00.000Z';
    s.approval!.votes = [
      { verdict: 'approve', by: 'U0ALICE', via: 'slack', at },
      { verdict: 'approve', by: 'U0DAVE', via: 'cli', at },
    ];
    s.decision = { verdict: 'approve', action: 'retrain', by: ['U0ALICE', 'U0DAVE'], at };
    const { text, blocks } = incidentMessage(s, LINK);
    assert.equal(
      blocks.some((b) => b.type === 'actions'),
      false,
      'no buttons once decided',
    );
    const decision = sectionText(blocks, MESSAGE_BLOCKS.decision);
    assert.ok(
      decision.includes(`*Approved* by <@U0ALICE>, <@U0DAVE> at <!date^${Date.parse(at) / 1000}^{date_short_pretty} {time}|2026-03-01 10:07 UTC>`),
      decision,
    );
    assert.doesNotMatch(sectionText(blocks, MESSAGE_BLOCKS.approvers), /Decide by/, 'no deadline once decided');
    assert.match(text, /retrain approved by U0ALICE, U0DAVE/, text);
    // Same summary as before the decision.
    assert.ok(block(blocks, MESSAGE_BLOCKS.evidence) && block(blocks, MESSAGE_BLOCKS.action), 'summary kept');
  });

  it('rejected: who and the reason', () => {
    const s = pendingState();
    s.decision = { verdict: 'reject', action: 'retrain', by: ['U0ALICE'], reason: 'labels are <late>', at: '2026-03-01T10:07:00.000Z' };
    const { blocks } = incidentMessage(s, LINK);
    assert.equal(
      blocks.some((b) => b.type === 'actions'),
      false,
      'no buttons',
    );
    assert.match(
      sectionText(blocks, MESSAGE_BLOCKS.decision),
      /\*Rejected\* by <@U0ALICE> at <!date\^\d+\^[^|]+\|[^>]+>: labels are &lt;late&gt;$/,
      'reject line',
    );
  });

  it('no decision: the runbook safe default applied', () => {
    const s = pendingState();
    s.decision = { verdict: 'timeout', action: 'fallback', by: ['runbook safe default'], at: '2026-03-01T10:30:00.000Z' };
    const { blocks } = incidentMessage(s, LINK);
    assert.equal(
      blocks.some((b) => b.type === 'actions'),
      false,
      'no buttons',
    );
    assert.match(
      sectionText(blocks, MESSAGE_BLOCKS.decision),
      /^:hourglass: \*No decision\*: runbook safe default \*fallback\* applied at <!date\^/,
      'safe default line',
    );
  });
});

describe('incident message: Slack limits', () => {
  it('keeps every text within Slack block limits, however long the inputs', () => {
    const long = 'x'.repeat(5000);
    const s = pendingState({
      model: {
        id: 'credit-risk',
        displayName: `Model ${long}`,
        tier: 'high',
        approvers: Array.from({ length: 400 }, (_, i) => `U0${String(i).padStart(6, '0')}`),
        escalation: [],
      },
    });
    s.classification!.reasons = [long, long, long];
    s.recommendation!.reasons = [long];
    s.approval!.approvers = s.model.approvers;
    s.evidence[0]!.values = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key_${i}`, long]));
    const { text, blocks } = incidentMessage(s, LINK);
    assert.ok(text.length <= 3000, `fallback text ${text.length}`);
    for (const b of blocks) {
      if (b.type === 'header') assert.ok(b.text.text.length <= HEADER_TEXT_LIMIT, `header ${b.text.text.length}`);
      if (b.type === 'section' && b.text) assert.ok(b.text.text.length <= SECTION_TEXT_LIMIT, `${b.block_id} ${b.text.text.length}`);
      if (b.type === 'section' && b.fields) for (const f of b.fields) assert.ok(f.text.length <= FIELD_TEXT_LIMIT, `field ${f.text.length}`);
      if (b.type === 'context') for (const e of b.elements) assert.ok(e.text.length <= SECTION_TEXT_LIMIT, `context ${e.text.length}`);
    }
    assert.match(sectionText(blocks, MESSAGE_BLOCKS.evidence), /\(\+32 more\)|…$/, 'evidence values are capped');
  });
});

describe('mentions, dates, thread replies', () => {
  it('mentions users and groups, escapes names', () => {
    assert.equal(mention('U0ALICE'), '<@U0ALICE>', 'user');
    assert.equal(mention('W0ENTERPRISE'), '<@W0ENTERPRISE>', 'enterprise user');
    assert.equal(mention('S0LEADS'), '<!subteam^S0LEADS>', 'group');
    assert.equal(mention('ml-oncall'), 'ml-oncall', 'plain name');
    assert.equal(mention('<!channel>'), '&lt;!channel&gt;', 'no injected mentions');
  });

  it('renders a date token with a readable fallback', () => {
    assert.equal(slackDate(DEADLINE), `<!date^${DEADLINE_UNIX}^{date_short_pretty} {time}|2026-03-01 10:15 UTC>`, 'date token');
  });

  it('tells phases and notable events in the thread, not votes', () => {
    const s = pendingState();
    assert.equal(threadReply(s, 'phase:remediating', 'Remediate: retrain'), ':hammer_and_wrench: *remediating* — Remediate: retrain', 'phase');
    assert.equal(threadReply(s, 'remediated', 'retrained: v1 → v2'), ':white_check_mark: Remediated — retrained: v1 → v2', 'remediated');
    assert.match(threadReply(s, 'remediation_failed', 'gates failed') ?? '', /^:x: Remediation failed — gates failed$/, 'failed');
    assert.match(threadReply(s, 'compensated', 'champion restored to v1') ?? '', /Compensated — champion restored to v1/, 'compensated');
    assert.match(threadReply(s, 'safe_default_applied', 'no decision') ?? '', /No decision — no decision/, 'safe default');
    assert.equal(threadReply(s, 'vote:approve', ''), undefined, 'votes update the message instead');
    assert.equal(threadReply(s, 'decision:approve', ''), undefined, 'decisions update the message instead');
    assert.deepEqual(
      ['vote:approve', 'decision:reject', 'safe_default_applied', 'phase:closed'].map(updatesMessage),
      [true, true, true, false],
      'in-place events',
    );
  });

  it('escalation mentions the escalation group and who may still decide', () => {
    const reply = escalationReply(pendingState(), 'no decision within 5m');
    assert.match(reply, /^:rotating_light: Escalation to <!subteam\^S0PLATFORM> <@U0CAROL>: no decision within 5m/, reply);
    assert.match(reply, /Still awaiting 1 approval\(s\) from <@U0ALICE>, <!subteam\^S0LEADS>, bob/, reply);
  });
});

describe('incident message: the performance figures of the model’s task type', () => {
  it('a regression incident shows MAE and RMSE against the holdout, named in the reasons too', () => {
    const s = pendingState({
      id: 'incident-demand-concept-drift-20260301100000',
      model: { id: 'demand', displayName: 'Demand forecast', tier: 'high', approvers: ['U0ALICE'], escalation: [] },
      signal: 'accuracy_drop',
      classification: {
        failureMode: 'concept_drift',
        severity: 'SEV2',
        reasons: [
          'MAE rose from 2 to 5 (+150%) and RMSE rose from 2.1 to 5.2 (+148%) while inputs are stable (max PSI 0.03 < 0.2)',
          'high impact (MAE rise +150%, RMSE rise +148%, max PSI 0.03) on a high-tier model → SEV2',
        ],
      },
      triageEvidence: { performance: { task: 'regression', labelled: 200 } },
      evidence: [
        {
          source: 'monitor',
          signal: 'accuracy_drop',
          observedAt: '2026-03-01T10:00:00.000Z',
          values: { samples: 200, psi_max: 0.03, label_prediction_agreement: 0, champion_version: 1, mae: 5, mae_baseline: 2, rmse: 5.2, rmse_baseline: 2.1 },
        },
      ],
    });
    const evidence = sectionText(incidentMessage(s, LINK).blocks, MESSAGE_BLOCKS.evidence);
    assert.match(evidence, /MAE rose from 2 to 5 \(\+150%\)/, evidence);
    assert.match(evidence, /\*Performance \(regression\):\* MAE 5 vs holdout 2 \(\+150%\) · RMSE 5\.2 vs holdout 2\.1 \(\+148%\)/, evidence);
    // The figures are not repeated among the other values, and no accuracy is made up.
    assert.match(evidence, /`samples` 200 · `psi_max` 0\.03 · `label_prediction_agreement` 0 · `champion_version` 1 _\(latest: accuracy_drop/, evidence);
    assert.doesNotMatch(evidence, /accuracy \d|`mae`/, evidence);
  });

  it('a multiclass incident shows accuracy and macro-F1; a binary one its accuracy drop with the report it came from', () => {
    const multi = pendingState({
      evidence: [
        {
          source: 'monitor',
          signal: 'accuracy_drop',
          observedAt: '2026-03-01T10:00:00.000Z',
          values: { accuracy: 0.34, accuracy_baseline: 0.7, accuracy_drop: 0.36, macro_f1: 0.17, macro_f1_baseline: 0.7 },
        },
      ],
    });
    const text = sectionText(incidentMessage(multi, LINK).blocks, MESSAGE_BLOCKS.evidence);
    assert.match(
      text,
      /\*Performance:\* accuracy 0\.34 vs holdout 0\.7 \(−0\.36\) · macro-F1 0\.17 vs holdout 0\.7 \(−0\.53\) _\(latest: accuracy_drop from monitor, 1 report\)_/,
      text,
    );

    const binary = pendingState({
      evidence: [{ source: 'test', signal: 'accuracy_drop', observedAt: '2026-03-01T10:00:00.000Z', values: { accuracy_drop: 0.12 } }],
    });
    assert.match(
      sectionText(incidentMessage(binary, LINK).blocks, MESSAGE_BLOCKS.evidence),
      /\*Performance:\* accuracy drop 0\.12 _\(latest: accuracy_drop from test/,
    );
  });
});
