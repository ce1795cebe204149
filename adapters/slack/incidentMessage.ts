/**
 * The incident's Slack message in Block Kit, and the short replies in its thread. Pure functions of the
 * incident state: the same state always renders the same message, so a retried update is harmless.
 *
 * Slack refuses a whole message when one block breaks a limit (3000 characters per section text, 2000
 * per field, 150 per header), so every text is cut to its limit here.
 */
import { cut } from '../../domain/cut.js';
import type { IncidentState, RemediationAction, Vote } from '../../domain/incident.js';
import { describeFigure, incidentPerformance } from '../../domain/performanceEvidence.js';
import { escapeMrkdwn as escape, mention } from './mrkdwn.js';
import { SLACK_ACTIONS, SLACK_METADATA_EVENT, type SlackButtonValue, type SlackSignalButtonValue } from './slackContract.js';

export const SECTION_TEXT_LIMIT = 3000;
export const FIELD_TEXT_LIMIT = 2000;
export const HEADER_TEXT_LIMIT = 150;
/** Notification text (the fallback shown in push notifications); Slack truncates long ones anyway. */
const FALLBACK_TEXT_LIMIT = 3000;

export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: TextObject & { type: 'plain_text' };
  value: string;
  style?: 'primary' | 'danger';
}
export type SlackBlock =
  | { type: 'header'; block_id?: string; text: TextObject & { type: 'plain_text' } }
  | { type: 'section'; block_id?: string; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; block_id?: string; elements: TextObject[] }
  | { type: 'actions'; block_id?: string; elements: ButtonElement[] }
  | { type: 'divider'; block_id?: string };

export interface SlackMessageContent {
  /** The notification / accessibility text. */
  text: string;
  blocks: SlackBlock[];
}

/** Where the message links to: the Temporal UI's page for the incident workflow. */
export interface IncidentLinkContext {
  temporalUiUrl: string;
  namespace: string;
}

/** Ids of the blocks other code may look for (e.g. tests, the Bolt app). */
export const MESSAGE_BLOCKS = {
  header: 'vigil_header',
  summary: 'vigil_summary',
  evidence: 'vigil_evidence',
  action: 'vigil_action',
  approvers: 'vigil_approvers',
  buttons: 'vigil_buttons',
  decision: 'vigil_decision',
  waiting: 'vigil_waiting',
  signal: 'vigil_signal',
  link: 'vigil_link',
} as const;

