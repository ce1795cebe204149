/**
 * The Ray Jobs training backend against a real Ray head (`ray start --head` from the tools venv, token
 * authentication on), running the Python example trainer and a small probe script as Ray jobs; then an
 * approved drift incident whose model trains on Ray, end to end. One head for the file (it takes a
 * while to start).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRayJobsBackend } from '../../adapters/training/rayJobsBackend.js';
import type { TrainingJobStatus } from '../../ports/trainingBackend.js';
import { generateApplicants, writeDatasetCsv } from '../../examples/credit-risk/dataset.js';
import { loadArtifact } from '../../examples/credit-risk/logisticRegression.js';
import { createLogisticRegressionEvaluation } from '../../examples/credit-risk/logisticRegressionEvaluation.js';
import { runTrainer } from '../../examples/credit-risk/trainer.js';
import { createTrainerScorer } from '../../adapters/training/trainerScorer.js';
import { TaskConfig } from '../../domain/task.js';
import { freePort } from '../../adapters/net/freePort.js';
import { feedCanary, openApprovedDriftIncident } from '../support/driftIncident.js';
import { pythonTool } from '../support/pythonTools.js';
import { startRayHead, type RayHead } from '../support/rayHead.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, TEST_CANARY, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const TRAINER_PY = fileURLToPath(new URL('../../examples/credit-risk/trainer.py', import.meta.url));

/** Prints what it was given (arguments, environment) as a JSON line, then an artifact line. */
const PROBE = `
import json, os, sys
job = os.environ.get("VIGIL_JOB_ID")
print(json.dumps({"type": "probe", "jobId": job, "argv": sys.argv[1:],
                  "FOO": os.environ.get("FOO"), "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}), flush=True)
print(json.dumps({"type": "progress", "jobId": job, "step": 1, "total": 1, "loss": 0.5}), flush=True)
print(json.dumps({"type": "metrics", "jobId": job, "auc": 0.75}), flush=True)
print(json.dumps({"type": "artifact", "jobId": job, "path": "/nonexistent/model.json"}), flush=True)
`;

let head: RayHead;
let python: string;

before(async () => {
  python = pythonTool('python');
  head = await startRayHead({ token: `vigil-test-${process.pid}-${Date.now()}` });
  console.log(`# Ray head ready in ${head.startedInMs} ms at ${head.url}`);
});

after(async () => head?.stop());

/** Runs a short command to completion (async: no spawnSync in a process that hosts a Temporal worker). */
function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

