/**
 * The retrain's candidate gates: the candidate against the champion on the same holdout, with the
 * runbook's margins. AUC not lower (beyond `maxAucDrop`), calibration error not higher (beyond
 * `maxCalibrationIncrease`), and on each protected slice accuracy not lower (beyond `maxSliceDrop`).
 */
import { evaluateScores, type LabelledRow } from './metrics.js';
import type { ProtectedSlice } from './runbook.js';

export interface GateResult {
  name: string;
  candidate: number;
  champion: number;
  passed: boolean;
  rule: string;
  /** False when the gate could not judge (e.g. too few rows in a protected slice); it then passes. */
  judged?: boolean;
}

export interface GateMargins {
  maxAucDrop: number;
  /** Absent in retrains started before these gates existed: their old fixed values apply. */
  maxCalibrationIncrease?: number;
  maxSliceDrop?: number;
  /** Fewer holdout rows than this: calibration error is reported, not judged (absent: always judged). */
  minCalibrationRows?: number;
  protectedSlices?: ProtectedSlice[];
}

/** A model's scores on the holdout, row for row, and its decision threshold. */
export interface HoldoutScores {
  scores: Float64Array;
  threshold: number;
}

export function candidateGates(
  holdout: readonly LabelledRow[],
  candidate: HoldoutScores,
  champion: HoldoutScores | undefined,
  margins: GateMargins,
): { passed: boolean; gates: GateResult[] } {
  const labels = Float64Array.from(holdout, (r) => r.label);
  const measure = (s: HoldoutScores, rows?: number[]) =>
    rows
      ? evaluateScores(
          Float64Array.from(rows, (i) => s.scores[i] ?? Number.NaN),
          Float64Array.from(rows, (i) => labels[i] ?? Number.NaN),
          s.threshold,
        )
      : evaluateScores(s.scores, labels, s.threshold);
  const cand = measure(candidate);
  const incumbent = champion ? measure(champion) : undefined;
  const maxCal = margins.maxCalibrationIncrease ?? 0.02;
  const gates: GateResult[] = [
    {
      name: 'auc',
      candidate: cand.auc,
      champion: incumbent?.auc ?? 0,
      rule: `candidate ≥ champion − ${margins.maxAucDrop}`,
      passed: Number.isFinite(cand.auc) && cand.auc >= (incumbent?.auc ?? 0) - margins.maxAucDrop,
    },
    calibrationGate(cand.calibrationError, incumbent?.calibrationError ?? 1, maxCal, holdout.length, margins.minCalibrationRows ?? 0),
  ];
  const maxSliceDrop = margins.maxSliceDrop ?? 0.05;
  for (const slice of margins.protectedSlices ?? []) {
    const rows = holdout.flatMap((r, i) => (inSlice(slice, r.features[slice.feature]) ? [i] : []));
    const name = `slice:${slice.name}`;
    if (rows.length < slice.minRows || !champion) {
      gates.push({
        name,
        candidate: rows.length ? measure(candidate, rows).accuracy : NaN,
        champion: champion && rows.length ? measure(champion, rows).accuracy : NaN,
        rule: !champion ? 'no champion to compare with' : `only ${rows.length} holdout rows in the slice (need ${slice.minRows}): not judged`,
        passed: true,
        judged: false,
      });
      continue;
    }
    const c = measure(candidate, rows).accuracy;
    const ch = measure(champion, rows).accuracy;
    gates.push({ name, candidate: c, champion: ch, rule: `accuracy ≥ champion − ${maxSliceDrop} on ${rows.length} rows`, passed: c >= ch - maxSliceDrop });
  }
  return { passed: gates.every((g) => g.passed), gates };
}

/**
 * Calibration error (binned) on a small holdout is mostly noise — on 50 rows a good candidate differs
 * from the champion by several points either way — so below `minRows` it is shown, not judged.
 */
function calibrationGate(candidate: number, champion: number, margin: number, rows: number, minRows: number): GateResult {
  if (rows < minRows) {
    return { name: 'calibration_error', candidate, champion, rule: `only ${rows} holdout rows (need ${minRows}): not judged`, passed: true, judged: false };
  }
  return { name: 'calibration_error', candidate, champion, rule: `candidate ≤ champion + ${margin}`, passed: candidate <= champion + margin };
}

export function inSlice(slice: ProtectedSlice, value: unknown): boolean {
  if (slice.equals !== undefined) return value === slice.equals || String(value) === String(slice.equals);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  return (slice.min === undefined || value >= slice.min) && (slice.max === undefined || value <= slice.max);
}