/** The incident message as the state stands: pending (buttons, votes so far) or decided (who, when). */
export function incidentMessage(state: IncidentState, link: IncidentLinkContext): SlackMessageContent {
  const c = state.classification;
  const title = `${c?.severity ?? 'Unclassified'} ${humanize(c?.failureMode ?? state.signal)} on ${state.model.displayName}`;
  const action = state.decision?.action ?? state.recommendation?.action;
  const url = incidentUrl(link, state.id);

  const blocks: SlackBlock[] = [
    { type: 'header', block_id: MESSAGE_BLOCKS.header, text: plain(`${headerIcon(state)} ${title}`, HEADER_TEXT_LIMIT) },
    {
      type: 'section',
      block_id: MESSAGE_BLOCKS.summary,
      fields: [
        field(`*Model*\n${escape(state.model.displayName)} (\`${escape(state.model.id)}\`, ${state.model.tier} tier)`),
        field(`*Severity*\n${c?.severity ?? 'not classified yet'}`),
        field(`*Failure mode*\n${c ? humanize(c.failureMode) : `${humanize(state.signal)} (signal)`}`),
        field(`*Incident*\n<${url}|${escape(state.id)}>`),
      ],
    },
    section(MESSAGE_BLOCKS.evidence, `*Evidence*\n${evidenceLines(state).join('\n')}`),
  ];
  if (action) {
    const reasons = state.recommendation?.reasons.length ? `\n_Why:_ ${escape(state.recommendation.reasons.join('; '))}` : '';
    blocks.push(section(MESSAGE_BLOCKS.action, `*Recommended action: ${humanize(action)}*\n${actionDescription(state, action)}${reasons}`));
  }
  blocks.push(section(MESSAGE_BLOCKS.approvers, approvalLines(state).join('\n')));

  if (state.decision) {
    blocks.push(section(MESSAGE_BLOCKS.decision, decisionLine(state)));
  } else if (state.approval) {
    const value = JSON.stringify({ incidentId: state.id } satisfies SlackButtonValue);
    blocks.push({
      type: 'actions',
      block_id: MESSAGE_BLOCKS.buttons,
      elements: [
        { type: 'button', action_id: SLACK_ACTIONS.approve, text: plain('Approve', 75), style: 'primary', value },
        { type: 'button', action_id: SLACK_ACTIONS.reject, text: plain('Reject', 75), style: 'danger', value },
      ],
    });
  }
  const waiting = state.status === 'open' ? state.runbook?.waitingFor : undefined;
  if (waiting) {
    blocks.push(
      section(
        MESSAGE_BLOCKS.waiting,
        `*Runbook ${escape(state.runbook!.name)} waits for \`${escape(waiting.name)}\`* until ${escape(waiting.until)}\n\`vigil incident signal ${escape(state.id)} ${escape(waiting.name)}\``,
      ),
    );
    if (waiting.button) {
      const value = JSON.stringify({ incidentId: state.id, signal: waiting.name } satisfies SlackSignalButtonValue);
      blocks.push({
        type: 'actions',
        block_id: MESSAGE_BLOCKS.signal,
        elements: [{ type: 'button', action_id: SLACK_ACTIONS.signal, text: plain(waiting.button, 75), style: 'primary', value }],
      });
    }
  }
  blocks.push({
    type: 'context',
    block_id: MESSAGE_BLOCKS.link,
    elements: [
      mrkdwn(
        `<${url}|Open ${escape(state.id)} in the Temporal UI> · runbook ${escape(state.runbookVersion || '?')} · \`vigil incident show ${escape(state.id)}\``,
        SECTION_TEXT_LIMIT,
      ),
    ],
  });

  return { text: cut(fallbackText(state, title, action), FALLBACK_TEXT_LIMIT), blocks };
}

/** The metadata posted with the message: a retried post finds the message it already sent by it. */
export function incidentMessageMetadata(incidentId: string): { event_type: string; event_payload: { incident_id: string } } {
  return { event_type: SLACK_METADATA_EVENT, event_payload: { incident_id: incidentId } };
}

/** Events that change the message in place (votes so far, the decision). */
export function updatesMessage(event: string): boolean {
  return event.startsWith('vote:') || event.startsWith('decision:') || event === 'safe_default_applied';
}

const THREAD_EVENTS: Record<string, string> = {
  remediated: ':white_check_mark: Remediated',
  compensated: ':leftwards_arrow_with_hook: Compensated',
  remediation_failed: ':x: Remediation failed',
  approval_escalated: ':alarm_clock: Approval escalated',
  safe_default_applied: ':hourglass: No decision',
};

const PHASE_ICONS: Record<string, string> = {
  detected: ':mag:',
  classified: ':label:',
  triaged: ':clipboard:',
  awaiting_approval: ':raised_hand:',
  remediating: ':hammer_and_wrench:',
  validating: ':microscope:',
  reviewing: ':memo:',
  closed: ':lock:',
};

/** The thread reply for an audited event, or undefined when the event is not told in the thread. */
export function threadReply(state: IncidentState, event: string, detail: string): string | undefined {
  let head: string | undefined;
  if (event.startsWith('phase:')) {
    const phase = event.slice('phase:'.length);
    head = `${PHASE_ICONS[phase] ?? ':arrow_right:'} *${humanize(phase)}*`;
  } else {
    head = THREAD_EVENTS[event];
  }
  if (!head) return undefined;
  return cut(`${head}${detail ? ` — ${escape(detail)}` : ''}`, SECTION_TEXT_LIMIT);
}

