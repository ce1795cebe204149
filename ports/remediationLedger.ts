/**
 * What a model-changing remediation decided before it acted, and which incident may change a model now
 * (adapters/postgres/remediationLedger.ts). Both make a retried, re-run or concurrent remediation act
 * on the first decision instead of re-deciding from a registry it has already changed.
 */
export interface RemediationPlan {
  modelId: string;
  action: 'rollback';
  /** The champion the remediation replaces (marked bad). */
  from: number;
  /** The version it restores. */
  to: number;
}

export interface RemediationLedger {
  /** Stores `plan` under `key` unless one is stored; returns the stored one (the first attempt's). */
  plan(key: string, plan: RemediationPlan): Promise<RemediationPlan>;
  /** The plan stored under `key`, if any. */
  planFor(key: string): Promise<RemediationPlan | undefined>;
  /**
   * Lets `incidentId` change `modelId`'s versions: granted when no other open incident holds the model.
   * Returns the holder when refused. A claim ends when its incident closes.
   */
  claimModel(modelId: string, incidentId: string): Promise<{ granted: true } | { granted: false; heldBy: string }>;
}
