/**
 * The KServe deployment target through @kubernetes/client-node's CustomObjectsApi against a loopback
 * API server with the real wire format, with the KServe controller's traffic rules played by the fake:
 * the canary merge patch exactly as sent, idempotent repeats that send nothing, rollback to 0%,
 * promotion, traffic and readiness read from the status, a concurrent edit (409) retried, and a
 * missing InferenceService named in the error.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeStatusOf } from '../../adapters/kubernetes/kubernetesApi.js';
import {
  createKServeDeployment,
  kserveDeploymentFromConfig,
  LAST_CHANGE_ANNOTATION,
  PREVIOUS_STABLE_URI_ANNOTATION,
  STABLE_URI_ANNOTATION,
} from '../../adapters/deployment/kserveDeployment.js';
import type { DeploymentTarget } from '../../ports/deploymentTarget.js';
import { parseConfig } from '../../domain/config.js';
import { EXAMPLE_CONFIG } from '../../examples/credit-risk/exampleConfig.js';
import { RUNBOOKS_WITHOUT_FALLBACK } from '../../runbooks/defaultRunbooks.js';
import { startFakeKubernetesApi, type FakeKubernetesApi, type RecordedRequest } from '../support/fakeKubernetesApi.js';

const NS = 'ml-serving';
const NAME = 'credit-risk';
const MODEL = 'credit-risk';
const PATH = `/apis/serving.kserve.io/v1beta1/namespaces/${NS}/inferenceservices/${NAME}`;
const V1 = 's3://models/credit-risk/v1/model.json';
const V2 = 's3://models/credit-risk/v2/model.json';
const V3 = 's3://models/credit-risk/v3/model.json';
const rev = (n: number) => `${NAME}-predictor-${String(n).padStart(5, '0')}`;

describe('KServe InferenceService deployment target (API wire format)', () => {
  let k8s: FakeKubernetesApi;
  let kserve: DeploymentTarget;

  const patches = () => k8s.requests.filter((r) => r.method === 'PATCH');
  const rv = () => k8s.inferenceService(NS, NAME)!.metadata.resourceVersion as string;
  const annotationsOf = (r: RecordedRequest) => (r.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  /** The patch body with the change record (which carries a timestamp) parsed out for comparison. */
  const bodyWithRecord = (r: RecordedRequest) => {
    const body = structuredClone(r.body) as { metadata: { annotations: Record<string, string> } };
    const record = JSON.parse(body.metadata.annotations[LAST_CHANGE_ANNOTATION]!);
    delete body.metadata.annotations[LAST_CHANGE_ANNOTATION];
    return { body, record };
  };

  before(async () => {
    k8s = await startFakeKubernetesApi();
    k8s.putInferenceService({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: NAME, namespace: NS, annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' } },
      spec: {
        predictor: {
          minReplicas: 1,
          model: { modelFormat: { name: 'sklearn' }, storageUri: V1, resources: { requests: { cpu: '100m', memory: '256Mi' } } },
        },
      },
    });
    k8s.reconcileInferenceService(NS, NAME);
    kserve = createKServeDeployment({ kubeConfig: k8s.kubeConfig(), services: { [MODEL]: { namespace: NS, name: NAME } } });
  });
  after(async () => k8s?.close());
  beforeEach(() => k8s.clearRequests());

  it('reads the traffic of a fully rolled-out InferenceService', async () => {
    const t = await kserve.currentTraffic(MODEL);
    assert.deepEqual(
      t,
      {
        modelId: MODEL,
        target: `KServe InferenceService ${NS}/${NAME}`,
        ready: true,
        settled: true,
        routes: [{ role: 'stable', percent: 100, artifactUri: V1, revision: rev(1) }],
        mode: 'model',
      },
      'one revision, all traffic, ready',
    );
    assert.deepEqual(
      k8s.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${PATH}`],
      'one GET of the InferenceService',
    );
  });

  it('starts a canary with one merge patch: storageUri and canaryTrafficPercent, resourceVersion as precondition, the change recorded', async () => {
    const rvBefore = rv();
    const change = await kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 10, idempotencyKey: 'incident-1/canary' });
    assert.deepEqual(
      change,
      {
        changed: true,
        repeated: false,
        idempotencyKey: 'incident-1/canary',
        before: { artifactUri: V1, mode: 'model' },
        after: { artifactUri: V2, canaryPercent: 10, stableArtifactUri: V1, mode: 'model' },
      },
      'what it changed',
    );
    assert.equal(patches().length, 1, 'exactly one PATCH');
    const [p] = patches();
    assert.equal(p!.path, PATH, 'the InferenceService');
    assert.equal(p!.contentType, 'application/merge-patch+json', 'a JSON merge patch (custom resources take no strategic merge patch)');
    const { body, record } = bodyWithRecord(p!);
    assert.deepEqual(
      body,
      {
        metadata: { resourceVersion: rvBefore, annotations: { [STABLE_URI_ANNOTATION]: V1 } },
        spec: { predictor: { canaryTrafficPercent: 10, model: { storageUri: V2 } } },
      },
      'the merge patch body as sent',
    );
    assert.equal(record.key, 'incident-1/canary', 'the change is recorded under its key');
    assert.equal(record.op, 'startCanary', 'and what it was');
    assert.deepEqual([record.before, record.after], [change.before, change.after], 'with before and after');

    const stored = k8s.inferenceService(NS, NAME)!;
    assert.deepEqual(
      stored.spec.predictor,
      {
        minReplicas: 1,
        canaryTrafficPercent: 10,
        model: { modelFormat: { name: 'sklearn' }, storageUri: V2, resources: { requests: { cpu: '100m', memory: '256Mi' } } },
      },
      'the merge kept the rest of the predictor',
    );
    assert.equal(stored.metadata.generation, 2, 'a spec change bumps the generation');

    const pending = await kserve.currentTraffic(MODEL);
    assert.equal(pending.settled, false, 'not settled until the controller observes generation 2');
    assert.deepEqual(pending.routes, [{ role: 'stable', percent: 100, artifactUri: V1, revision: rev(1) }], 'traffic unchanged until then');
    assert.equal(pending.canaryPercent, 10, 'the requested share');

    k8s.reconcileInferenceService(NS, NAME);
    const t = await kserve.currentTraffic(MODEL);
    assert.equal(t.settled && t.ready, true, 'settled and ready');
    assert.deepEqual(
      t.routes,
      [
        { role: 'canary', percent: 10, artifactUri: V2, revision: rev(2) },
        { role: 'stable', percent: 90, artifactUri: V1, revision: rev(1) },
      ],
      'split between the new revision and the rolled-out one',
    );
  });

  it('is idempotent: the same key again, or the same state under a new key, sends no PATCH', async () => {
    const again = await kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 10, idempotencyKey: 'incident-1/canary' });
    assert.deepEqual(
      again,
      {
        changed: true,
        repeated: true,
        idempotencyKey: 'incident-1/canary',
        before: { artifactUri: V1, mode: 'model' },
        after: { artifactUri: V2, canaryPercent: 10, stableArtifactUri: V1, mode: 'model' },
      },
      'the first result, marked repeated',
    );
    const same = await kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 10, idempotencyKey: 'incident-1/canary-retry-by-hand' });
    assert.equal(same.changed, false, 'the state already holds');
    assert.deepEqual(same.before, same.after, 'nothing moved');
    assert.equal(patches().length, 0, 'no PATCH was sent');
    assert.ok(
      k8s.requests.every((r) => r.method === 'GET'),
      'only reads',
    );
  });

  it('rolls back to 0%: all traffic to the rolled-out revision; a repeat sends nothing', async () => {
    const rvBefore = rv();
    const change = await kserve.rollbackCanary({ modelId: MODEL, idempotencyKey: 'incident-1/rollback', reason: 'canary error rate 4% > 1%' });
    assert.deepEqual(
      [change.changed, change.before.canaryPercent, change.after],
      [true, 10, { artifactUri: V2, canaryPercent: 0, stableArtifactUri: V1, mode: 'model' }],
      'canary share 10 → 0',
    );
    const { body, record } = bodyWithRecord(patches()[0]!);
    assert.deepEqual(
      body,
      { metadata: { resourceVersion: rvBefore, annotations: {} }, spec: { predictor: { canaryTrafficPercent: 0 } } },
      'only the share changes',
    );
    assert.equal(record.reason, 'canary error rate 4% > 1%', 'the reason is recorded');

    k8s.reconcileInferenceService(NS, NAME);
    const t = await kserve.currentTraffic(MODEL);
    assert.deepEqual(
      t.routes,
      [
        { role: 'canary', percent: 0, artifactUri: V2, revision: rev(2) },
        { role: 'stable', percent: 100, artifactUri: V1, revision: rev(1) },
      ],
      'the candidate keeps 0%',
    );
    assert.equal(t.canaryPercent, 0, 'requested share 0');

    k8s.clearRequests();
    assert.equal((await kserve.rollbackCanary({ modelId: MODEL, idempotencyKey: 'incident-1/rollback' })).repeated, true, 'same key: repeated');
    assert.equal((await kserve.rollbackCanary({ modelId: MODEL, idempotencyKey: 'incident-1/rollback-2' })).changed, false, 'already at 0%: unchanged');
    assert.equal(patches().length, 0, 'no PATCH');
  });

  it('canaries the next candidate against the same stable model, then promotes it (canaryTrafficPercent removed)', async () => {
    const c = await kserve.startCanary({ modelId: MODEL, artifactUri: V3, percent: 20, idempotencyKey: 'incident-2/canary' });
    assert.deepEqual(
      c.after,
      { artifactUri: V3, canaryPercent: 20, stableArtifactUri: V1, mode: 'model' },
      'the stable side is still v1, not the rolled-back v2',
    );
    assert.deepEqual(annotationsOf(patches()[0]!)[STABLE_URI_ANNOTATION], undefined, 'the stable annotation is unchanged, so not sent');
    k8s.reconcileInferenceService(NS, NAME);
    assert.deepEqual(
      (await kserve.currentTraffic(MODEL)).routes.map((r) => [r.role, r.percent, r.revision]),
      [
        ['canary', 20, rev(3)],
        ['stable', 80, rev(1)],
      ],
      '20/80 between v3 and v1',
    );

    k8s.clearRequests();
    const rvBefore = rv();
    const p = await kserve.promoteCanary({ modelId: MODEL, idempotencyKey: 'incident-2/promote', reason: 'canary healthy for 10m' });
    assert.deepEqual(
      [p.changed, p.before.canaryPercent, p.after],
      [true, 20, { artifactUri: V3, stableArtifactUri: V3, mode: 'model' }],
      'the candidate becomes the stable model',
    );
    const { body } = bodyWithRecord(patches()[0]!);
    assert.deepEqual(
      body,
      {
        metadata: { resourceVersion: rvBefore, annotations: { [STABLE_URI_ANNOTATION]: V3, [PREVIOUS_STABLE_URI_ANNOTATION]: V1 } },
        spec: { predictor: { canaryTrafficPercent: null } },
      },
      'merge patch null removes canaryTrafficPercent',
    );
    assert.equal('canaryTrafficPercent' in k8s.inferenceService(NS, NAME)!.spec.predictor, false, 'the field is gone from the spec');

    k8s.reconcileInferenceService(NS, NAME);
    const t = await kserve.currentTraffic(MODEL);
    assert.deepEqual(t.routes, [{ role: 'stable', percent: 100, artifactUri: V3, revision: rev(3) }], 'all traffic on v3');
    assert.equal(t.canaryPercent, undefined, 'no canary requested');
    const comp = k8s.inferenceService(NS, NAME)!.status.components.predictor;
    assert.deepEqual([comp.latestRolledoutRevision, comp.previousRolledoutRevision], [rev(3), rev(1)], 'KServe records v3 rolled out, v1 before it');

    k8s.clearRequests();
    assert.equal((await kserve.promoteCanary({ modelId: MODEL, idempotencyKey: 'incident-2/promote-again' })).changed, false, 'nothing left to promote');
    assert.equal(patches().length, 0, 'no PATCH');
  });

  it('rolls back a promoted model to 0%: KServe returns traffic and "rolled out" to the revision before it', async () => {
    const rvBefore = rv();
    const change = await kserve.rollbackCanary({ modelId: MODEL, idempotencyKey: 'incident-3/rollback', reason: 'accuracy dropped after promotion' });
    assert.deepEqual(
      [change.before, change.after],
      [
        { artifactUri: V3, stableArtifactUri: V3, mode: 'model' },
        { artifactUri: V3, canaryPercent: 0, stableArtifactUri: V1, mode: 'model' },
      ],
      'v3 at 0%, v1 stable',
    );
    const { body } = bodyWithRecord(patches()[0]!);
    assert.deepEqual(
      body,
      {
        metadata: { resourceVersion: rvBefore, annotations: { [STABLE_URI_ANNOTATION]: V1, [PREVIOUS_STABLE_URI_ANNOTATION]: null } },
        spec: { predictor: { canaryTrafficPercent: 0 } },
      },
      'canaryTrafficPercent 0, and v1 recorded as the stable model',
    );
    k8s.reconcileInferenceService(NS, NAME);
    assert.deepEqual(
      (await kserve.currentTraffic(MODEL)).routes,
      [
        { role: 'canary', percent: 0, artifactUri: V3, revision: rev(3) },
        { role: 'stable', percent: 100, artifactUri: V1, revision: rev(1) },
      ],
      'all traffic on v1',
    );
    const comp = k8s.inferenceService(NS, NAME)!.status.components.predictor;
    assert.equal(comp.latestRolledoutRevision, rev(1), 'KServe counts v1 as rolled out again');
  });

  it('reports a candidate that does not become ready, with the reason, and where the traffic really goes', async () => {
    await kserve.startCanary({ modelId: MODEL, artifactUri: 's3://models/credit-risk/broken/model.json', percent: 10, idempotencyKey: 'incident-4/canary' });
    k8s.reconcileInferenceService(NS, NAME, { ready: false });
    const t = await kserve.currentTraffic(MODEL);
    assert.equal(t.ready, false, 'not ready');
    assert.match(t.reason ?? '', /^RevisionFailed: Revision "credit-risk-predictor-00004" failed/, 'the Ready condition says why');
    // Knative sends the `latest` share to the latest *ready* revision: here the rolled-back v3, whose
    // storageUri is no longer in the spec, so the route says which revision but not which artifact.
    assert.deepEqual(
      t.routes,
      [
        { role: 'canary', percent: 10, revision: rev(3) },
        { role: 'stable', percent: 90, artifactUri: V1, revision: rev(1) },
      ],
      'no traffic to the failed revision; the canary share is on the latest ready one',
    );
    assert.equal(t.canaryPercent, 10, '10% was requested');
    // Put it back for the next tests.
    await kserve.rollbackCanary({ modelId: MODEL, idempotencyKey: 'incident-4/rollback' });
    k8s.reconcileInferenceService(NS, NAME);
  });

  it('retries on 409 Conflict when another client changed the InferenceService in between', async () => {
    let interfered = false;
    k8s.beforeRequest = (req) => {
      if (req.method === 'PATCH' && !interfered) {
        interfered = true; // e.g. a GitOps controller touches it between Vigil's read and write
        k8s.editInferenceService(NS, NAME, { metadata: { labels: { team: 'risk' } } });
      }
    };
    try {
      const change = await kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 5, idempotencyKey: 'incident-5/canary' });
      assert.equal(change.changed, true, 'the change was made');
      assert.deepEqual(
        k8s.requests.map((r) => r.method),
        ['GET', 'PATCH', 'GET', 'PATCH'],
        'read, conflicting patch, read again, patch',
      );
      const [first, second] = patches();
      assert.notEqual(
        (first!.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
        (second!.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
        'the second patch carries the new resourceVersion',
      );
      const stored = k8s.inferenceService(NS, NAME)!;
      assert.equal(stored.metadata.labels.team, 'risk', "the other client's change survives");
      assert.equal(stored.spec.predictor.canaryTrafficPercent, 5, 'and ours is applied');
    } finally {
      k8s.beforeRequest = undefined;
    }
  });

  it('a missing InferenceService is a clear error naming it', async () => {
    const ghost = createKServeDeployment({ kubeConfig: k8s.kubeConfig(), services: { ghost: { namespace: NS, name: 'ghost-model' } } });
    await assert.rejects(
      ghost.currentTraffic('ghost'),
      /KServe InferenceService ml-serving\/ghost-model for model "ghost" not found \(serving\.kserve\.io\/v1beta1: inferenceservices\.serving\.kserve\.io "ghost-model" not found\)/,
      'names the InferenceService and the model',
    );
    await assert.rejects(
      ghost.startCanary({ modelId: 'ghost', artifactUri: V2, percent: 10, idempotencyKey: 'k' }),
      /KServe InferenceService ml-serving\/ghost-model for model "ghost" not found/,
      'mutations too',
    );
    await assert.rejects(
      kserve.currentTraffic('other-model'),
      /model "other-model" has no KServe InferenceService configured \(models\[\]\.deployment\.kserve\)/,
      'an unmapped model',
    );
  });

  it('refuses bad arguments before sending anything', async () => {
    await assert.rejects(
      kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 0, idempotencyKey: 'k' }),
      /percent must be an integer from 1 to 100, got 0/,
      'percent 0',
    );
    await assert.rejects(kserve.startCanary({ modelId: MODEL, artifactUri: V2, percent: 12.5, idempotencyKey: 'k' }), /got 12\.5/, 'fractional percent');
    await assert.rejects(kserve.startCanary({ modelId: MODEL, artifactUri: '', percent: 10, idempotencyKey: 'k' }), /artifactUri is required/, 'no artifact');
    await assert.rejects(kserve.promoteCanary({ modelId: MODEL, idempotencyKey: '' }), /an idempotency key is required/, 'no key');
    assert.equal(k8s.requests.length, 0, 'no request was sent');
  });

  it('the loopback API, like a real one, refuses a strategic merge patch on a custom resource (415)', async () => {
    const api = k8s.kubeConfig().makeApiClient(CustomObjectsApi);
    const err = await api
      .patchNamespacedCustomObject(
        {
          group: 'serving.kserve.io',
          version: 'v1beta1',
          plural: 'inferenceservices',
          namespace: NS,
          name: NAME,
          body: { spec: { predictor: { canaryTrafficPercent: 50 } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal(kubeStatusOf(err)?.code, 415, '415 Unsupported Media Type');
    assert.equal(kubeStatusOf(err)?.reason, 'UnsupportedMediaType', 'as a Status object');
    assert.notEqual(k8s.inferenceService(NS, NAME)!.spec.predictor.canaryTrafficPercent, 50, 'nothing changed');
  });

  it('is built from config for the models with deployment.kind "kserve"', async () => {
    const model = EXAMPLE_CONFIG.models[0];
    const none = parseConfig({ models: [model] });
    assert.equal(kserveDeploymentFromConfig(none, k8s.kubeConfig()), undefined, 'no KServe model: no target');
    // An InferenceService has no fallback: the model's runbooks must not choose one.
    const config = parseConfig({
      models: [{ ...model, deployment: { kind: 'kserve', kserve: { namespace: NS, name: NAME } }, runbooks: RUNBOOKS_WITHOUT_FALLBACK }],
    });
    const target = kserveDeploymentFromConfig(config, k8s.kubeConfig())!;
    assert.equal(target.kind, 'kserve', 'a KServe target');
    assert.equal((await target.currentTraffic(MODEL)).target, `KServe InferenceService ${NS}/${NAME}`, 'mapped to the configured InferenceService');
  });
});

describe('KServe rollout of a given version (rollback to the last healthy, promotion without a canary)', () => {
  let k8s: FakeKubernetesApi;
  let kserve: DeploymentTarget;
  before(async () => {
    k8s = await startFakeKubernetesApi();
    k8s.putInferenceService({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: NAME, namespace: NS },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: V2 } } },
    });
    k8s.reconcileInferenceService(NS, NAME);
    kserve = createKServeDeployment({ kubeConfig: k8s.kubeConfig(), services: { [MODEL]: { namespace: NS, name: NAME } } });
  });
  after(async () => k8s?.close());

  it('patches storageUri with the canary share removed; KServe rolls the new revision out to all traffic', async () => {
    await kserve.startCanary({ modelId: MODEL, artifactUri: V3, percent: 20, idempotencyKey: 'inc-9/canary' });
    k8s.reconcileInferenceService(NS, NAME);
    k8s.clearRequests();
    const rvBefore = k8s.inferenceService(NS, NAME)!.metadata.resourceVersion;

    const c = await kserve.rollout({ modelId: MODEL, artifactUri: V1, idempotencyKey: 'inc-9/rollout', reason: 'rollback to the last healthy' });
    assert.deepEqual(
      [c.changed, c.before, c.after],
      [true, { artifactUri: V3, canaryPercent: 20, stableArtifactUri: V2, mode: 'model' }, { artifactUri: V1, stableArtifactUri: V1, mode: 'model' }],
      'from the canary to v1',
    );
    const patches = k8s.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1, 'one PATCH');
    const body = structuredClone(patches[0]!.body) as { metadata: { resourceVersion: string; annotations: Record<string, string> }; spec: unknown };
    const record = JSON.parse(body.metadata.annotations[LAST_CHANGE_ANNOTATION]!);
    delete body.metadata.annotations[LAST_CHANGE_ANNOTATION];
    assert.deepEqual(
      body,
      {
        metadata: { resourceVersion: rvBefore, annotations: { [STABLE_URI_ANNOTATION]: V1, [PREVIOUS_STABLE_URI_ANNOTATION]: V2 } },
        spec: { predictor: { canaryTrafficPercent: null, model: { storageUri: V1 } } },
      },
      'storageUri set, canaryTrafficPercent removed, the stable URIs recorded',
    );
    assert.deepEqual([record.op, record.key, record.reason], ['rollout', 'inc-9/rollout', 'rollback to the last healthy'], 'the change recorded under its key');

    k8s.reconcileInferenceService(NS, NAME);
    const t = await kserve.currentTraffic(MODEL);
    assert.deepEqual(
      t.routes.map((r) => [r.role, r.percent, r.artifactUri]),
      [['stable', 100, V1]],
      'all traffic on v1',
    );
    assert.equal(t.ready && t.settled, true, 'ready and settled');

    k8s.clearRequests();
    assert.equal(
      (await kserve.rollout({ modelId: MODEL, artifactUri: V1, idempotencyKey: 'inc-9/rollout' })).repeated,
      true,
      'a repeated key returns the first change',
    );
    assert.equal((await kserve.rollout({ modelId: MODEL, artifactUri: V1, idempotencyKey: 'inc-10/rollout' })).changed, false, 'serving v1 already');
    assert.equal(k8s.requests.filter((r) => r.method === 'PATCH').length, 0, 'no PATCH for either');
  });
});
