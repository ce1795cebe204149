/**
 * The post-incident review, built from the workflow's own history and the audit log: timeline, the
 * four durations (detect, acknowledge, mitigate, resolve), evidence, every decision with who, when and
 * why, the root-cause class and action items. Pure: the activity gathers the inputs.
 */
import type { FailureMode, IncidentState, Outcome } from './incident.js';
import { describeFigure, incidentPerformance } from './performanceEvidence.js';
import type { TaskType } from './task.js';

export interface AuditEventRecord {
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
  occurredAt: string;
}

/** One step from the Temporal history: an activity or child workflow and when it ran. */
export interface HistoryStep {
  at: string;
  kind: 'activity' | 'child_workflow' | 'timer' | 'update' | 'signal';
  name: string;
  summary?: string;
  outcome?: 'completed' | 'failed' | 'timed_out' | 'retried';
  attempts?: number;
}

export interface ReviewInput {
  state: IncidentState;
  audit: AuditEventRecord[];
  history: HistoryStep[];
  /** When the review is written; stands in for "resolved" if the state is not closed yet. */
  writtenAt: string;
}

export interface ReviewData {
  incidentId: string;
  modelId: string;
  outcome?: Outcome;
  failureMode?: FailureMode;
  severity?: string;
  durationsSeconds: { detect?: number; acknowledge?: number; mitigate?: number; resolve?: number };
  decisions: { who: string; verdict: string; when: string; why?: string; via?: string }[];
  refusedDecisions: { who: string; when: string; why: string }[];
  actionItems: string[];
  runbookVersion: string;
  /** The model's performance at the latest evidence, in its task type's metrics (absent without figures). */
  performance?: { task: TaskType; figures: { metric: string; current?: number; baseline?: number }[] };
}

const ROOT_CAUSE: Record<FailureMode, string> = {
  data_drift: 'Data drift: production inputs moved away from the training distribution.',
  concept_drift: 'Concept drift: the input→label relation changed while inputs looked normal.',
  data_quality: 'Data quality / schema break in the model inputs.',
  infrastructure: 'Infrastructure under load (serving, GPU or queue).',
  feedback_loop: 'Feedback-loop corruption: labels flowing back were anomalous.',
  upstream: 'Upstream / integration failure in a dependency.',
};

const ACTION_ITEMS: Record<FailureMode, string[]> = {
  data_drift: [
    'Review which features drifted and whether the shift is expected (seasonality, product change).',
    'Confirm the retraining window and label freshness are adequate for this model.',
  ],
  concept_drift: [
    'Investigate what changed in the input→label relation; involve the business owner.',
    'Shorten the label feedback delay so accuracy loss is seen sooner.',
  ],
  data_quality: ['Add a contract test on the upstream producer for the broken fields.', 'Make the schema check block deploys of the producer, not only alert.'],
  infrastructure: ['Review capacity and autoscaling for the serving path.', 'Add a load test at the observed peak.'],
  feedback_loop: ['Audit the label source and quarantine suspicious labels.', 'Add label-quality gates before training.'],
  upstream: ['Agree an SLO and change notification with the upstream owner.'],
};

