/**
 * Decisions and identity, on the real servers: the decision API (`POST /v1/incidents/{id}/decisions`)
 * with per-person tokens and OIDC, where the gateway — not the caller — says who decides (`by`, `via:
 * api`); quorum counted in people (a Slack id and an API name of one person are one vote); groups read
 * when approval is requested; `$USER` as the local operator, never whoever opened the incident; the
 * CLI through the API (`VIGIL_API_URL`), and `vigil token create|list|revoke` storing digests only.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAlertReceiver } from '../../adapters/alertmanager/alertReceiver.js';
import { decisionApiFromConfig } from '../../adapters/http/decisionRoutes.js';
import type { RunningSlackApp } from '../../adapters/slack/slackApp.js';
import { createApiTokenStore } from '../../adapters/postgres/apiTokenStore.js';
import { parseConfig } from '../../domain/config.js';
import type { DecideResult, IncidentState, SignalKind } from '../../domain/incident.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidcIssuer.js';
import { untilIncident } from '../support/driftIncident.js';
import { startSlackApiRecorder, type SlackApiRecorder } from '../support/slackApiRecorder.js';
import { sendSlackRequest, slashCommandRequest, startResponseUrlCapture, startTestSlackApp, type ResponseUrlCapture } from '../support/slackRequests.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));
const SECRET = 'vigil-identity-signing-secret-0f1e2d3c';
const BOT_TOKEN = 'xoxb-4444-5555-VigilIdentityTestBot';
const AUDIENCE = 'vigil-decisions';

/** `monitor` changes nothing, so an approved incident closes in a few steps; one approval decides. */
const FAST = {
  approval: { timeout: '5m', escalationTimeout: '0s', quorum: { SEV1: 1, SEV2: 1, SEV3: 1, SEV4: 1 } },
  actions: ['monitor'],
  safeDefault: 'monitor',
  validation: { window: '1s', maxExtraWindows: 0, minSamples: 100 },
};
/** Data drift needs two people, whatever the severity. */
const TWO_PEOPLE = { ...FAST, approval: { ...FAST.approval, quorum: { SEV1: 2, SEV2: 2, SEV3: 2, SEV4: 2 } } };

const PEOPLE = [
  { id: 'alice', slack: 'U0ALICE', email: 'alice@example.com', groups: ['ml-leads'] },
  { id: 'bob', slack: 'U0BOB' },
  { id: 'carol' },
  { id: 'dave' },
];

