/**
 * Is the labelled feedback fit to train on? Refuses data that looks like a corrupted feedback loop:
 * too few rows, a single class, or a positive rate far from what the champion was trained on.
 */
export interface LabelQuality {
  ok: boolean;
  rows: number;
  positiveRate: number;
  reasons: string[];
}

export function assessLabels(labels: number[], opts: { minRows: number; baselinePositiveRate?: number; maxRateShift?: number }): LabelQuality {
  const rows = labels.length;
  const positives = labels.filter((l) => l === 1).length;
  const positiveRate = rows ? positives / rows : 0;
  const reasons: string[] = [];
  if (rows < opts.minRows) reasons.push(`only ${rows} labelled rows (need ${opts.minRows})`);
  if (rows > 0 && (positives === 0 || positives === rows)) reasons.push(`all labels are ${positives === 0 ? 0 : 1}`);
  const shift = opts.baselinePositiveRate === undefined ? 0 : Math.abs(positiveRate - opts.baselinePositiveRate);
  if (shift > (opts.maxRateShift ?? 0.3)) {
    reasons.push(`positive rate ${positiveRate.toFixed(3)} is ${shift.toFixed(3)} away from the training baseline ${opts.baselinePositiveRate!.toFixed(3)}`);
  }
  return { ok: reasons.length === 0, rows, positiveRate, reasons: reasons.length ? reasons : [`${rows} rows, positive rate ${positiveRate.toFixed(3)}`] };
}
