/**
 * Trainer protocol v2 (`score`) through Vigil's scorer adapter (adapters/training/trainerScorer.ts) and
 * the local process backend, with real processes: the TypeScript and the NumPy example trainers score a
 * trained artifact exactly as Vigil scores it in process; a second call with the same job id finds the
 * job instead of running another; the watch heartbeats inside an activity; and scorers that break the
 * protocol (garbage, NaN, too few lines, no predictions file, no `scored` line, bad input) are refused
 * with the reason.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLocalProcessBackend } from '../../adapters/training/localProcessBackend.js';
import { createTrainerScorer } from '../../adapters/training/trainerScorer.js';
import type { TrainingWatchHeartbeat } from '../../adapters/training/watchTrainingJob.js';
import { TaskConfig } from '../../domain/task.js';
import { generateApplicants, writeDatasetCsv } from '../../examples/credit-risk/dataset.js';
import { createLogisticRegressionEvaluation } from '../../examples/credit-risk/logisticRegressionEvaluation.js';
import { runTrainer, TRAINER_SCRIPT } from '../../examples/credit-risk/trainer.js';
import { ScoringOutputError, type ModelScorer, type ScoredPrediction, type ScoreRequest } from '../../ports/modelScorer.js';
import type { TrainingBackend } from '../../ports/trainingBackend.js';
import { pythonTool } from '../support/pythonTools.js';

const TRAINER_PY = new URL('../../examples/credit-risk/trainer.py', import.meta.url).pathname;
const TS_TRAINER = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT];

/**
 * A scorer that breaks the protocol as $MODE says (the model id): it answers 0.5 for every row of
 * --data, then spoils its output.
 */
const FAKE_SCORER = `
import fs from 'node:fs';
const argv = process.argv.slice(2);
const arg = (name) => argv[argv.indexOf(name) + 1];
const out = arg('--out');
const rows = fs.readFileSync(arg('--data'), 'utf8').trim().split('\\n').length - 1;
const mode = process.env.MODE;
const lines = Array.from({ length: rows }, () => '{"score":0.5}');
if (mode === 'garbage') lines[2] = 'Traceback (most recent call last):';
if (mode === 'nan') lines[4] = '{"score": NaN}';
if (mode === 'short') lines.pop();
if (mode === 'bad-input') {
  console.log(JSON.stringify({ type: 'error', jobId: process.env.VIGIL_JOB_ID, message: 'input.csv: missing feature column "age"' }));
  process.exit(2);
}
if (mode !== 'no-file') fs.writeFileSync(out, lines.join('\\n') + '\\n');
if (mode === 'silent') process.exit(0);
const reported = mode === 'elsewhere' ? '/tmp/elsewhere/predictions.jsonl' : out;
console.log(JSON.stringify({ type: 'scored', jobId: process.env.VIGIL_JOB_ID, rows, path: reported }));
`;

let root: string;
let artifact: string;
let rows: Record<string, unknown>[];
let features: string[];
let expected: Float64Array;
let backend: TrainingBackend;
let fakeScorer: string;
const binary = TaskConfig.parse({ type: 'binary' });

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-scorer-'));
  const train = path.join(root, 'train.csv');
  await writeDatasetCsv(train, generateApplicants(600, { seed: 11 }));
  const code = await runTrainer(
    ['--data', train, '--out', path.join(root, 'model'), '--epochs', '10'],
    {},
    { emit: () => undefined, log: () => undefined, stopped: () => false },
  );
  assert.equal(code, 0, 'the example trainer trains the artifact to score with');
  artifact = path.join(root, 'model', 'model.json');
  const evaluation = createLogisticRegressionEvaluation();
  features = (await evaluation.profile(artifact)).features;
  rows = generateApplicants(250, { seed: 12, drift: 0.5 }).map((r) => ({ ...r.features }));
  // Missing values travel as empty cells and are imputed by the scorer as in process.
  delete rows[3]![features[0]!];
  rows[7]![features[1]!] = null;
  expected = await evaluation.score(artifact, rows);
  backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs') });
  fakeScorer = path.join(root, 'fake-scorer.mjs');
  fs.writeFileSync(fakeScorer, FAKE_SCORER);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A scorer over the local backend; each start of a job appends its id to <root>/<modelId>.starts. */
function scorer(command: readonly string[]): ModelScorer {
  return createTrainerScorer({
    backendFor: () => backend,
    commandFor: () => ['/bin/sh', '-c', 'echo "$VIGIL_JOB_ID" >> "$STARTS"; exec "$@"', 'counted', ...command],
    taskFor: () => binary,
    stateDir: root,
    jobFor: (modelId) => ({ env: { MODE: modelId, STARTS: path.join(root, `${modelId}.starts`) }, timeout: '2m' }),
    pollMs: 50,
  });
}
const starts = (modelId: string) =>
  fs
    .readFileSync(path.join(root, `${modelId}.starts`), 'utf8')
    .trim()
    .split('\n');
