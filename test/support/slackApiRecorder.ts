/**
 * A stand-in for Slack's Web API on loopback, for tests: speaks the wire format `@slack/web-api`'s
 * WebClient (and Bolt's client) use — POST `<url><method>`, form-urlencoded or JSON, `Authorization:
 * Bearer <token>`, object fields JSON-encoded — answers like Slack (HTTP 200, `{ok, ...}` or
 * `{ok:false, error}`), keeps posted messages per channel so history/replies/updates behave, and records
 * every call with its decoded arguments.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  token?: string;
  at: number;
}

export interface SlackApiRecorder {
  /** Pass as WebClient/Bolt `slackApiUrl` (ends with '/api/'). */
  url: string;
  teamId: string; // default 'T0VIGIL01'
  botUserId: string; // default 'U0VIGILBOT'
  calls: SlackApiCall[];
  callsTo(method: string): SlackApiCall[];
  waitForCall(method: string, predicate?: (c: SlackApiCall) => boolean, timeoutMs?: number): Promise<SlackApiCall>;
  /**
   * Make the next call(s) to `method` fail: with a Slack error (`{ok:false,error}`), or after doing the work but dropping the connection (a "timeout" — the message IS posted, the client sees a failure);
   * or answer them late (`delayMs`: a slow Slack, the work done and answered after the delay).
   */
  failNext(method: string, how: Failure, times?: number, when?: (args: Record<string, unknown>) => boolean): void;
  /**
   * Slack is out for `forMs`: every call gets HTTP `status` (500, or 429 with `Retry-After: retryAfterSeconds`),
   * nothing is done. `outageAnswers` counts the calls answered so.
   */
  outage(how: { status: 500 } | { status: 429; retryAfterSeconds: number }, forMs: number): void;
  outageAnswers: () => number;
  /** Calls to `method` received and not answered yet (slowed by `failNext(…, { delayMs })`). */
  unanswered(method: string): number;
  clear(): void;
  stop(): Promise<void>;
  /** The messages stored in a channel, oldest first, thread replies included (what a person would see). */
  messages(channel: string): StoredSlackMessage[];
}

/** A message as Slack stores (and returns) it. */
export interface StoredSlackMessage {
  type: 'message';
  ts: string;
  text: string;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  edited?: { user: string; ts: string };
  [key: string]: unknown;
}

export interface SlackApiRecorderOptions {
  teamId?: string;
  botUserId?: string;
  /** User group id (S…) → member user ids, for `usergroups.users.list`. */
  userGroups?: Record<string, string[]>;
  /** Tokens Slack accepts; default: any token that looks like one (`xox…-`). */
  validTokens?: string[];
}

