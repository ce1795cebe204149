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

export interface FeedbackLoopThresholds {
  /** Positive-rate shift from the training baseline, while inputs are stable, that is anomalous. */
  maxPositiveRateShift: number;
  /** Labels agreeing with the model's own predictions this often (well above its holdout accuracy) look derived from them. */
  maxPredictionAgreement: number;
}

export interface FeedbackLoopCheck {
  anomalous: boolean;
  rows: number;
  reasons: string[];
  values: Record<string, number>;
}

/**
 * Does the labelled feedback look corrupted? Labels that are not 0/1, labels that echo the model's own
 * predictions (a loop where outcomes are inferred from decisions), or a positive rate that moved far
 * from the training baseline while the inputs did not drift (drifted inputs explain a moved rate).
 */
export function assessFeedbackLoop(
  input: { labels: unknown[]; predicted: number[]; baselineAccuracy?: number; baselinePositiveRate?: number; inputsDrifted: boolean; minRows: number },
  t: FeedbackLoopThresholds,
): FeedbackLoopCheck {
  const rows = input.labels.length;
  const out: FeedbackLoopCheck = { anomalous: false, rows, reasons: [], values: {} };
  if (rows < input.minRows) return out;
  const r = (v: number) => Math.round(v * 10000) / 10000;

  const invalid = input.labels.filter((l) => l !== 0 && l !== 1).length;
  if (invalid > 0) {
    out.values.invalid_label_share = r(invalid / rows);
    out.reasons.push(`${invalid} of ${rows} labels are not 0 or 1`);
  }
  const valid = input.labels.map((l, i) => [l, input.predicted[i]] as const).filter(([l]) => l === 0 || l === 1);
  if (valid.length > 0) {
    const agreement = valid.filter(([l, p]) => l === p).length / valid.length;
    const positiveRate = valid.filter(([l]) => l === 1).length / valid.length;
    out.values.label_prediction_agreement = r(agreement);
    out.values.label_positive_rate = r(positiveRate);
    if (agreement >= t.maxPredictionAgreement && (input.baselineAccuracy === undefined || agreement - input.baselineAccuracy >= 0.05)) {
      out.reasons.push(
        `labels agree with the model's own predictions ${(agreement * 100).toFixed(1)}% of the time${input.baselineAccuracy !== undefined ? ` (holdout accuracy ${input.baselineAccuracy.toFixed(3)})` : ''}: labels look derived from predictions`,
      );
    }
    if (input.baselinePositiveRate !== undefined) {
      const shift = positiveRate - input.baselinePositiveRate;
      out.values.label_positive_rate_baseline = r(input.baselinePositiveRate);
      out.values.label_positive_rate_shift = r(shift);
      if (!input.inputsDrifted && Math.abs(shift) > t.maxPositiveRateShift) {
        out.reasons.push(
          `label positive rate ${positiveRate.toFixed(3)} moved ${shift > 0 ? '+' : ''}${shift.toFixed(3)} from the training baseline ${input.baselinePositiveRate.toFixed(3)} while inputs are stable`,
        );
      }
    }
    if (valid.length >= input.minRows && (positiveRate === 0 || positiveRate === 1)) out.reasons.push(`all ${valid.length} labels are ${positiveRate}`);
  }
  out.anomalous = out.reasons.length > 0;
  return out;
}

/**
 * Feedback for multiclass and regression models: labels that echo the model's own predictions — the
 * same class, or (regression) the same value to within a millionth — as often as `maxPredictionAgreement`
 * are outcomes inferred from decisions, not observed.
 */
export function assessLabelEcho(
  input: { echoes: readonly boolean[]; baselineAccuracy?: number; minRows: number; kind: 'class' | 'value' },
  t: FeedbackLoopThresholds,
): FeedbackLoopCheck {
  const rows = input.echoes.length;
  const out: FeedbackLoopCheck = { anomalous: false, rows, reasons: [], values: {} };
  if (rows < input.minRows) return out;
  const agreement = input.echoes.filter(Boolean).length / rows;
  out.values.label_prediction_agreement = Math.round(agreement * 10000) / 10000;
  const beyondHoldout = input.baselineAccuracy === undefined || agreement - input.baselineAccuracy >= 0.05;
  if (agreement >= t.maxPredictionAgreement && beyondHoldout) {
    const what = input.kind === 'class' ? 'the same class as the model predicted' : 'the value the model predicted';
    out.reasons.push(`${(agreement * 100).toFixed(1)}% of ${rows} labels are ${what}: labels look derived from predictions`);
  }
  out.anomalous = out.reasons.length > 0;
  return out;
}
