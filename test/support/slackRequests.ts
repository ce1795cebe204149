/**
 * Requests as Slack sends them to an app's Request URL, signed as Slack signs them
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack): `X-Slack-Signature: v0=` +
 * hex HMAC-SHA256(signing secret, `v0:<timestamp>:<raw body>`) and `X-Slack-Request-Timestamp`.
 * Interactivity payloads (block_actions, view_submission) are form-encoded `payload=<json>`; slash
 * commands are plain form fields. Plus a tiny server standing in for `response_url`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../adapters/net/freePort.js';
import { startSlackApp } from '../../adapters/slack/slackApp.js';
import { slackCredentialsFromEnv, type HttpSlackCredentials } from '../../adapters/slack/slackCredentials.js';
import type { VigilTestEnv } from './vigilTestEnv.js';

export interface SlackRequest {
  body: string;
  headers: Record<string, string>;
}

export interface SlackUser {
  id: string;
  username?: string;
  /** The user's home workspace; defaults to the request's team. */
  teamId?: string;
}

export interface SigningOptions {
  signingSecret: string;
  /** Unix seconds; default now. */
  timestamp?: number;
}

const FORM = 'application/x-www-form-urlencoded';
const APP_ID = 'A0VIGILAPP';
let counter = 0;
const nextId = () => `${Date.now()}${String(++counter).padStart(4, '0')}`;

export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${crypto.createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedRequest(body: string, contentType: string, opts: SigningOptions): SlackRequest {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    body,
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(opts.signingSecret, timestamp, body),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
  };
}

function interactivity(payload: Record<string, unknown>, opts: SigningOptions): SlackRequest {
  return signedRequest(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM, opts);
}

function userOf(user: SlackUser, teamId: string) {
  const username = user.username ?? user.id.toLowerCase();
  return { id: user.id, username, name: username, team_id: user.teamId ?? teamId };
}

/** A click on a button of a message the app posted (`block_actions`). */
export function blockActionsRequest(
  opts: SigningOptions & {
    teamId: string;
    user: SlackUser;
    actionId: string;
    value: string;
    channel: string;
    messageTs: string;
    responseUrl: string;
    blockId?: string;
  },
): SlackRequest {
  const actionTs = `${Math.floor(Date.now() / 1000)}.${String(++counter).padStart(6, '0')}`;
  return interactivity(
    {
      type: 'block_actions',
      user: userOf(opts.user, opts.teamId),
      api_app_id: APP_ID,
      token: 'legacy-verification-token-unused',
      container: { type: 'message', message_ts: opts.messageTs, channel_id: opts.channel, is_ephemeral: false },
      trigger_id: `${nextId()}.${opts.teamId}.${crypto.randomBytes(16).toString('hex')}`,
      team: { id: opts.teamId, domain: 'vigil-test' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: opts.channel, name: 'ml-incidents' },
      message: {
        type: 'message',
        ts: opts.messageTs,
        text: 'Vigil incident',
        bot_id: 'B0VIGILBOT',
        user: 'U0VIGILBOT',
        team: opts.teamId,
        blocks: [],
      },
      state: { values: {} },
      response_url: opts.responseUrl,
      actions: [
        {
          action_id: opts.actionId,
          block_id: opts.blockId ?? 'decision',
          text: { type: 'plain_text', text: opts.actionId.includes('reject') ? 'Reject' : 'Approve', emoji: true },
          value: opts.value,
          type: 'button',
          action_ts: actionTs,
        },
      ],
    },
    opts,
  );
}

