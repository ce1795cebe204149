/** The monitor's breach rules: which of a model's measured signals open (or feed) an incident, and why. */
import { primaryQualitySignal } from './dataQuality.js';
import type { SignalKind } from './incident.js';
import type { ModelSignals } from './modelSignals.js';

/** Below this many recent predictions, traffic-based checks say nothing. */
export const MIN_MONITOR_SAMPLES = 50;

export interface MonitorBreach {
  signal: SignalKind;
  reason: string;
}

/**
 * Which signals breach. A data-quality problem masks drift and accuracy (they are symptoms of it);
 * label feedback and infrastructure health are judged independently.
 */
export function detectBreaches(
  s: ModelSignals,
  health: { breaches: readonly { signal: SignalKind; message: string }[] },
  cfg: { psiThreshold: number; accuracyDropThreshold: number; minLabelled: number },
): MonitorBreach[] {
  const out: MonitorBreach[] = [];
  if (s.samples >= MIN_MONITOR_SAMPLES) {
    const quality = primaryQualitySignal(s.dataQuality);
    if (quality) {
      out.push({
        signal: quality,
        reason: s.dataQuality.issues
          .filter((i) => i.signal === quality)
          .map((i) => i.message)
          .join('; '),
      });
    } else if (s.psiMax >= cfg.psiThreshold) {
      out.push({
        signal: 'data_drift',
        reason: `max PSI ${s.psiMax.toFixed(3)} ≥ ${cfg.psiThreshold} on ${s.driftedFeatures.join(', ')} (${s.samples} predictions)`,
      });
    } else if (s.labelled >= cfg.minLabelled) {
      // Performance loss by the task type's metrics; accuracy keeps its own sentence.
      const reasons: string[] = [];
      if ((s.accuracyDrop ?? 0) >= cfg.accuracyDropThreshold) {
        reasons.push(
          `accuracy ${s.accuracy!.toFixed(3)} is ${s.accuracyDrop!.toFixed(3)} below the baseline ${s.baselineAccuracy!.toFixed(3)} on ${s.labelled} labelled predictions while max PSI is ${s.psiMax.toFixed(3)}`,
        );
      }
      for (const f of s.performance ?? []) if (f.breached && f.metric !== 'accuracy') reasons.push(`${f.reason} while max PSI is ${s.psiMax.toFixed(3)}`);
      if (reasons.length) out.push({ signal: 'accuracy_drop', reason: reasons.join('; ') });
    }
    if (s.feedback.anomalous) out.push({ signal: 'label_anomaly', reason: s.feedback.reasons.join('; ') });
  }
  for (const b of health.breaches) out.push({ signal: b.signal, reason: b.message });
  return out;
}
