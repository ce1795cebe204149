/**
 * The Python example trainer (examples/credit-risk/trainer.py, NumPy) through Vigil's local training
 * backend on a real training snapshot (labelled traffic in PostgreSQL → snapshotTrainingData's CSVs):
 * it speaks the protocol, its artifact is one Vigil loads and monitors with, its model matches the
 * TypeScript trainer's, and --sabotage, SIGTERM, bad input and the job's GPUs behave as documented.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrainingActivities } from '../../activities/trainingActivities.js';
import type { TrainingSnapshot } from '../../contracts/activities.js';
import { createLocalProcessBackend } from '../../adapters/training/localProcessBackend.js';
import type { TrainingBackend, TrainingJobSpec, TrainingJobStatus } from '../../ports/trainingBackend.js';
import { buildReferenceProfile } from '../../domain/drift/psi.js';
import { readDatasetCsv, type LabelledRow } from '../../examples/credit-risk/dataset.js';
import { loadArtifact, splitHoldout, type ModelArtifact } from '../../examples/credit-risk/logisticRegression.js';
import { runTrainer, TrainerEvent } from '../../examples/credit-risk/trainer.js';
import { pythonTool } from '../support/pythonTools.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { waitFor } from '../support/waitFor.js';

const TRAINER_PY = fileURLToPath(new URL('../../examples/credit-risk/trainer.py', import.meta.url));
const TRAINER_TORCH_PY = fileURLToPath(new URL('../../examples/credit-risk/trainer_torch.py', import.meta.url));
const PYTHON = pythonTool('python');
/** The GPUs the model's config gives its jobs (this NumPy trainer only reports them). */
const CONFIG_GPUS = '3';

let env: VigilTestEnv;
let backend: TrainingBackend;
let snapshot: TrainingSnapshot;
let trainRows: LabelledRow[];
let features: string[];
let tsArtifact: ModelArtifact;

before(async () => {
  env = await createVigilTestEnv({
    config: (taskQueue) => {
      const c = testConfig({}, taskQueue);
      // The model trains with the Python trainer: Vigil appends --data, --holdout and --out.
      c.models[0]!.training = { ...c.models[0]!.training, command: [PYTHON, TRAINER_PY], gpus: CONFIG_GPUS };
      return c;
    },
  });
  backend = createLocalProcessBackend({ jobsDir: path.join(env.stateDir, 'py-jobs') });
  // Drifted labelled traffic, snapshotted as a retrain does.
  await env.simulator.writeBatch({ n: 1500, drift: 1 });
  const { snapshotTrainingData } = createTrainingActivities(env.services);
  snapshot = await snapshotTrainingData({ incidentId: 'inc-py', modelId: TEST_MODEL, jobId: 'inc-py-train', minLabelledRows: 200 });
  assert.ok(snapshot.labelQuality.ok, `snapshot refused: ${snapshot.labelQuality.reasons.join('; ')}`);
  ({ rows: trainRows, features } = await readDatasetCsv(snapshot.trainCsv));

  // The TypeScript trainer on the same snapshot, in-process, for comparison.
  const tsOut = path.join(env.stateDir, 'ts-trainer');
  const code = await runTrainer(
    ['--data', snapshot.trainCsv, '--holdout', snapshot.holdoutCsv, '--out', tsOut],
    {},
    { emit: () => {}, log: () => {}, stopped: () => false },
  );
  assert.equal(code, 0, 'the TypeScript trainer succeeds');
  tsArtifact = await loadArtifact(path.join(tsOut, 'model.json'));
});
after(async () => env?.close());

const python = (jobId: string, args: string[]): TrainingJobSpec => ({
  jobId,
  command: [PYTHON, TRAINER_PY, ...args],
});

function finished(jobId: string): Promise<TrainingJobStatus> {
  return waitFor(
    () => backend.status(jobId),
    (s) => s.state !== 'running',
    `${jobId} to finish`,
    60_000,
  );
}