/** Arguments the SDK sends JSON-encoded inside a form body. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'metadata', 'view', 'user_auth_blocks', 'unfurls']);

type Reply = Record<string, unknown> & { ok: boolean };
type Failure = { error: string } | { dropAfterHandling: true } | { delayMs: number };

export async function startSlackApiRecorder(opts: SlackApiRecorderOptions = {}): Promise<SlackApiRecorder> {
  const teamId = opts.teamId ?? 'T0VIGIL01';
  const botUserId = opts.botUserId ?? 'U0VIGILBOT';
  const botId = 'B0VIGILBOT';
  const appId = 'A0VIGILAPP';
  const userGroups = opts.userGroups ?? {};
  const calls: SlackApiCall[] = [];
  /** Calls answered late on purpose, per method, not answered yet. */
  const delayed = new Map<string, number>();
  /** Per method, the failures queued for its next calls (those matching `when`, where given). */
  const failures = new Map<string, (Failure & { when?: (args: Record<string, unknown>) => boolean })[]>();
  const channels = new Map<string, StoredSlackMessage[]>();
  const waiters = new Set<() => void>();
  let seq = 0;
  let lastTs = 0;
  let outage: { status: number; retryAfterSeconds?: number; until: number } | undefined;
  let outageAnswers = 0;

  // Slack's ts: seconds.microsecond-ish sequence, unique per workspace here and increasing.
  const nextTs = (): string => {
    const now = Math.floor(Date.now() / 1000) * 1_000_000;
    lastTs = Math.max(lastTs + 100, now + 100);
    return `${Math.floor(lastTs / 1_000_000)}.${String(lastTs % 1_000_000).padStart(6, '0')}`;
  };

  const channelMessages = (channel: string): StoredSlackMessage[] => {
    let list = channels.get(channel);
    if (!list) channels.set(channel, (list = []));
    return list;
  };

  const tokenAccepted = (token: string): boolean => (opts.validTokens ? opts.validTokens.includes(token) : /^xox[a-z]-\S+$/.test(token));

  const publicMessage = (m: StoredSlackMessage, withMetadata: boolean): Record<string, unknown> => {
    const { metadata, ...rest } = m;
    return withMetadata && metadata ? { ...rest, metadata } : rest;
  };

  const truthy = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

  function handle(method: string, args: Record<string, unknown>): Reply {
    switch (method) {
      case 'api.test':
        return { ok: true, args };
      case 'auth.test':
        return {
          ok: true,
          url: 'https://vigil-test.slack.com/',
          team: 'Vigil Test',
          user: 'vigil',
          team_id: teamId,
          user_id: botUserId,
          bot_id: botId,
          is_enterprise_install: false,
        };
      case 'chat.postMessage': {
        const channel = str(args.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const content = messageContent(args);
        if ('error' in content) return content;
        const ts = nextTs();
        const message: StoredSlackMessage = {
          type: 'message',
          ts,
          text: content.text,
          user: botUserId,
          bot_id: botId,
          app_id: appId,
          team: teamId,
          ...(content.blocks ? { blocks: content.blocks } : {}),
          ...(content.metadata ? { metadata: content.metadata } : {}),
        };
        const list = channelMessages(channel);
        const threadTs = str(args.thread_ts);
        if (threadTs) {
          const parent = list.find((m) => m.ts === threadTs && (!m.thread_ts || m.thread_ts === m.ts));
          if (!parent) return { ok: false, error: 'thread_not_found' };
          message.thread_ts = threadTs;
          message.parent_user_id = parent.user;
          parent.thread_ts = threadTs;
          parent.reply_count = (parent.reply_count ?? 0) + 1;
          parent.reply_users = [...new Set([...(parent.reply_users ?? []), botUserId])];
          parent.latest_reply = ts;
        }
        list.push(message);
        return { ok: true, channel, ts, message: publicMessage(message, true) };
      }
      case 'chat.update': {
        const channel = str(args.channel);
        const ts = str(args.ts);
        if (!channel || !channels.has(channel)) return { ok: false, error: 'channel_not_found' };
        const message = channelMessages(channel).find((m) => m.ts === ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        const content = messageContent(args);
        if ('error' in content) return content;
        message.text = content.text;
        // Slack keeps the previous blocks when `blocks` is left out; an empty array removes them.
        if (args.blocks !== undefined) {
          if (content.blocks && content.blocks.length > 0) message.blocks = content.blocks;
          else delete message.blocks;
        }
        if (content.metadata) message.metadata = content.metadata;
        message.edited = { user: botUserId, ts: nextTs() };
        return { ok: true, channel, ts, text: message.text, message: publicMessage(message, false) };
      }
      case 'chat.postEphemeral': {
        const channel = str(args.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (!str(args.user)) return { ok: false, error: 'user_not_in_channel' };
        const content = messageContent(args);
        if ('error' in content) return content;
        return { ok: true, message_ts: nextTs() };
      }
      case 'conversations.history': {
        const channel = str(args.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const inclusive = truthy(args.inclusive);
        const oldest = args.oldest !== undefined ? Number(args.oldest) : undefined;
        const latest = args.latest !== undefined ? Number(args.latest) : undefined;
        // Top-level messages only (thread parents included, replies not), newest first.
        const all = channelMessages(channel)
          .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
          .filter((m) => oldest === undefined || (inclusive ? Number(m.ts) >= oldest : Number(m.ts) > oldest))
          .filter((m) => latest === undefined || (inclusive ? Number(m.ts) <= latest : Number(m.ts) < latest))
          .reverse();
        return page(all, args, (m) => publicMessage(m, truthy(args.include_all_metadata)), 'messages');
      }
      case 'conversations.replies': {
        const channel = str(args.channel);
        const ts = str(args.ts);
        if (!channel || !channels.has(channel)) return { ok: false, error: 'channel_not_found' };
        const list = channelMessages(channel);
        const parent = list.find((m) => m.ts === ts);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        const thread = [parent, ...list.filter((m) => m !== parent && m.thread_ts === ts)];
        return page(thread, args, (m) => publicMessage(m, truthy(args.include_all_metadata)), 'messages');
      }
      case 'views.open':
      case 'views.push': {
        if (!str(args.trigger_id)) return { ok: false, error: 'invalid_trigger_id' };
        const view = args.view;
        if (!view || typeof view !== 'object') return { ok: false, error: 'invalid_arguments' };
        const v = view as Record<string, unknown>;
        const problems = Array.isArray(v.blocks) ? blockProblems(v.blocks, 100) : ['missing required field: blocks'];
        if (problems.length) return invalidBlocks(problems, 'view');
        const id = `V${String(++seq).padStart(8, '0')}`;
        return {
          ok: true,
          view: {
            id,
            team_id: teamId,
            type: v.type ?? 'modal',
            title: v.title,
            submit: v.submit ?? null,
            close: v.close ?? null,
            blocks: v.blocks,
            private_metadata: v.private_metadata ?? '',
            callback_id: v.callback_id ?? '',
            external_id: v.external_id ?? '',
            state: { values: {} },
            hash: `${Date.now()}.${id}`,
            clear_on_close: Boolean(v.clear_on_close),
            notify_on_close: Boolean(v.notify_on_close),
            root_view_id: id,
            previous_view_id: null,
            app_id: appId,
            app_installed_team_id: teamId,
            bot_id: botId,
          },
        };
      }
      case 'usergroups.users.list': {
        const group = str(args.usergroup);
        const members = group ? userGroups[group] : undefined;
        if (!members) return { ok: false, error: 'no_such_subteam' };
        return { ok: true, users: [...members] };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://localhost');
      const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
      if (!match) return reply(404, { ok: false, error: 'unknown_method' });
      const method = match[1]!;
      let args: Record<string, unknown>;
      try {
        args = decodeArgs(url.searchParams, req.headers['content-type'] ?? '', Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(200, { ok: false, error: 'invalid_json' });
      }
      const header = req.headers.authorization;
      const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
      const token = bearer || str(args.token);
      // The token is a credential: keep it out of the recorded args (tests read them), record it apart.
      delete args.token;
      calls.push({ method, args, token, at: Date.now() });
      for (const wake of [...waiters]) wake();

      if (outage && Date.now() < outage.until) {
        outageAnswers++;
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json; charset=utf-8' };
        if (outage.retryAfterSeconds !== undefined) headers['retry-after'] = String(outage.retryAfterSeconds);
        res.writeHead(outage.status, headers);
        return void res.end(JSON.stringify(outage.status === 429 ? { ok: false, error: 'ratelimited' } : { ok: false, error: 'internal_error' }));
      }
      if (!token) return reply(200, { ok: false, error: 'not_authed' });
      if (!tokenAccepted(token)) return reply(200, { ok: false, error: 'invalid_auth' });
      const queued = failures.get(method);
      const at = queued?.findIndex((f) => !f.when || f.when(args)) ?? -1;
      const failure = at >= 0 ? queued!.splice(at, 1)[0] : undefined;
      if (queued && queued.length === 0) failures.delete(method);
      if (failure && 'error' in failure) return reply(200, { ok: false, error: failure.error });
      if (failure && 'delayMs' in failure) {
        delayed.set(method, (delayed.get(method) ?? 0) + 1);
        setTimeout(() => {
          delayed.set(method, (delayed.get(method) ?? 1) - 1);
          reply(200, handle(method, args));
        }, failure.delayMs);
        return;
      }
      const result = handle(method, args);
      // The work is done (the message is stored); the client never hears back.
      if (failure) return void res.socket?.destroy();
      reply(200, result);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const callsTo = (method: string) => calls.filter((c) => c.method === method);

  return {
    url: `http://127.0.0.1:${port}/api/`,
    teamId,
    botUserId,
    calls,
    callsTo,
    waitForCall(method, predicate = () => true, timeoutMs = 30_000) {
      return new Promise<SlackApiCall>((resolve, reject) => {
        const check = (): boolean => {
          const found = calls.find((c) => c.method === method && predicate(c));
          if (!found) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = callsTo(method).map((c) => JSON.stringify(c.args).slice(0, 300));
          reject(new Error(`timed out after ${timeoutMs}ms waiting for a ${method} call; saw ${seen.length}: ${seen.join(' | ')}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        const wake = () => void check();
        if (!check()) waiters.add(wake);
      });
    },
    unanswered: (method) => delayed.get(method) ?? 0,
    failNext(method, how, times = 1, when) {
      const queued = failures.get(method) ?? [];
      for (let i = 0; i < times; i++) queued.push({ ...how, ...(when ? { when } : {}) });
      failures.set(method, queued);
    },
    outage(how, forMs) {
      outage = { ...how, until: Date.now() + forMs };
    },
    outageAnswers: () => outageAnswers,
    clear() {
      calls.length = 0;
      failures.clear();
    },
    messages(channel) {
      return structuredClone(channels.get(channel) ?? []);
    },
    async stop() {
      for (const wake of [...waiters]) wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function decodeArgs(query: URLSearchParams, contentType: string, body: string): Record<string, unknown> {
  const args: Record<string, unknown> = Object.fromEntries(query);
  if (contentType.includes('application/json')) {
    if (body.trim()) Object.assign(args, JSON.parse(body) as Record<string, unknown>);
    return args;
  }
  for (const [key, value] of new URLSearchParams(body)) {
    if (JSON_ARGS.has(key)) {
      try {
        args[key] = JSON.parse(value);
        continue;
      } catch {
        // Slack would answer invalid_blocks/invalid_arguments; keep the raw string so the check below says so.
      }
    }
    args[key] = value;
  }
  return args;
}

type Content = { text: string; blocks?: unknown[]; metadata?: StoredSlackMessage['metadata'] } | ({ ok: false; error: string } & Reply);

/** Validates text/blocks/metadata as Slack does for chat.* methods. */
function messageContent(args: Record<string, unknown>): Content {
  const text = typeof args.text === 'string' ? args.text : '';
  let blocks: unknown[] | undefined;
  if (args.blocks !== undefined) {
    if (!Array.isArray(args.blocks)) return invalidBlocks(['blocks must be a JSON array'], 'message');
    const problems = blockProblems(args.blocks, 50);
    if (problems.length) return invalidBlocks(problems, 'message');
    blocks = args.blocks;
  }
  if (!text && !(blocks && blocks.length) && args.attachments === undefined) return { ok: false, error: 'no_text' };
  if (text.length > 40_000) return { ok: false, error: 'msg_too_long' };
  let metadata: StoredSlackMessage['metadata'];
  if (args.metadata !== undefined) {
    const m = args.metadata as Record<string, unknown> | null;
    if (!m || typeof m !== 'object' || typeof m.event_type !== 'string' || !m.event_payload || typeof m.event_payload !== 'object') {
      return { ok: false, error: 'invalid_metadata_format' };
    }
    metadata = { event_type: m.event_type, event_payload: m.event_payload as Record<string, unknown> };
  }
  return { text, blocks, metadata };
}

function invalidBlocks(problems: string[], _where: string): { ok: false; error: string } & Reply {
  return { ok: false, error: 'invalid_blocks', errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } };
}

/** The Block Kit limits Vigil's messages could run into (Slack refuses the whole call with invalid_blocks). */
function blockProblems(blocks: unknown[], maxBlocks: number): string[] {
  const problems: string[] = [];
  if (blocks.length > maxBlocks) problems.push(`no more than ${maxBlocks} items allowed [json-pointer:/blocks]`);
  const ids = new Set<string>();
  const textObject = (t: unknown, max: number, at: string, plainOnly = false) => {
    const o = t as { type?: unknown; text?: unknown } | undefined;
    if (!o || typeof o !== 'object') return problems.push(`must provide an object [json-pointer:${at}]`);
    if (o.type !== 'plain_text' && (plainOnly || o.type !== 'mrkdwn')) problems.push(`must be a valid enum value [json-pointer:${at}/type]`);
    if (typeof o.text !== 'string' || o.text.length === 0) problems.push(`must be more than 0 characters [json-pointer:${at}/text]`);
    else if (o.text.length > max) problems.push(`must be less than ${max + 1} characters [json-pointer:${at}/text]`);
  };
  const element = (e: unknown, at: string) => {
    const el = e as Record<string, unknown>;
    if (el?.type !== 'button') return;
    textObject(el.text, 75, `${at}/text`, true);
    if (typeof el.action_id === 'string' && el.action_id.length > 255) problems.push(`must be less than 256 characters [json-pointer:${at}/action_id]`);
    if (typeof el.value === 'string' && el.value.length > 2000) problems.push(`must be less than 2001 characters [json-pointer:${at}/value]`);
    if (typeof el.url === 'string' && el.url.length > 3000) problems.push(`must be less than 3001 characters [json-pointer:${at}/url]`);
    if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') problems.push(`must be a valid enum value [json-pointer:${at}/style]`);
  };
  blocks.forEach((b, i) => {
    const at = `/blocks/${i}`;
    const block = b as Record<string, unknown>;
    if (!block || typeof block !== 'object' || typeof block.type !== 'string') return void problems.push(`missing required field: type [json-pointer:${at}]`);
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > 255) problems.push(`must be less than 256 characters [json-pointer:${at}/block_id]`);
      if (ids.has(block.block_id)) problems.push(`duplicate block_id [json-pointer:${at}/block_id]`);
      ids.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        textObject(block.text, 150, `${at}/text`, true);
        break;
      case 'section': {
        const fields = block.fields as unknown[] | undefined;
        if (block.text === undefined && !fields) problems.push(`must provide either text or fields [json-pointer:${at}]`);
        if (block.text !== undefined) textObject(block.text, 3000, `${at}/text`);
        if (fields) {
          if (fields.length > 10) problems.push(`no more than 10 items allowed [json-pointer:${at}/fields]`);
          fields.forEach((f, j) => textObject(f, 2000, `${at}/fields/${j}`));
        }
        if (block.accessory !== undefined) element(block.accessory, `${at}/accessory`);
        break;
      }
      case 'context': {
        const elements = (block.elements as unknown[] | undefined) ?? [];
        if (elements.length === 0 || elements.length > 10) problems.push(`must have 1 to 10 items [json-pointer:${at}/elements]`);
        elements.forEach((e, j) => {
          const el = e as { type?: unknown };
          if (el?.type === 'plain_text' || el?.type === 'mrkdwn') textObject(e, 3000, `${at}/elements/${j}`);
        });
        break;
      }
      case 'actions': {
        const elements = (block.elements as unknown[] | undefined) ?? [];
        if (elements.length === 0 || elements.length > 25) problems.push(`must have 1 to 25 items [json-pointer:${at}/elements]`);
        elements.forEach((e, j) => element(e, `${at}/elements/${j}`));
        break;
      }
      case 'divider':
      case 'input':
      case 'image':
      case 'rich_text':
      case 'file':
      case 'video':
        break;
      default:
        problems.push(`must be a valid enum value [json-pointer:${at}/type]`);
    }
  });
  return problems;
}

/** Cursor pagination as Slack does it: `limit` (default 100) and an opaque `next_cursor`. */
function page<T>(items: T[], args: Record<string, unknown>, show: (item: T) => unknown, key: string): Reply {
  const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 1000);
  const cursor = typeof args.cursor === 'string' && args.cursor ? Number(Buffer.from(args.cursor, 'base64').toString('utf8').replace('offset:', '')) : 0;
  if (!Number.isInteger(cursor) || cursor < 0) return { ok: false, error: 'invalid_cursor' };
  const slice = items.slice(cursor, cursor + limit);
  const more = cursor + limit < items.length;
  return {
    ok: true,
    [key]: slice.map(show),
    has_more: more,
    pin_count: 0,
    response_metadata: { next_cursor: more ? Buffer.from(`offset:${cursor + limit}`).toString('base64') : '' },
  };
}
