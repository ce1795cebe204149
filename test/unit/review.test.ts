import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncidentState } from '../../domain/incident.js';
import { buildReview, human, type AuditEventRecord, type HistoryStep, type ReviewInput } from '../../domain/review.js';

const OPENED = '2025-03-01T10:00:00.000Z';

/** An approved retrain of a critical model that recovered and closed. */
function resolvedRetrain(): IncidentState {
  return {
    contractVersion: 1,
    id: 'incident-credit-risk-data-drift-20250301100000',
    model: { id: 'credit-risk', displayName: 'Credit risk scorer', tier: 'critical', approvers: ['alice', 'bob'], escalation: ['leads'] },
    signal: 'data_drift',
    phase: 'closed',
    status: 'closed',
    openedAt: OPENED,
    closedAt: '2025-03-01T11:15:00.000Z', // resolve: 4500 s
    outcome: 'resolved',
    classification: {
      failureMode: 'data_drift',
      severity: 'SEV1',
      reasons: [
        'inputs drifted (max PSI 0.61 on income) and accuracy fell by 0.12',
        'high impact (accuracy drop 0.12, max PSI 0.61) on a critical-tier model → SEV1',
      ],
    },
    recommendation: {
      action: 'retrain',
      reasons: ['800 labelled rows of good quality (≥ 200): retrain on recent data'],
      considered: [
        { action: 'rollback', applicable: false, reason: 'no champion change in the recent-deploy window' },
        { action: 'retrain', applicable: true, reason: '800 labelled rows of good quality (≥ 200): retrain on recent data' },
      ],
    },
    triageEvidence: { labelledRows: 800 },
    approval: {
      approvers: ['alice', 'bob'],
      quorum: 2,
      deadline: '2025-03-01T10:30:00.000Z',
      escalated: false,
      votes: [
        { verdict: 'approve', by: 'alice', reason: 'drift confirmed | retrain is safe', via: 'slack', at: '2025-03-01T10:04:05.000Z' }, // acknowledge: 245 s
        { verdict: 'approve', by: 'bob', via: 'cli', at: '2025-03-01T10:06:00.000Z' },
      ],
    },
    decision: { verdict: 'approve', action: 'retrain', by: ['alice', 'bob'], at: '2025-03-01T10:06:00.000Z' },
    remediation: {
      action: 'retrain',
      startedAt: '2025-03-01T10:06:01.000Z',
      finishedAt: '2025-03-01T10:40:10.000Z', // mitigate: 2410 s
      summary: 'promoted v5 (AUC 0.81 vs 0.74)',
    },
    validation: { recovered: true, reasons: ['accuracy back to 0.85 over 400 samples'], checkedAt: '2025-03-01T11:10:00.000Z', metrics: { accuracy: 0.85 } },
    evidence: [
      { source: 'monitor', signal: 'data_drift', observedAt: '2025-03-01T09:58:30.000Z', values: { psi_max: 0.61234567, drifted_features: 'income' } }, // detect: 90 s
      { source: 'monitor', signal: 'accuracy_drop', observedAt: '2025-03-01T10:02:00.000Z', values: { accuracy_drop: 0.12 } },
    ],
    timeline: [
      { at: OPENED, event: 'opened', detail: 'data_drift from monitor' },
      { at: '2025-03-01T10:00:02.000Z', event: 'classified', detail: 'data_drift SEV1 | quorum 2' },
      { at: '2025-03-01T10:06:00.000Z', event: 'approved' },
      { at: '2025-03-01T11:15:00.000Z', event: 'closed', detail: 'resolved' },
    ],
    runbookVersion: 'data_drift/v1',
  };
}

const HISTORY: HistoryStep[] = [
  { at: '2025-03-01T10:00:01.000Z', kind: 'activity', name: 'classifyIncident', outcome: 'completed' },
  { at: '2025-03-01T10:06:01.000Z', kind: 'child_workflow', name: 'retrainModel', summary: 'retrain credit-risk', outcome: 'completed' },
  { at: '2025-03-01T10:07:00.000Z', kind: 'activity', name: 'runTrainingJob', outcome: 'completed', attempts: 3 },
];

const AUDIT: AuditEventRecord[] = [
  { kind: 'decision_refused', actor: 'mallory', detail: { reason: 'mallory is not an approver' }, occurredAt: '2025-03-01T10:03:00.000Z' },
  { kind: 'vote_recorded', actor: 'alice', detail: { reason: 'should not be listed as refused' }, occurredAt: '2025-03-01T10:04:05.000Z' },
  { kind: 'decision_refused', actor: 'alice', detail: { reason: 'alice already voted' }, occurredAt: '2025-03-01T10:05:00.000Z' },
];

