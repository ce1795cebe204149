/** A monitor run: compute the model's signals and open (or feed) an incident when one breaches. */
import type { SignalKind } from '../domain/incident.js';
import { computeModelSignals, signalsAsEvidence } from '../monitoring/computeModelSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

export interface MonitorOutcome {
  modelId: string;
  samples: number;
  breaches: SignalKind[];
  incidents: { id: string; created: boolean; signal: SignalKind }[];
}

export function createMonitorActivities(deps: ActivityDeps) {
  return {
    async runMonitor(args: { modelId: string }): Promise<MonitorOutcome> {
      const cfg = modelConfig(deps, args.modelId).monitor;
      const s = await computeModelSignals(deps, args.modelId, cfg);
      const outcome: MonitorOutcome = { modelId: args.modelId, samples: s.samples, breaches: [], incidents: [] };
      if (s.samples < 50) return outcome;

      if (s.missingColumns.length) outcome.breaches.push('schema_break');
      else if (s.psiMax >= cfg.psiThreshold) outcome.breaches.push('data_drift');
      else if (s.labelled >= cfg.minLabelled && (s.accuracyDrop ?? 0) >= cfg.accuracyDropThreshold) outcome.breaches.push('accuracy_drop');

      for (const signal of outcome.breaches) {
        const opened = await deps.incidents.open({ modelId: args.modelId, signal, source: 'monitor', evidence: signalsAsEvidence(s) });
        outcome.incidents.push({ ...opened, signal });
      }
      return outcome;
    },
  };
}