describe('Ray Jobs training backend on a real Ray head', () => {
  let backend: ReturnType<typeof createRayJobsBackend>;
  let work: string;
  let trainCsv: string;
  let holdoutCsv: string;
  let probe: string;
  let uniq = 0;
  const jobId = (what: string) => `incident-credit-risk-${what}-${process.pid}-${uniq++}-train`;

  const untilDone = (id: string, timeoutMs = 60_000) =>
    waitFor(
      () => backend.status(id),
      (s: TrainingJobStatus) => s.state !== 'running',
      `job ${id} finished`,
      timeoutMs,
    );
  const protocolLines = async (id: string) =>
    (await backend.logs(id))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  before(async () => {
    backend = createRayJobsBackend({ address: head.url, token: head.token });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ray-jobs-'));
    trainCsv = path.join(work, 'train.csv');
    holdoutCsv = path.join(work, 'holdout.csv');
    await writeDatasetCsv(trainCsv, generateApplicants(400, { seed: 11 }));
    await writeDatasetCsv(holdoutCsv, generateApplicants(200, { seed: 12 }));
    probe = path.join(work, 'probe.py');
    fs.writeFileSync(probe, PROBE);
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs the Python example trainer to SUCCEEDED with progress, metrics and an artifact that loads', async () => {
    const id = jobId('train');
    const out = path.join(work, 'artifacts', id);
    const submitted = await backend.submit({
      jobId: id,
      command: [python, TRAINER_PY, '--data', trainCsv, '--holdout', holdoutCsv, '--out', out, '--epochs', '8'],
    });
    assert.deepEqual(submitted, { jobId: id, alreadySubmitted: false }, 'a new job');
    const done = await untilDone(id);
    assert.equal(done.state, 'succeeded', `succeeded (error: ${done.error}; logs:\n${await backend.logs(id)})`);
    assert.equal((await backend.details(id)).status, 'SUCCEEDED', 'Ray says SUCCEEDED');
    assert.equal(done.exitCode, 0, 'exit code 0');
    assert.deepEqual([done.progress?.step, done.progress?.total], [8, 8], 'the last progress line: epoch 8 of 8');
    assert.ok(typeof done.progress?.loss === 'number', 'progress carries the loss');
    assert.ok(done.metrics && done.metrics.auc! > 0.6 && done.metrics.auc! <= 1, `holdout AUC parsed: ${JSON.stringify(done.metrics)}`);
    assert.equal(typeof done.metrics?.calibrationError, 'number', 'calibration error parsed');
    assert.equal(done.artifactPath, path.join(out, 'model.json'), 'the artifact line names <out>/model.json');
    assert.ok(fs.existsSync(done.artifactPath!), 'the artifact exists');
    const artifact = await loadArtifact(done.artifactPath!);
    assert.equal(artifact.kind, 'logistic-regression/v1', 'a model Vigil can load');
    // VIGIL_JOB_ID reached the trainer through the runtime environment: every line echoes it.
    const lines = await protocolLines(id);
    assert.ok(lines.length >= 11, `started, 8 progress, metrics, artifact: ${lines.length} lines`);
    assert.ok(
      lines.every((l) => l.jobId === id),
      'every protocol line carries the job id',
    );
  });

  it('scores with the Python trainer (protocol v2 `score`) through the scorer adapter: as in process, one job per job id', async () => {
    const model = path.join(work, 'score-model');
    const trained = await runTrainer(
      ['--data', trainCsv, '--out', model, '--epochs', '8'],
      {},
      { emit: () => undefined, log: () => undefined, stopped: () => false },
    );
    assert.equal(trained, 0, 'an artifact to score with');
    const artifactUri = path.join(model, 'model.json');
    const evaluation = createLogisticRegressionEvaluation();
    const features = (await evaluation.profile(artifactUri)).features;
    const rows = generateApplicants(120, { seed: 13, drift: 1 }).map((r) => ({ ...r.features }));
    const expected = await evaluation.score(artifactUri, rows);
    const scorer = createTrainerScorer({
      backendFor: () => backend,
      commandFor: () => [python, TRAINER_PY],
      taskFor: () => TaskConfig.parse({ type: 'binary' }),
      stateDir: work,
      pollMs: 200,
    });
    const id = jobId('score');
    const req = { modelId: 'credit-risk', artifactUri, rows, features, jobId: id };
    const predictions = await scorer.score(req);
    assert.equal(predictions.length, rows.length, 'one prediction per row');
    predictions.forEach((p, i) => assert.ok(Math.abs((p as { score: number }).score - expected[i]!) <= 1e-9, `row ${i + 1} as in process`));
    assert.equal((await backend.details(id)).metadata?.vigil_job_kind, 'score', 'Ray knows it is a scoring job');
    assert.deepEqual(await scorer.score(req), predictions, 'a second call reads the same job');
    assert.equal((await backend.list()).filter((j) => j.submission_id === id).length, 1, 'one Ray job for both calls');
  });

  it('a second submit of the same job id, later or at the same moment, finds the first job', async () => {
    const id = jobId('dup');
    const spec = { jobId: id, command: [python, probe] };
    const both = await Promise.all([backend.submit(spec), backend.submit(spec)]);
    assert.deepEqual(both.map((b) => b.alreadySubmitted).sort(), [false, true], `one submit started the job, the other found it: ${JSON.stringify(both)}`);
    assert.deepEqual(await backend.submit(spec), { jobId: id, alreadySubmitted: true }, 'a later retry finds it too');
    assert.equal((await untilDone(id)).state, 'succeeded', 'the job ran');
    assert.deepEqual(await backend.submit(spec), { jobId: id, alreadySubmitted: true }, 'a retry after it finished does not start it again');
    const jobs = (await backend.list()).filter((j) => j.submission_id === id);
    assert.equal(jobs.length, 1, `exactly one Ray job has submission_id ${id}`);
    const probes = (await protocolLines(id)).filter((l) => l.type === 'probe');
    assert.equal(probes.length, 1, 'the trainer ran once');
  });

  it('passes arguments (shell-quoted), environment variables and CPU-only GPUs to the trainer', async () => {
    const id = jobId('env');
    const tricky = [`it's "quoted"`, '$HOME and `date`', 'a b;c|d', '', '--flag=x*y'];
    await backend.submit({ jobId: id, command: [python, probe, ...tricky], env: { FOO: 'bar baz' }, gpus: '' });
    assert.equal((await untilDone(id)).state, 'succeeded', 'succeeded');
    const probeLine = (await protocolLines(id)).find((l) => l.type === 'probe');
    assert.ok(probeLine, 'the probe line is in the job log');
    assert.deepEqual(probeLine.argv, tricky, 'arguments arrive exactly as given');
    assert.equal(probeLine.FOO, 'bar baz', 'env var from the spec');
    assert.equal(probeLine.jobId, id, 'VIGIL_JOB_ID');
    assert.equal(probeLine.CUDA_VISIBLE_DEVICES, '', "gpus '' hides every GPU");
  });

  it('runs trainer code shipped as runtime_env.working_dir (a zip URI), from the unpacked folder', async () => {
    const code = path.join(work, 'trainer_code');
    fs.mkdirSync(code, { recursive: true });
    fs.copyFileSync(probe, path.join(code, 'probe_in_zip.py'));
    // Ray wants one top-level folder in the zip.
    await run(python, ['-m', 'zipfile', '-c', 'trainer_code.zip', 'trainer_code'], work);
    const shipped = createRayJobsBackend({ address: head.url, token: head.token, workingDir: `file://${path.join(work, 'trainer_code.zip')}` });
    const id = jobId('zip');
    await shipped.submit({ jobId: id, command: [python, 'probe_in_zip.py', 'from-zip'] });
    const done = await untilDone(id);
    assert.equal(done.state, 'succeeded', `succeeded (${done.error}; logs:\n${await backend.logs(id)})`);
    const probeLine = (await protocolLines(id)).find((l) => l.type === 'probe');
    assert.deepEqual(probeLine?.argv, ['from-zip'], 'the relative script ran from the working_dir');
  });

  it('cancel stops a running trainer: Ray STOPPED → cancelled, no artifact', async () => {
    const id = jobId('cancel');
    const out = path.join(work, 'artifacts', id);
    await backend.submit({
      jobId: id,
      command: [python, TRAINER_PY, '--data', trainCsv, '--out', out, '--epochs', '200', '--step-delay-ms', '200'],
    });
    const running = await waitFor(
      () => backend.status(id),
      (s) => (s.progress?.step ?? 0) >= 1,
      'training under way',
      60_000,
    );
    assert.equal(running.state, 'running', 'running while it trains');
    await backend.cancel(id);
    const done = await untilDone(id, 30_000);
    assert.equal(done.state, 'cancelled', `cancelled (got ${done.state}: ${done.error})`);
    assert.equal((await backend.details(id)).status, 'STOPPED', 'Ray says STOPPED');
    assert.ok((done.progress?.step ?? 0) < 200, 'it stopped before the last epoch');
    assert.equal(done.artifactPath, undefined, 'no artifact line');
    assert.equal(fs.existsSync(path.join(out, 'model.json')), false, 'no artifact file');
    await backend.cancel(id); // cancelling a finished job changes nothing
    assert.equal((await backend.status(id)).state, 'cancelled', 'still cancelled');
  });

  it('a trainer that exits 2 with an error line fails with its message, classified bad input (not retryable)', async () => {
    const id = jobId('bad-csv');
    const bad = path.join(work, 'bad.csv');
    fs.writeFileSync(bad, 'income,debt_ratio,label\n1.5,0.2,1\n2.5,oops,0\n');
    await backend.submit({ jobId: id, command: [python, TRAINER_PY, '--data', bad, '--out', path.join(work, 'artifacts', id)] });
    const done = await untilDone(id);
    assert.equal(done.state, 'failed', 'failed');
    assert.equal((await backend.details(id)).status, 'FAILED', 'Ray says FAILED');
    assert.equal(done.exitCode, 2, 'exit code 2');
    assert.match(done.error ?? '', /bad\.csv/, `the trainer's error names the file: ${done.error}`);
    assert.match(done.error ?? '', /oops|debt_ratio|row/, `…and what is wrong: ${done.error}`);
    assert.equal(done.failure?.kind, 'bad_input', `classified: ${JSON.stringify(done.failure)}`);
    assert.equal(done.failure?.retryable, false, 'not retryable');
  });

  it('a trainer killed by a signal fails as killed (retryable), with Ray’s reason', async () => {
    const id = jobId('killed');
    await backend.submit({ jobId: id, command: ['/bin/sh', '-c', 'echo "loading data" >&2; kill -KILL $$'] });
    const done = await untilDone(id);
    assert.equal(done.state, 'failed', 'failed');
    assert.equal(done.failure?.kind, 'killed', `classified: ${JSON.stringify(done.failure)} (exit ${done.exitCode})`);
    assert.equal(done.failure?.retryable, true, 'retryable');
    assert.match(done.error ?? '', /exit code/, `Ray's reason: ${done.error}`);
  });

  it('a job that asks for a GPU waits for Ray to have one (pending reads as running); stopping it is queued', async () => {
    const gpuJob = jobId('gpu');
    await backend.submit({ jobId: gpuJob, command: [python, probe], gpus: '0' });
    const cpuJob = jobId('cpu');
    await backend.submit({ jobId: cpuJob, command: [python, probe] });
    assert.equal((await untilDone(cpuJob)).state, 'succeeded', 'a CPU job submitted after it runs');
    assert.equal((await backend.details(gpuJob)).status, 'PENDING', 'the GPU job waits: this head has no GPU');
    assert.equal((await backend.status(gpuJob)).state, 'running', 'pending reads as running');
    // Ray delivers the stop to the job's supervisor once it is scheduled; until then the job stays pending.
    await backend.cancel(gpuJob);
    const after = await backend.details(gpuJob);
    assert.equal(after.status, 'PENDING', 'still pending after the stop request');
    assert.equal((await protocolLines(gpuJob)).length, 0, 'the trainer never ran');
  });

  it('says clearly what is wrong: unknown job, missing or wrong token, unreachable address', async () => {
    await assert.rejects(
      backend.status('no-such-job'),
      /training job "no-such-job" does not exist on the Ray cluster at http:\/\/127\.0\.0\.1:\d+/,
      'unknown job',
    );
    await backend.cancel('no-such-job'); // nothing to stop
    await assert.rejects(
      createRayJobsBackend({ address: head.url }).status('x'),
      /Ray Jobs API at .* refused GET \/api\/jobs\/x \(HTTP 401\): the cluster requires a token; set RAY_AUTH_TOKEN/,
      'no token',
    );
    await assert.rejects(
      createRayJobsBackend({ address: head.url, token: 'wrong' }).submit({ jobId: jobId('x'), command: ['true'] }),
      /HTTP 403\): the token \(RAY_AUTH_TOKEN\) is not accepted/,
      'wrong token',
    );
    const closed = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      createRayJobsBackend({ address: closed }).submit({ jobId: jobId('x'), command: ['true'] }),
      new RegExp(`Ray Jobs API at ${closed.replace(/\./g, '\\.')} is unreachable \\(POST /api/jobs/: ECONNREFUSED\\)`),
      'unreachable',
    );
    assert.throws(() => createRayJobsBackend({ address: 'ray-head:8265' }), /training\.ray\.address "ray-head:8265"/, 'not a URL');
    await assert.rejects(backend.submit({ jobId: 'bad id/../x', command: ['true'] }), /training job id "bad id\/\.\.\/x" must be/, 'bad job id');
  });
});

