/**
 * Classification: which of the six failure modes this is, and how bad, from the evidence and the
 * model's business tier. Every verdict carries its reasons and the numbers behind them.
 *
 * Evidence keys read here (all optional): psi_max, drifted_features, accuracy, accuracy_baseline,
 * accuracy_drop, missing_share, missing_columns, error_rate, latency_p99_ms, gpu_memory_util,
 * queue_depth, label_positive_rate_shift.
 */
import {
  failureModeForSignal,
  type Classification,
  type Evidence,
  type EvidenceValue,
  type FailureMode,
  type ModelTier,
  type Severity,
  type SignalKind,
} from './incident.js';

export interface ClassifyInput {
  signal: SignalKind;
  evidence: Evidence[];
  tier: ModelTier;
  /** PSI at or above this counts as input drift. */
  psiThreshold?: number;
}

type Impact = 'high' | 'medium' | 'low';

/** Severity by tier (rows) and measured impact (columns). SEV1 is reserved for critical models. */
const SEVERITY_MATRIX: Record<ModelTier, Record<Impact, Severity>> = {
  critical: { high: 'SEV1', medium: 'SEV2', low: 'SEV3' },
  high: { high: 'SEV2', medium: 'SEV3', low: 'SEV4' },
  medium: { high: 'SEV3', medium: 'SEV3', low: 'SEV4' },
  low: { high: 'SEV3', medium: 'SEV4', low: 'SEV4' },
};

const INFRA_SIGNALS: SignalKind[] = ['latency', 'error_rate', 'gpu_memory', 'queue_depth'];
const QUALITY_SIGNALS: SignalKind[] = ['schema_break', 'missing_values', 'out_of_range'];

export function classify(input: ClassifyInput): Classification {
  const psiThreshold = input.psiThreshold ?? 0.2;
  const facts = latestValues(input.evidence);
  const signals = new Set<SignalKind>([input.signal, ...input.evidence.map((e) => e.signal)]);
  const reasons: string[] = [];

  const mode = failureMode(signals, facts, psiThreshold, reasons);
  const { impact, why } = impactOf(mode, facts, psiThreshold);
  const severity = SEVERITY_MATRIX[input.tier][impact];
  reasons.push(`${impact} impact (${why}) on a ${input.tier}-tier model → ${severity}`);
  return { failureMode: mode, severity, reasons };
}

function failureMode(
  signals: Set<SignalKind>,
  f: Record<string, EvidenceValue>,
  psiThreshold: number,
  reasons: string[],
): FailureMode {
  const has = (list: SignalKind[]) => list.find((s) => signals.has(s));
  // Order matters: a broken input schema explains drift and accuracy loss, so it wins; infrastructure
  // and upstream faults come next because retraining cannot fix them.
  const quality = has(QUALITY_SIGNALS);
  if (quality) {
    reasons.push(`data quality: ${quality}${f.missing_columns ? ` (missing columns: ${f.missing_columns})` : ''}${num(f.missing_share) !== undefined ? ` (missing share ${fmt(f.missing_share)})` : ''}`);
    return 'data_quality';
  }
  const infra = has(INFRA_SIGNALS);
  if (infra) {
    reasons.push(`infrastructure signal: ${infra}`);
    return 'infrastructure';
  }
  if (signals.has('upstream_error')) {
    reasons.push('a dependency returned errors or changed shape');
    return 'upstream';
  }
  if (signals.has('label_anomaly')) {
    reasons.push(`labels look anomalous${f.label_positive_rate_shift !== undefined ? ` (positive-rate shift ${fmt(f.label_positive_rate_shift)})` : ''}: possible feedback-loop corruption`);
    return 'feedback_loop';
  }
  const psiMax = num(f.psi_max);
  const inputsDrifted = psiMax !== undefined && psiMax >= psiThreshold;
  if (signals.has('accuracy_drop') && !signals.has('data_drift') && !inputsDrifted) {
    reasons.push(`accuracy fell${drop(f)} while inputs are stable (max PSI ${psiMax === undefined ? 'unknown' : fmt(psiMax)} < ${psiThreshold})`);
    return 'concept_drift';
  }
  reasons.push(`inputs drifted (max PSI ${psiMax === undefined ? 'not given' : fmt(psiMax)}${f.drifted_features ? ` on ${f.drifted_features}` : ''})${signals.has('accuracy_drop') ? ` and accuracy fell${drop(f)}` : ''}`);
  return signals.has('data_drift') || inputsDrifted ? 'data_drift' : failureModeForSignal([...signals][0]);
}

function impactOf(mode: FailureMode, f: Record<string, EvidenceValue>, psiThreshold: number): { impact: Impact; why: string } {
  const checks: [number | undefined, number, number, string][] = [
    [accuracyDrop(f), 0.1, 0.05, 'accuracy drop'],
    [num(f.psi_max), 0.5, psiThreshold, 'max PSI'],
    [num(f.error_rate), 0.05, 0.01, 'error rate'],
    [num(f.missing_share), 0.2, 0.05, 'missing share'],
    [num(f.gpu_memory_util), 0.97, 0.9, 'GPU memory use'],
    [num(f.latency_p99_ms), 2000, 500, 'p99 latency ms'],
  ];
  let impact: Impact = 'low';
  const why: string[] = [];
  for (const [value, high, medium, label] of checks) {
    if (value === undefined) continue;
    const level: Impact = value >= high ? 'high' : value >= medium ? 'medium' : 'low';
    why.push(`${label} ${fmt(value)}`);
    if (level === 'high' || (level === 'medium' && impact === 'low')) impact = level;
  }
  if (mode === 'data_quality' && f.missing_columns) {
    impact = 'high';
    why.push('schema break');
  }
  return { impact, why: why.join(', ') || 'no measured impact' };
}

function latestValues(evidence: Evidence[]): Record<string, EvidenceValue> {
  return Object.assign({}, ...evidence.map((e) => e.values));
}

function num(v: EvidenceValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function accuracyDrop(f: Record<string, EvidenceValue>): number | undefined {
  const explicit = num(f.accuracy_drop);
  if (explicit !== undefined) return explicit;
  const acc = num(f.accuracy);
  const base = num(f.accuracy_baseline);
  return acc !== undefined && base !== undefined ? base - acc : undefined;
}

function drop(f: Record<string, EvidenceValue>): string {
  const d = accuracyDrop(f);
  return d === undefined ? '' : ` by ${fmt(d)}`;
}

function fmt(v: EvidenceValue | undefined): string {
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
}
