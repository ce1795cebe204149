/**
 * The fallback flag of a model, kept in its registry (the built-in registry's `models.serving_mode`, an
 * MLflow registered-model tag). Only the built-in deployment target uses it: the core asks the
 * deployment target what serves (ports/deploymentTarget.ts), never the registry.
 */
import type { ModelRegistry } from '../../ports/modelRegistry.js';
import type { ServingMode } from '../../ports/deploymentTarget.js';

export interface ServingModeStore {
  getServingMode(modelId: string): Promise<ServingMode>;
  /** Moves the flag once per idempotency key; returns where it was. */
  setServingMode(args: { modelId: string; mode: ServingMode; reason: string; idempotencyKey: string }): Promise<{
    from: ServingMode;
    to: ServingMode;
  }>;
}

/** A registry that also keeps the fallback flag: what the registry adapters build. */
export type RegistryWithServingMode = ModelRegistry & ServingModeStore;
