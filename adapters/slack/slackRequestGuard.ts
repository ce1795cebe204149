/**
 * The front door of the Slack app in HTTP mode. Bolt's HTTPReceiver verifies signatures and refuses
 * stale requests itself, but answers 401 without a hook, so a refused attempt would leave no trace.
 * This guard buffers the body, verifies it with Bolt's own `verifySlackRequest`, records refusals in
 * the audit log and answers 401; a signed request whose payload Vigil cannot act on is answered 400
 * naming the field (slackPayload.ts); a request that passes is handed to the HTTPReceiver's request
 * listener, which reuses the buffered body and verifies it again (its verification stays on).
 *
 * Anyone can send unsigned requests, as fast as they like: those are counted in memory and written as
 * at most one audit row (and one log line) per reason per interval, never one per request, so a flood
 * cannot grow the database. Refusals of signed requests (another workspace) come from Slack and are
 * written one by one.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, verifySlackRequest } from '@slack/bolt';
import type { AuditLog } from '../../ports/incidentStore.js';
import { checkSlackPayload, FORM_CONTENT_TYPE } from './slackPayload.js';

/** Slack's replay window: requests whose timestamp is further than this from our clock are refused. */
export const MAX_REQUEST_AGE_SECONDS = 5 * 60;

/** The largest body read (413 beyond): Slack's interaction payloads are tens of KiB. */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;

/** Unverified refusals of one reason are written at most once per this interval (the rest counted). */
export const UNVERIFIED_AUDIT_INTERVAL_MS = 60_000;

/** Refusals whose request proved nothing about its sender: anyone can send these. */
const UNVERIFIED: ReadonlySet<SlackRefusalReason> = new Set(['missing_signature', 'stale_request', 'bad_signature']);

export const SLACK_REFUSED_KIND = 'slack_request_refused';

export type SlackRefusalReason = 'missing_signature' | 'stale_request' | 'bad_signature' | 'other_workspace' | 'other_workspace_user';

export interface SlackRefusal {
  reason: SlackRefusalReason;
  message: string;
  /** The Slack user, when the request's signature proved who it is. */
  user?: string;
  /** Ids a request claimed but that could not be trusted (its signature failed): kept for forensics only. */
  claimed?: { user?: string; team?: string };
  team?: string;
  remote?: string;
}

export interface SlackRefusalAudit {
  /** Records a refusal: a signed one as its own row, an unverified one within its reason's interval. */
  refuse(r: SlackRefusal): Promise<void>;
  /** Unverified refusals refused since start, by reason (written or only counted). */
  readonly unverifiedCounts: ReadonlyMap<SlackRefusalReason, number>;
  /** Writes the unverified refusals counted but not yet written, one row per reason; stops the timers. */
  flush(): Promise<void>;
}

/** One reason's interval: opened by a written row; refusals after it are counted until it ends. */
interface UnverifiedWindow {
  startedAt: Date;
  counted: number;
  last?: SlackRefusal;
  timer: NodeJS.Timeout;
}

/**
 * Writes refusals to the audit log: never the body, headers or any secret, only ids and the reason.
 * Unverified ones: the first of a reason is written at once and opens an interval; the ones after it are
 * counted and written as one row (`counted`, `since`, the last one's details) when the interval ends,
 * which opens the next; an interval with none closes. So a flood writes one row per reason per interval.
 */
