/** The example model's declared inputs: what the loan application service promises to send. */
export const CREDIT_RISK_INPUT_SCHEMA = {
  columns: {
    income: { type: 'numeric', min: 0 },
    debt_to_income: { type: 'numeric', min: 0, max: 5 },
    credit_utilization: { type: 'numeric', min: 0, max: 1 },
    age: { type: 'numeric', min: 18, max: 120 },
    open_credit_lines: { type: 'numeric', min: 0, max: 100 },
    recent_delinquencies: { type: 'numeric', min: 0, max: 50 },
    loan_amount: { type: 'numeric', min: 0 },
  },
  allowExtraColumns: false,
} as const;
