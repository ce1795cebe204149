/**
 * A monitor run: compute the model's signals (drift, data quality, accuracy, label feedback and, when
 * configured, Prometheus health) and open or feed one incident per failure mode that breaches.
 */
import type { MonitorActivities } from '../contracts/activities.js';
import type { MonitorOutcome } from '../contracts/monitorWorkflow.js';
import { failureModeForSignal, type FailureMode, type SignalKind } from '../domain/incident.js';
import { detectBreaches, type MonitorBreach } from '../domain/monitorBreaches.js';
import { computeModelSignals, signalsAsEvidence } from '../monitoring/computeModelSignals.js';
import { computeHealthSignals, healthAsEvidence, isUnknownHealth } from '../monitoring/healthSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

const PERFORMANCE_SIGNALS: SignalKind[] = ['data_drift', 'accuracy_drop'];

export function createMonitorActivities(
  deps: Pick<ActivityDeps, 'config' | 'registry' | 'models' | 'predictions' | 'deploymentFor' | 'incidentOpener' | 'prometheus'>,
): MonitorActivities {
  return {
    async runMonitor(args) {
      const model = modelConfig(deps, args.modelId);
      const [s, health] = await Promise.all([computeModelSignals(deps, model), computeHealthSignals(deps, model)]);
      const found = detectBreaches(s, health, model.monitor);
      const outcome: MonitorOutcome = {
        modelId: args.modelId,
        samples: s.samples,
        breaches: found.map((b) => b.signal),
        reasons: found.map((b) => b.reason),
        incidents: [],
        // Unknown checks open nothing (no evidence of a problem) and are reported, never counted as healthy.
        healthNotes: health.checks.filter(isUnknownHealth).map((c) => c.message),
      };
      if (found.length === 0) return outcome;

      const evidence = { ...signalsAsEvidence(s), ...healthAsEvidence(health) };
      // One incident per failure mode: several breaches of one mode in a run are one observation.
      const byMode = new Map<FailureMode, MonitorBreach[]>();
      for (const b of found) {
        const mode = failureModeForSignal(b.signal);
        byMode.set(mode, [...(byMode.get(mode) ?? []), b]);
      }
      for (const [first, ...rest] of byMode.values()) {
        if (!first) continue;
        const breaches = [first, ...rest];
        let signal = first.signal;
        // Drift and accuracy loss are two views of one model problem: while an incident for either
        // is open, a new breach of the other feeds it instead of opening a second incident.
        if (PERFORMANCE_SIGNALS.includes(signal)) {
          const open = await deps.incidentOpener.list({ open: true, modelId: args.modelId });
          const related = open.find((i) => PERFORMANCE_SIGNALS.includes(i.signal as SignalKind));
          if (related) signal = related.signal as SignalKind;
        }
        const opened = await deps.incidentOpener.open({
          modelId: args.modelId,
          signal,
          source: 'monitor',
          // Time to detect runs from the oldest prediction of the breaching window (an upper bound).
          ...(s.windowStart !== undefined ? { observedAt: new Date(s.windowStart) } : {}),
          evidence: { ...evidence, observed: breaches.map((b) => b.signal).join(','), monitor_reasons: breaches.map((b) => b.reason).join('; ') },
        });
        outcome.incidents.push({ ...opened, signal });
      }
      return outcome;
    },
  };
}
