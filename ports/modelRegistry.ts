/**
 * The model registry Vigil talks to: versions, their metrics and status, and aliases (`champion`,
 * `challenger`). One interface; the built-in PostgreSQL registry is the default, the MLflow adapter
 * implements the same contract. What serves traffic (and the fallback) is the deployment target's
 * business (ports/deploymentTarget.ts). Every mutating call takes an idempotency key, so a retried
 * activity changes things once.
 */
import type { DatasetProfile } from '../domain/datasetProfile.js';

export type VersionStatus = 'registered' | 'healthy' | 'bad';

export interface ModelVersion {
  modelId: string;
  version: number;
  /** Opaque to Vigil: where the team's serving and training find the model. */
  artifactUri: string;
  /** Holdout metrics (accuracy, auc, mae, …) and baselines such as positiveRate. */
  metrics: Record<string, number>;
  /** The reference profile Vigil computed at registration; absent for versions registered without reference data. */
  profile?: DatasetProfile;
  status: VersionStatus;
  source: string;
  createdAt: string;
}

export interface AliasChange {
  alias: string;
  fromVersion?: number;
  toVersion: number;
  at: string;
  reason?: string;
}

export interface ModelRegistry {
  ensureModel(model: { id: string; displayName: string; tier: string }): Promise<void>;
  registerVersion(args: {
    modelId: string;
    artifactUri: string;
    metrics: Record<string, number>;
    profile?: DatasetProfile;
    source: string;
    status?: VersionStatus;
    idempotencyKey: string;
  }): Promise<ModelVersion>;
  getVersion(modelId: string, version: number): Promise<ModelVersion | undefined>;
  listVersions(modelId: string): Promise<ModelVersion[]>;
  getAlias(modelId: string, alias: string): Promise<ModelVersion | undefined>;
  /** Moves an alias; returns where it was. Repeating the same key returns the first result. */
  setAlias(args: { modelId: string; alias: string; version: number; reason: string; idempotencyKey: string }): Promise<{
    from?: number;
    to: number;
  }>;
  /** The change made under an idempotency key, if one was. */
  priorChange(idempotencyKey: string): Promise<{ from?: number; to?: number } | undefined>;
  aliasHistory(modelId: string, alias: string, since: Date): Promise<AliasChange[]>;
  markVersion(modelId: string, version: number, status: VersionStatus): Promise<void>;
  /** The newest version older than the current champion that is not marked bad. */
  lastGoodVersionBefore(modelId: string, version: number): Promise<ModelVersion | undefined>;
}
