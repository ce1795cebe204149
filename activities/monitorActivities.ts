/**
 * A monitor run: compute the model's signals (drift, data quality, accuracy, label feedback and, when
 * configured, Prometheus health) and open or feed one incident per failure mode that breaches.
 */
import { failureModeForSignal, type FailureMode, type SignalKind } from '../domain/incident.js';
import { primaryQualitySignal } from '../domain/dataQuality.js';
import { computeModelSignals, signalsAsEvidence, type ModelSignals } from '../monitoring/computeModelSignals.js';
import { computeHealthSignals, healthAsEvidence, type HealthReport } from '../monitoring/healthSignals.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

/** Below this many recent predictions, traffic-based checks say nothing. */
export const MIN_MONITOR_SAMPLES = 50;

const PERFORMANCE_SIGNALS: SignalKind[] = ['data_drift', 'accuracy_drop'];

export interface MonitorBreach {
  signal: SignalKind;
  reason: string;
}

export interface MonitorOutcome {
  modelId: string;
  samples: number;
  breaches: SignalKind[];
  /** Why each breach was raised, with the numbers. */
  reasons: string[];
  incidents: { id: string; created: boolean; signal: SignalKind }[];
  /** Health checks that could not give a verdict (no data, NaN, query errors), with the reason. */
  healthNotes: string[];
}

export function createMonitorActivities(deps: ActivityDeps) {
  return {
    async runMonitor(args: { modelId: string }): Promise<MonitorOutcome> {
      const model = modelConfig(deps, args.modelId);
      const [s, health] = await Promise.all([computeModelSignals(deps, model), computeHealthSignals(deps, model)]);
      const found = detectBreaches(s, health, model.monitor);
      const outcome: MonitorOutcome = {
        modelId: args.modelId,
        samples: s.samples,
        breaches: found.map((b) => b.signal),
        reasons: found.map((b) => b.reason),
        incidents: [],
        healthNotes: health.checks.filter((c) => c.status !== 'ok' && c.status !== 'breach').map((c) => c.message),
      };
      if (found.length === 0) return outcome;

      const evidence = { ...signalsAsEvidence(s), ...healthAsEvidence(health) };
      // One incident per failure mode: several breaches of one mode in a run are one observation.
      const byMode = new Map<FailureMode, MonitorBreach[]>();
      for (const b of found) {
        const mode = failureModeForSignal(b.signal);
        byMode.set(mode, [...(byMode.get(mode) ?? []), b]);
      }
      for (const breaches of byMode.values()) {
        let signal = breaches[0].signal;
        // Drift and accuracy loss are two views of one model problem: while an incident for either
        // is open, a new breach of the other feeds it instead of opening a second incident.
        if (PERFORMANCE_SIGNALS.includes(signal)) {
          const open = await deps.incidents.list({ open: true, modelId: args.modelId });
          const related = open.find((i) => PERFORMANCE_SIGNALS.includes(i.signal as SignalKind));
          if (related) signal = related.signal as SignalKind;
        }
        const opened = await deps.incidents.open({
          modelId: args.modelId,
          signal,
          source: 'monitor',
          evidence: { ...evidence, observed: breaches.map((b) => b.signal).join(','), monitor_reasons: breaches.map((b) => b.reason).join('; ') },
        });
        outcome.incidents.push({ ...opened, signal });
      }
      return outcome;
    },
  };
}

/**
 * Which signals breach. A data-quality problem masks drift and accuracy (they are symptoms of it);
 * label feedback and infrastructure health are judged independently.
 */
export function detectBreaches(s: ModelSignals, health: HealthReport, cfg: { psiThreshold: number; accuracyDropThreshold: number; minLabelled: number }): MonitorBreach[] {
  const out: MonitorBreach[] = [];
  if (s.samples >= MIN_MONITOR_SAMPLES) {
    const quality = primaryQualitySignal(s.dataQuality);
    if (quality) {
      out.push({ signal: quality, reason: s.dataQuality.issues.filter((i) => i.signal === quality).map((i) => i.message).join('; ') });
    } else if (s.psiMax >= cfg.psiThreshold) {
      out.push({ signal: 'data_drift', reason: `max PSI ${s.psiMax.toFixed(3)} ≥ ${cfg.psiThreshold} on ${s.driftedFeatures.join(', ')} (${s.samples} predictions)` });
    } else if (s.labelled >= cfg.minLabelled && (s.accuracyDrop ?? 0) >= cfg.accuracyDropThreshold) {
      out.push({
        signal: 'accuracy_drop',
        reason: `accuracy ${s.accuracy!.toFixed(3)} is ${s.accuracyDrop!.toFixed(3)} below the baseline ${s.baselineAccuracy!.toFixed(3)} on ${s.labelled} labelled predictions while max PSI is ${s.psiMax.toFixed(3)}`,
      });
    }
    if (s.feedback.anomalous) out.push({ signal: 'label_anomaly', reason: s.feedback.reasons.join('; ') });
  }
  for (const b of health.breaches) out.push({ signal: b.signal, reason: b.message });
  return out;
}