function review(state: IncidentState, extra: Partial<ReviewInput> = {}) {
  return buildReview({ state, audit: AUDIT, history: HISTORY, writtenAt: '2025-03-01T12:00:00.000Z', ...extra });
}

/** The lines of one `## heading` section of the markdown. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `no section "${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Asserts that the lines (or the text) contain the line (or substring), showing them when not. */
function contains(haystack: string[] | string, needle: string) {
  assert.ok(haystack.includes(needle), `expected ${JSON.stringify(needle)} in:\n${Array.isArray(haystack) ? haystack.join('\n') : haystack}`);
}

function lacks(haystack: string[] | string, needle: string) {
  assert.ok(!haystack.includes(needle), `did not expect ${JSON.stringify(needle)} in:\n${Array.isArray(haystack) ? haystack.join('\n') : haystack}`);
}

describe('human()', () => {
  it('renders seconds, minutes and hours', () => {
    assert.equal(human(undefined), '—');
    assert.equal(human(0), '0s');
    assert.equal(human(59), '59s');
    assert.equal(human(60), '1m 0s');
    assert.equal(human(245), '4m 5s');
    assert.equal(human(3599), '59m 59s');
    assert.equal(human(3600), '1h 0m');
    assert.equal(human(4500), '1h 15m');
    assert.equal(human(90061), '25h 1m');
  });
});

