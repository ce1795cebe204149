/**
 * Exactly once, step by step: for each step of the retrain workflow in turn, the worker process kills
 * itself (SIGKILL) right after that step has done its work and before Temporal hears the result. A
 * fresh worker retries the step; the incident still resolves, and the systems show one training job,
 * one trainer run, one registered version, one canary start, one rollout and one champion move.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import { feedCanary, openApprovedDriftIncident, validateAndClose } from '../support/driftIncident.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/spawnWorkerProcess.js';
import { createVigilTestEnv, TEST_CANARY, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const RETRAIN_STEPS = ['snapshotTrainingData', 'runTrainingJob', 'evaluateCandidate', 'registerCandidate', 'startCanary', 'judgeCanary', 'promoteCandidate'];

function crashTestConfig(taskQueue: string) {
  const config = testConfig({ canary: TEST_CANARY }, taskQueue);
  config.models[0]!.training.command = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT];
  // A step lost with its worker is retried after this, not after the default two minutes.
  const drift = config.models[0]!.runbooks.data_drift as Record<string, any>;
  config.models[0]!.runbooks.data_drift = { ...drift, retrain: { ...drift.retrain, stepTimeout: '4s' } };
  return config;
}

for (const step of RETRAIN_STEPS) {
  describe(`worker killed right after ${step}`, () => {
    let env: VigilTestEnv | undefined;
    let crashing: WorkerProcess | undefined;
    after(async () => {
      crashing?.child.kill('SIGKILL');
      await env?.close();
    });

    it('resolves the incident with one job, one registration and one promotion', async () => {
      env = await createVigilTestEnv({ config: crashTestConfig });
      crashing = spawnWorkerProcess(env, { VIGIL_TEST_CRASH_AFTER: step });
      await crashing.ready;
      const id = await openApprovedDriftIncident(env, 0.6);
      // Live traffic for the canary, whichever worker starts it.
      const fed = feedCanary(env);

      const died = await Promise.race([crashing.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 120_000))]);
      assert.match(died, new RegExp(`SIGKILL: [\\s\\S]*crashing after ${step}`), `the worker should kill itself after ${step}: ${died}`);
      crashing = undefined;

      // A fresh worker takes over and retries the lost step.
      await env.startWorker();
      await fed;
      const closed = await validateAndClose(env, id);
      assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.remediation));

      const jobs = path.join(env.stateDir, 'jobs');
      assert.deepEqual(fs.readdirSync(jobs), [`${id}-train`], 'one training job');
      const starts = fs
        .readFileSync(path.join(jobs, `${id}-train`, 'stdout.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"started"'));
      assert.equal(starts.length, 1, 'the trainer ran once');
      const versions = (await env.services.registry.listVersions(TEST_MODEL)).filter((v) => v.source === `retrain:${id}`);
      assert.equal(versions.length, 1, 'one registered version');
      const promotions = await env.services.pool.query(
        `SELECT count(*)::int AS n FROM registry_events WHERE kind = 'alias_set' AND detail->>'reason' LIKE $1`,
        [`promoted by retrain for ${id}%`],
      );
      assert.equal(promotions.rows[0].n, 1, 'one champion move');
      const challengers = await env.services.pool.query(
        `SELECT count(*)::int AS n FROM registry_events WHERE kind = 'alias_set' AND alias = 'challenger' AND detail->>'reason' = $1`,
        [`canary for ${id}`],
      );
      assert.equal(challengers.rows[0].n, 1, 'one challenger mark');
      const ops = await env.services.pool.query('SELECT op FROM deployment_changes WHERE starts_with(idempotency_key, $1) ORDER BY created_at', [id]);
      assert.deepEqual(
        ops.rows.map((r) => r.op),
        ['startCanary', 'promoteCanary'],
        'one canary start and one rollout',
      );
      assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, versions[0]!.version, 'the new version is champion');
    });
  });
}