/** The job's stdout: every line must be a protocol event. */
function events(jobsDir: string, jobId: string): TrainerEvent[] {
  const text = fs.readFileSync(path.join(jobsDir, jobId, 'stdout.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'), 'stdout ends with a complete line');
  return text
    .trimEnd()
    .split('\n')
    .map((line, i) => {
      const parsed = TrainerEvent.safeParse(JSON.parse(line));
      assert.ok(parsed.success, `stdout line ${i + 1} is not a protocol event: ${line}`);
      return parsed.data;
    });
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

describe('Python example trainer through the local backend', { concurrency: true }, () => {
  it('trains on the snapshot: protocol lines, a loadable artifact, NumPy deciles equal to Vigil’s, metrics like the TS trainer’s', async () => {
    const out = path.join(env.stateDir, 'py-good');
    assert.equal(
      (await backend.submit(python('py-good', ['--data', snapshot.trainCsv, '--holdout', snapshot.holdoutCsv, '--out', out]))).alreadySubmitted,
      false,
    );
    const status = await finished('py-good');
    assert.equal(status.state, 'succeeded', `${status.error}\n${await backend.logs('py-good')}`);
    assert.equal(status.artifactPath, path.join(out, 'model.json'));

    const evs = events(path.join(env.stateDir, 'py-jobs'), 'py-good');
    assert.deepEqual(
      evs.map((e) => e.type),
      ['started', ...Array(40).fill('progress'), 'metrics', 'artifact'],
      'protocol order',
    );
    assert.ok(
      evs.every((e) => (e as { jobId?: unknown }).jobId === 'py-good'),
      'every line echoes the job id',
    );
    const started = evs[0] as Record<string, unknown>;
    assert.equal(started.rows, trainRows.length);
    assert.deepEqual(started.features, features);
    const progress = evs.filter((e): e is Extract<TrainerEvent, { type: 'progress' }> => e.type === 'progress');
    assert.deepEqual(
      progress.map((p) => p.step),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.ok(
      progress.every((p) => p.total === 40 && p.loss > 0 && p.loss < 1),
      'losses in (0, 1)',
    );

    const artifact = await loadArtifact(status.artifactPath!);
    assert.deepEqual(artifact.features, features);
    assert.deepEqual(status.metrics, { ...artifact.metrics }, 'the metrics line equals the artifact’s metrics');

    // The reference profile the drift monitors will use: NumPy's deciles equal Vigil's definition.
    const expected = buildReferenceProfile(
      trainRows.map((r) => r.features),
      features,
    );
    assert.equal(artifact.reference.rows, expected.rows);
    for (const f of features) {
      const got = artifact.reference.features[f]!;
      const want = expected.features[f]!;
      assert.equal(got.edges.length, 9, `${f}: 9 edges`);
      got.edges.forEach((e, i) => close(e, want.edges[i]!, 1e-12, `${f} edge ${i}`));
      assert.deepEqual(got.shares, want.shares, `${f}: bin shares`);
      close(got.mean, want.mean, 1e-12 * Math.max(1, Math.abs(want.mean)), `${f} mean`);
      close(got.std, want.std, 1e-12 * Math.max(1, want.std), `${f} std`);
      assert.deepEqual([got.min, got.max, got.count], [want.min, want.max, want.count], `${f}: min, max, count`);
    }

    // Same data, same seed, same algorithm: the same model up to float rounding.
    for (const m of ['auc', 'accuracy', 'logLoss', 'calibrationError'] as const) close(artifact.metrics[m], tsArtifact.metrics[m], 1e-6, `holdout ${m}`);
    artifact.weights.forEach((w, i) => close(w, tsArtifact.weights[i]!, 1e-6, `weight ${features[i]}`));
    assert.ok(artifact.metrics.auc > 0.75, `AUC ${artifact.metrics.auc}`);
  });

  it('splits 80/20 without --holdout exactly as the TypeScript trainer does', async () => {
    const out = path.join(env.stateDir, 'py-split');
    await backend.submit(python('py-split', ['--data', snapshot.trainCsv, '--out', out, '--epochs', '2', '--seed', '5']));
    const status = await finished('py-split');
    assert.equal(status.state, 'succeeded', status.error);
    const artifact = await loadArtifact(status.artifactPath!);
    const { train, holdout } = splitHoldout(trainRows, 0.2, 5);
    assert.deepEqual([artifact.metrics.trainRows, artifact.metrics.holdoutRows], [train.length, holdout.length]);
    const expected = buildReferenceProfile(
      train.map((r) => r.features),
      features,
    );
    for (const f of features) assert.deepEqual(artifact.reference.features[f]!.shares, expected.features[f]!.shares, `${f}: the same training rows`);
    assert.equal(artifact.seed, 5);
  });

  it('--sabotage gives a clearly worse AUC on the same holdout', async () => {
    const out = path.join(env.stateDir, 'py-sabotage');
    await backend.submit(python('py-sabotage', ['--data', snapshot.trainCsv, '--holdout', snapshot.holdoutCsv, '--out', out, '--sabotage', '--epochs', '10']));
    const status = await finished('py-sabotage');
    assert.equal(status.state, 'succeeded', status.error);
    const started = events(path.join(env.stateDir, 'py-jobs'), 'py-sabotage')[0] as Record<string, unknown>;
    assert.equal(started.sabotage, true);
    const auc = status.metrics!.auc!;
    assert.ok(auc < 0.65 && auc < tsArtifact.metrics.auc - 0.15, `sabotaged AUC ${auc} vs ${tsArtifact.metrics.auc}`);
  });

  it('cancel (SIGTERM) stops it between epochs: cancelled, no artifact', async () => {
    const out = path.join(env.stateDir, 'py-cancel');
    await backend.submit(
      python('py-cancel', ['--data', snapshot.trainCsv, '--holdout', snapshot.holdoutCsv, '--out', out, '--epochs', '5000', '--step-delay-ms', '50']),
    );
    await waitFor(
      () => backend.status('py-cancel'),
      (s) => (s.progress?.step ?? 0) >= 2,
      'two epochs',
      30_000,
    );
    await backend.cancel('py-cancel');
    const status = await finished('py-cancel');
    assert.equal(status.state, 'cancelled', JSON.stringify(status));
    assert.ok((status.progress?.step ?? 0) < 5000, 'stopped early');
    // The trainer's own log shows it stopped at an epoch boundary (the job's whole process group got
    // SIGTERM, the recording shell included, so the 143 itself is not recorded).
    await waitFor(
      () => backend.logs('py-cancel'),
      (l) => l.includes('stopped before finishing; no artifact written'),
      'the trainer to stop',
      10_000,
    );
    assert.ok(!fs.existsSync(path.join(out, 'model.json')), 'no artifact written');
  });

  it('a bad CSV: exit 2, an error line naming file, row and column, a non-retryable bad_input failure', async () => {
    const bad = path.join(env.stateDir, 'bad.csv');
    const lines = fs.readFileSync(snapshot.trainCsv, 'utf8').split('\n');
    const col = 2; // a feature column
    const cells = lines[3]!.split(',');
    cells[col] = 'n/a';
    lines[3] = cells.join(',');
    fs.writeFileSync(bad, lines.join('\n'));
    await backend.submit(python('py-bad', ['--data', bad, '--out', path.join(env.stateDir, 'py-bad')]));
    const status = await finished('py-bad');
    assert.equal(status.state, 'failed');
    assert.equal(status.exitCode, 2);
    const column = lines[0]!.split(',')[col];
    const where = `${bad}: row 3, line 4, column "${column}": "n/a" is not a finite number`;
    assert.equal(status.error, where);
    assert.deepEqual(
      events(path.join(env.stateDir, 'py-jobs'), 'py-bad').map((e) => e.type),
      ['error'],
      'only the error line',
    );
    assert.equal(status.failure?.kind, 'bad_input', JSON.stringify(status.failure));
    assert.equal(status.failure?.retryable, false);
    assert.ok(status.failure?.message.includes(where), status.failure?.message);
  });

  it('the PyTorch trainer shares the protocol: a bad CSV is bad input there too (before PyTorch is needed)', async () => {
    const bad = path.join(env.stateDir, 'bad-torch.csv');
    fs.writeFileSync(bad, 'income,age,label\n50,40,0\n41,,1\n');
    await backend.submit({ jobId: 'torch-bad', command: [PYTHON, TRAINER_TORCH_PY, '--data', bad, '--out', path.join(env.stateDir, 'torch-bad')] });
    const status = await finished('torch-bad');
    assert.equal(status.exitCode, 2, `${status.error}\n${await backend.logs('torch-bad')}`);
    assert.equal(status.error, `${bad}: row 2, line 3, column "age": value is missing`);
    assert.deepEqual(
      events(path.join(env.stateDir, 'py-jobs'), 'torch-bad').map((e) => e.type),
      ['error'],
      'only the error line',
    );
    assert.equal(status.failure?.kind, 'bad_input');
  });

  it('CUDA_VISIBLE_DEVICES is the job’s gpus: a value, "" for CPU only, the worker’s own when unset', async () => {
    const echo = ['/bin/sh', '-c', 'echo "${CUDA_VISIBLE_DEVICES-unset}" > gpus.txt; echo \'{"type":"artifact","path":"/dev/null"}\''];
    const cases: [string, string | undefined, string][] = [
      ['gpu-two', '0,1', '0,1'],
      ['gpu-none', '', ''],
      ['gpu-inherit', undefined, process.env.CUDA_VISIBLE_DEVICES ?? 'unset'],
    ];
    for (const [jobId, gpus] of cases) await backend.submit({ jobId, command: echo, gpus });
    for (const [jobId, , want] of cases) {
      assert.equal((await finished(jobId)).state, 'succeeded', jobId);
      assert.equal(fs.readFileSync(path.join(env.stateDir, 'py-jobs', jobId, 'gpus.txt'), 'utf8').trim(), want, `${jobId}: CUDA_VISIBLE_DEVICES`);
    }
  });

  it('the retrain activity runs the model’s configured trainer command with its gpus', async () => {
    const activities = createTrainingActivities(env.services);
    const menv = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    const run = () =>
      activities.runTrainingJob({
        incidentId: 'inc-py',
        modelId: TEST_MODEL,
        jobId: 'inc-py-train',
        trainCsv: snapshot.trainCsv,
        holdoutCsv: snapshot.holdoutCsv,
        extraArgs: ['--epochs', '5'],
      });
    const job = await menv.run<[], Awaited<ReturnType<typeof run>>, typeof run>(run);
    assert.equal(job.jobId, 'inc-py-train');
    const artifact = await loadArtifact(job.artifactPath);
    assert.equal(artifact.metrics.auc, job.metrics.auc);
    const logs = await env.services.training.logs('inc-py-train');
    const started = JSON.parse(logs.split('\n').find((l) => l.includes('"type":"started"'))!) as Record<string, unknown>;
    assert.equal(started.visibleGpus, CONFIG_GPUS, 'the configured gpus reach the trainer');
    assert.match(logs, /NumPy/, 'the Python trainer ran');
  });
});