describe('buildReview: an approved retrain that resolved', () => {
  it('the four durations in seconds', () => {
    const { data } = review(resolvedRetrain());
    assert.deepEqual(data.durationsSeconds, { detect: 90, acknowledge: 245, mitigate: 2410, resolve: 4500 });
  });

  it('the four durations rendered with human()', () => {
    const { markdown } = review(resolvedRetrain());
    const rows = section(markdown, 'Time to detect / acknowledge / mitigate / resolve');
    contains(rows, '| Detect | Acknowledge | Mitigate | Resolve |');
    contains(rows, '| 1m 30s | 4m 5s | 40m 10s | 1h 15m |');
  });

  it('detect uses the earliest evidence, whatever its position in the list', () => {
    const s = resolvedRetrain();
    s.evidence.reverse();
    assert.equal(review(s).data.durationsSeconds.detect, 90);
  });

  it('the summary fields', () => {
    const { data, markdown } = review(resolvedRetrain());
    assert.equal(data.incidentId, 'incident-credit-risk-data-drift-20250301100000');
    assert.equal(data.modelId, 'credit-risk');
    assert.equal(data.outcome, 'resolved');
    assert.equal(data.failureMode, 'data_drift');
    assert.equal(data.severity, 'SEV1');
    assert.equal(data.runbookVersion, 'data_drift/v1');
    assert.equal(markdown.split('\n')[0], '# Post-incident review: incident-credit-risk-data-drift-20250301100000');
    contains(markdown, '| Model | Credit risk scorer (`credit-risk`, critical tier) |');
    contains(markdown, '| Severity | SEV1 |');
    contains(markdown, '| Outcome | resolved |');
    contains(markdown, '| Remediation | retrain: promoted v5 (AUC 0.81 vs 0.74) |');
    contains(markdown, '| Runbook | data_drift/v1 |');
    contains(markdown, `| Opened | ${OPENED} |`);
    contains(markdown, '| Closed | 2025-03-01T11:15:00.000Z |');
  });

  it('the decisions: who, when, why and via', () => {
    const { data, markdown } = review(resolvedRetrain());
    assert.deepEqual(data.decisions, [
      { who: 'alice', verdict: 'approve', when: '2025-03-01T10:04:05.000Z', why: 'drift confirmed | retrain is safe', via: 'slack' },
      { who: 'bob', verdict: 'approve', when: '2025-03-01T10:06:00.000Z', why: undefined, via: 'cli' },
    ]);
    const rows = section(markdown, 'Decisions');
    contains(rows, '| When | Who | Decision | Via | Why |');
    contains(rows, '| 2025-03-01T10:06:00.000Z | bob | approve | cli |  |');
  });

  it('a | in a reason is escaped in the decisions table', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Decisions');
    const alice = rows.find((r) => r.includes('| alice |'));
    assert.equal(alice, '| 2025-03-01T10:04:05.000Z | alice | approve | slack | drift confirmed \\| retrain is safe |');
    // Five columns: six unescaped pipes.
    assert.equal(alice!.replace(/\\\|/g, '').split('|').length - 1, 6);
  });

  it('refused decisions come from decision_refused audit events only', () => {
    const { data, markdown } = review(resolvedRetrain());
    assert.deepEqual(data.refusedDecisions, [
      { who: 'mallory', when: '2025-03-01T10:03:00.000Z', why: 'mallory is not an approver' },
      { who: 'alice', when: '2025-03-01T10:05:00.000Z', why: 'alice already voted' },
    ]);
    const rows = section(markdown, 'Decisions');
    contains(rows, 'Refused attempts:');
    contains(rows, '- 2025-03-01T10:03:00.000Z mallory: mallory is not an approver');
    contains(rows, '- 2025-03-01T10:05:00.000Z alice: alice already voted');
    lacks(markdown, 'should not be listed as refused');
  });

  it('no refused attempts: no such list', () => {
    const { data, markdown } = review(resolvedRetrain(), { audit: [] });
    assert.deepEqual(data.refusedDecisions, []);
    lacks(markdown, 'Refused attempts');
  });

  it('the root-cause class for the failure mode, with the classification reasons', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Root cause class');
    contains(rows, 'Data drift: production inputs moved away from the training distribution.');
    contains(rows, '- inputs drifted (max PSI 0.61 on income) and accuracy fell by 0.12');
  });

  it('each failure mode has its own root cause and action items', () => {
    const expected = {
      data_drift: /^Data drift:/,
      concept_drift: /^Concept drift:/,
      data_quality: /^Data quality/,
      infrastructure: /^Infrastructure/,
      feedback_loop: /^Feedback-loop corruption/,
      upstream: /^Upstream/,
    } as const;
    const items = new Set<string>();
    for (const [mode, re] of Object.entries(expected)) {
      const s = resolvedRetrain();
      s.classification!.failureMode = mode as keyof typeof expected;
      const { markdown, data } = review(s);
      const rootCause = section(markdown, 'Root cause class')[1];
      assert.match(rootCause!, re, mode);
      assert.ok(data.actionItems.length > 0, mode);
      items.add(data.actionItems.join('\n'));
    }
    assert.equal(items.size, 6);
  });

  it('unclassified: says so', () => {
    const s = resolvedRetrain();
    delete s.classification;
    const { markdown, data } = review(s);
    assert.equal(data.failureMode, undefined);
    contains(section(markdown, 'Root cause class'), 'Not classified.');
    contains(markdown, '| Failure mode | unclassified |');
  });

  it('action items for a resolved data-drift incident: the mode’s items only, rendered as checkboxes', () => {
    const { data, markdown } = review(resolvedRetrain());
    assert.deepEqual(data.actionItems, [
      'Review which features drifted and whether the shift is expected (seasonality, product change).',
      'Confirm the retraining window and label freshness are adequate for this model.',
    ]);
    const rows = section(markdown, 'Action items');
    for (const item of data.actionItems) assert.ok(rows.includes(`- [ ] ${item}`), item);
  });

  it('the evidence, with numbers rounded to four decimals, and the triage evidence', () => {
    const { markdown } = review(resolvedRetrain());
    const rows = section(markdown, 'Evidence');
    contains(rows, '- 2025-03-01T09:58:30.000Z — **data_drift** from monitor: psi_max=0.6123, drifted_features=income');
    contains(rows, '- 2025-03-01T10:02:00.000Z — **accuracy_drop** from monitor: accuracy_drop=0.12');
    contains(markdown, '"labelledRows": 800');
  });

  it('the recommendation and what was considered', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Recommendation');
    contains(rows, 'Recommended **retrain**: 800 labelled rows of good quality (≥ 200): retrain on recent data');
    contains(rows, '- ✗ rollback: no champion change in the recent-deploy window');
    contains(rows, '- ✓ retrain: 800 labelled rows of good quality (≥ 200): retrain on recent data');
  });

  it('the validation', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Validation');
    contains(rows, 'Recovered: **yes** (checked 2025-03-01T11:10:00.000Z)');
    contains(rows, '- accuracy back to 0.85 over 400 samples');
  });

  it('the timeline, with | escaped in details', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Timeline');
    contains(rows, '| When | Event | Detail |');
    contains(rows, `| ${OPENED} | opened | data_drift from monitor |`);
    contains(rows, '| 2025-03-01T10:00:02.000Z | classified | data_drift SEV1 \\| quorum 2 |');
    contains(rows, '| 2025-03-01T10:06:00.000Z | approved |  |');
    contains(rows, '| 2025-03-01T11:15:00.000Z | closed | resolved |');
  });

  it('newlines in a detail do not break the table row', () => {
    const s = resolvedRetrain();
    s.timeline.push({ at: '2025-03-01T11:16:00.000Z', event: 'note', detail: 'line one\nline two' });
    contains(section(review(s).markdown, 'Timeline'), '| 2025-03-01T11:16:00.000Z | note | line one line two |');
  });

  it('the Temporal history steps, with retries and the summary in place of the name', () => {
    const rows = section(review(resolvedRetrain()).markdown, 'Workflow steps (from Temporal history)');
    contains(rows, '| 2025-03-01T10:00:01.000Z | activity: classifyIncident | completed |');
    contains(rows, '| 2025-03-01T10:06:01.000Z | child_workflow: retrain credit-risk | completed |');
    contains(rows, '| 2025-03-01T10:07:00.000Z | activity: runTrainingJob | completed after 3 attempts |');
  });

  it('no history: no history section', () => {
    lacks(review(resolvedRetrain(), { history: [] }).markdown, 'Workflow steps');
  });

  it('sections come in order', () => {
    const { markdown } = review(resolvedRetrain());
    const headings = markdown.split('\n').filter((l) => l.startsWith('## '));
    assert.deepEqual(headings, [
      '## Time to detect / acknowledge / mitigate / resolve',
      '## Root cause class',
      '## Evidence',
      '## Recommendation',
      '## Decisions',
      '## Validation',
      '## Timeline',
      '## Workflow steps (from Temporal history)',
      '## Action items',
      '## Sign-off',
    ]);
  });
});

