/**
 * The retrain child's steps: snapshot labelled data, run the training job (heartbeating, resumable),
 * evaluate the candidate against the champion with explicit gates, register, promote.
 */
import { ApplicationFailure } from '@temporalio/activity';
import fs from 'node:fs';
import path from 'node:path';
import { assessLabels, type LabelQuality } from '../domain/labelQuality.js';
import { readDatasetCsv, writeDatasetCsv, type LabelledRow } from '../examples/credit-risk/dataset.js';
import { evaluate } from '../examples/credit-risk/logisticRegression.js';
import { loadRecentTraffic } from '../adapters/postgres/predictionLog.js';
import { TRAINER_SCRIPT } from '../examples/credit-risk/trainer.js';
import { cachedArtifact } from '../monitoring/computeModelSignals.js';
import type { GateResult } from '../workflows/retrainModel.js';
import { durationMs, type ProtectedSlice } from '../domain/runbook.js';
import { activityKey } from './activityKey.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';
import { watchTrainingJob } from './watchTrainingJob.js';

export interface TrainingSnapshot {
  trainCsv: string;
  holdoutCsv: string;
  rows: number;
  labelQuality: LabelQuality;
}

/** The window of labelled traffic a retrain learns from; the newest 20% is held out. */
const SNAPSHOT_ROWS = 1500;

/** The example trainer runs from TypeScript source; the job's cwd is its own folder, so name tsx's loader by URL. */
const EXAMPLE_TRAINER = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT];

