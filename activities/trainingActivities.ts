/**
 * The retrain child's steps: snapshot labelled data, run the training job (heartbeating, resumable),
 * evaluate the candidate against the champion with explicit gates, register, promote.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import fs from 'node:fs';
import path from 'node:path';
import { readDatasetCsv, writeDatasetCsv } from '../adapters/files/labelledCsv.js';
import { readTaskDatasetCsv, writeTaskDatasetCsv, type TaskDatasetRow } from '../adapters/files/taskDatasetCsv.js';
import { readCsvTable } from '../adapters/files/csvTable.js';
import type { ModelConfig } from '../domain/config.js';
import { taskLabel } from '../domain/task.js';
import type { DatasetProfile } from '../domain/datasetProfile.js';
import { referenceProfile } from '../domain/referenceProfile.js';
import type { ScoredPrediction } from '../domain/ingest.js';
import { taskCandidateGates } from '../domain/taskGates.js';
import { ScoringOutputError } from '../ports/modelScorer.js';
import type { TrafficRow } from '../ports/predictionLog.js';
import type { TrainingActivities, TrainingSnapshot } from '../contracts/activities.js';
import { candidateGates } from '../domain/candidateGates.js';
import { assessLabels } from '../domain/labelQuality.js';
import type { LabelledRow } from '../domain/metrics.js';
import { durationMs } from '../domain/runbook.js';
import { activityKey } from './activityKey.js';
import { claimModelChange } from './modelChangeClaim.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';
import { watchTrainingJob } from './watchTrainingJob.js';

/** The window of labelled traffic a retrain learns from; the newest 20% is held out. */
const SNAPSHOT_ROWS = 1500;