/** The reply that escalates: mentions the model's escalation group with the reason, and who may still decide. */
export function escalationReply(state: IncidentState, reason: string): string {
  const to = state.model.escalation.length ? state.model.escalation.map(mention).join(' ') : 'the model owners';
  const pending = state.approval && !state.decision;
  const still = pending
    ? `\nStill awaiting ${state.approval!.quorum} approval(s) from ${listApprovers(state.approval!.approvers)}; without a decision the runbook's safe default is applied.`
    : '';
  return cut(`:rotating_light: Escalation to ${to}: ${escape(reason)}${still}`, SECTION_TEXT_LIMIT);
}

/** Slack's date token: each reader sees their own time zone; `fallback` where clients cannot render it. */
export function slackDate(iso: string, format = '{date_short_pretty} {time}'): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return escape(iso);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}

export function incidentUrl(link: IncidentLinkContext, incidentId: string): string {
  return `${link.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(link.namespace)}/workflows/${encodeURIComponent(incidentId)}`;
}

/** What the action will do, concretely. */
export function actionDescription(state: IncidentState, action: RemediationAction): string {
  switch (action) {
    case 'rollback': {
      const { from, to } = rollbackVersions(state);
      if (from !== undefined && to !== undefined)
        return `Roll the champion back from *v${from}* to *v${to}*; if the model does not recover, v${from} is restored.`;
      return `Roll the champion back to ${to !== undefined ? `*v${to}*` : 'the last healthy version'}; if the model does not recover, the previous champion is restored.`;
    }
    case 'retrain':
      return 'Start the retrain workflow: snapshot recent labelled data → check label quality → train a candidate → evaluate it against the champion on the holdout (gates) → register → promote. The champion moves only if every gate passes; if the model then does not recover, the previous champion is restored.';
    case 'fallback':
      return 'Serve the rules-based fallback instead of the model until it is trusted again. The model itself is not changed.';
    case 'escalate_upstream':
      return 'Page the team owning the failing upstream dependency. No change to the model.';
    case 'monitor':
      return 'Change nothing and keep watching the model.';
  }
}

// ---------------------------------------------------------------------------------------------------

function rollbackVersions(state: IncidentState): { from?: number; to?: number } {
  const champion = state.triageEvidence?.championVersion;
  const from = typeof champion === 'number' ? champion : undefined;
  const text = [
    ...(state.recommendation?.reasons ?? []),
    ...(state.recommendation?.considered ?? []).filter((c) => c.action === 'rollback').map((c) => c.reason),
  ].join(' ');
  const m = /roll back to v(\d+)/.exec(text);
  return { from, to: m ? Number(m[1]) : undefined };
}

const MAX_EVIDENCE_VALUES = 8;

/**
 * Classification reasons (they carry the numbers), the performance figures of the model's task type
 * against the holdout's (binary accuracy, AUC; multiclass accuracy, macro-F1; regression MAE, RMSE),
 * then the other latest observed values.
 */
function evidenceLines(state: IncidentState): string[] {
  const lines = (state.classification?.reasons ?? []).slice(0, 4).map((r) => `• ${escape(r)}`);
  const performance = incidentPerformance(state);
  if (performance.figures.length) {
    const task = performance.declared ? ` (${performance.task})` : '';
    lines.push(`• *Performance${task}:* ${escape(performance.figures.map(describeFigure).join(' · '))}`);
  }
  const latest: Record<string, string | number | boolean> = {};
  for (const e of state.evidence) Object.assign(latest, e.values);
  const entries = Object.entries(latest).filter(([k]) => !performance.keys.has(k));
  const last = state.evidence[state.evidence.length - 1];
  const from = last
    ? ` _(latest: ${escape(last.signal)} from ${escape(last.source)}, ${state.evidence.length} report${state.evidence.length === 1 ? '' : 's'})_`
    : '';
  if (entries.length) {
    const shown = entries.slice(0, MAX_EVIDENCE_VALUES).map(([k, v]) => `\`${escape(k)}\` ${escape(formatValue(v))}`);
    const more = entries.length > MAX_EVIDENCE_VALUES ? ` (+${entries.length - MAX_EVIDENCE_VALUES} more)` : '';
    lines.push(`• ${shown.join(' · ')}${more}${from}`);
  } else if (performance.figures.length) lines[lines.length - 1] += from;
  return lines.length ? lines : ['• no evidence recorded yet'];
}

