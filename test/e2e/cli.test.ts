/**
 * The `vigil` command as a user runs it: output shapes, exit codes (0 ok, 1 runtime failure naming
 * what failed, 2 bad input with nothing started), and `vigil up` against external services.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../adapters/net/freePort.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));

describe('vigil CLI', () => {
  let env: VigilTestEnv;
  let configFile: string;
  // Asynchronous on purpose: this process also hosts the worker, which a blocking spawn would starve.
  const runWith = (args: string[], extraEnv: Record<string, string>) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(VIGIL, args, { env: { ...process.env, ...extraEnv }, encoding: 'utf8' }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, out: stdout.trim(), err: stderr.trim() });
      });
    });
  const run = (args: string[], extraEnv: Record<string, string> = {}) =>
    runWith(['--config', configFile, ...args], { DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir, ...extraEnv });
  const incidentCount = async () => (await env.services.pool.query('SELECT count(*)::int AS n FROM incidents')).rows[0].n as number;

  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
    configFile = path.join(env.stateDir, 'vigil.config.json');
    fs.writeFileSync(configFile, JSON.stringify(env.config));
  });
  after(async () => env?.close());

  it('opens, shows, approves and lists an incident', async () => {
    await env.simulator.writeBatch({ n: 400, drift: 1 });
    const opened = await run(['incident', 'open', '--model', TEST_MODEL, '--signal', 'data_drift', '--evidence', 'psi_max=0.44', 'note=from-cli', '--json']);
    assert.equal(opened.code, 0, opened.err);
    const { id } = JSON.parse(opened.out);
    assert.match(id, /^incident-credit-risk-data-drift-/);

    await waitFor(
      async () => JSON.parse((await run(['incident', 'show', id, '--json'])).out),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    const shown = JSON.parse((await run(['incident', 'show', id, '--json'])).out);
    for (const field of ['id', 'model', 'phase', 'severity', 'failureMode', 'recommendedAction', 'status'])
      assert.ok(field in shown, `show --json has ${field}`);
    assert.equal(shown.state.evidence[0].values.note, 'from-cli');
    assert.match((await run(['incident', 'show', id])).out, /recommended: +retrain/);

    const refused = await run(['approve', id, '--as', 'mallory']);
    assert.equal(refused.code, 2, refused.err);
    assert.match(refused.err, /mallory is not an approver/);

    const rejectWithoutReason = await run(['reject', id, '--as', 'alice']);
    assert.equal(rejectWithoutReason.code, 2);
    assert.match(rejectWithoutReason.err, /--reason/);

    const approved = await run(['approve', id, '--as', 'alice', '--reason', 'looks right']);
    assert.equal(approved.code, 0, approved.err);
    assert.match(approved.out, /approved by alice/);

    const listed = JSON.parse((await run(['incident', 'list', '--json'])).out);
    assert.ok(listed.some((i: { id: string }) => i.id === id));
    const human = (await run(['incident', 'list'])).out;
    assert.match(human, /^ID +STATUS +PHASE/);
  });

  it('runbook dry-run prints the plan of a past incident and calls nothing', async () => {
    const [past] = await env.services.incidents.list({ modelId: TEST_MODEL });
    const incidents = await incidentCount();
    const plan = await run(['runbook', 'dry-run', 'standard', '--incident', past!.id, '--reject']);
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /^runbook standard on incident-.* \(dry run: nothing called, time skipped\)$/m);
    assert.match(plan.out, / 1\. \+0s +gather-evidence: gather /);
    assert.match(plan.out, /approval: alice rejects \(dry run\)/);
    assert.match(plan.out, /^outcome: rejected$/m);
    const json = JSON.parse((await run(['runbook', 'dry-run', 'standard', '--incident', past!.id, '--reject', '--json'])).out);
    assert.equal(json.outcome, 'rejected');
    assert.equal(await incidentCount(), incidents, 'no incident started');
    const badParams = await run(['runbook', 'dry-run', 'standard', '--incident', past!.id, '--params', '{nope']);
    assert.equal(badParams.code, 2);
    assert.match(badParams.err, /--params: not JSON/);
  });

  it('exits 2 and starts nothing on bad input', async () => {
    const before = await incidentCount();
    const cases: [string[], RegExp][] = [
      [['incident', 'open', '--model', 'nope', '--signal', 'data_drift'], /unknown model "nope"/],
      [['incident', 'open', '--model', TEST_MODEL, '--signal', 'data_drift', '--evidence', 'novalue'], /--evidence "novalue": expected key=value/],
      [['incident', 'open', '--model', TEST_MODEL, '--signal', 'bogus'], /argument 'bogus' is invalid/],
      [['incident', 'open', '--signal', 'data_drift'], /required option '--model <id>'/],
      [['incident', 'show', 'incident-missing'], /unknown incident "incident-missing"/],
      [['approve', 'incident-missing'], /unknown incident "incident-missing"/],
      [['review', 'show', 'incident-missing'], /unknown incident "incident-missing"/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.err}`);
      assert.match(r.err, message, args.join(' '));
    }
    assert.equal(await incidentCount(), before);
  });

  it('exits 2 naming the field for an invalid config file', async () => {
    const bad = path.join(env.stateDir, 'bad.config.json');
    fs.writeFileSync(bad, JSON.stringify({ models: [{ id: 'Bad Id', displayName: 'x', tier: 'gold', approvers: [] }] }));
    const r = await runWith(['--config', bad, 'incident', 'list'], { DATABASE_URL: env.databaseUrl });
    assert.equal(r.code, 2);
    assert.match(r.err, /models\.0\.id: must be lowercase/);
    assert.match(r.err, /models\.0\.tier/);
    assert.match(r.err, /models\.0\.approvers: at least one approver is required/);
  });

  it('exits 1 naming the Temporal address it cannot reach', async () => {
    const r = await run(['incident', 'list'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('prints the config JSON Schema', async () => {
    const r = await run(['config', 'schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.out);
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties.models.items.properties.approvers);
  });

  it('vigil up runs the worker, the monitor and the example against external services, and stops cleanly on SIGINT', async () => {
    const stateDir = fs.mkdtempSync(path.join(env.stateDir, 'up-'));
    const upConfig = path.join(stateDir, 'vigil.config.json');
    fs.writeFileSync(upConfig, JSON.stringify({ ...env.config, taskQueue: `${env.taskQueue}-up` }));
    const child = spawn(VIGIL, ['--config', upConfig, '--state-dir', stateDir, 'up'], {
      env: { ...process.env, DATABASE_URL: env.databaseUrl, VIGIL_HTTP_PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        async () => output,
        (o) => o.includes('Vigil is up'),
        'vigil up',
        60_000,
      );
      assert.match(output, /from environment; no dev server started/);
      assert.ok(fs.existsSync(path.join(stateDir, 'stack.json')));
      const monitor = await env.services.temporal.schedule.getHandle(`vigil-monitor-${TEST_MODEL}`).describe();
      assert.equal(monitor.state.paused, false, 'the monitor schedule is enabled');
      assert.match(output, /monitor for credit-risk: every 20s \(schedule vigil-monitor-credit-risk, created\)/);
      // The example traffic flows into the prediction log.
      await waitFor(
        async () => (await env.services.pool.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n,
        (n) => n > 400,
        'simulated traffic',
      );
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, output);
    assert.match(output, /stopped/);
    assert.equal(fs.existsSync(path.join(stateDir, 'stack.json')), false);
    await env.services.temporal.schedule.getHandle(`vigil-monitor-${TEST_MODEL}`).delete();
  });
});