export function createTrainingActivities(deps: ActivityDeps): Omit<TrainingActivities, 'workerHostQueue'> {
  const { registry } = deps;

  async function championFeatures(modelId: string): Promise<string[]> {
    const champion = await registry.getAlias(modelId, 'champion');
    return champion ? (await deps.models.profile(champion.artifactUri)).features : [];
  }

  /**
   * A protocol v2 candidate's reference profile, computed by Vigil from its training snapshot as at
   * registration (the monitors read it once the candidate is champion); protocol v1 artifacts carry their own.
   */
  function candidateProfile(modelId: string, incidentId: string): { profile?: DatasetProfile } {
    const model = modelConfig(deps, modelId);
    if (model.training.protocol !== 2) return {};
    const manifest = path.join(deps.stateDir, 'snapshots', `${incidentId}-train`, 'manifest.json');
    if (!fs.existsSync(manifest)) return {};
    const snapshot = JSON.parse(fs.readFileSync(manifest, 'utf8')) as TrainingSnapshot;
    return { profile: referenceProfile(model, readCsvTable(snapshot.trainCsv), 'prediction', 'label') };
  }

  /** A protocol v2 snapshot: labelled rows as the task states them, the newest 20% held out. */
  async function taskSnapshot(model: ModelConfig, traffic: TrafficRow[], minRows: number, dir: string, manifest: string): Promise<TrainingSnapshot> {
    const task = model.task;
    const rows: TaskDatasetRow[] = traffic
      .filter((r) => r.servedBy === 'model')
      .sort((a, b) => a.ts.getTime() - b.ts.getTime())
      .flatMap((r) => {
        const label = taskLabel(task, r);
        return label === undefined ? [] : [{ features: r.features, label }];
      });
    const classes = new Set(rows.map((r) => String(r.label)));
    const reasons: string[] = [];
    if (rows.length < minRows) reasons.push(`only ${rows.length} labelled rows (need ${minRows})`);
    if (task.type !== 'regression' && rows.length > 0 && classes.size < 2) reasons.push(`every label is "${[...classes][0]}"`);
    const positives = task.type === 'binary' ? rows.filter((r) => String(r.label) === String(task.positiveClass)).length : 0;
    const labelQuality = {
      ok: reasons.length === 0,
      rows: rows.length,
      positiveRate: rows.length && task.type === 'binary' ? positives / rows.length : 0,
      reasons: reasons.length ? reasons : [`${rows.length} rows${task.type === 'regression' ? '' : `, ${classes.size} classes`}`],
    };
    fs.mkdirSync(dir, { recursive: true });
    const snapshot: TrainingSnapshot = { trainCsv: path.join(dir, 'train.csv'), holdoutCsv: path.join(dir, 'holdout.csv'), rows: rows.length, labelQuality };
    if (labelQuality.ok) {
      const champion = await registry.getAlias(model.id, 'champion');
      const order = champion?.profile ? Object.keys(champion.profile.features) : [];
      const cut = Math.floor(rows.length * 0.8);
      await writeTaskDatasetCsv(snapshot.trainCsv, rows.slice(0, cut), order);
      await writeTaskDatasetCsv(snapshot.holdoutCsv, rows.slice(cut), order);
    }
    fs.writeFileSync(`${manifest}.tmp`, JSON.stringify(snapshot, null, 2));
    fs.renameSync(`${manifest}.tmp`, manifest);
    return snapshot;
  }

  /** Candidate and champion scored by the model's trainer on the holdout, gated by task type. */
  async function evaluateByScoring(model: ModelConfig, args: Parameters<TrainingActivities['evaluateCandidate']>[0]) {
    const scorer = deps.scorer;
    if (!scorer) throw ApplicationFailure.nonRetryable(`model "${model.id}" speaks trainer protocol 2 but this worker has no scorer`, 'NoScorer');
    const holdout = readTaskDatasetCsv(args.holdoutCsv, model.task.type === 'regression' ? 'number' : 'text');
    const rows = holdout.rows.map((r) => r.features);
    // Derived from the retrain's workflow: a retried activity finds the same scoring jobs.
    const step = `${Context.current().info.workflowExecution?.workflowId ?? `${model.id}-retrain`}-score`;
    const champion = await registry.getAlias(model.id, 'champion');
    const scored = async (who: string, artifactUri: string, jobId: string) => {
      try {
        return await scorer.score({ modelId: model.id, artifactUri, rows, features: holdout.features, jobId });
      } catch (err) {
        if (err instanceof ScoringOutputError) return `${who}: ${err.message}`;
        throw err;
      }
    };
    const candidate = await scored('candidate', args.artifactPath, `${step}-candidate`);
    const incumbent = champion ? await scored(`champion v${champion.version}`, champion.artifactUri, `${step}-champion-v${champion.version}`) : undefined;
    const version = champion ? { championVersion: champion.version } : {};
    for (const failed of [candidate, incumbent]) {
      if (typeof failed === 'string') {
        const gate = { name: 'scoring', candidate: NaN, champion: NaN, rule: `the scorer's output breaks trainer protocol v2: ${failed}`, passed: false };
        return { passed: false, gates: [gate], ...version };
      }
    }
    const { passed, gates } = taskCandidateGates(model.task, holdout.rows, candidate as ScoredPrediction[], incumbent as ScoredPrediction[] | undefined, args);
    return { passed, gates, ...version };
  }

  return {
    /**
     * Labelled traffic from after the incident opened (the regime the model must learn) when there is
     * enough of it, else the most recent labelled traffic; the newest 20% is held out.
     */
    async countFreshLabelledRows(args) {
      const rows = await deps.predictions.recent(args.modelId, { limit: args.atLeast, labelledOnly: true, since: new Date(args.since) });
      return rows.length;
    },

    async snapshotTrainingData(args) {
      // A retrain's first step: the model is this incident's to change until it closes.
      await claimModelChange(deps.ledger, args.modelId, args.incidentId);
      const dir = path.join(deps.stateDir, 'snapshots', args.jobId);
      const manifest = path.join(dir, 'manifest.json');
      if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8'));

      let traffic = args.since ? await deps.predictions.recent(args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true, since: new Date(args.since) }) : [];
      if (traffic.length < args.minLabelledRows) {
        traffic = await deps.predictions.recent(args.modelId, { limit: SNAPSHOT_ROWS, labelledOnly: true });
      }
      const model = modelConfig(deps, args.modelId);
      // Trainers speaking protocol v2 get the task's own labels (classes, values) and features as served.
      if (model.training.protocol === 2) return taskSnapshot(model, traffic, args.minLabelledRows, dir, manifest);
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
          passEnv: cfg.training.passEnv,
          gpus: cfg.training.gpus,
        }),
      });
      return { jobId: job.jobId, artifactPath: job.status.artifactPath!, metrics: job.status.metrics ?? {} };
    },

    /**
     * The runbook's gates, candidate and champion scored on the snapshot's holdout: by the trainer's
     * `score` (protocol v2, any task type: domain/taskGates.ts), else in process (domain/candidateGates.ts).
     * Output that breaks the protocol rejects the candidate with the reason; it never fails the retrain.
     */
    async evaluateCandidate(args) {
      const model = modelConfig(deps, args.modelId);
      if (model.training.protocol === 2) return evaluateByScoring(model, args);
      const holdout = (await readDatasetCsv(args.holdoutCsv)).rows;
      const features = holdout.map((r) => r.features);
      // The step runs with a heartbeat timeout (it may score through a trainer's jobs); this path's
      // scoring (in process, or a protocol v1 trainer's evaluator) keeps it alive while it works.
      const scoresOf = async (uri: string) =>
        heartbeatWhile(async () => ({ scores: await deps.models.score(uri, features), threshold: (await deps.models.profile(uri)).threshold }));
      const champion = await registry.getAlias(args.modelId, 'champion');
      const { passed, gates } = candidateGates(holdout, await scoresOf(args.artifactPath), champion ? await scoresOf(champion.artifactUri) : undefined, args);
      return { passed, gates, ...(champion ? { championVersion: champion.version } : {}) };
    },

    async registerCandidate(args) {
      const v = await registry.registerVersion({
        modelId: args.modelId,
        artifactUri: args.artifactPath,
        metrics: args.metrics,
        ...candidateProfile(args.modelId, args.incidentId),
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
      await claimModelChange(deps.ledger, args.modelId, args.incidentId);
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

/** Heartbeats every 2 s while `work` runs (no details: for steps that do not resume from a heartbeat); called outside an activity, just runs it. */
async function heartbeatWhile<T>(work: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work();
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 2000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
