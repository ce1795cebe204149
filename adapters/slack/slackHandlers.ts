/**
 * What Vigil does when someone acts in Slack: the Approve and Reject buttons of the incident message,
 * the reject-reason modal, and `/vigil`. Every decision goes through IncidentService.decide (the
 * workflow's Update and its validator, which audits refusals); the person always gets an answer, as
 * an ephemeral message only they see. The message itself is updated by the worker's notifier.
 */
import type { App, BlockAction, ButtonAction, SlackViewAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { IncidentService } from '../../client/incidentService.js';
import { NotFoundError, UserInputError } from '../../domain/errors.js';
import type { AuditLog } from '../../ports/incidentStore.js';
import { REJECT_MODAL, SLACK_ACTIONS, type RejectModalMetadata, type SlackButtonValue, type SlackSignalButtonValue } from './slackContract.js';
import { escapeMrkdwn } from './mrkdwn.js';
import { decisionText, parseSlashCommand, refusalText, runSlashCommand } from './slashCommand.js';

export interface SlackHandlerDeps {
  incidents: IncidentService;
  audit: AuditLog;
  log: (m: string) => void;
}

export const REASON_REQUIRED = 'A reason is required to reject';

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  const { incidents, log } = deps;

  /** Decides and says how it went; the answer is text for the clicker. */
  async function decideFor(user: string, incidentId: string, verdict: 'approve' | 'reject', reason?: string): Promise<string> {
    try {
      const r = await incidents.decide(incidentId, { verdict, by: user, via: 'slack', ...(reason !== undefined ? { reason } : {}) });
      log(`slack: ${user} ${verdict}d ${incidentId} (${r.outcome})`);
      return decisionText(incidentId, r);
    } catch (err) {
      if (err instanceof NotFoundError) await auditUnknownIncident(deps.audit, incidentId, user, verdict, log);
      if (err instanceof UserInputError) return refusalText(err, { id: incidentId, verdict });
      log(`slack: ${verdict} of ${incidentId} by ${user} failed: ${(err as Error).message}`);
      return `:warning: Vigil could not record your decision on *${escapeMrkdwn(incidentId)}* right now (${escapeMrkdwn((err as Error).message)}). Try again in a moment, or use the CLI: \`vigil ${verdict} ${incidentId}\`.`;
    }
  }

  app.action<BlockAction<ButtonAction>>(SLACK_ACTIONS.approve, async ({ ack, body, action, client }) => {
    // Slack wants the acknowledgement within 3 s; the Update may take longer.
    await ack();
    const user = body.user.id;
    const incidentId = buttonIncident(action.value);
    const text = incidentId ? await decideFor(user, incidentId, 'approve') : ':warning: This button carries no incident id; use `/vigil approve <id>`.';
    await tellUser(client, { channel: body.channel?.id, user, threadTs: threadOf(body), text }, log);
  });

  app.action<BlockAction<ButtonAction>>(SLACK_ACTIONS.reject, async ({ ack, body, action, client }) => {
    await ack();
    const user = body.user.id;
    const incidentId = buttonIncident(action.value);
    const channel = body.channel?.id ?? '';
    if (!incidentId) {
      await tellUser(client, { channel, user, text: ':warning: This button carries no incident id; use `/vigil reject <id> <reason>`.' }, log);
      return;
    }
    const metadata: RejectModalMetadata = { incidentId, channel, messageTs: body.message?.ts ?? body.container?.message_ts ?? '' };
    try {
      // trigger_id expires 3 s after the click: open the modal before anything slow.
      await client.views.open({ trigger_id: body.trigger_id, view: rejectModal(metadata) });
    } catch (err) {
      log(`slack: could not open the reject modal for ${incidentId}: ${(err as Error).message}`);
      await tellUser(
        client,
        { channel, user, text: `:warning: Slack would not open the reject form; use \`/vigil reject ${incidentId} <reason>\` instead.` },
        log,
      );
    }
  });

  // A runbook's wait: its button sends the signal it waits for, as the clicker.
  app.action<BlockAction<ButtonAction>>(SLACK_ACTIONS.signal, async ({ ack, body, action, client }) => {
    await ack();
    const user = body.user.id;
    const v = signalButton(action.value);
    let text: string;
    if (!v) text = ':warning: This button carries no incident or signal; use `vigil incident signal <id> <name>`.';
    else {
      try {
        await incidents.signal(v.incidentId, { name: v.signal, by: user });
        log(`slack: ${user} sent ${v.signal} to ${v.incidentId}`);
        text = `Sent \`${escapeMrkdwn(v.signal)}\` to *${escapeMrkdwn(v.incidentId)}*.`;
      } catch (err) {
        if (err instanceof UserInputError) text = `:no_entry: ${escapeMrkdwn(err.message)}`;
        else {
          log(`slack: signal ${v.signal} to ${v.incidentId} by ${user} failed: ${(err as Error).message}`);
          text = `:warning: Vigil could not send \`${escapeMrkdwn(v.signal)}\` right now (${escapeMrkdwn((err as Error).message)}); use \`vigil incident signal ${v.incidentId} ${v.signal}\`.`;
        }
      }
    }
    await tellUser(client, { channel: body.channel?.id, user, threadTs: threadOf(body), text }, log);
  });

  app.view<SlackViewAction>(REJECT_MODAL.callbackId, async ({ ack, body, view, client }) => {
    const user = body.user.id;
    const metadata = parseMetadata(view.private_metadata);
    const reason = view.state.values[REJECT_MODAL.reasonBlockId]?.[REJECT_MODAL.reasonActionId]?.value?.trim() ?? '';
    if (!metadata) {
      await ack({
        response_action: 'errors',
        errors: { [REJECT_MODAL.reasonBlockId]: 'This form lost its incident; close it and use /vigil reject <id> <reason>' },
      });
      return;
    }
    if (!reason) {
      // The modal stays open with the error under the field; nothing is decided.
      await ack({ response_action: 'errors', errors: { [REJECT_MODAL.reasonBlockId]: REASON_REQUIRED } });
      return;
    }
    await ack();
    const text = await decideFor(user, metadata.incidentId, 'reject', reason);
    await tellUser(client, { channel: metadata.channel, user, threadTs: metadata.messageTs || undefined, text }, log);
  });

  app.command('/vigil', async ({ ack, command, respond }) => {
    await ack();
    const cmd = parseSlashCommand(command.text ?? '');
    let text: string;
    try {
      text = await runSlashCommand(cmd, {
        incidents,
        user: command.user_id,
        decide: (id, verdict, reason) => decideFor(command.user_id, id, verdict, reason),
      });
    } catch (err) {
      log(`slack: /vigil ${cmd.kind} by ${command.user_id} failed: ${(err as Error).message}`);
      text = `:warning: Vigil could not do that right now (${escapeMrkdwn((err as Error).message)}). Try again in a moment.`;
    }
    await respond({ response_type: 'ephemeral', text });
  });

  app.error(async (err) => {
    // Refused workspaces are audited where they are refused; everything else is worth a line.
    if ((err as { code?: string }).code === 'slack_bolt_authorization_error') return;
    log(`slack: ${err.message}`);
  });
}

