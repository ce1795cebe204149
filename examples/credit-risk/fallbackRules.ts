/**
 * The rules-based default served while the credit-risk model is in fallback: a few conservative,
 * explainable thresholds a credit officer would sign off, no learned weights. It returns a
 * default-risk score in [0, 1]; scores ≥ FALLBACK_THRESHOLD are declined / sent to human review.
 * Missing or non-finite inputs count as risky (the rules never approve on data they cannot see).
 */

export const FALLBACK_THRESHOLD = 0.5;

export interface FallbackRule {
  id: string;
  description: string;
  /** Added to the score when the rule fires. */
  weight: number;
  fires(f: Record<string, unknown>): boolean;
}

const num = (f: Record<string, unknown>, key: string): number | undefined => {
  const v = f[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const above = (key: string, limit: number) => (f: Record<string, unknown>) => {
  const v = num(f, key);
  return v === undefined || v > limit;
};
const below = (key: string, limit: number) => (f: Record<string, unknown>) => {
  const v = num(f, key);
  return v === undefined || v < limit;
};

export const FALLBACK_RULES: readonly FallbackRule[] = [
  { id: 'dti-high', description: 'debt-to-income above 0.45', weight: 0.35, fires: above('debt_to_income', 0.45) },
  { id: 'delinquent', description: 'two or more recent delinquencies', weight: 0.35, fires: above('recent_delinquencies', 1) },
  { id: 'utilization-high', description: 'credit utilisation above 0.8', weight: 0.2, fires: above('credit_utilization', 0.8) },
  { id: 'income-low', description: 'income below 25k', weight: 0.2, fires: below('income', 25) },
  {
    id: 'loan-large',
    description: 'loan above half of yearly income',
    weight: 0.15,
    fires: (f) => {
      const loan = num(f, 'loan_amount');
      const income = num(f, 'income');
      return loan === undefined || income === undefined || loan > 0.5 * income;
    },
  },
];

/** Base risk before any rule fires. */
const BASE_SCORE = 0.1;

/** Default-risk score in [0, 1] from the fallback rules. */
export function fallbackScore(features: Record<string, unknown>): number {
  let score = BASE_SCORE;
  for (const rule of FALLBACK_RULES) if (rule.fires(features)) score += rule.weight;
  return Math.min(1, score);
}

/** The ids of the rules that fire, for explaining a fallback decision. */
export function firedFallbackRules(features: Record<string, unknown>): string[] {
  return FALLBACK_RULES.filter((r) => r.fires(features)).map((r) => r.id);
}