/** The submit of a modal (`view_submission`); `values` is `{ [blockId]: { [actionId]: value } }` for plain-text inputs. */
export function viewSubmissionRequest(
  opts: SigningOptions & {
    teamId: string;
    user: SlackUser;
    callbackId: string;
    privateMetadata: string;
    values: Record<string, Record<string, string | null>>;
  },
): SlackRequest {
  const viewId = `V${nextId().slice(-9)}`;
  const stateValues = Object.fromEntries(
    Object.entries(opts.values).map(([block, actions]) => [
      block,
      Object.fromEntries(Object.entries(actions).map(([action, value]) => [action, { type: 'plain_text_input', value }])),
    ]),
  );
  return interactivity(
    {
      type: 'view_submission',
      team: { id: opts.teamId, domain: 'vigil-test' },
      user: userOf(opts.user, opts.teamId),
      api_app_id: APP_ID,
      token: 'legacy-verification-token-unused',
      trigger_id: `${nextId()}.${opts.teamId}.${crypto.randomBytes(16).toString('hex')}`,
      view: {
        id: viewId,
        team_id: opts.teamId,
        type: 'modal',
        blocks: [],
        private_metadata: opts.privateMetadata,
        callback_id: opts.callbackId,
        state: { values: stateValues },
        hash: `${Math.floor(Date.now() / 1000)}.${viewId}`,
        title: { type: 'plain_text', text: 'Reject action', emoji: true },
        clear_on_close: false,
        notify_on_close: false,
        close: { type: 'plain_text', text: 'Cancel', emoji: true },
        submit: { type: 'plain_text', text: 'Reject', emoji: true },
        previous_view_id: null,
        root_view_id: viewId,
        app_id: APP_ID,
        external_id: '',
        app_installed_team_id: opts.teamId,
        bot_id: 'B0VIGILBOT',
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    },
    opts,
  );
}

/** A slash command invocation, as Slack posts it. */
export function slashCommandRequest(
  opts: SigningOptions & { teamId: string; user: SlackUser; text: string; channel: string; responseUrl: string; command?: string },
): SlackRequest {
  const form = new URLSearchParams({
    token: 'legacy-verification-token-unused',
    team_id: opts.teamId,
    team_domain: 'vigil-test',
    channel_id: opts.channel,
    channel_name: 'ml-incidents',
    user_id: opts.user.id,
    user_name: opts.user.username ?? opts.user.id.toLowerCase(),
    command: opts.command ?? '/vigil',
    text: opts.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: opts.responseUrl,
    trigger_id: `${nextId()}.${opts.teamId}.${crypto.randomBytes(16).toString('hex')}`,
  });
  return signedRequest(form.toString(), FORM, opts);
}

export async function sendSlackRequest(url: string, req: SlackRequest): Promise<{ status: number; text: string; json?: any }> {
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: req.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export interface ResponseUrlPost {
  path: string;
  body: Record<string, any>;
}

/** Stands in for Slack's `response_url` endpoints (hooks.slack.com/commands/…): records what the app posts. */
export interface ResponseUrlCapture {
  /** A fresh response_url. */
  next(): string;
  posts: ResponseUrlPost[];
  waitFor(url: string, timeoutMs?: number): Promise<ResponseUrlPost>;
  stop(): Promise<void>;
}

export async function startResponseUrlCapture(): Promise<ResponseUrlCapture> {
  const posts: ResponseUrlPost[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, any> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = { raw: Buffer.concat(chunks).toString('utf8') };
      }
      posts.push({ path: req.url ?? '/', body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  let n = 0;
  return {
    next: () => `${base}/commands/T0VIGIL01/${++n}/${crypto.randomBytes(8).toString('hex')}`,
    posts,
    async waitFor(url, timeoutMs = 30_000) {
      const path = new URL(url).pathname;
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const found = posts.find((p) => p.path === path);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for a post to ${path}; saw ${posts.map((p) => p.path).join(', ') || 'none'}`);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The real Bolt app in HTTP mode on a free port, for a test env, with its Web API pointed at the
 * recorder. Log lines go to `logs`, so a test can check no secret was ever logged. Unsigned requests'
 * refusals are written once per reason per hour (longer than any test), so which ones are written does
 * not depend on how fast the test runs.
 */
export async function startTestSlackApp(opts: { env: VigilTestEnv; recorderUrl: string; botToken: string; signingSecret: string; logs: string[] }) {
  const credentials = slackCredentialsFromEnv(
    { mode: 'http' },
    { SLACK_BOT_TOKEN: opts.botToken, SLACK_SIGNING_SECRET: opts.signingSecret, SLACK_API_URL: opts.recorderUrl, VIGIL_SLACK_PORT: String(await freePort()) },
  ) as HttpSlackCredentials;
  const { env } = opts;
  return startSlackApp({
    credentials,
    deps: {
      incidents: env.services.incidents,
      audit: env.services.incidentStore,
      config: env.config,
      log: (m) => opts.logs.push(m),
      unverifiedAuditIntervalMs: 3_600_000,
    },
  });
}