function formatValue(v: string | number | boolean): string {
  if (typeof v !== 'number') return cut(String(v), 120);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

function approvalLines(state: IncidentState): string[] {
  const a = state.approval;
  if (!a) return ['*Approval:* not requested yet'];
  const approvals = a.votes.filter((v) => v.verdict === 'approve');
  const lines = [
    `*Who may approve:* ${listApprovers(a.approvers)}`,
    `*Quorum:* ${a.quorum} approval${a.quorum === 1 ? '' : 's'}${a.votes.length ? ` · *Votes so far:* ${approvals.length} of ${a.quorum} — ${a.votes.map(voteText).join(', ')}` : ''}`,
  ];
  if (!state.decision) lines.push(`*Decide by:* ${slackDate(a.deadline)}${a.escalated ? ' _(deadline passed, escalated)_' : ''}`);
  return lines;
}

function voteText(v: Vote): string {
  return `${mention(v.by)} ${v.verdict === 'approve' ? 'approved' : 'rejected'} (${escape(v.via)})`;
}

function listApprovers(ids: string[]): string {
  return ids.length ? ids.map(mention).join(', ') : 'nobody configured';
}

function decisionLine(state: IncidentState): string {
  const d = state.decision!;
  const when = slackDate(d.at);
  if (d.verdict === 'approve') return `:white_check_mark: *Approved* by ${d.by.map(mention).join(', ')} at ${when} — ${humanize(d.action)} goes ahead.`;
  if (d.verdict === 'reject') return `:no_entry: *Rejected* by ${d.by.map(mention).join(', ')} at ${when}${d.reason ? `: ${escape(d.reason)}` : ''}`;
  return `:hourglass: *No decision*: runbook safe default *${humanize(d.action)}* applied at ${when}.`;
}

function headerIcon(state: IncidentState): string {
  if (state.decision?.verdict === 'approve') return '✅';
  if (state.decision?.verdict === 'reject') return '⛔';
  if (state.decision) return '⏳';
  return '🚨';
}

function fallbackText(state: IncidentState, title: string, action: RemediationAction | undefined): string {
  const d = state.decision;
  if (d?.verdict === 'approve') return `${title}: ${action} approved by ${d.by.join(', ')} (${state.id})`;
  if (d?.verdict === 'reject') return `${title}: rejected by ${d.by.join(', ')}${d.reason ? `: ${d.reason}` : ''} (${state.id})`;
  if (d) return `${title}: no decision, safe default ${d.action} applied (${state.id})`;
  return `${title}: approval needed for ${action ?? 'the recommended action'} (${state.id})`;
}

function humanize(s: string): string {
  return s.replace(/_/g, ' ');
}

function plain(text: string, max: number): TextObject & { type: 'plain_text' } {
  return { type: 'plain_text', text: cut(text, max), emoji: true };
}

function mrkdwn(text: string, max: number): TextObject {
  return { type: 'mrkdwn', text: cut(text, max) };
}

function field(text: string): TextObject {
  return mrkdwn(text, FIELD_TEXT_LIMIT);
}

function section(blockId: string, text: string): SlackBlock {
  return { type: 'section', block_id: blockId, text: mrkdwn(text, SECTION_TEXT_LIMIT) };
}
