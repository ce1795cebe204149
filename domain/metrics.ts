/**
 * Binary-classification metrics from scores and 0/1 labels: what the candidate gates and the monitors
 * measure, whatever model produced the scores.
 */

/** A labelled row: the model's inputs and the outcome that came back. */
export interface LabelledRow {
  features: Record<string, number>;
  label: 0 | 1;
}

export interface Evaluation {
  /** ROC AUC (ties get average ranks); NaN when `rows` hold only one class. */
  auc: number;
  accuracy: number;
  /** Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15]. */
  logLoss: number;
  /** Expected calibration error: 10 equal-width score bins, Σ (n_b / n) · |mean score − default rate|. */
  calibrationError: number;
  rows: number;
}

const EPS = 1e-15;

/** Metrics from scores and 0/1 labels (accuracy at `threshold`). */
export function evaluateScores(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): Evaluation {
  const n = scores.length;
  if (n !== labels.length) throw new RangeError('scores and labels differ in length');
  if (n === 0) return { auc: Number.NaN, accuracy: Number.NaN, logLoss: Number.NaN, calibrationError: Number.NaN, rows: 0 };
  let correct = 0;
  let ll = 0;
  const binN = new Float64Array(10);
  const binP = new Float64Array(10);
  const binY = new Float64Array(10);
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    const yv = labels[i]!;
    if ((s >= threshold ? 1 : 0) === yv) correct++;
    const p = Math.min(1 - EPS, Math.max(EPS, s));
    ll -= yv * Math.log(p) + (1 - yv) * Math.log(1 - p);
    const bin = Math.min(9, Math.floor(s * 10));
    binN[bin]!++;
    binP[bin]! += s;
    binY[bin]! += yv;
  }
  let ece = 0;
  for (let bIdx = 0; bIdx < 10; bIdx++) {
    const count = binN[bIdx]!;
    if (count > 0) ece += (count / n) * Math.abs(binP[bIdx]! / count - binY[bIdx]! / count);
  }
  return { auc: rocAuc(scores, labels), accuracy: correct / n, logLoss: ll / n, calibrationError: ece, rows: n };
}

/** ROC AUC by the rank-sum (Mann–Whitney) formula, average ranks for tied scores. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (labels[idx[t]!] === 1) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
