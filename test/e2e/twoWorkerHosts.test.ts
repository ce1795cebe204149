/**
 * Two worker hosts (two workers with their own state folders) and the local training backend: the host
 * that trains is killed mid-job. The retry must not start the job again on the other host, which has
 * neither the snapshot nor the job's folder: it waits for the training host, which comes back, finds its
 * job by id and finishes it. One trainer run, on one host.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import { openApprovedDriftIncident, validateAndClose } from '../support/driftIncident.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/spawnWorkerProcess.js';
import { createVigilTestEnv, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

function slowTrainerConfig(taskQueue: string) {
  const config = testConfig({}, taskQueue);
  config.models[0]!.training.command = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT, '--step-delay-ms', '150'];
  return config;
}

describe('two worker hosts, local training', () => {
  let env: VigilTestEnv;
  let otherDir: string;
  const workers: WorkerProcess[] = [];
  before(async () => {
    env = await createVigilTestEnv({ config: slowTrainerConfig });
    otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-other-host-'));
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await env?.close();
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  const startHost = async (stateDir: string) => {
    const w = spawnWorkerProcess(env, { VIGIL_TEST_STATE_DIR: stateDir });
    workers.push(w);
    await w.ready;
    return w;
  };

  it('a retry waits for the host with the job instead of training again on the other', async () => {
    const hosts = new Map([
      [env.stateDir, await startHost(env.stateDir)],
      [otherDir, await startHost(otherDir)],
    ]);
    const id = await openApprovedDriftIncident(env, 0.6);

    // Whichever host picked the retrain trains it; kill that one once the trainer reports progress.
    const stdoutIn = (dir: string) => path.join(dir, 'jobs', `${id}-train`, 'stdout.jsonl');
    const trainingDir = await waitFor(
      async () => [...hosts.keys()].find((dir) => fs.existsSync(stdoutIn(dir)) && fs.readFileSync(stdoutIn(dir), 'utf8').includes('"progress"')),
      (dir) => dir !== undefined,
      'training progress on one of the hosts',
      60_000,
    );
    const idleDir = trainingDir === env.stateDir ? otherDir : env.stateDir;
    const trainer = hosts.get(trainingDir!)!;
    trainer.child.kill('SIGKILL');
    await trainer.exited;

    // Past the heartbeat timeout (10 s) and the first retries: the other host has not trained.
    await new Promise((r) => setTimeout(r, 25_000));
    assert.equal(fs.existsSync(path.join(idleDir, 'jobs', `${id}-train`)), false, 'the other host did not start the job again');
    assert.equal(fs.existsSync(path.join(idleDir, 'snapshots')) && fs.readdirSync(path.join(idleDir, 'snapshots')).length > 0, false, 'nor snapshot again');

    // The training host comes back (same state folder): it finds its job and the incident goes on.
    await startHost(trainingDir!);
    const closed = await validateAndClose(env, id);
    assert.equal(closed.outcome, 'resolved');
    const starts = fs
      .readFileSync(stdoutIn(trainingDir!), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"started"'));
    assert.equal(starts.length, 1, 'the trainer ran once');
    assert.equal(fs.existsSync(path.join(idleDir, 'jobs', `${id}-train`)), false, 'never on the other host');
  });
});
