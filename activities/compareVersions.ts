/**
 * Two versions of a model scored on the same recent labelled predictions — the trainer's `score` for
 * models on trainer protocol v2, else the in-process model evaluation — and judged by the task's metric
 * (domain/rollbackJudgement.ts). Triage asks it before recommending a rollback; validation asks it before
 * undoing a remediation. Scoring jobs are named after the workflow and the step, so a retried activity
 * finds the same jobs.
 */
import { Context } from '@temporalio/activity';
import type { ModelConfig } from '../domain/config.js';
import { taskLabel } from '../domain/task.js';
import type { ScoredPrediction } from '../domain/ingest.js';
import { judgeRollback, type RollbackJudgement } from '../domain/rollbackJudgement.js';
import type { ModelVersion } from '../ports/modelRegistry.js';
import { ScoringOutputError } from '../ports/modelScorer.js';
import type { ActivityDeps } from './activityDeps.js';

export async function compareVersions(
  deps: Pick<ActivityDeps, 'predictions' | 'models' | 'scorer'>,
  cfg: ModelConfig,
  opts: {
    /** The version serving now. */
    champion: ModelVersion;
    /** The version that would replace it (a rollback target, or what an undo restores). */
    other: ModelVersion;
    minImprovement: number;
    /** Only predictions made since then (e.g. since a remediation). */
    since?: Date;
    /** Names the scoring jobs: `<workflow>-<step>-score-v<n>`. */
    step: string;
  },
): Promise<RollbackJudgement> {
  const { task } = cfg;
  const { champion, other } = opts;
  const recent = (
    await deps.predictions.recent(cfg.id, { limit: cfg.monitor.window, labelledOnly: true, ...(opts.since ? { since: opts.since } : {}) })
  ).filter((r) => r.servedBy === 'model');
  const labelled = recent.flatMap((r) => {
    const label = taskLabel(task, r);
    return label === undefined ? [] : [{ features: r.features as Record<string, unknown>, label }];
  });
  const judge = (championPreds: ScoredPrediction[], otherPreds: ScoredPrediction[]) =>
    judgeRollback({
      task,
      labels: labelled.map((r) => r.label),
      champion: { version: champion.version, predictions: championPreds },
      target: { version: other.version, predictions: otherPreds },
      minRows: cfg.monitor.minLabelled,
      minImprovement: opts.minImprovement,
    });
  if (labelled.length < cfg.monitor.minLabelled) return judge([], []);
  const rows = labelled.map((r) => r.features);
  const features = champion.profile ? Object.keys(champion.profile.features) : Object.keys(rows[0] ?? {});
  const prefix = `${Context.current().info.workflowExecution?.workflowId ?? cfg.id}-${opts.step}-score`;
  const scoreWith = async (v: ModelVersion): Promise<ScoredPrediction[]> => {
    if (cfg.training.protocol === 2 && deps.scorer) {
      return deps.scorer.score({ modelId: cfg.id, artifactUri: v.artifactUri, rows, features, jobId: `${prefix}-v${v.version}` });
    }
    return Array.from(await deps.models.score(v.artifactUri, rows), (score) => ({ score }));
  };
  try {
    return judge(await scoreWith(champion), await scoreWith(other));
  } catch (err) {
    if (!(err instanceof ScoringOutputError)) throw err;
    return { ...judge([], []), enough: false, summary: `v${other.version} and v${champion.version} could not be scored: ${err.message}` };
  }
}