describe('decisions and identity', () => {
  let env: VigilTestEnv;
  let issuer: OidcIssuer;
  let recorder: SlackApiRecorder;
  let capture: ResponseUrlCapture;
  let slack: RunningSlackApp;
  const slackLogs: string[] = [];
  const tokens: Record<string, string> = {};
  /** The incident opened before the worker ran, whose group changed before its approval was requested. */
  let groupIncident: string;
  const previousUser = process.env.VIGIL_USER;

  before(async () => {
    issuer = await startOidcIssuer({ audience: AUDIENCE });
    // The env's worker runs as olivia: `$USER` is her.
    process.env.VIGIL_USER = 'olivia';
    env = await createVigilTestEnv({
      config: (taskQueue) =>
        parseConfig({
          taskQueue,
          people: PEOPLE,
          auth: { oidc: { issuer: issuer.issuer, audience: AUDIENCE, userClaim: 'email' } },
          models: [
            {
              id: TEST_MODEL,
              displayName: 'Credit risk (identity)',
              tier: 'high',
              approvers: ['group:ml-leads', 'bob', '$USER'],
              example: true,
              monitor: { window: 500, minLabelled: 100 },
              runbooks: { data_drift: TWO_PEOPLE, concept_drift: FAST, data_quality: FAST, infrastructure: FAST, feedback_loop: FAST },
            },
          ],
        }),
    });
    await env.simulator.writeBatch({ n: 600, drift: 1 });
    // Opened with no worker running: nothing about its approval is decided yet. Carol joins ml-leads after.
    groupIncident = await open('schema_break', { missing_columns: 'income' });
    env.config.people.find((p) => p.id === 'carol')!.groups.push('ml-leads');
    await env.startWorker();

    const store = createApiTokenStore(env.services.pool);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'mallory']) tokens[user] = (await store.create(user)).token;
    recorder = await startSlackApiRecorder();
    capture = await startResponseUrlCapture();
    slack = await startTestSlackApp({ env, recorderUrl: recorder.url, botToken: BOT_TOKEN, signingSecret: SECRET, logs: slackLogs });
  });
  after(async () => {
    if (previousUser === undefined) delete process.env.VIGIL_USER;
    else process.env.VIGIL_USER = previousUser;
    await slack?.stop();
    await capture?.stop();
    await recorder?.stop();
    await env?.close();
    await issuer?.stop();
  });

  async function open(signal: SignalKind, evidence: Record<string, string | number>, openedBy?: string): Promise<string> {
    const user = process.env.VIGIL_USER;
    if (openedBy) process.env.VIGIL_USER = openedBy;
    try {
      return (await env.services.incidents.open({ modelId: TEST_MODEL, signal, source: 'test', evidence })).id;
    } finally {
      process.env.VIGIL_USER = user;
    }
  }
  const awaiting = (id: string) => untilIncident(env, id, (s) => s.phase === 'awaiting_approval', `${id} awaiting_approval`, 90_000);
  /** Awaiting approval with its groups resolved: the phase is entered before the approval request, which resolves them, answers. */
  const awaitingWith = (id: string, member: string) =>
    untilIncident(
      env,
      id,
      (s) => s.phase === 'awaiting_approval' && (s.state as IncidentState).approval!.approvers.includes(member),
      `${id} awaiting approval, ${member} among the approvers`,
      90_000,
    );
  const stateOf = async (id: string) => (await env.services.incidents.show(id)).state as IncidentState;

  /** POSTs a decision; `auth` is the whole Authorization header (undefined: none). */
  async function post(id: string, body: unknown, auth: string | undefined, raw?: string) {
    const res = await fetch(`${env.ingest.baseUrl}/v1/incidents/${encodeURIComponent(id)}/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth !== undefined ? { authorization: auth } : {}) },
      body: raw ?? JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as DecideResult & { error?: string } };
  }
  const as = (user: string) => `Bearer ${tokens[user]}`;

  const cli = (args: string[], extraEnv: Record<string, string | undefined>) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, VIGIL_API_URL: undefined, VIGIL_API_TOKEN: undefined, DATABASE_URL: undefined, ...extraEnv };
      for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
      // Asynchronous: this process hosts the worker and the API, which a blocking spawn would starve.
      execFile(VIGIL, args, { env: childEnv, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: stdout.trim(), err: stderr.trim() });
      });
    });

  describe('the decision API', () => {
    let id: string;
    before(async () => {
      // Opened by mallory: under `$USER` she must not become an approver.
      id = await open('accuracy_drop', { accuracy: 0.7, accuracy_baseline: 0.8, psi_max: 0.03 }, 'mallory');
      await awaitingWith(id, 'alice');
    });

    it('401 without a token, with a malformed, unknown or revoked one; nothing is decided', async () => {
      const missing = await post(id, { verdict: 'approve' }, undefined);
      assert.equal(missing.status, 401);
      assert.match(missing.body.error!, /missing Authorization header/);
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="vigil"');
      assert.equal((await post(id, { verdict: 'approve' }, `Basic ${Buffer.from('alice:pw').toString('base64')}`)).status, 401);
      assert.equal((await post(id, { verdict: 'approve' }, `Bearer vigil_${crypto.randomBytes(32).toString('base64url')}`)).status, 401);
      assert.equal((await post(id, { verdict: 'approve' }, 'Bearer ingest-or-alert-token-is-not-a-person')).status, 401);
      const store = createApiTokenStore(env.services.pool);
      const revoked = await store.create('alice');
      assert.equal(await store.revoke(revoked.info.id), true);
      const r = await post(id, { verdict: 'approve' }, `Bearer ${revoked.token}`);
      assert.equal(r.status, 401);
      assert.match(r.body.error!, /unknown or revoked/);
      assert.equal((await stateOf(id)).approval!.votes.length, 0);
    });

    it('400 naming the field for a bad body', async () => {
      const cases: [unknown, RegExp][] = [
        [{}, /verdict/],
        [{ verdict: 'maybe' }, /verdict/],
        [{ verdict: 'approve', reason: 42 }, /reason/],
        [{ verdict: 'approve', reason: 'x'.repeat(2001) }, /reason/],
        [[], /\(body\)/],
      ];
      for (const [body, field] of cases) {
        const r = await post(id, body, as('alice'));
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.error!, field);
      }
      const notJson = await post(id, undefined, as('alice'), '{"verdict": ');
      assert.equal(notJson.status, 400);
      assert.match(notJson.body.error!, /invalid JSON body: line 1/);
      const noReason = await post(id, { verdict: 'reject' }, as('alice'));
      assert.equal(noReason.status, 400);
      assert.match(noReason.body.error!, /a rejection needs a reason/);
    });

    it("403 for a person who is not an approver, with the validator's message; whoever opened the incident is not one by $USER", async () => {
      const dave = await post(id, { verdict: 'approve' }, as('dave'));
      assert.equal(dave.status, 403);
      assert.match(dave.body.error!, /dave is not an approver for model credit-risk/);
      const mallory = await post(id, { verdict: 'approve' }, as('mallory'));
      assert.equal(mallory.status, 403, 'mallory opened the incident; $USER is the worker’s operator, olivia');
      assert.match(mallory.body.error!, /mallory is not an approver .*olivia/);
      const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused' ORDER BY id`, [
        id,
      ]);
      assert.deepEqual(
        audit.rows.filter((r) => r.detail.via === 'api').map((r) => r.actor),
        ['alice', 'dave', 'mallory'],
        'refusals by the incident are audited with the gateway’s person: the reject without reason, dave, mallory',
      );
    });

    it('the gateway sets by, person and via: a body naming someone else or another channel is ignored', async () => {
      const r = await post(id, { verdict: 'approve', reason: 'accuracy is down', by: 'bob', via: 'slack', person: 'bob' }, as('alice'));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.outcome, 'approved');
      assert.deepEqual(
        r.body.votes.map((v) => ({ by: v.by, via: v.via, person: v.person, reason: v.reason })),
        [{ by: 'alice', via: 'api', person: 'alice', reason: 'accuracy is down' }],
      );
      assert.deepEqual((await stateOf(id)).decision?.by, ['alice']);
    });

    it('409 when no approval is pending; 404 for an unknown incident', async () => {
      const again = await post(id, { verdict: 'approve' }, as('bob'));
      assert.equal(again.status, 409);
      assert.match(again.body.error!, /has no pending approval/);
      const unknown = await post('incident-missing', { verdict: 'approve' }, as('bob'));
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error!, /unknown incident "incident-missing"/);
    });
  });

  it('quorum counts people: alice in Slack and alice on the API are one vote; bob makes two', async () => {
    const id = await open('data_drift', { psi_max: 0.41 });
    await awaitingWith(id, 'alice');
    const responseUrl = capture.next();
    const sent = await sendSlackRequest(
      slack.url!,
      slashCommandRequest({
        signingSecret: SECRET,
        teamId: recorder.teamId,
        user: { id: 'U0ALICE' },
        text: `approve ${id}`,
        channel: 'C0IDENTITY',
        responseUrl,
      }),
    );
    assert.equal(sent.status, 200);
    assert.match(String((await capture.waitFor(responseUrl)).body.text), /1 of 2 approvals so far/);

    const twice = await post(id, { verdict: 'approve' }, as('alice'));
    assert.equal(twice.status, 409);
    assert.match(twice.body.error!, new RegExp(`alice has already voted on ${id} as U0ALICE`));
    // The CLI's local mode is the same person too.
    await assert.rejects(env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', via: 'cli' }), /alice has already voted/);
    assert.equal((await stateOf(id)).decision, undefined, 'one person is not a quorum of two');

    const bob = await post(id, { verdict: 'approve', reason: 'drift confirmed' }, as('bob'));
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    assert.equal(bob.body.outcome, 'approved');
    assert.deepEqual(
      bob.body.votes.map((v) => [v.by, v.via, v.person]),
      [
        ['U0ALICE', 'slack', 'alice'],
        ['bob', 'api', 'bob'],
      ],
    );
    assert.deepEqual((await stateOf(id)).decision?.by, ['U0ALICE', 'bob']);
  });

  it('groups are read when approval is requested: a member added after the incident opened may approve', async () => {
    const requested = await awaitingWith(groupIncident, 'carol').catch(() => undefined);
    const approvers = (await stateOf(groupIncident)).approval!.approvers;
    assert.ok(requested, `carol, added to ml-leads after the incident opened, may decide: ${approvers.join(', ')}`);
    const r = await post(groupIncident, { verdict: 'approve' }, as('carol'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outcome, 'approved');
  });

  it('an OIDC token from the issuer decides as the person its claim names; a forged one is 401', async () => {
    const id = await open('latency', { latency_p99_ms: 900 });
    await awaitingWith(id, 'alice');
    const forged = await issuer.sign({ sub: 'x', email: 'alice@example.com' }, { key: await issuer.strangerKey() });
    assert.equal((await post(id, { verdict: 'approve' }, `Bearer ${forged}`)).status, 401);
    const expired = await issuer.sign({ sub: 'x', email: 'alice@example.com' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    assert.equal((await post(id, { verdict: 'approve' }, `Bearer ${expired}`)).status, 401);
    const r = await post(id, { verdict: 'approve', by: 'dave' }, `Bearer ${await issuer.sign({ sub: 'x', email: 'alice@example.com' })}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.votes.map((v) => [v.by, v.via]),
      [['alice', 'api']],
    );
  });

  it('the CLI decides through the API with VIGIL_API_URL (the token says who; --as refused), and says when it decides directly', async () => {
    const id = await open('label_anomaly', { label_positive_rate_shift: 0.3 });
    await awaiting(id);
    // No database, no Temporal: the API is all the CLI needs in this mode.
    const api = { VIGIL_API_URL: env.ingest.baseUrl, VIGIL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-')) };
    const withAs = await cli(['approve', id, '--as', 'bob'], { ...api, VIGIL_API_TOKEN: tokens.dave });
    assert.equal(withAs.code, 2, withAs.err);
    assert.match(withAs.err, /--as cannot be used with VIGIL_API_URL/);
    const noToken = await cli(['approve', id], api);
    assert.equal(noToken.code, 2);
    assert.match(noToken.err, /VIGIL_API_TOKEN is not set/);
    const dave = await cli(['approve', id], { ...api, VIGIL_API_TOKEN: tokens.dave });
    assert.equal(dave.code, 2);
    assert.match(dave.err, /dave is not an approver/);
    const bad = await cli(['approve', id], { ...api, VIGIL_API_TOKEN: 'vigil_not-a-token' });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /VIGIL_API_TOKEN was refused/);
    assert.ok(!bad.err.includes('vigil_not-a-token'), 'the token is not echoed');
    const bob = await cli(['approve', id, '--reason', 'labels confirmed'], { ...api, VIGIL_API_TOKEN: tokens.bob });
    assert.equal(bob.code, 0, bob.err);
    assert.match(bob.out, new RegExp(`${id}: approved by bob`));
    assert.doesNotMatch(bob.err, /deciding directly/);
    assert.deepEqual(
      (await stateOf(id)).approval!.votes.map((v) => [v.by, v.via]),
      [['bob', 'api']],
    );

    const local = await cli(['reject', 'incident-missing', '--as', 'bob', '--reason', 'x'], { DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir });
    assert.equal(local.code, 2, local.err);
    assert.match(local.err, /deciding directly through Temporal as bob: local mode; set VIGIL_API_URL in production/);
    assert.match(local.err, /unknown incident "incident-missing"/);
  });

  it('runbook signals go as the token’s person (a body’s `by` ignored); the CLI sends them through the API and refuses --as there', async () => {
    const id = await open('data_drift', { psi_max: 0.5 });
    await awaiting(id);
    const send = async (body: unknown, auth?: string) => {
      const res = await fetch(`${env.ingest.baseUrl}/v1/incidents/${encodeURIComponent(id)}/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { by?: string; error?: string } };
    };
    const signalActors = async () =>
      (
        await env.services.pool.query<{ actor: string }>(`SELECT actor FROM audit_events WHERE incident_id = $1 AND kind = 'runbook_signal' ORDER BY id`, [id])
      ).rows.map((r) => r.actor);

    assert.equal((await send({ name: 'upstream_fixed' })).status, 401);
    const bad = await send({ name: 'no spaces', data: { a: 'b' } }, as('dave'));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!, /name: must be letters, digits/);
    const sent = await send({ name: 'upstream_fixed', by: 'mallory', data: { change: 'PR-1' } }, as('dave'));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.equal(sent.body.by, 'dave');
    assert.deepEqual(await signalActors(), ['dave'], 'recorded as the token’s person, not the body’s');

    const api = { VIGIL_API_URL: env.ingest.baseUrl, VIGIL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-')) };
    const withAs = await cli(['incident', 'signal', id, 'upstream_fixed', '--as', 'mallory'], { ...api, VIGIL_API_TOKEN: tokens.bob });
    assert.equal(withAs.code, 2, withAs.err);
    assert.match(withAs.err, /--as cannot be used with VIGIL_API_URL/);
    const bob = await cli(['incident', 'signal', id, 'upstream_fixed', '--data', 'change=PR-2'], { ...api, VIGIL_API_TOKEN: tokens.bob });
    assert.equal(bob.code, 0, bob.err);
    assert.match(bob.out, new RegExp(`${id}: signal upstream_fixed sent as bob`));
    assert.deepEqual(await signalActors(), ['dave', 'bob']);
    const missing = await cli(['incident', 'signal', 'incident-missing', 'upstream_fixed'], { ...api, VIGIL_API_TOKEN: tokens.bob });
    assert.equal(missing.code, 2, missing.err);
    assert.match(missing.err, /unknown incident "incident-missing"/);
  });

  it('`vigil up` serves it: the alert receiver registers and documents the route', async () => {
    const app = createAlertReceiver({
      incidents: env.services.incidents,
      config: env.config,
      token: crypto.randomBytes(24).toString('hex'),
      log: () => undefined,
      decisions: decisionApiFromConfig({ config: env.config, pool: env.services.pool, incidents: env.services.incidents, log: () => undefined }),
    });
    try {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.ok(doc.paths['/v1/incidents/{id}/decisions'].post, 'documented');
      assert.deepEqual(doc.components.schemas.Decision.required, ['verdict']);
      const refused = await app.inject({ method: 'POST', url: '/v1/incidents/incident-missing/decisions', payload: { verdict: 'approve' } });
      assert.equal(refused.statusCode, 401);
      const known = await app.inject({
        method: 'POST',
        url: '/v1/incidents/incident-missing/decisions',
        headers: { authorization: as('bob') },
        payload: { verdict: 'approve' },
      });
      assert.equal(known.statusCode, 404, known.body);
    } finally {
      await app.close();
    }
  });

  it('vigil token create|list|revoke: shown once, stored as a digest, revoked tokens refused', async () => {
    const db = { DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir };
    const created = await cli(['token', 'create', '--user', 'erin'], db);
    assert.equal(created.code, 0, created.err);
    const token = created.out;
    assert.match(token, /^vigil_[A-Za-z0-9_-]{43}$/);
    const tokenId = /token (tok_[0-9a-f]+) for erin created/.exec(created.err)?.[1];
    assert.ok(tokenId, created.err);
    assert.ok(!created.err.includes(token), 'the token is printed on stdout only');

    const rows = await env.services.pool.query('SELECT * FROM api_tokens');
    const stored = JSON.stringify(rows.rows);
    assert.ok(!stored.includes(token) && !stored.includes(token.slice('vigil_'.length)), 'no plaintext token in the table');
    const erin = rows.rows.find((r) => r.id === tokenId);
    assert.deepEqual(erin.token_sha256, crypto.createHash('sha256').update(token).digest());

    // Valid: erin passes authentication (no such incident, 404, not 401).
    assert.equal((await post('incident-missing', { verdict: 'approve' }, `Bearer ${token}`)).status, 404);
    const listed = await cli(['token', 'list', '--json'], db);
    assert.equal(listed.code, 0, listed.err);
    const list = JSON.parse(listed.out) as { id: string; user: string; lastUsedAt?: string; revokedAt?: string }[];
    const entry = list.find((t) => t.id === tokenId);
    assert.equal(entry?.user, 'erin');
    assert.ok(entry?.lastUsedAt, 'last use recorded');
    assert.ok(!listed.out.includes(token));

    const revoked = await cli(['token', 'revoke', tokenId], db);
    assert.equal(revoked.code, 0, revoked.err);
    assert.equal((await post('incident-missing', { verdict: 'approve' }, `Bearer ${token}`)).status, 401);
    assert.equal((await cli(['token', 'revoke', tokenId], db)).code, 2, 'revoked already');
    assert.ok((JSON.parse((await cli(['token', 'list', '--json'], db)).out) as { id: string; revokedAt?: string }[]).find((t) => t.id === tokenId)?.revokedAt);
    const badUser = await cli(['token', 'create', '--user', 'not a name'], db);
    assert.equal(badUser.code, 2);
    assert.match(badUser.err, /--user "not a name": must be letters, digits/);
  });
});
