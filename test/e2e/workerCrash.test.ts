/**
 * Kill the worker with SIGKILL while the retraining job runs: the incident still closes, the job is
 * found again by its id (not started a second time), and the champion moves exactly once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import { spawnWorkerProcess } from '../support/spawnWorkerProcess.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { openApprovedDriftIncident, validateAndClose } from '../support/driftIncident.js';
import { waitFor } from '../support/waitFor.js';

/** The example trainer, slowed so that it is still running when the worker is killed. */
function slowTrainerConfig(taskQueue: string) {
  const config = testConfig({}, taskQueue);
  config.models[0]!.training.command = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT, '--step-delay-ms', '150'];
  return config;
}

async function startWorkerProcess(env: VigilTestEnv): Promise<ChildProcess> {
  const worker = spawnWorkerProcess(env);
  await worker.ready;
  return worker.child;
}

describe('worker killed during remediation', () => {
  let env: VigilTestEnv;
  let child: ChildProcess | undefined;
  before(async () => {
    env = await createVigilTestEnv({ config: slowTrainerConfig });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await env?.close();
  });

  it('finishes the incident, training once and promoting once', async () => {
    child = await startWorkerProcess(env);
    const id = await openApprovedDriftIncident(env, 0.6);

    // Wait until the trainer reports progress, then kill the worker that launched it.
    const jobDir = path.join(env.stateDir, 'jobs', `${id}-train`);
    const stdoutOf = () => fs.readFileSync(path.join(jobDir, 'stdout.jsonl'), 'utf8');
    await waitFor(
      async () => (fs.existsSync(path.join(jobDir, 'stdout.jsonl')) ? stdoutOf() : ''),
      (out) => out.includes('"progress"'),
      'training progress',
      60_000,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;

    // A fresh worker takes over: the activity retries after its heartbeat timeout and resumes watching.
    await env.startWorker();
    const closed = await validateAndClose(env, id);
    assert.equal(closed.outcome, 'resolved');

    // Trained once: one job folder, one trainer start.
    assert.deepEqual(fs.readdirSync(path.join(env.stateDir, 'jobs')), [`${id}-train`]);
    const starts = stdoutOf()
      .split('\n')
      .filter((l) => l.includes('"type":"started"'));
    assert.equal(starts.length, 1);
    // Registered and promoted once.
    const versions = await env.services.registry.listVersions(TEST_MODEL);
    assert.equal(versions.filter((v) => v.source === `retrain:${id}`).length, 1);
    const promotions = await env.services.pool.query(`SELECT count(*)::int AS n FROM registry_events WHERE kind = 'alias_set' AND detail->>'reason' LIKE $1`, [
      `promoted by retrain for ${id}%`,
    ]);
    assert.equal(promotions.rows[0].n, 1);
    // The history shows the retry of the training activity.
    const review = await env.services.incidents.review(id);
    assert.match(review, /Retrain credit-risk/);
  });
});
