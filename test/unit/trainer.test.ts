import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { generateApplicants, writeDatasetCsv } from '../../examples/credit-risk/dataset.js';
import { loadArtifact } from '../../examples/credit-risk/logisticRegression.js';
import { EXIT_BAD_INPUT, EXIT_SIGTERM, runTrainer as runTrainerInProcess, TRAINER_SCRIPT, TrainerEvent } from '../../examples/credit-risk/trainer.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: TrainerEvent[];
  stderr: string;
  elapsedMs: number;
}

/** Runs the trainer as Vigil's local backend does; every stdout line must be a protocol event. */
function runTrainer(args: string[], opts: { env?: Record<string, string>; onEvent?: (e: TrainerEvent, kill: () => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', TRAINER_SCRIPT, ...args], {
      cwd: REPO,
      env: { ...process.env, VIGIL_JOB_ID: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: TrainerEvent[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const event = TrainerEvent.parse(JSON.parse(line)); // throws on a non-protocol line
        events.push(event);
        opts.onEvent?.(event, () => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (buffer.trim() !== '') return reject(new Error(`unterminated stdout line: ${buffer}`));
      resolve({ code, signal, events, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** The same protocol in-process (cheap: no tsx start-up), for the many argument and input variants. */
async function runInProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; events: TrainerEvent[]; log: string[] }> {
  const events: TrainerEvent[] = [];
  const log: string[] = [];
  const code = await runTrainerInProcess(args, env, {
    emit: (e) => events.push(TrainerEvent.parse(JSON.parse(JSON.stringify(e)))),
    log: (m) => log.push(m),
    stopped: () => false,
  });
  return { code, events, log };
}

const byType = <T extends TrainerEvent['type']>(events: TrainerEvent[], type: T) =>
  events.filter((e): e is Extract<TrainerEvent, { type: T }> => e.type === type);

let dir: string;
let trainCsv: string;
let holdoutCsv: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-trainer-'));
  trainCsv = path.join(dir, 'train.csv');
  holdoutCsv = path.join(dir, 'holdout.csv');
  await writeDatasetCsv(trainCsv, generateApplicants(1200, { seed: 11 }));
  await writeDatasetCsv(holdoutCsv, generateApplicants(400, { seed: 12 }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each child pays tsx's start-up (~0.7 s of CPU), so only the cases that need a real process spawn one
// (exit codes, stdout framing, signals) and they run concurrently.
describe('example trainer (child process)', { concurrency: true }, () => {
  it('trains, reports JSON lines in protocol order and writes the artifact', async () => {
    const out = path.join(dir, 'good');
    const run = await runTrainer(['--data', trainCsv, '--holdout', holdoutCsv, '--out', out, '--epochs', '8', '--seed', '3'], {
      env: { VIGIL_JOB_ID: 'job-42' },
    });
    assert.equal(run.code, 0, run.stderr);
    const types = run.events.map((e) => e.type);
    assert.deepEqual(types, ['started', ...Array(8).fill('progress'), 'metrics', 'artifact']);
    const [started] = byType(run.events, 'started');
    assert.equal(started!.jobId, 'job-42');
    assert.equal(started!.rows, 1200);
    assert.ok(
      run.events.every((e) => (e as { jobId?: unknown }).jobId === 'job-42'),
      'every line echoes the job id',
    );
    const progress = byType(run.events, 'progress');
    assert.deepEqual(
      progress.map((p) => p.step),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(progress.every((p) => p.total === 8 && p.loss > 0 && p.loss < 1));
    const [metrics] = byType(run.events, 'metrics');
    assert.ok(metrics!.auc > 0.75, `AUC ${metrics!.auc}`);
    assert.equal(metrics!.holdoutRows, 400);
    const [artifactLine] = byType(run.events, 'artifact');
    assert.equal(artifactLine!.path, path.join(out, 'model.json'));
    const artifact = await loadArtifact(artifactLine!.path);
    assert.equal(artifact.metrics.auc, metrics!.auc);
    assert.equal(artifact.metrics.accuracy, metrics!.accuracy);
    assert.equal(artifact.metrics.trainRows, 1200);
    assert.equal(artifact.seed, 3);
    assert.match(run.stderr, /trainer: training on/);
  });

  it('splits 80/20 without --holdout, deterministically (in-process)', async () => {
    const a = await runInProcess(['--data', trainCsv, '--out', path.join(dir, 'split-a'), '--epochs', '3']);
    const b = await runInProcess(['--data', trainCsv, '--out', path.join(dir, 'split-b'), '--epochs', '3']);
    assert.equal(a.code, 0, a.log.join('\n'));
    const [ma] = byType(a.events, 'metrics');
    const [mb] = byType(b.events, 'metrics');
    assert.equal(ma!.holdoutRows, 240);
    assert.deepEqual(ma, mb);
    const [wa, wb] = await Promise.all([loadArtifact(path.join(dir, 'split-a', 'model.json')), loadArtifact(path.join(dir, 'split-b', 'model.json'))]);
    assert.deepEqual(wa.weights, wb.weights);
    assert.equal(wa.metrics.trainRows, 960);
  });

  it('--sabotage produces a clearly worse model', async () => {
    const args = ['--data', trainCsv, '--holdout', holdoutCsv, '--epochs', '5'];
    const [good, bad] = await Promise.all([
      runInProcess([...args, '--out', path.join(dir, 'ref')]),
      runTrainer([...args, '--out', path.join(dir, 'sabotaged'), '--sabotage']),
    ]);
    assert.equal(bad.code, 0, bad.stderr);
    const [goodMetrics] = byType(good.events, 'metrics');
    const [badMetrics] = byType(bad.events, 'metrics');
    assert.equal(byType(bad.events, 'started')[0]!.sabotage, true);
    assert.ok(badMetrics!.auc < 0.65 && badMetrics!.auc < goodMetrics!.auc - 0.15, `AUC ${goodMetrics!.auc} vs sabotaged ${badMetrics!.auc}`);
  });

  it('--flip-labels produces a model that ranks backwards (AUC below one half)', async () => {
    const flipped = await runInProcess(['--data', trainCsv, '--holdout', holdoutCsv, '--epochs', '5', '--out', path.join(dir, 'flipped'), '--flip-labels']);
    assert.equal(flipped.code, 0, flipped.log.join('\n'));
    assert.equal(byType(flipped.events, 'started')[0]!.flipLabels, true, 'announced in the started line');
    const [metrics] = byType(flipped.events, 'metrics');
    assert.ok(metrics!.auc < 0.5, `AUC ${metrics!.auc}`);
  });

  it('rejects a malformed CSV with exit 2 and an error line naming row and column', async () => {
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'income,debt_to_income,label\n50,0.3,0\n41,0.25,1\n40,oops,1\n');
    const out = path.join(dir, 'bad-out');
    const run = await runTrainer(['--data', bad, '--out', out]);
    assert.equal(run.code, EXIT_BAD_INPUT);
    assert.deepEqual(
      run.events.map((e) => e.type),
      ['error'],
    );
    const [error] = byType(run.events, 'error');
    assert.match(error!.message, /bad\.csv: row 3, line 4, column "debt_to_income": "oops" is not a finite number/);
    await assert.rejects(access(path.join(out, 'model.json')));
  });

  it('rejects ragged rows, a missing file, mismatched holdout columns and bad arguments with exit 2 (in-process)', async () => {
    const ragged = path.join(dir, 'ragged.csv');
    await writeFile(ragged, 'income,debt_to_income,label\n50,0.3,0\n41,1\n');
    const other = path.join(dir, 'other.csv');
    await writeFile(other, 'income,label\n50,0\n40,1\n');
    const cases: [string[], RegExp][] = [
      [['--data', ragged, '--out', dir], /ragged\.csv: row 2, line 3: expected 3 columns, got 2/],
      [['--data', path.join(dir, 'absent.csv'), '--out', dir], /absent\.csv: file does not exist/],
      [['--data', trainCsv, '--holdout', other, '--out', dir], /other\.csv: columns differ .*missing: debt_to_income/],
      [['--out', dir], /--data <csv> is required/],
      [['--data', trainCsv, '--out', dir, '--epochs', '0'], /--epochs "0": must be an integer/],
      [['--data', trainCsv, '--out', dir, '--frobnicate'], /Unknown option '--frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const run = await runInProcess(args);
      assert.equal(run.code, EXIT_BAD_INPUT, `${args.join(' ')}: ${run.log.join('\n')}`);
      assert.deepEqual(
        run.events.map((e) => e.type),
        ['error'],
      );
      assert.match((run.events[0] as { message: string }).message, message);
    }
  });

  it('stops promptly on SIGTERM without writing an artifact', async () => {
    const out = path.join(dir, 'killed');
    let killedAt = 0;
    const run = await runTrainer(['--data', trainCsv, '--out', out, '--epochs', '200', '--step-delay-ms', '50'], {
      onEvent: (e, kill) => {
        if (e.type === 'progress' && e.step === 3) {
          killedAt = Date.now();
          kill();
        }
      },
    });
    const stopMs = Date.now() - killedAt;
    assert.equal(run.code, EXIT_SIGTERM, run.stderr);
    assert.ok(stopMs < 1000, `took ${stopMs} ms to stop`);
    assert.ok(byType(run.events, 'progress').length < 10);
    assert.equal(byType(run.events, 'artifact').length, 0);
    await assert.rejects(access(path.join(out, 'model.json')));
  });
});