describe('buildReview: other outcomes', () => {
  it('not_recovered: the remediation was undone and an action item says to find the real cause', () => {
    const s = resolvedRetrain();
    s.outcome = 'not_recovered';
    s.remediation!.compensated = true;
    s.validation = { recovered: false, reasons: ['accuracy still 0.70'], checkedAt: '2025-03-01T11:00:00.000Z', metrics: {} };
    const { data, markdown } = review(s);
    assert.equal(data.actionItems.at(-1), 'The remediation did not restore the model and was undone: find the real cause before retrying.');
    assert.equal(data.actionItems.length, 3);
    contains(markdown, '| Remediation | retrain: promoted v5 (AUC 0.81 vs 0.74) (undone: not recovered) |');
    contains(markdown, 'Recovered: **no**');
  });

  it('remediation_failed: names the remediation summary', () => {
    const s = resolvedRetrain();
    s.outcome = 'remediation_failed';
    s.remediation!.summary = 'training job exited 1';
    assert.equal(review(s).data.actionItems.at(-1), 'Remediation failed (training job exited 1): fix the blocker and decide again.');
  });

  it('unverified and rejected have their own items', () => {
    const s = resolvedRetrain();
    s.outcome = 'unverified';
    s.validation!.recovered = null;
    const unverified = review(s);
    assert.match(unverified.data.actionItems.at(-1)!, /could not be verified for lack of traffic/);
    contains(unverified.markdown, 'Recovered: **could not tell**');
    s.outcome = 'rejected';
    assert.match(review(s).data.actionItems.at(-1)!, /recommendation was rejected/);
  });

  it('approval timeout: the safe default is a decision, acknowledge is unknown, and an item checks the rota', () => {
    const s = resolvedRetrain();
    s.outcome = 'resolved';
    s.approval = { approvers: ['alice', 'bob'], quorum: 2, deadline: '2025-03-01T10:30:00.000Z', escalated: true, votes: [] };
    s.decision = { verdict: 'timeout', action: 'fallback', by: [], reason: 'no quorum within 30m + 15m', at: '2025-03-01T10:45:00.000Z' };
    s.remediation = { action: 'fallback', startedAt: '2025-03-01T10:45:00.000Z', finishedAt: '2025-03-01T10:45:03.000Z', summary: 'serving rules' };
    const { data, markdown } = review(s);
    assert.equal(data.durationsSeconds.acknowledge, undefined);
    assert.equal(data.durationsSeconds.mitigate, 2703);
    assert.deepEqual(data.decisions, [
      { who: 'runbook safe default', verdict: 'timeout → fallback', when: '2025-03-01T10:45:00.000Z', why: 'no quorum within 30m + 15m', via: 'vigil' },
    ]);
    contains(section(markdown, 'Time to detect / acknowledge / mitigate / resolve'), '| 1m 30s | — | 45m 3s | 1h 15m |');
    assert.equal(data.actionItems.at(-1), 'Nobody answered the approval in time: check the on-call rota and escalation route.');
  });

  it('a decision with no recorded votes still acknowledges at the decision time', () => {
    const s = resolvedRetrain();
    delete s.approval;
    s.decision = { verdict: 'approve', action: 'retrain', by: ['alice'], at: '2025-03-01T10:02:00.000Z' };
    assert.equal(review(s).data.durationsSeconds.acknowledge, 120);
  });

  it('still open: resolve runs to writtenAt, mitigate is unknown, nothing decided', () => {
    const s = resolvedRetrain();
    s.status = 'open';
    s.phase = 'awaiting_approval';
    delete s.closedAt;
    delete s.outcome;
    delete s.decision;
    delete s.remediation;
    delete s.validation;
    s.approval!.votes = [];
    const { data, markdown } = review(s, { audit: [], writtenAt: '2025-03-01T10:20:00.000Z' });
    assert.deepEqual(data.durationsSeconds, { detect: 90, acknowledge: undefined, mitigate: undefined, resolve: 1200 });
    contains(markdown, '| Outcome | open |');
    contains(markdown, '| Closed | — |');
    contains(markdown, '| Remediation | none |');
    contains(section(markdown, 'Decisions'), 'No decision was made.');
    lacks(markdown, '## Validation');
  });
});

