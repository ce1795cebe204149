/** After remediation: did the model recover? `recovered: null` means too little traffic to tell. */
import type { ValidationActivities } from '../contracts/activities.js';
import { computeModelSignals } from '../monitoring/computeModelSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

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
      const min = args.policy.validation.minSamples;
      if (s.samples < min) {
        return { recovered: null, reasons: [`only ${s.samples} predictions since remediation (need ${min})`], checkedAt, metrics };
      }
      const reasons: string[] = [];
      let recovered = true;
      if (s.psiMax >= cfg.psiThreshold) {
        recovered = false;
        reasons.push(
          `inputs still drift from the champion's reference: max PSI ${s.psiMax.toFixed(3)} ≥ ${cfg.psiThreshold} (${s.driftedFeatures.join(', ')})`,
        );
      } else reasons.push(`max PSI ${s.psiMax.toFixed(3)} < ${cfg.psiThreshold}`);
      if (s.labelled >= cfg.minLabelled && s.accuracyDrop !== undefined) {
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
      return { recovered, reasons, checkedAt, metrics };
    },
  };
}
