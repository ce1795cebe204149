/** A monitor run: compute the model's signals and open (or feed) an incident when one breaches. */
import type { SignalKind } from '../domain/incident.js';
import { computeModelSignals, signalsAsEvidence } from '../monitoring/computeModelSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

const PERFORMANCE_SIGNALS: SignalKind[] = ['data_drift', 'accuracy_drop'];

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

      for (const breach of outcome.breaches) {
        // Drift and accuracy loss are two views of one model problem: while an incident for either
        // is open, a new breach of the other feeds it instead of opening a second incident.
        let signal = breach;
        if (PERFORMANCE_SIGNALS.includes(breach)) {
          const open = await deps.incidents.list({ open: true, modelId: args.modelId });
          const related = open.find((i) => PERFORMANCE_SIGNALS.includes(i.signal as SignalKind));
          if (related) signal = related.signal as SignalKind;
        }
        const opened = await deps.incidents.open({
          modelId: args.modelId,
          signal,
          source: 'monitor',
          evidence: { ...signalsAsEvidence(s), observed: breach },
        });
        outcome.incidents.push({ ...opened, signal });
      }
      return outcome;
    },
  };
}
