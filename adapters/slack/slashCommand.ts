/**
 * `/vigil` in Slack: the CLI's incident commands for people who live in Slack. Parsing is pure; running
 * goes through the same IncidentService as the CLI, so decisions meet the same Update validator.
 */
import type { IncidentDetails, IncidentService } from '../../client/incidentService.js';
import type { IncidentSummary } from '../../ports/incidentStore.js';
import { DecisionRefusedError, UserInputError } from '../../domain/errors.js';
import { parseEvidencePairs, type EvidenceValue } from '../../domain/incident.js';
import { escapeMrkdwn, mention, mentionIds } from './mrkdwn.js';

export type SlashCommand =
  | { kind: 'list' }
  | { kind: 'show'; id: string }
  | { kind: 'approve'; id: string }
  | { kind: 'reject'; id: string; reason: string }
  | { kind: 'declare'; model: string; signal: string; evidence: Record<string, EvidenceValue> }
  | { kind: 'help'; problem?: string };

export const SLASH_USAGE = [
  '*/vigil* — incidents from Slack',
  '• `/vigil list` — open incidents',
  '• `/vigil show <id>` — one incident',
  '• `/vigil approve <id>` — approve the recommended action',
  '• `/vigil reject <id> <reason>` — reject it (a reason is required)',
  '• `/vigil declare <model> <signal> [key=value …]` — open an incident, e.g. `/vigil declare credit-risk latency latency_p99_ms=900`',
].join('\n');

/** Parses the text after `/vigil`. Anything unrecognised becomes help with the problem named. */
export function parseSlashCommand(text: string): SlashCommand {
  const trimmed = text.trim();
  const [verb = '', ...rest] = trimmed.split(/\s+/);
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { kind: 'help' };
    case 'list':
      return { kind: 'list' };
    case 'show':
    case 'approve':
      if (rest.length !== 1) return { kind: 'help', problem: `\`${verb} <id>\` takes exactly one incident id` };
      return { kind: verb.toLowerCase() as 'show' | 'approve', id: rest[0]! };
    case 'reject': {
      // The reason is everything after the id, as typed.
      const m = /^\S+\s+(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed);
      if (!m) return { kind: 'help', problem: '`reject <id> <reason>` needs an incident id' };
      const reason = (m[2] ?? '').trim();
      if (!reason) return { kind: 'help', problem: `a rejection needs a reason: \`/vigil reject ${m[1]} <reason>\`` };
      return { kind: 'reject', id: m[1]!, reason };
    }
    case 'declare': {
      const [model, signal, ...pairs] = rest;
      if (!model || !signal) return { kind: 'help', problem: '`declare <model> <signal> [key=value …]` needs a model and a signal' };
      try {
        return { kind: 'declare', model, signal, evidence: parseEvidencePairs(pairs) };
      } catch (err) {
        return { kind: 'help', problem: (err as Error).message.replace(/^--evidence /, 'evidence ') };
      }
    }
    default:
      return { kind: 'help', problem: `unknown command "${verb}"` };
  }
}

export interface SlashCommandContext {
  incidents: IncidentService;
  user: string;
  /** Decides as `user` and words the outcome; shared with the buttons so both answer alike. */
  decide(id: string, verdict: 'approve' | 'reject', reason?: string): Promise<string>;
}

/** Runs a parsed command for a Slack user; returns the (ephemeral) answer in Slack mrkdwn. */
export async function runSlashCommand(cmd: SlashCommand, ctx: SlashCommandContext): Promise<string> {
  const { incidents, user } = ctx;
  try {
    switch (cmd.kind) {
      case 'help':
        return cmd.problem ? `${escapeMrkdwn(cmd.problem)}\n\n${SLASH_USAGE}` : SLASH_USAGE;
      case 'list': {
        const open = await incidents.list({ open: true });
        return open.length ? `*Open incidents (${open.length})*\n${open.map(listLine).join('\n')}` : 'No open incidents.';
      }
      case 'show':
        return formatIncidentForSlack(await incidents.show(cmd.id));
      case 'approve':
        return await ctx.decide(cmd.id, 'approve');
      case 'reject':
        return await ctx.decide(cmd.id, 'reject', cmd.reason);
      case 'declare': {
        const r = await incidents.open({ modelId: cmd.model, signal: cmd.signal, evidence: { ...cmd.evidence, declared_by: user }, source: 'slack' });
        return r.created
          ? `:rotating_light: Declared *${r.id}* (${escapeMrkdwn(cmd.model)}, ${escapeMrkdwn(cmd.signal)}). Vigil is classifying it now: \`/vigil show ${r.id}\``
          : `*${r.id}* was already open for this model and failure mode: your evidence was attached to it.`;
      }
    }
  } catch (err) {
    if (err instanceof UserInputError) return refusalText(err);
    throw err;
  }
}

