/**
 * The front door of the Slack app in HTTP mode. Bolt's HTTPReceiver verifies signatures and refuses
 * stale requests itself, but answers 401 without a hook, so a refused attempt would leave no trace.
 * This guard buffers the body, verifies it with Bolt's own `verifySlackRequest`, writes every refusal
 * to the audit log and answers 401; a request that passes is handed to the HTTPReceiver's request
 * listener, which reuses the buffered body and verifies it again (its verification stays on).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, verifySlackRequest } from '@slack/bolt';
import type { AuditLog } from '../../ports/incidentStore.js';

/** Slack's replay window: requests whose timestamp is further than this from our clock are refused. */
export const MAX_REQUEST_AGE_SECONDS = 5 * 60;

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

/** Writes a refusal to the audit log: never the body, headers or any secret, only ids and the reason. */
export function createSlackRefusalAudit(audit: AuditLog, log: (m: string) => void): (r: SlackRefusal) => Promise<void> {
  return async (r) => {
    log(`slack: refused ${r.reason}${r.user ? ` from ${r.user}` : ''}${r.remote ? ` (${r.remote})` : ''}: ${r.message}`);
    const detail: Record<string, unknown> = { reason: r.reason, message: r.message };
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

/** A `node:http` request handler: verify and audit, then hand over to Bolt. */
export function createSlackRequestGuard(opts: SlackRequestGuardOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const bodyLimit = opts.bodyLimit ?? HTTPModuleFunctions.defaultBodyLimit;
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
      if (HTTPModuleFunctions.isRawBodyError(err) && (err as { statusCode: number }).statusCode === 413) return answer(res, 413);
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
  return req.headers['content-type'] === 'application/x-www-form-urlencoded' && parseQuery(text).ssl_check === '1';
}

/** The user and team a request says it comes from; only well-formed Slack ids are kept. */
function claimedIds(req: IncomingMessage, text: string): { user?: string; team?: string } {
  const id = (v: unknown) => (typeof v === 'string' && /^[A-Z0-9]{2,40}$/.test(v) ? v : undefined);
  try {
    let body: Record<string, any>;
    if (req.headers['content-type'] === 'application/x-www-form-urlencoded') {
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
