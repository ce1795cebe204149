/**
 * After remediation: did the model recover? `recovered: null` means too little traffic to tell.
 * Performance is judged by the model's task type: a binary model by its accuracy against the baseline
 * (`accuracyDropThreshold`), a multiclass or regression model by its task type's findings against the
 * champion's holdout (accuracy and macro-F1; MAE and RMSE; thresholds `monitor.performance`): any
 * breached finding means not recovered.
 */
import type { ValidationActivities } from '../contracts/activities.js';
import { computeModelSignals } from '../monitoring/computeModelSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';
import { compareVersions } from './compareVersions.js';
import type { ModelConfig } from '../domain/config.js';
import type { ValidationRecord } from '../domain/incident.js';
import type { TaskType } from '../domain/task.js';

/** What a task type's performance is judged by, in words. */
const TASK_METRIC_NAMES: Record<TaskType, string> = { binary: 'accuracy', multiclass: 'accuracy and macro-F1', regression: 'MAE and RMSE' };

export function createValidationActivities(deps: ActivityDeps): ValidationActivities {
  return {
    async checkRecovery(args) {
      const model = modelConfig(deps, args.modelId);
      const cfg = model.monitor;
      const checkedAt = new Date().toISOString();
      if (args.action === 'fallback') {
        const mode = await deps.deploymentFor(args.modelId).servingMode(args.modelId);
        return {
          recovered: mode === 'fallback',
          reasons: [
            mode === 'fallback' ? 'the rules-based fallback is serving; the model is out of the decision path' : `serving mode is ${mode}, not fallback`,
          ],
          checkedAt,
          metrics: {},
        };
      }
      const s = await computeModelSignals(deps, model, {
        since: args.since ? new Date(args.since) : undefined,
        servedBy: 'model',
      });
      const metrics: Record<string, number> = { samples: s.samples, psiMax: s.psiMax, labelled: s.labelled };
      if (s.accuracy !== undefined) Object.assign(metrics, { accuracy: s.accuracy, ...(s.accuracyDrop !== undefined ? { accuracyDrop: s.accuracyDrop } : {}) });
      const byFindings = s.task !== undefined && s.task !== 'binary';
      if (byFindings) {
        for (const f of s.performance ?? []) Object.assign(metrics, { [f.metric]: f.current, [`${f.metric}Baseline`]: f.baseline });
      }
      const min = args.policy.validation.minSamples;
      if (s.samples < min) {
        return { recovered: null, reasons: [`only ${s.samples} predictions since remediation (need ${min})`], checkedAt, metrics };
      }
      const reasons: string[] = [];
      let recovered = true;
      const inputsDrift = s.psiMax >= cfg.psiThreshold;
      /** Performance judged on enough labels (set below): then it, not the inputs' distance from a reference, says whether the model recovered. */
      let performanceHolds: boolean | undefined;
      if (inputsDrift) {
        recovered = false;
        reasons.push(
          `inputs still drift from the champion's reference: max PSI ${s.psiMax.toFixed(3)} ≥ ${cfg.psiThreshold} (${s.driftedFeatures.join(', ')})`,
        );
      } else reasons.push(`max PSI ${s.psiMax.toFixed(3)} < ${cfg.psiThreshold}`);
      if (byFindings) {
        const findings = s.performance ?? [];
        if (s.labelled >= cfg.minLabelled && findings.length) {
          performanceHolds = !findings.some((f) => f.breached);
          for (const f of findings) {
            if (f.breached) recovered = false;
            reasons.push(f.reason);
          }
        } else if (args.failureMode === 'concept_drift') {
          const names = TASK_METRIC_NAMES[s.task!];
          return {
            recovered: null,
            reasons: [
              ...reasons,
              s.labelled < cfg.minLabelled
                ? `only ${s.labelled} labelled predictions (need ${cfg.minLabelled}) to judge ${names}`
                : `no holdout figures of the champion to judge ${names} against`,
            ],
            checkedAt,
            metrics,
          };
        }
      } else if (s.labelled >= cfg.minLabelled && s.accuracyDrop !== undefined) {
        performanceHolds = s.accuracyDrop < cfg.accuracyDropThreshold;
        if (s.accuracyDrop >= cfg.accuracyDropThreshold) {
          recovered = false;
          reasons.push(`accuracy ${s.accuracy!.toFixed(3)} is ${s.accuracyDrop.toFixed(3)} below the baseline ${s.baselineAccuracy!.toFixed(3)}`);
        } else reasons.push(`accuracy ${s.accuracy!.toFixed(3)} within ${cfg.accuracyDropThreshold} of the baseline ${s.baselineAccuracy!.toFixed(3)}`);
      } else if (args.failureMode === 'concept_drift') {
        return {
          recovered: null,
          reasons: [...reasons, `only ${s.labelled} labelled predictions (need ${cfg.minLabelled}) to judge accuracy`],
          checkedAt,
          metrics,
        };
      }
      // After a retrain or rollback whose model performs at its baseline on enough labelled traffic, inputs
      // that still differ from its training reference are a note for the review, not a failure: the
      // remediation did what it was for.
      if (inputsDrift && performanceHolds === true && (args.action === 'rollback' || args.action === 'retrain')) {
        recovered = true;
        reasons.push(`performance holds on ${s.labelled} labelled predictions, so the remaining input drift is noted, not failed: watch it`);
      }
      if (!recovered && (args.action === 'rollback' || args.action === 'retrain')) {
        const comparison = await compareWithPrevious(model, args.policy.rollback.minImprovement ?? 0.02, args.since);
        if (comparison) {
          reasons.push(comparison.summary);
          return { recovered, reasons, checkedAt, metrics, comparison };
        }
      }
      return { recovered, reasons, checkedAt, metrics };
    },
  };

  /** The version the remediation replaced against the one serving, on the labelled predictions since. */
  async function compareWithPrevious(model: ModelConfig, minImprovement: number, since?: string): Promise<ValidationRecord['comparison']> {
    const champion = await deps.registry.getAlias(model.id, 'champion');
    if (!champion) return undefined;
    const changes = await deps.registry.aliasHistory(model.id, 'champion', new Date(Date.now() - 7 * 24 * 3_600_000));
    const previousVersion = changes.filter((c) => c.toVersion === champion.version && c.fromVersion !== undefined).at(-1)?.fromVersion;
    const previous = previousVersion !== undefined ? await deps.registry.getVersion(model.id, previousVersion) : undefined;
    if (!previous) return undefined;
    const j = await compareVersions(deps, model, {
      champion,
      other: previous,
      minImprovement,
      step: 'validation',
      ...(since ? { since: new Date(since) } : {}),
    });
    const verdict = !j.enough
      ? 'not enough to compare them'
      : j.better
        ? `v${previous.version} did better: undo`
        : `v${champion.version} does at least as well as v${previous.version} would: keep it`;
    return {
      previousVersion: previous.version,
      currentVersion: champion.version,
      metric: j.metric,
      rows: j.rows,
      enough: j.enough,
      ...(j.target !== undefined ? { previous: j.target } : {}),
      ...(j.champion !== undefined ? { current: j.champion } : {}),
      previousBetter: j.enough && j.better,
      summary: `${j.summary}: ${verdict}`,
    };
  }
}