/** What a person sees when Vigil accepted their vote. */
export function decisionText(
  id: string,
  r: { outcome: 'approved' | 'rejected' | 'vote_recorded'; votes: { verdict: string; by: string }[]; quorum: number },
): string {
  const approvals = r.votes.filter((v) => v.verdict === 'approve');
  switch (r.outcome) {
    case 'approved':
      return `:white_check_mark: *${id}* approved by ${approvals.map((v) => mention(v.by)).join(', ')}: the recommended action starts now.`;
    case 'rejected':
      return `:no_entry_sign: *${id}* rejected: no action will be taken.`;
    case 'vote_recorded':
      return `:ballot_box_with_check: Your approval of *${id}* is recorded: ${approvals.length} of ${r.quorum} approvals so far; another approver must approve too.`;
  }
}

/** Why a decision or command was turned away, in words a person can act on. */
export function refusalText(err: Error, decision?: { id: string; verdict: 'approve' | 'reject' }): string {
  const why = mentionIds(escapeMrkdwn(err instanceof DecisionRefusedError ? err.message.replace(/^decision refused: /, '') : err.message));
  if (!decision) return `:no_entry: ${why}`;
  return `:no_entry: Your ${decision.verdict === 'approve' ? 'approval' : 'rejection'} of *${escapeMrkdwn(decision.id)}* was not recorded: ${why}`;
}

function listLine(i: IncidentSummary): string {
  const what = [i.severity, i.failureMode ?? i.signal].filter(Boolean).join(' ');
  return `• *${i.id}* — ${escapeMrkdwn(i.model)}, ${what}, ${i.phase.replace(/_/g, ' ')}${i.recommendedAction ? `, recommends ${i.recommendedAction}` : ''}`;
}

export function formatIncidentForSlack(d: IncidentDetails): string {
  const s = d.state as Partial<IncidentDetails['state'] & Record<string, any>>;
  const lines = [
    `*${d.id}* — ${d.status}${d.outcome ? ` (${d.outcome})` : ''}, phase ${d.phase.replace(/_/g, ' ')}`,
    `Model: ${escapeMrkdwn(d.model)} · Severity: ${d.severity ?? '-'} · Failure mode: ${d.failureMode ?? '-'}`,
    `Recommended: ${d.recommendedAction ?? '-'}`,
  ];
  if (s.classification?.reasons?.length) lines.push(`Why: ${escapeMrkdwn(s.classification.reasons.join('; '))}`);
  if (s.approval && d.phase === 'awaiting_approval') {
    const votes = s.approval.votes.map((v: { verdict: string; by: string }) => `${mention(v.by)} ${v.verdict}d`).join(', ');
    lines.push(
      `Approvers: ${s.approval.approvers.map(mention).join(', ')} · ${s.approval.quorum} approval(s) needed by ${s.approval.deadline}${votes ? ` · votes: ${votes}` : ''}`,
    );
    lines.push(`Decide: \`/vigil approve ${d.id}\` or \`/vigil reject ${d.id} <reason>\``);
  }
  if (d.decision) {
    lines.push(
      `Decision: ${d.decision.verdict} by ${d.decision.by.map(mention).join(', ')}${d.decision.reason ? ` — ${escapeMrkdwn(d.decision.reason)}` : ''}`,
    );
  }
  lines.push(`Opened: ${d.openedAt}`);
  return lines.join('\n');
}