describe('buildReview: the performance of the model’s task type', () => {
  /** The same incident for a regression model whose MAE and RMSE rose with stable inputs. */
  function regressionIncident(): IncidentState {
    const s = resolvedRetrain();
    s.model = { ...s.model, id: 'demand', displayName: 'Demand forecast' };
    s.classification = {
      failureMode: 'concept_drift',
      severity: 'SEV2',
      reasons: ['MAE rose from 2 to 5 (+150%) while inputs are stable (max PSI 0.03 < 0.2)', 'high impact (MAE rise +150%) on a critical-tier model → SEV1'],
    };
    s.triageEvidence = { performance: { task: 'regression', labelled: 200 } };
    s.evidence = [
      {
        source: 'monitor',
        signal: 'accuracy_drop',
        observedAt: '2025-03-01T09:58:30.000Z',
        values: { psi_max: 0.03, mae: 5, mae_baseline: 2, rmse: 5.2, rmse_baseline: 2.1 },
      },
    ];
    s.validation = {
      recovered: true,
      reasons: ["MAE 2.05 is 2.5% above the holdout's 2 (< 20%) on 200 labelled predictions"],
      checkedAt: '2025-03-01T11:10:00.000Z',
      metrics: { mae: 2.05 },
    };
    return s;
  }

  it('what happened names MAE and RMSE against the holdout, and no accuracy', () => {
    const { markdown, data } = review(regressionIncident());
    const rootCause = section(markdown, 'Root cause class');
    contains(
      rootCause,
      'Performance (regression model) at the latest evidence, against the holdout: MAE 5 vs holdout 2 (+150%); RMSE 5.2 vs holdout 2.1 (+148%).',
    );
    contains(rootCause, '- MAE rose from 2 to 5 (+150%) while inputs are stable (max PSI 0.03 < 0.2)');
    assert.deepEqual(data.performance, {
      task: 'regression',
      figures: [
        { metric: 'mae', current: 5, baseline: 2 },
        { metric: 'rmse', current: 5.2, baseline: 2.1 },
      ],
    });
    assert.ok(data.actionItems.includes('Shorten the label feedback delay so a rise in MAE or RMSE is seen sooner.'), data.actionItems.join('\n'));
    // Only the signal's name says accuracy (accuracy_drop stands for any performance loss): no accuracy figure or wording.
    assert.ok(!/accuracy(?!_drop)/.test(markdown), 'no accuracy in a regression review');
  });

  it('a binary incident keeps its accuracy wording', () => {
    const s = resolvedRetrain();
    s.classification!.failureMode = 'concept_drift';
    const { markdown, data } = review(s);
    contains(section(markdown, 'Root cause class'), 'Performance at the latest evidence, against the holdout: accuracy drop 0.12.');
    assert.ok(data.actionItems.includes('Shorten the label feedback delay so accuracy loss is seen sooner.'));
  });
});