const request = (modelId: string, jobId: string, over: Partial<ScoreRequest> = {}): ScoreRequest => ({
  modelId,
  artifactUri: artifact,
  rows,
  features,
  jobId,
  ...over,
});

function assertScoresMatch(got: unknown[]) {
  assert.equal(got.length, expected.length, 'one prediction per row');
  got.forEach((p, i) => {
    const score = (p as { score: number }).score;
    assert.ok(Math.abs(score - expected[i]!) <= 1e-9, `row ${i + 1}: ${score} vs in-process ${expected[i]}`);
  });
}

describe('trainer protocol v2: score through the local backend', () => {
  it('the TypeScript trainer scores as Vigil does in process; the same job id runs one job; it heartbeats in an activity', async () => {
    const s = scorer(TS_TRAINER);
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const heartbeats: TrainingWatchHeartbeat[] = [];
    env.on('heartbeat', (hb: TrainingWatchHeartbeat) => heartbeats.push(hb));
    const first = (await env.run(() => s.score(request('ts', 'inc-s1-score-candidate')))) as ScoredPrediction[];
    assertScoresMatch(first);
    assert.ok(heartbeats.length > 0 && heartbeats.every((hb) => hb.jobId === 'inc-s1-score-candidate' && hb.try === 1), 'heartbeats name the job and try');
    const input = fs.readFileSync(path.join(root, 'scoring', 'inc-s1-score-candidate', 'input.csv'), 'utf8').split('\n');
    assert.equal(input[0], features.join(','), 'the header is the features in training order');
    assert.equal(input.length, rows.length + 2, 'one record per row (and the last line break)');

    // A retried activity (here: outside any activity) finds the finished job and reads its output again.
    const again = await s.score(request('ts', 'inc-s1-score-candidate'));
    assert.deepEqual(again, first);
    assert.deepEqual(starts('ts'), ['inc-s1-score-candidate'], 'one job for both calls');

    // The same job id with other rows is refused rather than answered with the first rows' predictions.
    await assert.rejects(s.score(request('ts', 'inc-s1-score-candidate', { rows: rows.slice(1) })), /was written by an earlier attempt with other rows/);
  });

  it('the NumPy trainer scores the same artifact the same way', async () => {
    assertScoresMatch(await scorer([pythonTool('python'), TRAINER_PY]).score(request('py', 'inc-s2-score-candidate')));
  });

  it('no rows: no job', async () => {
    assert.deepEqual(await scorer(TS_TRAINER).score(request('none', 'inc-s3-score-candidate', { rows: [] })), []);
    assert.equal(fs.existsSync(path.join(root, 'none.starts')), false);
  });
});

describe('trainer protocol v2: a scorer that breaks the protocol is refused with the reason', () => {
  const fake = () => scorer([process.execPath, fakeScorer]);
  const refused = async (mode: string, message: RegExp) => {
    const jobId = `inc-bad-${mode}-score-candidate`;
    await assert.rejects(fake().score(request(mode, jobId)), (err: unknown) => {
      assert.ok(err instanceof ScoringOutputError, `a ScoringOutputError, not ${String(err)}`);
      assert.match(err.message, new RegExp(`^scoring job ${jobId} \\(model "${mode}"\\) broke the protocol: `));
      assert.match(err.message, message);
      return true;
    });
    assert.deepEqual(starts(mode), [jobId], 'one job, not retried');
  };

  it('garbage on a line', () => refused('garbage', /predictions\.jsonl: line 3: not valid JSON: Traceback \(most recent call last\):$/));
  it('a NaN score', () => refused('nan', /line 5: "score" is not a finite number \(NaN\)$/));
  it('one line short', () => refused('short', /line 250: missing: 249 prediction lines for 250 input rows/));
  it('no predictions file', () => refused('no-file', /it reported success but wrote no predictions file at .*predictions\.jsonl$/));
  it('a `scored` line naming another file', () =>
    refused('elsewhere', /its "scored" line names \/tmp\/elsewhere\/predictions\.jsonl, not the --out it was given/));

  it('exit 0 without a `scored` line is a failed job (bad_exit), as training without an artifact', async () => {
    await assert.rejects(fake().score(request('silent', 'inc-bad-silent-score-candidate')), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'TrainingBadExit');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /^scoring job inc-bad-silent-score-candidate \(try 1\) failed: scorer exited 0 without a "scored" line/);
      return true;
    });
  });

  it('bad input (exit 2) is classified as for training', async () => {
    await assert.rejects(fake().score(request('bad-input', 'inc-bad-input-score-candidate')), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'TrainingBadInput');
      assert.match(err.message, /bad input \(exit 2\): input\.csv: missing feature column "age"/);
      return true;
    });
  });
});
