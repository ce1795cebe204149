/**
 * A KServe `serving.kserve.io/v1beta1` InferenceService as Vigil's deployment target (serverless mode,
 * where KServe supports canary rollout). Each model maps to one InferenceService
 * (`models[].deployment.kserve`: namespace and name).
 *
 *   canary    merge-patch `spec.predictor.model.storageUri` to the candidate and
 *             `spec.predictor.canaryTrafficPercent` to N: KServe makes a new revision and splits traffic
 *             between it (N%) and the last rolled-out revision (tag `prev`)
 *   promote   remove `canaryTrafficPercent`: the latest revision takes 100% and becomes the rolled-out one
 *   rollout   `storageUri` to the version and `canaryTrafficPercent` removed: KServe rolls a revision of it
 *             out to all traffic (rollback to the last healthy version, promotion without a canary)
 *   rollback  `canaryTrafficPercent: 0`: all traffic to the last rolled-out revision. After a promotion
 *             (no canary running) that is the promoted revision itself, which KServe then recognises as
 *             rolled back: it hands traffic and "rolled out" to the revision rolled out before it
 *
 * Traffic is read from the status KServe writes: the `Ready` condition, `observedGeneration`, and
 * `status.components.predictor` (`traffic`, `latestReadyRevision`, `latestRolledoutRevision`,
 * `previousRolledoutRevision`).
 *
 * Idempotency: every patch carries, in the same request, an annotation recording the change under its
 * idempotency key, and `metadata.resourceVersion` as a precondition (409 Conflict when someone changed
 * the object since it was read; the adapter then reads again and decides again). A key already recorded
 * returns its first result and sends nothing; a state that already holds sends nothing.
 * KServe keeps no storageUri per revision, so the adapter also records which storageUri the stable
 * (and previous stable) revision serves, to say what each route serves.
 *
 * No fallback: a rules-based default or human review is not something an InferenceService has, so
 * `setFallback` refuses, and a config whose runbooks could choose a fallback for a KServe model is
 * refused at load.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { VigilConfig } from '../../domain/config.js';
import { kubeError, kubeStatusOf, loadKubeConfig, makeKubernetesApiClient } from '../kubernetes/kubernetesApi.js';
import type { DeploymentChange, DeploymentTarget, DesiredServing, TrafficRoute, TrafficState } from '../../ports/deploymentTarget.js';

export const KSERVE = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices' } as const;
/** The last change Vigil made, as JSON: { key, op, at, before, after, reason? }. */
export const LAST_CHANGE_ANNOTATION = 'vigil.dev/last-change';
/** The storageUri of the revision last rolled out to 100% (the canary's `prev`). */
export const STABLE_URI_ANNOTATION = 'vigil.dev/stable-storage-uri';
/** The storageUri rolled out before that (what a rollback right after a promotion restores). */
export const PREVIOUS_STABLE_URI_ANNOTATION = 'vigil.dev/previous-stable-storage-uri';

/** Older InferenceServices name the framework instead of `model`; each holds its own storageUri. */
const FRAMEWORK_KEYS = ['model', 'sklearn', 'xgboost', 'lightgbm', 'tensorflow', 'pytorch', 'onnx', 'triton', 'pmml', 'paddle', 'huggingface'];
const CONFLICT_RETRIES = 3;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface InferenceServiceRef {
  namespace: string;
  name: string;
}

interface ChangeRecord {
  key: string;
  op: 'startCanary' | 'promoteCanary' | 'rollbackCanary' | 'rollout';
  at: string;
  before: DesiredServing;
  after: DesiredServing;
  reason?: string;
}

