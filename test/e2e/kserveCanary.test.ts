/**
 * The retrain's canary through a KServe InferenceService (configured with `deployment.kind: "kserve"`,
 * credentials from KUBECONFIG) on the loopback Kubernetes API, whose KServe controller splits the
 * traffic as the real one does. The example's traffic follows the InferenceService's split, so the
 * canary is judged on live accuracy, then promoted by removing canaryTrafficPercent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LAST_CHANGE_ANNOTATION } from '../../adapters/deployment/kserveDeployment.js';
import type { RetrainResult } from '../../workflows/retrainModel.js';
import { feedCanary, openApprovedDriftIncident, untilIncident } from '../support/driftIncident.js';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '../support/fakeKubernetesApi.js';
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
        c.models[0].deployment = { kind: 'kserve', kserve: { namespace: NS, name: NAME } };
        return c;
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
    assert.deepEqual(changes.map((c) => c.op), ['startCanary', 'promoteCanary'], 'one canary patch and one promotion patch');
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 2, 'the registry champion follows');

    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
  });
});