export function createSlackRefusalAudit(audit: AuditLog, log: (m: string) => void, opts: { intervalMs?: number } = {}): SlackRefusalAudit {
  const intervalMs = opts.intervalMs ?? UNVERIFIED_AUDIT_INTERVAL_MS;
  const windows = new Map<SlackRefusalReason, UnverifiedWindow>();
  const totals = new Map<SlackRefusalReason, number>();

  const write = async (r: SlackRefusal, extra: Record<string, unknown> = {}) => {
    const detail: Record<string, unknown> = { reason: r.reason, message: r.message, ...extra };
    if (r.team) detail.team = r.team;
    if (r.claimed && (r.claimed.user || r.claimed.team)) detail.claimed = r.claimed;
    if (r.remote) detail.remote = r.remote;
    try {
      // An unverified request names nobody: a forger must not put someone else's id in the actor column.
      await audit.append({ incidentId: null, kind: SLACK_REFUSED_KIND, actor: r.user ?? 'unverified', detail });
    } catch (err) {
      log(`slack: could not write the refusal to the audit log: ${(err as Error).message}`);
    }
  };
  const describe = (r: SlackRefusal) => `${r.reason}${r.user ? ` from ${r.user}` : ''}${r.remote ? ` (${r.remote})` : ''}: ${r.message}`;

  /** Ends a reason's interval: writes what it counted (opening the next interval), or closes it. */
  const endWindow = async (reason: SlackRefusalReason, reopen: boolean) => {
    const w = windows.get(reason);
    if (!w) return;
    clearTimeout(w.timer);
    windows.delete(reason);
    if (w.counted === 0 || !w.last) return;
    const summary = { counted: w.counted, since: w.startedAt.toISOString() };
    log(`slack: refused ${w.counted} more unverified request(s) (${reason}) since ${summary.since}; the last: ${describe(w.last)}`);
    if (reopen) open(reason);
    await write(w.last, summary);
  };
  const open = (reason: SlackRefusalReason) => {
    const timer = setTimeout(() => void endWindow(reason, true), intervalMs);
    // The interval must not keep a stopping process alive; flush() writes what is left.
    timer.unref();
    windows.set(reason, { startedAt: new Date(), counted: 0, timer });
  };

  return {
    unverifiedCounts: totals,
    async refuse(r) {
      if (!UNVERIFIED.has(r.reason)) {
        log(`slack: refused ${describe(r)}`);
        return write(r);
      }
      totals.set(r.reason, (totals.get(r.reason) ?? 0) + 1);
      const w = windows.get(r.reason);
      if (w) {
        w.counted++;
        w.last = r;
        return;
      }
      open(r.reason);
      log(`slack: refused ${describe(r)} (more ${r.reason} refusals in the next ${Math.round(intervalMs / 1000)} s are counted, not logged one by one)`);
      await write(r);
    },
    async flush() {
      for (const reason of [...windows.keys()]) await endWindow(reason, false);
    },
  };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing_signature' | 'stale_request' | 'bad_signature'; message: string };

/** Slack's request signing (v0), checked with Bolt's verifier plus a bound on timestamps from the future. */
export function checkSlackSignature(opts: { signingSecret: string; rawBody: string; headers: IncomingHttpHeaders; nowMs?: number }): SignatureCheck {
  const header = (name: string) => {
    const v = opts.headers[name];
    return typeof v === 'string' && v.trim() ? v.trim() : undefined;
  };
  const signature = header('x-slack-signature');
  const timestamp = header('x-slack-request-timestamp');
  if (!signature || !timestamp) {
    const missing = [!signature && 'X-Slack-Signature', !timestamp && 'X-Slack-Request-Timestamp'].filter(Boolean).join(' and ');
    return { ok: false, reason: 'missing_signature', message: `missing ${missing} header` };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_signature', message: 'X-Slack-Request-Timestamp is not a Unix time in seconds' };
  const nowMs = opts.nowMs ?? Date.now();
  const ageSeconds = Math.floor(nowMs / 1000) - Number(timestamp);
  // Bolt refuses old timestamps only; Slack's guidance is "more than five minutes from local time", both ways.
  if (Math.abs(ageSeconds) > MAX_REQUEST_AGE_SECONDS) {
    return {
      ok: false,
      reason: 'stale_request',
      message: `X-Slack-Request-Timestamp is ${Math.abs(ageSeconds)} s ${ageSeconds > 0 ? 'old' : 'in the future'} (at most ${MAX_REQUEST_AGE_SECONDS} s allowed: a replay?)`,
    };
  }
  try {
    verifySlackRequest({
      signingSecret: opts.signingSecret,
      body: opts.rawBody,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
      nowMilliseconds: nowMs,
    });
    return { ok: true };
  } catch (err) {
    const message = (err as Error).message.replace(/^Failed to verify authenticity: /, '');
    return { ok: false, reason: /stale/.test(message) ? 'stale_request' : 'bad_signature', message };
  }
}

export interface SlackRequestGuardOptions {
  signingSecret: string;
  /** The only path served (POST). */
  path: string;
  /** Bolt's HTTPReceiver request listener. */
  handOff: (req: IncomingMessage, res: ServerResponse) => void;
  refuse: (r: SlackRefusal) => Promise<void>;
  log: (m: string) => void;
  bodyLimit?: number;
}

const answerJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
};

/** A `node:http` request handler: verify and audit, then hand over to Bolt. */
export function createSlackRequestGuard(opts: SlackRequestGuardOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const bodyLimit = opts.bodyLimit ?? SLACK_BODY_LIMIT_BYTES;
  const answer = (res: ServerResponse, status: number) => {
    if (!res.headersSent) res.writeHead(status);
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== opts.path) return answer(res, 404);
    if (req.method !== 'POST') return answer(res, 405);

    let rawBody: Buffer;
    try {
      // Sets req.rawBody, which the HTTPReceiver reuses instead of reading the stream again.
      rawBody = (await HTTPModuleFunctions.bufferIncomingMessage(req, bodyLimit)).rawBody;
    } catch (err) {
      if (HTTPModuleFunctions.isRawBodyError(err) && (err as { statusCode: number }).statusCode === 413) {
        // Read and drop the rest (nothing is kept), so the sender gets the answer instead of a reset connection.
        req.resume();
        return answerJson(res, 413, { error: `the body is larger than ${bodyLimit} bytes` }, { connection: 'close' });
      }
      return answer(res, 400);
    }
    const text = rawBody.toString();
    // Slack's SSL check carries no signature; Bolt answers it and strips anything smuggled in it.
    if (isSslCheck(req, text)) return opts.handOff(req, res);

    const check = checkSlackSignature({ signingSecret: opts.signingSecret, rawBody: text, headers: req.headers });
    if (!check.ok) {
      await opts.refuse({ reason: check.reason, message: check.message, claimed: claimedIds(req, text), remote: req.socket.remoteAddress });
      return answer(res, 401);
    }
    const payload = checkSlackPayload(req.headers['content-type'], text);
    if (!payload.ok) {
      // Signed: Slack sent it (or someone holding the secret). Nothing is started; the answer says why.
      opts.log(`slack: refused a malformed request (400): ${payload.error}`);
      return answerJson(res, 400, { error: `malformed Slack request; nothing was done: ${payload.error}`, issues: payload.issues });
    }
    opts.handOff(req, res);
  };

  return (req, res) => {
    handle(req, res).catch((err) => {
      opts.log(`slack: request failed: ${(err as Error).message}`);
      answer(res, 500);
    });
  };
}

function isSslCheck(req: IncomingMessage, text: string): boolean {
  return req.headers['content-type'] === FORM_CONTENT_TYPE && parseQuery(text).ssl_check === '1';
}

/** The user and team a request says it comes from; only well-formed Slack ids are kept. */
function claimedIds(req: IncomingMessage, text: string): { user?: string; team?: string } {
  const id = (v: unknown) => (typeof v === 'string' && /^[A-Z0-9]{2,40}$/.test(v) ? v : undefined);
  try {
    let body: Record<string, any>;
    if (req.headers['content-type'] === FORM_CONTENT_TYPE) {
      const form = parseQuery(text);
      body = typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
    } else {
      body = JSON.parse(text);
    }
    const user = id(body.user?.id ?? body.user_id ?? body.event?.user);
    const team = id(body.team?.id ?? body.team_id);
    return { ...(user ? { user } : {}), ...(team ? { team } : {}) };
  } catch {
    return {};
  }
}