/** The reject-reason modal (see REJECT_MODAL for the ids the submission handler reads). */
export function rejectModal(metadata: RejectModalMetadata) {
  return {
    type: 'modal' as const,
    callback_id: REJECT_MODAL.callbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text' as const, text: 'Reject action' },
    submit: { type: 'plain_text' as const, text: 'Reject' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'section' as const,
        text: {
          type: 'mrkdwn' as const,
          text: `Reject the recommended action for *${metadata.incidentId}*? Nothing will be changed, and the incident closes as rejected.`,
        },
      },
      {
        type: 'input' as const,
        block_id: REJECT_MODAL.reasonBlockId,
        label: { type: 'plain_text' as const, text: 'Why?' },
        element: {
          type: 'plain_text_input' as const,
          action_id: REJECT_MODAL.reasonActionId,
          multiline: true,
          placeholder: { type: 'plain_text' as const, text: 'e.g. the drift is a planned campaign; retraining would learn it' },
        },
      },
    ],
  };
}

function buttonIncident(value: string | undefined): string | undefined {
  try {
    const v = JSON.parse(value ?? '') as Partial<SlackButtonValue>;
    return typeof v.incidentId === 'string' && v.incidentId ? v.incidentId : undefined;
  } catch {
    return undefined;
  }
}

function signalButton(value: string | undefined): SlackSignalButtonValue | undefined {
  try {
    const v = JSON.parse(value ?? '') as Partial<SlackSignalButtonValue>;
    return typeof v.incidentId === 'string' && v.incidentId && typeof v.signal === 'string' && v.signal
      ? { incidentId: v.incidentId, signal: v.signal }
      : undefined;
  } catch {
    return undefined;
  }
}

function parseMetadata(raw: string | undefined): RejectModalMetadata | undefined {
  try {
    const m = JSON.parse(raw ?? '') as Partial<RejectModalMetadata>;
    if (typeof m.incidentId !== 'string' || !m.incidentId || typeof m.channel !== 'string') return undefined;
    return { incidentId: m.incidentId, channel: m.channel, messageTs: typeof m.messageTs === 'string' ? m.messageTs : '' };
  } catch {
    return undefined;
  }
}

/** The thread of the clicked message, if it lives in one (the incident message is a thread's root). */
function threadOf(body: BlockAction): string | undefined {
  const message = body.message as { thread_ts?: string } | undefined;
  return message?.thread_ts;
}

/** An ephemeral message to one person in the channel they acted in. */
async function tellUser(
  client: WebClient,
  to: { channel: string | undefined; user: string; threadTs?: string; text: string },
  log: (m: string) => void,
): Promise<void> {
  if (!to.channel) {
    log(`slack: no channel to answer ${to.user} in: ${to.text}`);
    return;
  }
  try {
    await client.chat.postEphemeral({ channel: to.channel, user: to.user, text: to.text, ...(to.threadTs ? { thread_ts: to.threadTs } : {}) });
  } catch (err) {
    log(`slack: could not answer ${to.user} in ${to.channel}: ${(err as Error).message}`);
  }
}

/** IncidentService audits refusals of incidents it knows; a click or command naming no incident is recorded here. */
async function auditUnknownIncident(audit: AuditLog, incidentId: string, user: string, verdict: string, log: (m: string) => void): Promise<void> {
  try {
    const id = incidentId.slice(0, 200);
    await audit.append({ incidentId: id, kind: 'decision_refused', actor: user, detail: { verdict, via: 'slack', reason: `unknown incident "${id}"` } });
  } catch (err) {
    log(`slack: could not audit a decision on unknown incident ${incidentId}: ${(err as Error).message}`);
  }
}
