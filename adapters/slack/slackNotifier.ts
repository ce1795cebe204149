/**
 * The worker's side of Slack: posts the incident message when approval is needed, tells phase changes
 * in its thread, updates it in place when votes and the decision land (from Slack or the CLI alike:
 * both arrive as the same audited events), and expands approver user groups into their members.
 *
 * Everything is idempotent across activity retries: the message reference lives with the incident in
 * PostgreSQL (`slack_messages`), claimed before posting; a claimed row without a ts means an earlier
 * attempt may have posted without hearing back, so the channel is searched for the message (by its
 * metadata) before posting again. Thread replies are claimed the same way, one per audited event.
 *
 * Slack errors propagate, so the activity fails and Temporal retries it; a channel Vigil cannot post to
 * (not found, app not invited, archived) is a configuration problem no retry fixes: it is logged once
 * per attempt and the incident goes on without Slack (decide with the CLI).
 */
import { ErrorCode, type WebClient } from '@slack/web-api';
import type pg from 'pg';
import type { VigilConfig } from '../../domain/config.js';
import { findModel } from '../../domain/config.js';
import type { IncidentState } from '../../domain/incident.js';
import type { ApprovalRequestResult, Notifier } from '../../ports/notifier.js';
import { inTransaction } from '../postgres/database.js';
import { escalationReply, incidentMessage, incidentMessageMetadata, threadReply, updatesMessage, type IncidentLinkContext } from './incidentMessage.js';
import { SLACK_METADATA_EVENT } from './slackContract.js';

export interface SlackNotifierOptions {
  client: WebClient;
  pool: pg.Pool;
  config: VigilConfig;
  /** The Temporal namespace the worker runs in, for the incident link. */
  namespace: string;
  /** Base URL of the Temporal Web UI (config `slack.temporalUiUrl`). */
  temporalUiUrl: string;
  log?: (line: string) => void;
}

/** Metadata event type of thread replies: a retried reply finds the one it already sent by it. */
export const SLACK_REPLY_METADATA_EVENT = 'vigil_incident_reply';

/** Errors that say the channel cannot be posted to: retrying does not help. */
const CHANNEL_UNUSABLE = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'message_not_found', 'thread_not_found']);
/** Errors that say a user group cannot be read: it stays listed, its members are not added. */
const GROUP_UNREADABLE = new Set(['no_such_subteam', 'missing_scope', 'plan_upgrade_required', 'not_allowed_token_type']);

/** How far back (before the claim) a retried post searches the channel for the message it may have sent. */
const LOOKBACK_SECONDS = 300;
const HISTORY_PAGES = 5;

interface MessageRow {
  channel: string;
  ts: string | null;
  claimed_at: Date;
  rendered_seq: number;
}

