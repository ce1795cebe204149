/**
 * The retrain's canary through a KServe InferenceService (configured with `deployment.kind: "kserve"`,
 * credentials from KUBECONFIG) on the loopback Kubernetes API, whose KServe controller splits the
 * traffic as the real one does. The example's traffic follows the InferenceService's split, so the
 * canary is judged on live accuracy, then promoted by removing canaryTrafficPercent; a later rollback
 * rolls the last healthy version out on the same InferenceService.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LAST_CHANGE_ANNOTATION } from '../../adapters/deployment/kserveDeployment.js';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { parseConfig } from '../../domain/config.js';
import { FAILURE_MODES } from '../../domain/incident.js';
import { RUNBOOKS_WITHOUT_FALLBACK } from '../../runbooks/defaultRunbooks.js';
import { feedCanary, openApprovedDriftIncident, untilIncident } from '../support/driftIncident.js';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '../support/fakeKubernetesApi.js';
import { waitFor } from '../support/waitFor.js';
import { createVigilTestEnv, TEST_CANARY, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const NS = 'ml-serving';
const NAME = 'credit-risk';

describe('a retrain canaried through KServe', () => {
  let k8s: FakeKubernetesApi;
  let env: VigilTestEnv;
  let controller: NodeJS.Timeout;
  const savedKubeconfig = process.env.KUBECONFIG;

  before(async () => {
    k8s = await startFakeKubernetesApi();
    const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-kube-')), 'config');
    fs.writeFileSync(kubeconfig, k8s.kubeConfig().exportConfig(), { mode: 0o600 });
    process.env.KUBECONFIG = kubeconfig;
    env = await createVigilTestEnv({
      config: (q) => {
        const c = testConfig({ canary: TEST_CANARY }, q);
        const m = c.models[0]!;
        // An InferenceService has no fallback: the runbooks use none (the config refuses them otherwise).
        const runbooks = Object.fromEntries(FAILURE_MODES.map((mode) => [mode, { ...m.runbooks[mode], ...RUNBOOKS_WITHOUT_FALLBACK[mode] }]));
        return parseConfig({ ...c, models: [{ ...m, deployment: { kind: 'kserve', kserve: { namespace: NS, name: NAME } }, runbooks }] });
      },
    });
    const champion = await env.services.registry.getAlias(TEST_MODEL, 'champion');
    k8s.putInferenceService({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: NAME, namespace: NS, annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' } },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: champion!.artifactUri } } },
    });
    // The KServe controller, reconciling as it would in a cluster.
    k8s.reconcileInferenceService(NS, NAME);
    controller = setInterval(() => k8s.reconcileInferenceService(NS, NAME), 200);
    await env.startWorker();
  });
  after(async () => {
    clearInterval(controller);
    await env?.close();
    await k8s?.close();
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  });

  it('patches the InferenceService to a 50% canary of the candidate, judges it on the live split and promotes it', async () => {
    const id = await openApprovedDriftIncident(env);
    const canary = await feedCanary(env);
    const candidate = await env.services.registry.getVersion(TEST_MODEL, 2);
    assert.equal(canary.artifactUri, candidate?.artifactUri, 'KServe serves the registered candidate as the canary');
    assert.equal(canary.percent, 50, 'at the runbook share, as KServe reports it');
    const predictor = k8s.inferenceService(NS, NAME)!.spec.predictor;
    assert.deepEqual([predictor.model.storageUri, predictor.canaryTrafficPercent], [candidate?.artifactUri, 50], 'the spec Vigil patched');

    const validating = await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 120_000);
    const retrain = validating.state.remediation?.detail as unknown as RetrainResult;
    assert.equal(retrain.outcome, 'promoted', JSON.stringify(validating.state.remediation));
    assert.match(retrain.canary?.target ?? '', /^KServe InferenceService ml-serving\/credit-risk/, 'judged on the KServe target');
    assert.ok((retrain.canary?.judgement.canary.labelled ?? 0) >= 60, `judged on live labels: ${JSON.stringify(retrain.canary?.judgement)}`);

    assert.equal('canaryTrafficPercent' in k8s.inferenceService(NS, NAME)!.spec.predictor, false, 'promoted: the canary share removed');
    const changes = k8s
      .mutations()
      .map((r) => (r.body as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.[LAST_CHANGE_ANNOTATION])
      .filter((a): a is string => !!a)
      .map((a) => JSON.parse(a) as { key: string; op: string })
      .filter((c) => c.key.startsWith(id));
    assert.deepEqual(
      changes.map((c) => c.op),
      ['startCanary', 'promoteCanary'],
      'one canary patch and one promotion patch',
    );
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 2, 'the registry champion follows');

    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
  });

  it('an approved rollback rolls the last healthy version out on the InferenceService', async () => {
    // A delivery pipeline ships v3 (the old baseline's weights) over the healthy, retrained v2.
    const v1 = (await env.services.registry.getVersion(TEST_MODEL, 1))!;
    const v2 = (await env.services.registry.getVersion(TEST_MODEL, 2))!;
    assert.equal(v2.status, 'healthy', 'v2 was validated healthy by the first incident');
    const v3 = await env.services.registry.registerVersion({
      modelId: TEST_MODEL,
      artifactUri: v1.artifactUri,
      metrics: v1.metrics,
      source: 'deploy',
      idempotencyKey: 'test:deploy-v3',
    });
    await env.services.registry.setAlias({
      modelId: TEST_MODEL,
      alias: 'champion',
      version: v3.version,
      reason: 'deploy',
      idempotencyKey: 'test:deploy-v3:champion',
    });
    await env.services.deploymentFor(TEST_MODEL).rollout({ modelId: TEST_MODEL, artifactUri: v1.artifactUri, idempotencyKey: 'test:deploy-v3:rollout' });
    assert.equal(k8s.inferenceService(NS, NAME)!.spec.predictor.model.storageUri, v1.artifactUri, 'v3 deployed');
    // The deploy finishes rolling out before the incident: a controller still reconciling it would
    // make the rollback's first PATCH meet a newer resourceVersion (409) and send it again.
    await waitFor(
      () => env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL),
      (t) => t.settled && t.ready,
      'v3 rolled out',
      30_000,
    );
    k8s.clearRequests();

    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const { id } = await env.services.incidents.open({
      modelId: TEST_MODEL,
      signal: 'accuracy_drop',
      source: 'test',
      evidence: { accuracy: 0.6, accuracy_baseline: 0.8, psi_max: 0.03 },
    });
    const awaiting = await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting_approval');
    assert.equal(awaiting.state.recommendation?.action, 'rollback', JSON.stringify(awaiting.state.recommendation));
    await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'bad deploy' });
    await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 60_000);

    assert.equal(k8s.inferenceService(NS, NAME)!.spec.predictor.model.storageUri, v2.artifactUri, 'the InferenceService serves v2 again');
    const patches = k8s.mutations().filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1, `one PATCH for the rollback: ${JSON.stringify(patches.map((r) => r.body))}`);
    const record = JSON.parse((patches[0]!.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[LAST_CHANGE_ANNOTATION]!);
    assert.deepEqual(
      [record.op, record.key.startsWith(id), record.after.artifactUri],
      ['rollout', true, v2.artifactUri],
      'recorded as a rollout under the incident',
    );
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 2, 'the registry champion is v2');

    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
  });
});
