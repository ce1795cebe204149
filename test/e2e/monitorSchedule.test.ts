/**
 * Scheduled model monitors on a real Temporal server: a schedule per model starts a monitor run every
 * interval; runs open and feed incidents from real prediction logs; `disable` pauses the schedule,
 * `enable` resumes it; `run` runs once now; bad input is refused and starts nothing; the CLI lists
 * the schedules.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { createMonitorService, monitorScheduleId, type MonitorService } from '../../client/monitorService.js';
import { UserInputError } from '../../domain/errors.js';
import { stateQuery } from '../../contracts/incidentWorkflow.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduled model monitors', () => {
  let env: VigilTestEnv;
  let monitors: MonitorService;
  const schedule = () => env.services.temporal.schedule.getHandle(monitorScheduleId(TEST_MODEL));
  const deleteSchedule = async () => {
    try {
      await schedule().delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  };
  const monitorInfo = async () => (await monitors.list()).find((m) => m.modelId === TEST_MODEL)!;
  /** Pauses the schedule and waits out a run in flight, so cleanup does not race a run. */
  const quiesce = async () => {
    await monitors.disable(TEST_MODEL);
    await waitFor(monitorInfo, (m) => m.runningActions === 0 && (m.lastRun?.status ?? 'completed') !== 'running', 'no monitor run in flight');
  };
  const closeAll = async () => {
    await env.services.pool.query('DELETE FROM predictions');
    for (const i of await env.services.incidents.list({ open: true })) {
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.phase === 'awaiting_approval',
        'awaiting_approval',
      );
      await env.services.incidents.decide(i.id, { verdict: 'reject', by: 'alice', reason: 'test cleanup' });
      await waitFor(
        () => env.services.incidents.show(i.id),
        (s) => s.status === 'closed',
        'closed',
      );
    }
  };

  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
    monitors = createMonitorService({ temporal: env.services.temporal, config: env.config });
    // The Temporal server is shared by the run's test files: start from no schedule for the model.
    await deleteSchedule();
  });
  after(async () => {
    if (env) {
      await deleteSchedule();
      await env.close();
    }
  });

  it('refuses unknown models and bad intervals, starting nothing', async () => {
    for (const attempt of [() => monitors.enable('nope'), () => monitors.run('nope'), () => monitors.disable('nope')]) {
      await assert.rejects(
        attempt(),
        (err: Error) => err instanceof UserInputError && /unknown model "nope" \(configured: credit-risk\)/.test(err.message),
        'unknown model refused',
      );
    }
    for (const [every, reason] of [
      ['soon', /--every "soon": must be a duration/],
      ['5', /--every "5": must be a duration/],
      ['500ms', /--every "500ms": must be at least 1s/],
    ] as const) {
      await assert.rejects(
        monitors.enable(TEST_MODEL, every),
        (err: Error) => err instanceof UserInputError && reason.test(err.message),
        `--every ${every} refused`,
      );
    }
    await assert.rejects(monitors.disable(TEST_MODEL), /has no monitor schedule/, 'disable without a schedule says so');
    const listed = await monitorInfo();
    assert.equal(listed.state, 'absent', 'no schedule was created');
  });

  it('enable creates an enabled schedule with a next run', async () => {
    const r = await monitors.enable(TEST_MODEL, '1s');
    assert.equal(r.created, true, 'created');
    const listed = await monitorInfo();
    assert.equal(listed.state, 'enabled', 'enabled');
    assert.equal(listed.every, '1s', 'interval');
    assert.ok(listed.nextRunAt && !Number.isNaN(Date.parse(listed.nextRunAt)), `next run: ${listed.nextRunAt}`);
    const d = await schedule().describe();
    assert.equal(d.policies.overlap, 'SKIP', 'overlapping runs are skipped');
    assert.equal(d.action.taskQueue, env.taskQueue, 'runs on the config task queue');
    // With no traffic a run finds nothing; the list shows its status and outcome.
    const ran = await waitFor(monitorInfo, (m) => m.lastRun?.status === 'completed', 'a completed scheduled run');
    assert.match(ran.lastRun!.workflowId, /^monitor-credit-risk-/, 'scheduled run workflow id');
    assert.deepEqual(ran.lastRun!.outcome?.breaches, [], 'nothing found without traffic');
  });

  it('a scheduled run opens a data-drift incident on drifted traffic and later runs feed it', async () => {
    await env.simulator.writeBatch({ n: 500, drift: 1 });
    const [opened] = await waitFor(
      () => env.services.incidents.list({ modelId: TEST_MODEL }),
      (l) => l.length > 0,
      'an incident from a scheduled run',
    );
    assert.equal(opened!.signal, 'data_drift', 'drift signal');
    // The workflow's own state: the database copy is only written on phase changes. The last run
    // rides along so a timeout shows what the runs found.
    await waitFor(
      async () => ({
        evidence: (await env.services.temporal.workflow.getHandle(opened!.id).query(stateQuery)).evidence.length,
        lastRun: (await monitorInfo()).lastRun,
      }),
      (r) => r.evidence >= 3,
      'evidence from later runs',
    );
    const all = await env.services.incidents.list({ modelId: TEST_MODEL });
    assert.deepEqual(
      all.map((i) => i.id),
      [opened!.id],
      'later runs fed the same incident',
    );
    await quiesce();
    await closeAll();
    await monitors.enable(TEST_MODEL);
  });

  it('a scheduled run opens a data-quality incident when an input column disappears', async () => {
    await env.simulator.writeBatch({ n: 500, drift: 0 });
    // The upstream stops sending `income`.
    await env.services.pool.query(`UPDATE predictions SET features = features - 'income'`);
    const incident = await waitFor(
      async () => (await env.services.incidents.list({ open: true, modelId: TEST_MODEL }))[0],
      (i) => i?.failureMode === 'data_quality',
      'a data-quality incident from a scheduled run',
    );
    assert.equal(incident!.signal, 'schema_break', 'schema break signal');
    await quiesce();
    await closeAll();
  });

  it('disable pauses the schedule: no new runs start until enable resumes it', async () => {
    const disabled = await monitors.disable(TEST_MODEL);
    assert.equal(disabled.state, 'paused', 'paused');
    assert.equal(disabled.nextRunAt, undefined, 'no next run while paused');
    assert.match(disabled.note ?? '', /vigil monitor enable credit-risk/, 'the note says how to resume');
    const taken = (await schedule().describe()).info.numActionsTaken;
    await sleep(3000);
    assert.equal((await schedule().describe()).info.numActionsTaken, taken, 'no runs while paused');
    assert.equal((await monitorInfo()).state, 'paused', 'still paused');

    // A bad interval changes nothing.
    await assert.rejects(monitors.enable(TEST_MODEL, '0s'), /--every "0s": must be at least 1s/, 'bad --every refused');
    assert.equal((await monitorInfo()).state, 'paused', 'still paused after a refused enable');

    const resumed = await monitors.enable(TEST_MODEL, '2s');
    assert.equal(resumed.created, false, 'resumed, not created');
    assert.equal(resumed.state, 'enabled', 'enabled again');
    assert.equal(resumed.every, '2s', 'new interval');
    await waitFor(
      () => schedule().describe(),
      (d) => d.info.numActionsTaken > taken,
      'runs resume',
    );
  });

  it('run runs the monitor once now, whatever the schedule state, and returns what it found', async () => {
    await quiesce();
    await env.simulator.writeBatch({ n: 500, drift: 0 });
    const outcome = await monitors.run(TEST_MODEL);
    assert.equal(outcome.modelId, TEST_MODEL, 'model');
    assert.equal(outcome.samples, 500, 'samples');
    assert.deepEqual(outcome.breaches, [], 'healthy traffic');
    assert.deepEqual(outcome.incidents, [], 'no incidents');
    assert.equal((await monitorInfo()).state, 'paused', 'the schedule was left alone');
    await closeAll();
  });

  it('vigil up keeps a paused schedule paused and ends a legacy long-running monitor', async () => {
    // A pre-schedule monitor workflow (type modelMonitor) still running from an older version.
    const legacy = await env.services.temporal.workflow.start('modelMonitor', {
      workflowId: `monitor-${TEST_MODEL}`,
      taskQueue: `${env.taskQueue}-legacy`,
      args: [{ modelId: TEST_MODEL, every: '20s' }],
    });
    const r = await monitors.ensure(TEST_MODEL);
    assert.equal(r.created, false, 'existing schedule kept');
    assert.equal(r.state, 'paused', 'paused stays paused');
    assert.equal(r.every, '2s', 'the interval set by enable stays');
    assert.equal((await legacy.describe()).status.name, 'TERMINATED', 'legacy monitor terminated');
    // Not found is fine: nothing to end.
    await monitors.ensure(TEST_MODEL);
  });

  it('vigil monitor list --json and bad input through the CLI', async () => {
    const configFile = path.join(env.stateDir, 'vigil.config.json');
    fs.writeFileSync(configFile, JSON.stringify(env.config));
    // Asynchronous on purpose: this process also hosts the worker, which a blocking spawn would starve.
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        execFile(
          VIGIL,
          ['--config', configFile, ...args],
          { env: { ...process.env, DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir }, encoding: 'utf8' },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: stdout.trim(), err: stderr.trim() }),
        );
      });

    const listed = await run(['monitor', 'list', '--json']);
    assert.equal(listed.code, 0, listed.err);
    const [m] = JSON.parse(listed.out);
    assert.equal(m.modelId, TEST_MODEL, 'model listed');
    assert.equal(m.state, 'paused', 'state listed');
    assert.equal(m.every, '2s', 'interval listed');

    const badEvery = await run(['monitor', 'enable', TEST_MODEL, '--every', 'often']);
    assert.equal(badEvery.code, 2, badEvery.err);
    assert.match(badEvery.err, /--every "often"/, 'names --every');
    const unknown = await run(['monitor', 'disable', 'nope']);
    assert.equal(unknown.code, 2, unknown.err);
    assert.match(unknown.err, /unknown model "nope"/, 'names the model');
    assert.equal((await monitorInfo()).state, 'paused', 'bad input changed nothing');
  });
});
