/**
 * Where a model serves traffic, and the moves Vigil makes on it during a remediation: send a share of
 * traffic to a candidate (canary), promote it, roll it back, roll out a given version, and put the
 * model into its fallback (a target that has none refuses, and a config that could ask it to is
 * refused at load). The serving mode belongs here, not to the registry. One interface for every target:
 *
 *   kserve   a KServe InferenceService (serverless mode): the predictor's storageUri is the candidate,
 *            `canaryTrafficPercent` its share; KServe keeps the last rolled-out revision for the rest
 *            (adapters/deployment/kserveDeployment.ts)
 *   builtin  the built-in registry can implement it over its aliases: `champion` is the stable route,
 *            `challenger` the canary with its share, and its serving mode the fallback
 *
 * Every mutation takes an idempotency key and is idempotent, so a retried activity changes things
 * once: asking for the state that already holds sends nothing (`changed: false`), and repeating a key
 * whose change was made returns that first change (`repeated: true`). Each mutation returns what it
 * changed, as the desired serving before and after.
 */

/** One share of the model's traffic, as the target routes it now. */
export interface TrafficRoute {
  /**
   * 'stable': the last fully rolled-out model; 'canary': the candidate under test, answering its share;
   * 'shadow': the candidate scoring a copy of `percent` of the requests, its answers logged, never returned.
   */
  role: 'stable' | 'canary' | 'shadow';
  /** 0–100: the share answered, or for a shadow the share mirrored to it. */
  percent: number;
  /** What it serves, where the target knows it (a KServe storageUri, a registry artifact). */
  artifactUri?: string;
  /** The target's own name for it (a KServe / Knative revision). */
  revision?: string;
  /** The registry version, for targets that route by version. */
  version?: number;
}

/** The traffic a model gets now, as observed (not merely as requested). */
export interface TrafficState {
  modelId: string;
  /** Which target, for messages: e.g. "KServe InferenceService ml/credit-risk". */
  target: string;
  /** Serving and healthy now. */
  ready: boolean;
  /** The target has caught up with the latest requested change (its controller observed it). */
  settled: boolean;
  /** Why it is not ready, when it is not. */
  reason?: string;
  routes: TrafficRoute[];
  /** The requested canary share; undefined when no canary is requested. */
  canaryPercent?: number;
  mode: ServingMode;
}

/** 'model': the model answers; 'fallback': the rules-based default (or human review) answers instead. */
export type ServingMode = 'model' | 'fallback';

/** The serving Vigil asks of the target (what a change moves from and to). */
export interface DesiredServing {
  /** The candidate when a canary is requested, else the model that gets all traffic. */
  artifactUri?: string;
  /** The share for `artifactUri` while canarying; undefined: all traffic (no canary). 0 = rolled back. */
  canaryPercent?: number;
  /** The canary runs in shadow: it answers nothing, `canaryPercent` of the requests are mirrored to it. */
  shadow?: boolean;
  /** What serves the rest of the traffic during a canary (the last rolled-out model). */
  stableArtifactUri?: string;
  mode?: ServingMode;
}

export interface DeploymentChange {
  /** False when the requested state already held and nothing was sent. */
  changed: boolean;
  /** True when this idempotency key had already made its change: the first result, returned again. */
  repeated: boolean;
  idempotencyKey: string;
  before: DesiredServing;
  after: DesiredServing;
}

export interface DeploymentTarget {
  readonly kind: 'builtin' | 'kserve';
  currentTraffic(modelId: string): Promise<TrafficState>;
  /**
   * Sends `percent` (1–100) of the traffic to the candidate; the rest stays on the stable model. With
   * `shadow`, the stable model keeps answering everything and the candidate scores a copy of `percent`
   * of the requests (targets without shadow support refuse it).
   */
  startCanary(args: {
    modelId: string;
    artifactUri: string;
    percent: number;
    idempotencyKey: string;
    version?: number;
    shadow?: boolean;
  }): Promise<DeploymentChange>;
  /** The candidate takes all traffic and becomes the stable model. */
  promoteCanary(args: { modelId: string; idempotencyKey: string; reason?: string }): Promise<DeploymentChange>;
  /** All traffic back to the stable model (after a promotion: the one before it). */
  rollbackCanary(args: { modelId: string; idempotencyKey: string; reason?: string }): Promise<DeploymentChange>;
  /**
   * All traffic to one model version, no canary: how a promotion without a canary, a rollback to the
   * last healthy version and the undo of a failed remediation reach what serves.
   */
  rollout(args: { modelId: string; artifactUri: string; version?: number; idempotencyKey: string; reason?: string }): Promise<DeploymentChange>;
  /** Whether the model or its fallback answers now. */
  servingMode(modelId: string): Promise<ServingMode>;
  /**
   * Puts the model into (on) or out of (off) its fallback. A target without a fallback throws
   * (`canServeFallback: false`); the config refuses runbooks that could ask it to.
   */
  setFallback(args: { modelId: string; on: boolean; reason: string; idempotencyKey: string }): Promise<DeploymentChange>;
  /** False where the target has no fallback to serve (KServe). */
  readonly canServeFallback: boolean;
}