export function buildReview(input: ReviewInput): { markdown: string; data: ReviewData } {
  const { state: s, audit, history } = input;
  const firstObserved = s.evidence.map((e) => e.observedAt).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  const firstVote = s.approval?.votes[0]?.at ?? (s.decision?.verdict === 'timeout' ? undefined : s.decision?.at);
  const mitigated = s.remediation?.finishedAt;
  const resolved = s.closedAt ?? input.writtenAt;
  const durations = {
    detect: seconds(firstObserved, s.openedAt),
    acknowledge: seconds(s.openedAt, firstVote),
    mitigate: seconds(s.openedAt, mitigated),
    resolve: seconds(s.openedAt, resolved),
  };

  const decisions: ReviewData['decisions'] = (s.approval?.votes ?? []).map((v) => ({ who: v.by, verdict: v.verdict, when: v.at, why: v.reason, via: v.via }));
  if (s.decision?.verdict === 'timeout') {
    decisions.push({ who: 'runbook safe default', verdict: `timeout → ${s.decision.action}`, when: s.decision.at, why: s.decision.reason, via: 'vigil' });
  }
  const refusedDecisions = audit
    .filter((a) => a.kind === 'decision_refused')
    .map((a) => ({ who: a.actor, when: a.occurredAt, why: String(a.detail.reason ?? '') }));

  const mode = s.classification?.failureMode;
  const performance = incidentPerformance(s);
  const actionItems = [...(mode ? ACTION_ITEMS[mode] : []).map((item) => speakTask(item, performance.task)), ...outcomeItems(s)];

  const data: ReviewData = {
    incidentId: s.id,
    modelId: s.model.id,
    outcome: s.outcome,
    failureMode: mode,
    severity: s.classification?.severity,
    durationsSeconds: durations,
    decisions,
    refusedDecisions,
    actionItems,
    runbookVersion: s.runbookVersion,
    ...(performance.figures.length
      ? {
          performance: {
            task: performance.task,
            figures: performance.figures.map((f) => ({
              metric: f.key,
              ...(f.current !== undefined ? { current: f.current } : {}),
              ...(f.baseline !== undefined ? { baseline: f.baseline } : {}),
            })),
          },
        }
      : {}),
  };

  const lines: string[] = [];
  lines.push(`# Post-incident review: ${s.id}`, '');
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| Model | ${s.model.displayName} (\`${s.model.id}\`, ${s.model.tier} tier) |`);
  lines.push(`| Failure mode | ${mode ?? 'unclassified'} |`);
  lines.push(`| Severity | ${s.classification?.severity ?? '—'} |`);
  lines.push(`| Outcome | ${s.outcome ?? 'open'} |`);
  lines.push(
    `| Remediation | ${s.remediation ? `${s.remediation.action}: ${escape(s.remediation.summary ?? '')}${s.remediation.compensated ? ' (undone: not recovered)' : ''}` : 'none'} |`,
  );
  lines.push(`| Runbook | ${s.runbookVersion || '—'} |`);
  lines.push(`| Opened | ${s.openedAt} |`);
  lines.push(`| Closed | ${s.closedAt ?? '—'} |`, '');

  lines.push('## Time to detect / acknowledge / mitigate / resolve', '');
  lines.push('| Detect | Acknowledge | Mitigate | Resolve |', '|---|---|---|---|');
  lines.push(`| ${human(durations.detect)} | ${human(durations.acknowledge)} | ${human(durations.mitigate)} | ${human(durations.resolve)} |`, '');

  lines.push('## Root cause class', '', mode ? ROOT_CAUSE[mode] : 'Not classified.', '');
  if (performance.figures.length) {
    const task = performance.declared ? ` (${performance.task} model)` : '';
    lines.push(`Performance${task} at the latest evidence, against the holdout: ${performance.figures.map(describeFigure).join('; ')}.`, '');
  }
  if (s.classification) {
    lines.push('Classification reasons:', '', ...s.classification.reasons.map((r) => `- ${r}`), '');
  }

  lines.push('## Evidence', '');
  for (const e of s.evidence) {
    const values = Object.entries(e.values)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`)
      .join(', ');
    lines.push(`- ${e.observedAt} — **${e.signal}** from ${e.source}${values ? `: ${values}` : ''}`);
  }
  if (s.triageEvidence) {
    lines.push('', '<details><summary>Triage evidence</summary>', '', '```json', JSON.stringify(s.triageEvidence, null, 2), '```', '</details>');
  }
  lines.push('');

  lines.push('## Recommendation', '');
  if (s.recommendation) {
    lines.push(`Recommended **${s.recommendation.action}**: ${s.recommendation.reasons.join('; ')}`, '');
    for (const c of s.recommendation.considered) lines.push(`- ${c.applicable ? '✓' : '✗'} ${c.action}: ${c.reason}`);
  } else lines.push('None.');
  lines.push('');

  lines.push('## Decisions', '');
  if (decisions.length === 0) lines.push('No decision was made.');
  else {
    lines.push('| When | Who | Decision | Via | Why |', '|---|---|---|---|---|');
    for (const d of decisions) lines.push(`| ${d.when} | ${escape(d.who)} | ${d.verdict} | ${escape(d.via ?? '')} | ${escape(d.why ?? '')} |`);
  }
  if (refusedDecisions.length) {
    lines.push('', 'Refused attempts:', '', ...refusedDecisions.map((r) => `- ${r.when} ${r.who}: ${r.why}`));
  }
  lines.push('');

  lines.push(...retrainSection(s.remediation));
  lines.push(...runbookSection(s.runbook));

  if (s.validation) {
    lines.push('## Validation', '');
    lines.push(
      `Recovered: **${s.validation.recovered === null ? 'could not tell' : s.validation.recovered ? 'yes' : 'no'}** (checked ${s.validation.checkedAt})`,
      '',
    );
    lines.push(...s.validation.reasons.map((r) => `- ${r}`), '');
  }

  lines.push('## Timeline', '', '| When | Event | Detail |', '|---|---|---|');
  for (const t of s.timeline) lines.push(`| ${t.at} | ${t.event} | ${escape(t.detail ?? '')} |`);
  lines.push('');

  if (history.length) {
    lines.push('## Workflow steps (from Temporal history)', '', '| When | Step | Result |', '|---|---|---|');
    for (const h of history) {
      const result = `${h.outcome ?? ''}${h.attempts && h.attempts > 1 ? ` after ${h.attempts} attempts` : ''}`;
      lines.push(`| ${h.at} | ${h.kind}: ${escape(h.summary ?? h.name)} | ${result} |`);
    }
    lines.push('');
  }

  lines.push('## Action items', '', ...actionItems.map((a) => `- [ ] ${a}`), '');
  lines.push('## Sign-off', '', '- [ ] Reviewed by: ', '');
  return { markdown: lines.join('\n'), data };
}

/** What a task type's performance loss is called, in action items: accuracy loss, a rise in MAE/RMSE. */
const LOSS_WORDS: Record<TaskType, string> = { binary: 'accuracy loss', multiclass: 'a loss in accuracy or macro-F1', regression: 'a rise in MAE or RMSE' };

function speakTask(item: string, task: TaskType): string {
  return item.replace('accuracy loss', LOSS_WORDS[task]);
}

function outcomeItems(s: IncidentState): string[] {
  switch (s.outcome) {
    case 'not_recovered':
      return ['The remediation did not restore the model and was undone: find the real cause before retrying.'];
    case 'remediation_failed':
      return [`Remediation failed (${s.remediation?.summary ?? 'see timeline'}): fix the blocker and decide again.`];
    case 'unverified':
      return ['Recovery could not be verified for lack of traffic: check the model by hand.'];
    case 'rejected':
      return ['The recommendation was rejected: record the alternative taken and update the runbook if it was wrong.'];
    default:
      return s.decision?.verdict === 'timeout' ? ['Nobody answered the approval in time: check the on-call rota and escalation route.'] : [];
  }
}

function seconds(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
}

export function human(sec?: number): string {
  if (sec === undefined) return '—';
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${sec % 60}s`;
  return `${Math.floor(sec / 3600)}h ${Math.floor((sec % 3600) / 60)}m`;
}

const round = (v: number) => Math.round(v * 10000) / 10000;
const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The retrain's gates and canary, as the child workflow reported them (absent for other actions). */
function retrainSection(remediation: IncidentState['remediation']): string[] {
  if (remediation?.action !== 'retrain') return [];
  const detail = remediation.detail as
    | {
        gates?: { name: string; candidate: number; champion: number; passed: boolean; rule: string; judged?: boolean }[];
        canary?: { percent: number; mode?: 'split' | 'shadow'; target: string; judgement: { verdict: string; reasons: string[] } };
      }
    | undefined;
  if (!detail?.gates?.length && !detail?.canary) return [];
  const lines = ['## Retrain: gates and canary', ''];
  if (detail.gates?.length) {
    lines.push('| Gate | Candidate | Champion | Rule | Result |', '|---|---|---|---|---|');
    for (const g of detail.gates) {
      const result = g.judged === false ? 'not judged' : g.passed ? 'passed' : '**failed**';
      const fig = (v: number) => (Number.isFinite(v) ? String(round(v)) : '—');
      lines.push(`| ${escape(g.name)} | ${fig(g.candidate)} | ${fig(g.champion)} | ${escape(g.rule)} | ${result} |`);
    }
    lines.push('');
  }
  if (detail.canary) {
    const c = detail.canary;
    const how = c.mode === 'shadow' ? `Shadow on ${c.percent}% of requests` : `Canary at ${c.percent}%`;
    lines.push(`${how} on ${escape(c.target)}: **${c.judgement.verdict === 'promote' ? 'promoted' : 'rolled back'}**`, '');
    lines.push(...c.judgement.reasons.map((r) => `- ${r}`), '');
  }
  return lines;
}

/** A team's runbook: each step it took, with a webhook's status and answer, a signal's sender and data. */
function runbookSection(runbook: IncidentState['runbook']): string[] {
  if (!runbook?.name) return [];
  const lines = [`## Runbook: ${runbook.name}`, '', '| When | Step | What happened |', '|---|---|---|'];
  for (const st of runbook.steps) {
    const extra = st.body ? `<br>${escape(st.body.length > 300 ? `${st.body.slice(0, 300)}…` : st.body)}` : '';
    lines.push(`| ${st.at} | ${st.kind}: ${escape(st.step)} | ${escape(st.detail)}${extra} |`);
  }
  if (runbook.steps.length === 0) lines.push('| | | no steps recorded |');
  return [...lines, ''];
}
