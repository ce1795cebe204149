/**
 * Slack configuration without Slack: credentials from the environment (off, partial, malformed, never
 * echoed), the receiver chosen by mode (Socket Mode cannot be exercised here: Slack is unreachable),
 * signature checks, and the `/vigil` parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { AuditEvent, AuditLog } from '../../ports/incidentStore.js';
import type { IncidentService } from '../../client/incidentService.js';
import { createSlackApp, type EnabledSlackCredentials } from '../../adapters/slack/slackApp.js';
import { slackCredentialsFromEnv, slackOffMessage, slackSettings } from '../../adapters/slack/slackCredentials.js';
import { SLACK_ACTIONS } from '../../adapters/slack/slackContract.js';
import { checkSlackPayload, FORM_CONTENT_TYPE } from '../../adapters/slack/slackPayload.js';
import { checkSlackSignature, createSlackRefusalAudit } from '../../adapters/slack/slackRequestGuard.js';
import { parseSlashCommand } from '../../adapters/slack/slashCommand.js';
import { parseConfig } from '../../domain/config.js';
import { EXAMPLE_CONFIG } from '../../examples/credit-risk/exampleConfig.js';
import { UserInputError } from '../../domain/errors.js';
import { slackSignature } from '../support/slackRequests.js';

const BOT = 'xoxb-1111-2222-abcdefSECRETBOT';
const SECRET = '0123456789abcdef0123456789abcdef';
const APP = 'xapp-1-A0VIGIL-3333-SECRETAPPTOKEN';

const refuses = (env: Record<string, string>, mode: 'http' | 'socket', expected: RegExp, what: string) =>
  assert.throws(
    () => slackCredentialsFromEnv({ mode }, env),
    (err: Error) => {
      assert.ok(err instanceof UserInputError, `${what}: a UserInputError (exit 2), got ${err.constructor.name}`);
      assert.match(err.message, expected, `${what}: message`);
      for (const secret of [BOT, SECRET, APP, 'xoxp-123-personal', 'short']) {
        if (Object.values(env).includes(secret)) assert.ok(!err.message.includes(secret), `${what}: does not echo a credential`);
      }
      return true;
    },
    what,
  );

describe('Slack credentials', () => {
  it('are off when none of the variables is set', () => {
    assert.deepEqual(slackCredentialsFromEnv({ mode: 'http' }, {}), { enabled: false }, 'off');
    assert.deepEqual(slackCredentialsFromEnv({ mode: 'socket' }, { PATH: '/bin' }), { enabled: false }, 'off in socket mode too');
    assert.match(
      slackOffMessage(),
      /^Slack: off, Vigil runs CLI-only \(to decide in Slack set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/,
      'one line naming the variables',
    );
  });

  it('reads HTTP mode: token, signing secret, port (default 3000), API URL', () => {
    assert.deepEqual(
      slackCredentialsFromEnv({ mode: 'http' }, { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET }),
      { enabled: true, mode: 'http', botToken: BOT, signingSecret: SECRET, host: '127.0.0.1', port: 3000 },
      'defaults',
    );
    const c = slackCredentialsFromEnv(
      { mode: 'http' },
      { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET, VIGIL_SLACK_PORT: '3100', SLACK_API_URL: 'http://127.0.0.1:9/api', VIGIL_HTTP_HOST: '0.0.0.0' },
    );
    assert.deepEqual(
      [c.enabled && c.mode === 'http' && c.port, c.enabled && c.apiUrl, c.enabled && c.mode === 'http' && c.host],
      [3100, 'http://127.0.0.1:9/api/', '0.0.0.0'],
      'overrides',
    );
  });

  it('reads Socket Mode: token and app token', () => {
    assert.deepEqual(
      slackCredentialsFromEnv({ mode: 'socket' }, { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP }),
      { enabled: true, mode: 'socket', botToken: BOT, appToken: APP },
      'socket',
    );
  });

  it('refuses partial or malformed credentials, naming the variable and never the value', () => {
    refuses(
      { SLACK_BOT_TOKEN: BOT },
      'http',
      /^SLACK_SIGNING_SECRET is not set: HTTP mode \(slack.mode "http"\) needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/,
      'token without secret',
    );
    refuses(
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP },
      'http',
      /SLACK_APP_TOKEN is set: for Socket Mode set "slack": \{"mode": "socket"\}/,
      'app token in http mode',
    );
    refuses({ SLACK_SIGNING_SECRET: SECRET }, 'http', /^SLACK_BOT_TOKEN is not set but SLACK_SIGNING_SECRET is set/, 'secret without token');
    refuses({ VIGIL_SLACK_PORT: '3000' }, 'http', /^SLACK_BOT_TOKEN is not set but VIGIL_SLACK_PORT is set/, 'port alone');
    refuses({ SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: SECRET }, 'http', /^SLACK_BOT_TOKEN is empty/, 'empty token');
    refuses(
      { SLACK_BOT_TOKEN: 'xoxp-123-personal', SLACK_SIGNING_SECRET: SECRET },
      'http',
      /^SLACK_BOT_TOKEN must be a bot token starting with "xoxb-"/,
      'user token',
    );
    refuses({ SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: 'short' }, 'http', /^SLACK_SIGNING_SECRET must be the app's Signing Secret/, 'short secret');
    refuses(
      { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET, VIGIL_SLACK_PORT: 'http' },
      'http',
      /^VIGIL_SLACK_PORT="http": must be an integer from 1 to 65535/,
      'bad port',
    );
    refuses({ SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET, VIGIL_SLACK_PORT: '0' }, 'http', /^VIGIL_SLACK_PORT="0"/, 'port 0');
    refuses(
      { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: 'slack.com/api' },
      'http',
      /^SLACK_API_URL="slack.com\/api": must be an http\(s\) URL/,
      'bad API URL',
    );
    refuses(
      { SLACK_BOT_TOKEN: BOT },
      'socket',
      /^SLACK_APP_TOKEN is not set: Socket Mode \(slack.mode "socket"\) needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN/,
      'socket without app token',
    );
    refuses(
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: BOT },
      'socket',
      /^SLACK_APP_TOKEN must be an app-level token starting with "xapp-"/,
      'bot token as app token',
    );
  });

  it('takes the mode and team from the config, defaulting to HTTP', () => {
    const example = parseConfig(EXAMPLE_CONFIG);
    assert.equal(slackSettings(example).mode, 'http', 'default mode');
    const socket = parseConfig({ ...EXAMPLE_CONFIG, slack: { mode: 'socket', teamId: 'T0VIGIL01' } });
    const settings = slackSettings(socket);
    assert.deepEqual([settings.mode, settings.teamId], ['socket', 'T0VIGIL01'], 'from the config');
    assert.throws(() => parseConfig({ ...EXAMPLE_CONFIG, slack: { teamId: 'acme' } }), /slack\.teamId: must be a Slack team id/, 'bad team id named');
  });
});

describe('Slack app receiver by mode', () => {
  const deps = { incidents: {} as IncidentService, audit: {} as AuditLog, config: parseConfig(EXAMPLE_CONFIG), log: () => {} };
  const identity = { teamId: 'T0VIGIL01', botUserId: 'U0VIGILBOT', botId: 'B0VIGILBOT' };

  it('HTTP mode: Bolt HTTPReceiver with signature verification on', () => {
    const credentials = slackCredentialsFromEnv({ mode: 'http' }, { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET }) as EnabledSlackCredentials;
    const parts = createSlackApp({ credentials, identity, deps });
    assert.equal(parts.mode, 'http', 'mode');
    assert.ok(parts.receiver instanceof HTTPReceiver, 'HTTPReceiver');
    assert.equal((parts.receiver as unknown as { signatureVerification: boolean }).signatureVerification, true, 'verification on');
    assert.equal(parts.acceptedTeam, 'T0VIGIL01', "the bot token's workspace by default");
  });

  it('Socket Mode: Bolt SocketModeReceiver with the app token, no HTTP listener', () => {
    const credentials = slackCredentialsFromEnv(
      { mode: 'socket' },
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_API_URL: 'http://127.0.0.1:9/api/' },
    ) as EnabledSlackCredentials;
    const parts = createSlackApp({ credentials, identity, deps });
    assert.equal(parts.mode, 'socket', 'mode');
    assert.ok(parts.receiver instanceof SocketModeReceiver, 'SocketModeReceiver');
    // Bolt keeps the Socket Mode client on the receiver; its Web API client opens the connection.
    const client = (parts.receiver as unknown as { client: { webClient: { slackApiUrl: string } } }).client;
    assert.equal(client.webClient.slackApiUrl, 'http://127.0.0.1:9/api/', 'apps.connections.open goes to SLACK_API_URL');
  });
});

describe('Slack request signatures', () => {
  const now = 1_763_856_000_000;
  const ts = now / 1000;
  const body = 'token=x&team_id=T0VIGIL01&command=%2Fvigil&text=list';
  const headers = (signature: string, timestamp: number) => ({ 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) });

  it("accepts Slack's v0 signature and refuses a forged, stale, future or missing one", () => {
    assert.deepEqual(
      checkSlackSignature({ signingSecret: SECRET, rawBody: body, headers: headers(slackSignature(SECRET, ts, body), ts), nowMs: now }),
      { ok: true },
      'valid',
    );
    const forged = checkSlackSignature({
      signingSecret: SECRET,
      rawBody: body,
      headers: headers(slackSignature('another-secret-entirely', ts, body), ts),
      nowMs: now,
    });
    assert.deepEqual([forged.ok, !forged.ok && forged.reason], [false, 'bad_signature'], 'forged');
    const tampered = checkSlackSignature({ signingSecret: SECRET, rawBody: `${body}&x=1`, headers: headers(slackSignature(SECRET, ts, body), ts), nowMs: now });
    assert.deepEqual([tampered.ok, !tampered.ok && tampered.reason], [false, 'bad_signature'], 'body changed after signing');
    const stale = checkSlackSignature({ signingSecret: SECRET, rawBody: body, headers: headers(slackSignature(SECRET, ts - 301, body), ts - 301), nowMs: now });
    assert.deepEqual([stale.ok, !stale.ok && stale.reason], [false, 'stale_request'], 'stale by one second');
    const edge = checkSlackSignature({ signingSecret: SECRET, rawBody: body, headers: headers(slackSignature(SECRET, ts - 300, body), ts - 300), nowMs: now });
    assert.equal(edge.ok, true, 'exactly five minutes is still accepted');
    const future = checkSlackSignature({
      signingSecret: SECRET,
      rawBody: body,
      headers: headers(slackSignature(SECRET, ts + 301, body), ts + 301),
      nowMs: now,
    });
    assert.deepEqual([future.ok, !future.ok && future.reason], [false, 'stale_request'], 'from the future');
    const missing = checkSlackSignature({ signingSecret: SECRET, rawBody: body, headers: {}, nowMs: now });
    assert.deepEqual(missing, { ok: false, reason: 'missing_signature', message: 'missing X-Slack-Signature and X-Slack-Request-Timestamp header' }, 'missing');
    const v1 = checkSlackSignature({
      signingSecret: SECRET,
      rawBody: body,
      headers: headers(slackSignature(SECRET, ts, body).replace('v0=', 'v1='), ts),
      nowMs: now,
    });
    assert.equal(v1.ok, false, 'unknown version');
  });
});

describe('Slack refusals in the audit log', () => {
  const recording = () => {
    const rows: AuditEvent[] = [];
    const logs: string[] = [];
    const audit = { append: async (e: AuditEvent) => void rows.push(e) } as AuditLog;
    return { rows, logs, refusals: createSlackRefusalAudit(audit, (m) => logs.push(m), { intervalMs: 3_600_000 }) };
  };

  it('writes a flood of unsigned requests as one row per reason, counts the rest, and writes the count on flush', async () => {
    const { rows, logs, refusals } = recording();
    for (let i = 0; i < 1000; i++) {
      await refusals.refuse({ reason: i % 2 ? 'bad_signature' : 'missing_signature', message: `attempt ${i}`, remote: '203.0.113.7' });
    }
    assert.deepEqual(
      rows.map((r) => [r.actor, r.detail.reason, r.detail.message]),
      [
        ['unverified', 'missing_signature', 'attempt 0'],
        ['unverified', 'bad_signature', 'attempt 1'],
      ],
      'one row per reason, not 1000',
    );
    assert.equal(logs.length, 2, 'and one log line per reason');
    assert.deepEqual(Object.fromEntries(refusals.unverifiedCounts), { missing_signature: 500, bad_signature: 500 }, 'every one counted in memory');
    await refusals.flush();
    assert.deepEqual(
      rows.slice(2).map((r) => [r.detail.reason, r.detail.counted, r.detail.message]),
      [
        ['missing_signature', 499, 'attempt 998'],
        ['bad_signature', 499, 'attempt 999'],
      ],
      'the rest written as one row per reason, with the last one',
    );
    await refusals.flush();
    assert.equal(rows.length, 4, 'nothing more to write');
  });

  it('writes each refusal of a signed request (another workspace): Slack sent those', async () => {
    const { rows, refusals } = recording();
    for (let i = 0; i < 3; i++) await refusals.refuse({ reason: 'other_workspace', message: 'from T0OTHER', user: 'U0MALLORY', team: 'T0OTHER' });
    assert.deepEqual(
      rows.map((r) => [r.actor, r.detail.reason]),
      Array.from({ length: 3 }, () => ['U0MALLORY', 'other_workspace']),
    );
  });
});

describe('Slack payloads of signed requests', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const click = (action: Record<string, unknown>) =>
    form({ payload: JSON.stringify({ type: 'block_actions', team: { id: 'T0VIGIL01' }, user: { id: 'U0ALICE' }, actions: [action] }) });

  it("accepts what Vigil's messages send and names the field of anything else", () => {
    const value = JSON.stringify({ incidentId: 'incident-1' });
    assert.deepEqual(checkSlackPayload(FORM_CONTENT_TYPE, click({ action_id: SLACK_ACTIONS.approve, value })), { ok: true });
    assert.deepEqual(checkSlackPayload('application/json', '{"type": "url_verification", "challenge": "x"}'), { ok: true });
    const refused = (body: string, contentType = FORM_CONTENT_TYPE) => {
      const r = checkSlackPayload(contentType, body);
      return r.ok ? 'accepted' : r.error;
    };
    assert.equal(
      refused(click({ action_id: 'toString', value })),
      `payload.actions.0.action_id: "toString" is not an action of Vigil's messages (${Object.values(SLACK_ACTIONS).join(', ')})`,
    );
    assert.equal(refused(click({ action_id: SLACK_ACTIONS.reject, value: '{"incidentId": ""}' })), 'payload.actions.0.value.incidentId: must not be empty');
    assert.equal(
      refused(form({ command: '/vigil', text: 'list', team_id: 'T0VIGIL01', user_id: 'U0ALICE', channel_id: 'C1', response_url: 'gopher://x' })),
      'form.response_url: must be an http(s) URL',
    );
    assert.equal(refused('"just a string"', 'application/json'), 'body: must be a JSON object');
  });
});

describe('/vigil parser', () => {
  it('parses each command and explains bad input', () => {
    assert.deepEqual(parseSlashCommand('  list '), { kind: 'list' }, 'list');
    assert.deepEqual(parseSlashCommand('SHOW incident-a'), { kind: 'show', id: 'incident-a' }, 'show, any case');
    assert.deepEqual(parseSlashCommand('approve incident-a'), { kind: 'approve', id: 'incident-a' }, 'approve');
    assert.deepEqual(
      parseSlashCommand('reject incident-a  not now,\nthanks '),
      { kind: 'reject', id: 'incident-a', reason: 'not now,\nthanks' },
      'reject keeps the reason',
    );
    assert.deepEqual(
      parseSlashCommand('declare credit-risk latency latency_p99_ms=900 ok=true'),
      { kind: 'declare', model: 'credit-risk', signal: 'latency', evidence: { latency_p99_ms: 900, ok: true } },
      'declare',
    );
    assert.deepEqual(parseSlashCommand(''), { kind: 'help' }, 'empty is help');
    assert.deepEqual(parseSlashCommand('help'), { kind: 'help' }, 'help');
    assert.match((parseSlashCommand('reject incident-a') as { problem: string }).problem, /a rejection needs a reason/, 'reject without a reason');
    assert.match((parseSlashCommand('approve') as { problem: string }).problem, /takes exactly one incident id/, 'approve without id');
    assert.match((parseSlashCommand('declare credit-risk') as { problem: string }).problem, /needs a model and a signal/, 'declare without signal');
    assert.match((parseSlashCommand('declare credit-risk latency =3') as { problem: string }).problem, /^evidence "=3"/, 'bad evidence');
    assert.match((parseSlashCommand('deploy now') as { problem: string }).problem, /unknown command "deploy"/, 'unknown');
  });
});