export function createKServeDeployment(opts: {
  kubeConfig: KubeConfig;
  /** Model id → its InferenceService. */
  services: Record<string, InferenceServiceRef>;
  /** Per API request (default 15 s). */
  requestTimeoutMs?: number;
}): DeploymentTarget {
  const api = makeKubernetesApiClient(opts.kubeConfig, CustomObjectsApi, { timeoutMs: opts.requestTimeoutMs });
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  function refOf(modelId: string): InferenceServiceRef {
    const ref = opts.services[modelId];
    if (!ref) throw new Error(`model "${modelId}" has no KServe InferenceService configured (models[].deployment.kserve)`);
    return ref;
  }
  const label = (ref: InferenceServiceRef) => `KServe InferenceService ${ref.namespace}/${ref.name}`;

  async function read(modelId: string): Promise<Obj> {
    const ref = refOf(modelId);
    try {
      return (await api.getNamespacedCustomObject({ ...KSERVE, namespace: ref.namespace, name: ref.name })) as Obj;
    } catch (err) {
      const s = kubeStatusOf(err);
      if (s?.code === 404) {
        throw new Error(
          `${label(ref)} for model "${modelId}" not found (${KSERVE.group}/${KSERVE.version}${s.message ? `: ${s.message}` : ''}); create it, or fix models[].deployment.kserve`,
        );
      }
      throw kubeError(`reading ${label(ref)} for model "${modelId}"`, err);
    }
  }

  /** The predictor's key that holds storageUri: `model`, or the framework's name in the older schema. */
  function modelKey(isvc: Obj, modelId: string): string {
    const predictor = isvc.spec?.predictor ?? {};
    const key = FRAMEWORK_KEYS.find((k) => predictor[k] && typeof predictor[k] === 'object');
    if (!key) throw new Error(`${label(refOf(modelId))} has no spec.predictor.model (or framework) to set a storageUri on`);
    return key;
  }

  function desired(isvc: Obj, modelId: string): DesiredServing {
    const predictor = isvc.spec?.predictor ?? {};
    const annotations = isvc.metadata?.annotations ?? {};
    const out: DesiredServing = { artifactUri: predictor[modelKey(isvc, modelId)]?.storageUri, mode: 'model' };
    if (typeof predictor.canaryTrafficPercent === 'number') out.canaryPercent = predictor.canaryTrafficPercent;
    if (annotations[STABLE_URI_ANNOTATION]) out.stableArtifactUri = annotations[STABLE_URI_ANNOTATION];
    return out;
  }

  function lastChange(isvc: Obj): ChangeRecord | undefined {
    const raw = isvc.metadata?.annotations?.[LAST_CHANGE_ANNOTATION];
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as ChangeRecord;
    } catch {
      return undefined; // edited by hand: no record to honour
    }
  }

  /**
   * Reads, decides and patches with the resourceVersion read as precondition; on 409 Conflict reads
   * and decides again. `decide` returns the patch's spec part and annotations, or undefined when the
   * requested state already holds.
   */
  async function mutate(
    modelId: string,
    op: ChangeRecord['op'],
    key: string,
    reason: string | undefined,
    decide: (isvc: Obj, before: DesiredServing) => { after: DesiredServing; spec: Obj; annotations?: Record<string, string | null> } | undefined,
  ): Promise<DeploymentChange> {
    if (!key) throw new Error(`${op} for model "${modelId}": an idempotency key is required`);
    const ref = refOf(modelId);
    for (let attempt = 1; ; attempt++) {
      const isvc = await read(modelId);
      const prior = lastChange(isvc);
      if (prior?.key === key) {
        return { changed: !sameServing(prior.before, prior.after), repeated: true, idempotencyKey: key, before: prior.before, after: prior.after };
      }
      const before = desired(isvc, modelId);
      const plan = decide(isvc, before);
      if (!plan) return { changed: false, repeated: false, idempotencyKey: key, before, after: before };
      const record: ChangeRecord = { key, op, at: new Date().toISOString(), before, after: plan.after, ...(reason ? { reason } : {}) };
      const body = {
        metadata: {
          resourceVersion: isvc.metadata.resourceVersion,
          annotations: { ...plan.annotations, [LAST_CHANGE_ANNOTATION]: JSON.stringify(record) },
        },
        spec: plan.spec,
      };
      try {
        await api.patchNamespacedCustomObject({ ...KSERVE, namespace: ref.namespace, name: ref.name, body }, mergePatch);
        return { changed: true, repeated: false, idempotencyKey: key, before, after: plan.after };
      } catch (err) {
        const s = kubeStatusOf(err);
        if (s?.code === 409 && attempt < CONFLICT_RETRIES) continue; // changed under us: decide again on what is there now
        throw kubeError(`${op} on ${label(ref)} for model "${modelId}"`, err);
      }
    }
  }

  const target: DeploymentTarget = {
    kind: 'kserve',
    canServeFallback: false,

    /** An InferenceService always serves its model. */
    async servingMode() {
      return 'model';
    },

    async setFallback({ modelId }) {
      throw new Error(`${label(refOf(modelId))} has no fallback to serve: a KServe model's runbooks must not choose "fallback" (the config refuses them)`);
    },

    async currentTraffic(modelId) {
      const isvc = await read(modelId);
      const ref = refOf(modelId);
      const want = desired(isvc, modelId);
      const status: Obj = isvc.status ?? {};
      const annotations: Obj = isvc.metadata?.annotations ?? {};
      const readyCondition = (status.conditions ?? []).find((c: Obj) => c.type === 'Ready');
      const ready = readyCondition?.status === 'True';
      const settled = status.observedGeneration !== undefined && status.observedGeneration === isvc.metadata?.generation;
      const comp: Obj = status.components?.predictor ?? {};
      // Targets on the same revision are one route (e.g. a canary whose new revision is not ready yet:
      // Knative sends the `latest` share to the latest ready revision, which is the stable one).
      const traffic: Obj[] = [];
      for (const t of (comp.traffic ?? []) as Obj[]) {
        const same = traffic.find((x) => x.revisionName !== undefined && x.revisionName === t.revisionName);
        if (same) {
          same.percent = (same.percent ?? 0) + (t.percent ?? 0);
          same.latestRevision = same.latestRevision === true && t.latestRevision === true;
        } else traffic.push({ ...t });
      }
      const split = traffic.length > 1;
      const routes: TrafficRoute[] = traffic.map((t) => {
        const revision: string | undefined = t.revisionName;
        // What the revision serves, as far as Vigil knows: the spec's storageUri for the latest revision
        // once the controller caught up; the recorded stable URIs for the rolled-out ones.
        let artifactUri: string | undefined;
        if (t.latestRevision === true && settled && revision === comp.latestReadyRevision && comp.latestReadyRevision === comp.latestCreatedRevision)
          artifactUri = want.artifactUri;
        else if (revision && revision === comp.latestRolledoutRevision) artifactUri = annotations[STABLE_URI_ANNOTATION];
        else if (revision && revision === comp.previousRolledoutRevision) artifactUri = annotations[PREVIOUS_STABLE_URI_ANNOTATION];
        return {
          role: split && t.latestRevision === true ? 'canary' : 'stable',
          percent: typeof t.percent === 'number' ? t.percent : 0,
          ...(artifactUri ? { artifactUri } : {}),
          ...(revision ? { revision } : {}),
        };
      });
      const state: TrafficState = {
        modelId,
        target: label(ref),
        ready,
        settled,
        routes,
        mode: 'model',
        ...(want.canaryPercent !== undefined ? { canaryPercent: want.canaryPercent } : {}),
      };
      if (!ready) {
        state.reason = readyCondition
          ? `${readyCondition.reason ?? 'NotReady'}${readyCondition.message ? `: ${readyCondition.message}` : ''}`
          : 'no Ready condition yet (the KServe controller has not reconciled it)';
      }
      return state;
    },

    async startCanary({ modelId, artifactUri, percent, idempotencyKey, shadow }) {
      if (!artifactUri) throw new Error(`startCanary for model "${modelId}": artifactUri is required`);
      if (shadow)
        throw new Error(
          `startCanary for model "${modelId}": a KServe InferenceService canary answers its share of the traffic; it has no shadow mode (use canary.mode "split")`,
        );
      if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
        throw new Error(`startCanary for model "${modelId}": percent must be an integer from 1 to 100, got ${percent}`);
      }
      return mutate(modelId, 'startCanary', idempotencyKey, undefined, (isvc, before) => {
        if (before.artifactUri === artifactUri && before.canaryPercent === percent) return undefined;
        const k = modelKey(isvc, modelId);
        // Fully rolled out until now: that model becomes the stable side. During a canary (or after its
        // rollback) the stable side stays the last rolled-out model.
        const stable = before.canaryPercent === undefined && before.artifactUri !== artifactUri ? before.artifactUri : before.stableArtifactUri;
        const after: DesiredServing = { artifactUri, canaryPercent: percent, ...(stable ? { stableArtifactUri: stable } : {}), mode: 'model' };
        const spec = { predictor: { canaryTrafficPercent: percent, ...(before.artifactUri === artifactUri ? {} : { [k]: { storageUri: artifactUri } }) } };
        return { after, spec, annotations: stable && stable !== before.stableArtifactUri ? { [STABLE_URI_ANNOTATION]: stable } : undefined };
      });
    },

    async promoteCanary({ modelId, idempotencyKey, reason }) {
      return mutate(modelId, 'promoteCanary', idempotencyKey, reason, (_isvc, before) => {
        if (before.canaryPercent === undefined) return undefined; // no canary: all traffic is on it already
        const after: DesiredServing = { artifactUri: before.artifactUri, stableArtifactUri: before.artifactUri, mode: 'model' };
        const annotations: Record<string, string | null> = {};
        if (before.artifactUri && before.artifactUri !== before.stableArtifactUri) {
          annotations[STABLE_URI_ANNOTATION] = before.artifactUri;
          annotations[PREVIOUS_STABLE_URI_ANNOTATION] = before.stableArtifactUri ?? null;
        }
        return { after, spec: { predictor: { canaryTrafficPercent: null } }, annotations };
      });
    },

    async rollbackCanary({ modelId, idempotencyKey, reason }) {
      return mutate(modelId, 'rollbackCanary', idempotencyKey, reason, (isvc, before) => {
        if (before.canaryPercent === 0) return undefined; // already rolled back
        const after: DesiredServing = { artifactUri: before.artifactUri, canaryPercent: 0, mode: 'model' };
        if (before.canaryPercent !== undefined) {
          // A canary: the stable side keeps (now all) the traffic.
          if (before.stableArtifactUri) after.stableArtifactUri = before.stableArtifactUri;
          return { after, spec: { predictor: { canaryTrafficPercent: 0 } } };
        }
        // No canary: the model was promoted. KServe hands the traffic, and "rolled out", back to the
        // revision rolled out before it; the stable side is that model now.
        const previous: string | undefined = isvc.metadata?.annotations?.[PREVIOUS_STABLE_URI_ANNOTATION];
        if (previous) after.stableArtifactUri = previous;
        const annotations = previous ? { [STABLE_URI_ANNOTATION]: previous, [PREVIOUS_STABLE_URI_ANNOTATION]: null } : undefined;
        return { after, spec: { predictor: { canaryTrafficPercent: 0 } }, annotations };
      });
    },

    async rollout({ modelId, artifactUri, idempotencyKey, reason }) {
      if (!artifactUri) throw new Error(`rollout for model "${modelId}": artifactUri is required`);
      return mutate(modelId, 'rollout', idempotencyKey, reason, (isvc, before) => {
        if (before.artifactUri === artifactUri && before.canaryPercent === undefined) return undefined; // serving it already
        const k = modelKey(isvc, modelId);
        // Without canaryTrafficPercent KServe rolls the new revision out to all traffic.
        const current = before.canaryPercent === undefined ? before.artifactUri : before.stableArtifactUri;
        const after: DesiredServing = { artifactUri, stableArtifactUri: artifactUri, mode: 'model' };
        const spec = { predictor: { canaryTrafficPercent: null, ...(before.artifactUri === artifactUri ? {} : { [k]: { storageUri: artifactUri } }) } };
        return { after, spec, annotations: { [STABLE_URI_ANNOTATION]: artifactUri, [PREVIOUS_STABLE_URI_ANNOTATION]: current ?? null } };
      });
    },
  };
  return target;
}

function sameServing(a: DesiredServing, b: DesiredServing): boolean {
  return a.artifactUri === b.artifactUri && a.canaryPercent === b.canaryPercent && a.stableArtifactUri === b.stableArtifactUri && a.mode === b.mode;
}

/** The KServe target for the models configured with `deployment.kind: "kserve"`, or undefined when none is. */
export function kserveDeploymentFromConfig(config: Pick<VigilConfig, 'models'>, kubeConfig?: KubeConfig): DeploymentTarget | undefined {
  const services = Object.fromEntries(
    config.models.filter((m) => m.deployment.kind === 'kserve' && m.deployment.kserve).map((m) => [m.id, m.deployment.kserve!]),
  );
  if (Object.keys(services).length === 0) return undefined;
  return createKServeDeployment({ kubeConfig: kubeConfig ?? loadKubeConfig(), services });
}
