/**
 * The fraud example's starting point, made the way a team would make it: generate the training data
 * (dataset.py), train v1 with the team's own trainer (trainer.py, protocol v2), score the holdout with
 * the trainer's `score`, and register the version through Vigil's model service with the training rows
 * as the reference and the scored holdout — the code path of `vigil model register`. Idempotent: a
 * model with a champion is left alone, and files already made are reused.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCsvTable } from '../../adapters/files/csvTable.js';
import { csvCell } from '../../adapters/files/taskDatasetCsv.js';
import { createModelService } from '../../client/modelService.js';
import type { ModelConfig } from '../../domain/config.js';
import type { ModelRegistry } from '../../ports/modelRegistry.js';
import { FRAUD_SCRIPTS, fraudTrainerCommand } from './exampleConfig.js';

export const FRAUD_BASELINE_SEED = 20240601;

/** The Python with scikit-learn, FastAPI and uvicorn: VIGIL_PYTHON, else the tools venv (scripts/python-tools.sh), else python3. */
export function fraudPython(toolsDir: string): string {
  if (process.env.VIGIL_PYTHON) return process.env.VIGIL_PYTHON;
  const venv = path.join(toolsDir, 'python', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** Runs a Python script to completion; its stdout's JSON lines are returned, stderr goes to `logFile`. */
export async function runPython(python: string, args: string[], logFile: string): Promise<Record<string, unknown>[]> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', log] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const lines = out.split('\n').flatMap((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return v && typeof v === 'object' ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
    if (code !== 0) {
      const error = [...lines].reverse().find((l) => l.type === 'error')?.message;
      throw new Error(`${path.basename(args[0]!)} exited ${code}${error ? `: ${String(error)}` : ''} (log: ${logFile})`);
    }
    return lines;
  } finally {
    fs.closeSync(log);
  }
}

export interface FraudBaseline {
  trainCsv: string;
  holdoutCsv: string;
  /** The holdout with the v1 model's `prediction` and the `label`: what Vigil measures v1 by. */
  scoredHoldoutCsv: string;
  artifactPath: string;
  metrics: Record<string, number>;
}

/** Data, model v1 and its scored holdout in `dir` (reused when present). */
export async function ensureFraudBaseline(dir: string, python: string): Promise<FraudBaseline> {
  const logFile = path.join(dir, 'bootstrap.log');
  const trainCsv = path.join(dir, 'train.csv');
  const holdoutCsv = path.join(dir, 'holdout.csv');
  const scoredHoldoutCsv = path.join(dir, 'holdout-scored.csv');
  const modelDir = path.join(dir, 'v1');
  const artifactPath = path.join(modelDir, 'model.joblib');
  const metricsFile = path.join(modelDir, 'metrics.json');
  for (const [file, rows, seed] of [
    [trainCsv, 4000, FRAUD_BASELINE_SEED],
    [holdoutCsv, 1000, FRAUD_BASELINE_SEED + 1],
  ] as const) {
    if (!fs.existsSync(file)) await runPython(python, [FRAUD_SCRIPTS.dataset, '--rows', String(rows), '--seed', String(seed), '--out', file], logFile);
  }
  if (!fs.existsSync(artifactPath) || !fs.existsSync(metricsFile)) {
    const [, ...trainer] = fraudTrainerCommand(python);
    const lines = await runPython(python, [...trainer, '--data', trainCsv, '--holdout', holdoutCsv, '--out', modelDir], logFile);
    const metrics = Object.fromEntries(Object.entries([...lines].reverse().find((l) => l.type === 'metrics') ?? {}).filter(([, v]) => typeof v === 'number'));
    fs.writeFileSync(metricsFile, JSON.stringify(metrics));
  }
  if (!fs.existsSync(scoredHoldoutCsv)) {
    // The trainer reads the header by name: the holdout's label column is ignored when scoring.
    const predictions = path.join(dir, 'holdout-predictions.jsonl');
    await runPython(python, [FRAUD_SCRIPTS.trainer, 'score', '--model', artifactPath, '--data', holdoutCsv, '--out', predictions], logFile);
    const scores = fs
      .readFileSync(predictions, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { score: number }).score);
    const labels = readCsvTable(holdoutCsv).cells.get('label') ?? [];
    if (scores.length !== labels.length) throw new Error(`${predictions}: ${scores.length} predictions for ${labels.length} holdout rows`);
    const text = ['prediction,label', ...scores.map((s, i) => `${s},${csvCell(labels[i])}`)].join('\n') + '\n';
    fs.writeFileSync(`${scoredHoldoutCsv}.tmp`, text);
    fs.renameSync(`${scoredHoldoutCsv}.tmp`, scoredHoldoutCsv);
  }
  const metrics = JSON.parse(fs.readFileSync(metricsFile, 'utf8')) as Record<string, number>;
  return { trainCsv, holdoutCsv, scoredHoldoutCsv, artifactPath, metrics };
}

/** Registers v1 as the healthy champion once (through the model service, like `vigil model register`). */
export async function ensureFraudModel(opts: {
  registry: ModelRegistry;
  model: ModelConfig;
  stateDir: string;
  python: string;
}): Promise<{ championVersion: number; created: boolean }> {
  const { registry, model } = opts;
  await registry.ensureModel({ id: model.id, displayName: model.displayName, tier: model.tier });
  const champion = await registry.getAlias(model.id, 'champion');
  if (champion) return { championVersion: champion.version, created: false };
  const baseline = await ensureFraudBaseline(path.join(opts.stateDir, 'example', model.id), opts.python);
  const { version } = await createModelService({ config: { models: [model] }, registry }).register({
    modelId: model.id,
    artifactUri: baseline.artifactPath,
    reference: readCsvTable(baseline.trainCsv),
    holdout: readCsvTable(baseline.scoredHoldoutCsv),
    ...(baseline.metrics.positiveRate !== undefined ? { metrics: { positiveRate: baseline.metrics.positiveRate } } : {}),
    alias: 'champion',
    source: 'bootstrap',
    status: 'healthy',
  });
  return { championVersion: version.version, created: true };
}