export function createTrainingActivities(deps: ActivityDeps) {
  const { registry } = deps;

  return {
    /**
     * Labelled traffic from after the incident opened (the regime the model must learn) when there is
     * enough of it, else the most recent labelled traffic; the newest 20% is held out.
     */
    async snapshotTrainingData(args: { incidentId: string; modelId: string; jobId: string; minLabelledRows: number; since?: string }): Promise<TrainingSnapshot> {
      const dir = path.join(deps.stateDir, 'snapshots', args.jobId);
      const manifest = path.join(dir, 'manifest.json');
      if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8'));

      let traffic = args.since
        ? await loadRecentTraffic(deps.pool, args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true, since: new Date(args.since) })
        : [];
      if (traffic.length < args.minLabelledRows) {
        traffic = await loadRecentTraffic(deps.pool, args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true });
      }
      const rows: LabelledRow[] = traffic
        .filter((r) => r.label === 0 || r.label === 1)
        .sort((a, b) => a.ts.getTime() - b.ts.getTime())
        .map((r) => ({ features: r.features as Record<string, number>, label: r.label as 0 | 1 }));
      const labelQuality = assessLabels(rows.map((r) => r.label), { minRows: args.minLabelledRows });
      const cut = Math.floor(rows.length * 0.8);
      fs.mkdirSync(dir, { recursive: true });
      const snapshot: TrainingSnapshot = {
        trainCsv: path.join(dir, 'train.csv'),
        holdoutCsv: path.join(dir, 'holdout.csv'),
        rows: rows.length,
        labelQuality,
      };
      if (labelQuality.ok) {
        await writeDatasetCsv(snapshot.trainCsv, rows.slice(0, cut));
        await writeDatasetCsv(snapshot.holdoutCsv, rows.slice(cut));
      }
      fs.writeFileSync(`${manifest}.tmp`, JSON.stringify(snapshot, null, 2));
      fs.renameSync(`${manifest}.tmp`, manifest); // the snapshot exists only once complete
      return snapshot;
    },

    /**
     * Submits the job (a retry finds the same job by its id) and watches it, heartbeating the job id,
     * the try and progress; stops it past `training.timeout`; a failure becomes a retryable or
     * non-retryable ApplicationFailure by its kind, and a retryable one runs as a new try
     * (see watchTrainingJob). Cancelling the activity stops the job.
     */
    async runTrainingJob(args: {
      incidentId: string;
      modelId: string;
      jobId: string;
      trainCsv: string;
      holdoutCsv: string;
      extraArgs: string[];
    }): Promise<{ jobId: string; artifactPath: string; metrics: Record<string, number> }> {
      const cfg = modelConfig(deps, args.modelId);
      const job = await watchTrainingJob({
        backend: deps.trainingFor(args.modelId),
        jobId: args.jobId,
        timeoutMs: durationMs(cfg.training.timeout),
        timeout: cfg.training.timeout,
        spec: (jobId) => ({
          command: [
            ...(cfg.training.command ?? EXAMPLE_TRAINER),
            '--data', args.trainCsv,
            '--holdout', args.holdoutCsv,
            // Each try writes its own artifact folder.
            '--out', path.join(deps.stateDir, 'artifacts', args.modelId, jobId),
            ...args.extraArgs,
          ],
          env: cfg.training.env,
          gpus: cfg.training.gpus,
        }),
      });
      return { jobId: job.jobId, artifactPath: job.status.artifactPath!, metrics: job.status.metrics ?? {} };
    },

    /**
     * Gates from the runbook, on the snapshot's holdout: AUC not lower than the champion's (beyond
     * `maxAucDrop`), calibration error not higher (beyond `maxCalibrationIncrease`), and no protected
     * slice's accuracy lower by more than `maxSliceDrop`.
     */
    async evaluateCandidate(args: {
      modelId: string;
      artifactPath: string;
      holdoutCsv: string;
      maxAucDrop: number;
      /** Absent in retrains started before these gates existed: their old fixed values apply. */
      maxCalibrationIncrease?: number;
      maxSliceDrop?: number;
      protectedSlices?: ProtectedSlice[];
    }): Promise<{ passed: boolean; gates: GateResult[]; championVersion?: number }> {
      const holdout = (await readDatasetCsv(args.holdoutCsv)).rows;
      const candidateModel = await cachedArtifact(args.artifactPath);
      const candidate = evaluate(candidateModel, holdout);
      const champion = await registry.getAlias(args.modelId, 'champion');
      const championModel = champion ? await cachedArtifact(champion.artifactUri) : undefined;
      const incumbent = championModel ? evaluate(championModel, holdout) : undefined;
      const maxCal = args.maxCalibrationIncrease ?? 0.02;
      const gates: GateResult[] = [
        {
          name: 'auc',
          candidate: candidate.auc,
          champion: incumbent?.auc ?? 0,
          rule: `candidate ≥ champion − ${args.maxAucDrop}`,
          passed: Number.isFinite(candidate.auc) && candidate.auc >= (incumbent?.auc ?? 0) - args.maxAucDrop,
        },
        {
          name: 'calibration_error',
          candidate: candidate.calibrationError,
          champion: incumbent?.calibrationError ?? 1,
          rule: `candidate ≤ champion + ${maxCal}`,
          passed: candidate.calibrationError <= (incumbent?.calibrationError ?? 1) + maxCal,
        },
      ];
      const maxSliceDrop = args.maxSliceDrop ?? 0.05;
      for (const slice of args.protectedSlices ?? []) {
        const rows = holdout.filter((r) => inSlice(slice, r.features[slice.feature]));
        const name = `slice:${slice.name}`;
        if (rows.length < slice.minRows || !championModel) {
          gates.push({
            name,
            candidate: rows.length ? evaluate(candidateModel, rows).accuracy : NaN,
            champion: championModel && rows.length ? evaluate(championModel, rows).accuracy : NaN,
            rule: !championModel ? 'no champion to compare with' : `only ${rows.length} holdout rows in the slice (need ${slice.minRows}): not judged`,
            passed: true,
            judged: false,
          });
          continue;
        }
        const c = evaluate(candidateModel, rows).accuracy;
        const ch = evaluate(championModel, rows).accuracy;
        gates.push({ name, candidate: c, champion: ch, rule: `accuracy ≥ champion − ${maxSliceDrop} on ${rows.length} rows`, passed: c >= ch - maxSliceDrop });
      }
      return { passed: gates.every((g) => g.passed), gates, championVersion: champion?.version };
    },

    async registerCandidate(args: { incidentId: string; modelId: string; artifactPath: string; metrics: Record<string, number> }): Promise<{ version: number }> {
      const v = await registry.registerVersion({
        modelId: args.modelId,
        artifactUri: args.artifactPath,
        metrics: args.metrics,
        source: `retrain:${args.incidentId}`,
        idempotencyKey: activityKey(),
      });
      return { version: v.version };
    },

    /**
     * Moves `champion` to the candidate, then the deployment target gives it all traffic: the canary is
     * promoted, or (without a canary) the version rolled out. Champion first, so the built-in routing
     * never sends everything to the old version.
     */
    async promoteCandidate(args: { incidentId: string; modelId: string; version: number; canaried?: boolean }): Promise<{ from?: number; to: number }> {
      const key = activityKey();
      const moved = await registry.setAlias({
        modelId: args.modelId,
        alias: 'champion',
        version: args.version,
        reason: `promoted by retrain for ${args.incidentId}`,
        idempotencyKey: key,
      });
      const target = deps.deploymentFor(args.modelId);
      if (args.canaried) {
        await target.promoteCanary({ modelId: args.modelId, idempotencyKey: `${key}:rollout`, reason: `canary passed (${args.incidentId})` });
      } else {
        const version = await registry.getVersion(args.modelId, args.version);
        if (!version) throw ApplicationFailure.nonRetryable(`v${args.version} of ${args.modelId} is not in the registry`, 'UnknownVersion');
        await target.rollout({ modelId: args.modelId, artifactUri: version.artifactUri, version: args.version, idempotencyKey: `${key}:rollout`, reason: `promoted by retrain for ${args.incidentId}` });
      }
      return moved;
    },
  };
}

function inSlice(slice: ProtectedSlice, value: unknown): boolean {
  if (slice.equals !== undefined) return value === slice.equals || String(value) === String(slice.equals);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  return (slice.min === undefined || value >= slice.min) && (slice.max === undefined || value <= slice.max);
}
