/**
 * The retrain child's steps: snapshot labelled data, run the training job (heartbeating, resumable),
 * evaluate the candidate against the champion with explicit gates, register, promote.
 */
import { ApplicationFailure } from '@temporalio/activity';
import fs from 'node:fs';
import path from 'node:path';
import { readDatasetCsv, writeDatasetCsv } from '../adapters/files/labelledCsv.js';
import type { TrainingActivities, TrainingSnapshot } from '../contracts/activities.js';
import { candidateGates } from '../domain/candidateGates.js';
import { assessLabels } from '../domain/labelQuality.js';
import type { LabelledRow } from '../domain/metrics.js';
import { durationMs } from '../domain/runbook.js';
import { activityKey } from './activityKey.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';
import { watchTrainingJob } from './watchTrainingJob.js';

/** The window of labelled traffic a retrain learns from; the newest 20% is held out. */
const SNAPSHOT_ROWS = 1500;

export function createTrainingActivities(deps: ActivityDeps): TrainingActivities {
  const { registry } = deps;

  async function championFeatures(modelId: string): Promise<string[]> {
    const champion = await registry.getAlias(modelId, 'champion');
    return champion ? (await deps.models.profile(champion.artifactUri)).features : [];
  }

  return {
    /**
     * Labelled traffic from after the incident opened (the regime the model must learn) when there is
     * enough of it, else the most recent labelled traffic; the newest 20% is held out.
     */
    async snapshotTrainingData(args) {
      const dir = path.join(deps.stateDir, 'snapshots', args.jobId);
      const manifest = path.join(dir, 'manifest.json');
      if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8'));

      let traffic = args.since ? await deps.predictions.recent(args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true, since: new Date(args.since) }) : [];
      if (traffic.length < args.minLabelledRows) {
        traffic = await deps.predictions.recent(args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true });
      }
      const rows: LabelledRow[] = traffic
        .filter((r) => r.label === 0 || r.label === 1)
        .sort((a, b) => a.ts.getTime() - b.ts.getTime())
        .map((r) => ({ features: r.features as Record<string, number>, label: r.label as 0 | 1 }));
      const labelQuality = assessLabels(
        rows.map((r) => r.label),
        { minRows: args.minLabelledRows },
      );
      const cut = Math.floor(rows.length * 0.8);
      fs.mkdirSync(dir, { recursive: true });
      const snapshot: TrainingSnapshot = {
        trainCsv: path.join(dir, 'train.csv'),
        holdoutCsv: path.join(dir, 'holdout.csv'),
        rows: rows.length,
        labelQuality,
      };
      if (labelQuality.ok) {
        // Columns in the champion's feature order, as it was trained.
        const order = await championFeatures(args.modelId);
        await writeDatasetCsv(snapshot.trainCsv, rows.slice(0, cut), order);
        await writeDatasetCsv(snapshot.holdoutCsv, rows.slice(cut), order);
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
    async runTrainingJob(args) {
      const cfg = modelConfig(deps, args.modelId);
      const command = cfg.training.command ?? deps.defaultTrainerCommand;
      if (!command) {
        throw ApplicationFailure.nonRetryable(`model "${args.modelId}" has no trainer: set models[].training.command`, 'NoTrainer');
      }
      const job = await watchTrainingJob({
        backend: deps.trainingFor(args.modelId),
        jobId: args.jobId,
        timeoutMs: durationMs(cfg.training.timeout),
        timeout: cfg.training.timeout,
        spec: (jobId) => ({
          command: [
            ...command,
            '--data',
            args.trainCsv,
            '--holdout',
            args.holdoutCsv,
            // Each try writes its own artifact folder.
            '--out',
            path.join(deps.stateDir, 'artifacts', args.modelId, jobId),
            ...(args.extraArgs ?? []),
          ],
          env: cfg.training.env,
          gpus: cfg.training.gpus,
        }),
      });
      return { jobId: job.jobId, artifactPath: job.status.artifactPath!, metrics: job.status.metrics ?? {} };
    },

    /** The runbook's gates (domain/candidateGates.ts), candidate and champion scored on the snapshot's holdout. */
    async evaluateCandidate(args) {
      const holdout = (await readDatasetCsv(args.holdoutCsv)).rows;
      const features = holdout.map((r) => r.features);
      const scoresOf = async (uri: string) => ({ scores: await deps.models.score(uri, features), threshold: (await deps.models.profile(uri)).threshold });
      const champion = await registry.getAlias(args.modelId, 'champion');
      const { passed, gates } = candidateGates(holdout, await scoresOf(args.artifactPath), champion ? await scoresOf(champion.artifactUri) : undefined, args);
      return { passed, gates, ...(champion ? { championVersion: champion.version } : {}) };
    },

    async registerCandidate(args) {
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
    async promoteCandidate(args) {
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
        await target.rollout({
          modelId: args.modelId,
          artifactUri: version.artifactUri,
          version: args.version,
          idempotencyKey: `${key}:rollout`,
          reason: `promoted by retrain for ${args.incidentId}`,
        });
      }
      return moved;
    },
  };
}