describe('an approved drift incident whose model trains on Ray', () => {
  let env: VigilTestEnv;
  before(async () => {
    // How a deployment passes the cluster's token: the environment, never the config file.
    process.env.RAY_AUTH_TOKEN = head.token;
    env = await createVigilTestEnv({
      config: (q) => {
        const c = testConfig({ canary: TEST_CANARY }, q);
        const training = c.models[0]!.training;
        training.backend = 'ray';
        training.ray = { address: head.url };
        training.command = [python, TRAINER_PY];
        return c;
      },
    });
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
    delete process.env.RAY_AUTH_TOKEN;
  });

  it('trains the candidate as one Ray job (the Python trainer), canaries it, promotes it and resolves', async () => {
    const id = await openApprovedDriftIncident(env);
    assert.equal((await feedCanary(env)).version, 2, 'the Ray-trained candidate serves the canary share');
    const validating = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.phase === 'validating' || s.status === 'closed',
      'validating',
      120_000,
    );
    assert.equal(validating.phase, 'validating', JSON.stringify(validating.state.remediation ?? validating.state.timeline.slice(-3)));
    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await waitFor(
      () => env.services.incidents.show(id),
      (s) => s.status === 'closed',
      'closed',
      60_000,
    );
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.remediation));

    const jobs = (await createRayJobsBackend({ address: head.url, token: head.token }).list()).filter((j) => j.submission_id?.startsWith(id));
    assert.deepEqual(
      jobs.map((j) => [j.submission_id, j.status]),
      [[`${id}-train`, 'SUCCEEDED']],
      'one Ray job, named after the incident, succeeded',
    );
    assert.equal(fs.existsSync(path.join(env.stateDir, 'jobs')), false, 'nothing ran on the local backend');
    const champion = await env.services.registry.getAlias(TEST_MODEL, 'champion');
    assert.equal(champion?.version, 2, 'the candidate is the champion');
    assert.equal(champion?.artifactUri, path.join(env.stateDir, 'artifacts', TEST_MODEL, `${id}-train`, 'model.json'), 'the artifact the Ray job wrote');
    assert.equal((await loadArtifact(champion!.artifactUri)).kind, 'logistic-regression/v1', 'it loads');
    assert.equal(typeof champion?.metrics.auc, 'number', `the job's metrics are on the version: ${JSON.stringify(champion?.metrics)}`);
  });
});