export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const { client, pool, config } = opts;
  const log = opts.log ?? ((line: string) => console.log(line));
  const link: IncidentLinkContext = { temporalUiUrl: opts.temporalUiUrl, namespace: opts.namespace };

  const channelFor = (state: IncidentState): string | undefined => state.model.slackChannel ?? findModel(config, state.model.id)?.slack?.channel;

  async function messageRow(incidentId: string): Promise<MessageRow | undefined> {
    const r = await pool.query<MessageRow>('SELECT channel, ts, claimed_at, rendered_seq FROM slack_messages WHERE incident_id = $1', [incidentId]);
    return r.rows[0];
  }

  /** Members of the approver user groups (S…), read now: membership is snapshotted at the request. */
  async function expandGroups(state: IncidentState, approvers: string[]): Promise<string[]> {
    const members = new Set<string>();
    for (const group of approvers.filter(isUserGroup)) {
      try {
        const r = await client.usergroups.users.list({ usergroup: group });
        for (const u of r.users ?? []) members.add(u);
      } catch (err) {
        const code = platformError(err);
        if (!code || !GROUP_UNREADABLE.has(code)) throw err;
        log(
          `[vigil] Slack: cannot read the members of approver group ${group} for ${state.id} (${code}${code === 'missing_scope' ? ': add the usergroups:read scope' : ''}); its members cannot decide this incident`,
        );
      }
    }
    for (const listed of approvers) members.delete(listed);
    return [...members];
  }

  async function findPosted(
    channel: string,
    since: Date,
    match: (m: Record<string, unknown>) => boolean,
    thread?: string,
  ): Promise<{ ts: string } | undefined> {
    const oldest = String(Math.floor(since.getTime() / 1000) - LOOKBACK_SECONDS);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const args = { channel, include_all_metadata: true, oldest, limit: 200, ...(cursor ? { cursor } : {}) };
      let r;
      try {
        r = thread ? await client.conversations.replies({ ...args, ts: thread }) : await client.conversations.history(args);
      } catch (err) {
        const code = platformError(err);
        if (!code || !CHANNEL_UNUSABLE.has(code)) throw err;
        // A channel given by name cannot be searched (the API wants its id): posting again is all that is left.
        log(`[vigil] Slack: cannot search ${channel} for an earlier post (${code}); posting again (configure the channel id, C…, to avoid duplicates)`);
        return undefined;
      }
      const found = (r.messages ?? []).find((m) => match(m as Record<string, unknown>));
      if (found?.ts) return { ts: found.ts };
      cursor = r.response_metadata?.next_cursor || undefined;
      if (!r.has_more || !cursor) return undefined;
    }
    return undefined;
  }

  async function postIncidentMessage(state: IncidentState, channel: string): Promise<void> {
    const seq = state.timeline.length;
    const claim = await pool.query(`INSERT INTO slack_messages (incident_id, channel, rendered_seq) VALUES ($1, $2, $3) ON CONFLICT (incident_id) DO NOTHING`, [
      state.id,
      channel,
      seq,
    ]);
    if (claim.rowCount === 0) {
      const row = await messageRow(state.id);
      if (row?.ts) return; // posted by an earlier attempt
      if (row) {
        const found = await findPosted(row.channel, row.claimed_at, (m) => metadataOf(m, SLACK_METADATA_EVENT)?.incident_id === state.id);
        if (found) {
          await pool.query('UPDATE slack_messages SET ts = $2, posted_at = now() WHERE incident_id = $1 AND ts IS NULL', [state.id, found.ts]);
          return;
        }
      }
    }
    const content = incidentMessage(state, link);
    let r;
    try {
      r = await client.chat.postMessage({
        channel,
        text: content.text,
        blocks: content.blocks,
        metadata: incidentMessageMetadata(state.id),
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (err) {
      const code = platformError(err);
      if (!code || !CHANNEL_UNUSABLE.has(code)) throw err;
      await pool.query('DELETE FROM slack_messages WHERE incident_id = $1 AND ts IS NULL', [state.id]);
      log(
        `[vigil] Slack: cannot post ${state.id} to ${channel} (${code}): invite the app to the channel or fix models[].slack.channel; the incident goes on without a Slack message (decide with the CLI)`,
      );
      return;
    }
    // Slack answers with the channel id, which chat.update and history need (a name is accepted only here).
    await pool.query('UPDATE slack_messages SET ts = $2, channel = $3, posted_at = now() WHERE incident_id = $1', [state.id, r.ts, r.channel ?? channel]);
  }

  /** Re-renders the message from `state`, unless a newer state was already shown (updates may race). */
  async function updateMessage(state: IncidentState): Promise<void> {
    const seq = state.timeline.length;
    await inTransaction(pool, async (db) => {
      // The row lock orders concurrent updates of one message (a vote and the decision, say).
      const r = await db.query<MessageRow>('SELECT channel, ts, claimed_at, rendered_seq FROM slack_messages WHERE incident_id = $1 FOR UPDATE', [state.id]);
      const row = r.rows[0];
      if (row?.ts && row.rendered_seq < seq) {
        const content = incidentMessage(state, link);
        try {
          await client.chat.update({ channel: row.channel, ts: row.ts, text: content.text, blocks: content.blocks });
        } catch (err) {
          const code = platformError(err);
          if (!code || !CHANNEL_UNUSABLE.has(code)) throw err;
          log(`[vigil] Slack: cannot update the message of ${state.id} in ${row.channel} (${code})`);
        }
        await db.query('UPDATE slack_messages SET rendered_seq = $2 WHERE incident_id = $1', [state.id, seq]);
      }
    });
  }

  /** Posts `text` in the message's thread once for `key`, whatever the attempts. */
  async function replyOnce(incidentId: string, row: MessageRow, key: string, text: string): Promise<void> {
    const claim = await pool.query(
      'INSERT INTO slack_thread_replies (incident_id, reply_key) VALUES ($1, $2) ON CONFLICT (incident_id, reply_key) DO NOTHING',
      [incidentId, key],
    );
    if (claim.rowCount === 0) {
      const r = await pool.query<{ ts: string | null; claimed_at: Date }>(
        'SELECT ts, claimed_at FROM slack_thread_replies WHERE incident_id = $1 AND reply_key = $2',
        [incidentId, key],
      );
      const prior = r.rows[0];
      if (prior?.ts) return;
      if (prior) {
        const found = await findPosted(row.channel, prior.claimed_at, (m) => metadataOf(m, SLACK_REPLY_METADATA_EVENT)?.reply_key === key, row.ts!);
        if (found) {
          await pool.query('UPDATE slack_thread_replies SET ts = $3, posted_at = now() WHERE incident_id = $1 AND reply_key = $2', [incidentId, key, found.ts]);
          return;
        }
      }
    }
    let r;
    try {
      r = await client.chat.postMessage({
        channel: row.channel,
        thread_ts: row.ts!,
        text,
        metadata: { event_type: SLACK_REPLY_METADATA_EVENT, event_payload: { incident_id: incidentId, reply_key: key } },
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (err) {
      const code = platformError(err);
      if (!code || !CHANNEL_UNUSABLE.has(code)) throw err;
      await pool.query('DELETE FROM slack_thread_replies WHERE incident_id = $1 AND reply_key = $2 AND ts IS NULL', [incidentId, key]);
      log(`[vigil] Slack: cannot reply in the thread of ${incidentId} in ${row.channel} (${code})`);
      return;
    }
    await pool.query('UPDATE slack_thread_replies SET ts = $3, posted_at = now() WHERE incident_id = $1 AND reply_key = $2', [incidentId, key, r.ts]);
  }

  return {
    async approvalRequested(state): Promise<ApprovalRequestResult> {
      const approvers = await expandGroups(state, state.approval?.approvers ?? []);
      const channel = channelFor(state);
      if (channel && state.approval) await postIncidentMessage(state, channel);
      return approvers.length ? { approvers } : {};
    },

    async phaseChanged(state, event, detail) {
      const row = await messageRow(state.id);
      if (!row?.ts) return; // no message (yet): the message itself shows everything up to the request
      if (updatesMessage(event) || event === 'approval_escalated') await updateMessage(state);
      const reply = threadReply(state, event, detail);
      // The timeline length makes the key unique per audited event, and the same on every retry.
      if (reply) await replyOnce(state.id, row, `${event}#${state.timeline.length}`, reply);
    },

    async escalated(state, reason) {
      const row = await messageRow(state.id);
      if (!row?.ts) return;
      await replyOnce(state.id, row, `escalated#${state.timeline.length}`, escalationReply(state, reason));
    },

    async reviewWritten(state) {
      const row = await messageRow(state.id);
      if (!row?.ts) return;
      await replyOnce(state.id, row, 'review_written', `:memo: Post-incident review written: \`vigil review show ${state.id}\``);
    },
  };
}

function isUserGroup(id: string): boolean {
  return /^S[A-Z0-9]{2,}$/.test(id);
}

/** The Slack error code (`channel_not_found`, …) of a Web API error answer; undefined for other failures. */
function platformError(err: unknown): string | undefined {
  const e = err as { code?: unknown; data?: { error?: unknown } };
  return e?.code === ErrorCode.PlatformError && typeof e.data?.error === 'string' ? e.data.error : undefined;
}

function metadataOf(message: Record<string, unknown>, eventType: string): Record<string, unknown> | undefined {
  const m = message.metadata as { event_type?: unknown; event_payload?: unknown } | undefined;
  return m?.event_type === eventType && m.event_payload && typeof m.event_payload === 'object' ? (m.event_payload as Record<string, unknown>) : undefined;
}
