/**
 * Every Kubernetes API request Vigil makes has a timeout (the client library sets none): the training
 * Job backend's and KServe's, against an API server that never answers or never finishes answering.
 * The wire format against a fake API server is in test/e2e/kubernetesJobBackend.test.ts and
 * test/e2e/kserveDeployment.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createKServeDeployment } from '../../adapters/deployment/kserveDeployment.js';
import { createKubernetesJobBackend } from '../../adapters/training/kubernetesJobBackend.js';
import { startStalledHttpServer, type StalledHttpServer } from '../support/stalledHttpServer.js';

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stalled', server: url, skipTLSVerify: true }],
    users: [{ name: 'vigil', token: 'test-token' }],
    contexts: [{ name: 'stalled', cluster: 'stalled', user: 'vigil' }],
    currentContext: 'stalled',
  });
  return kc;
}

const jobs = (url: string, requestTimeoutMs?: number) =>
  createKubernetesJobBackend({
    kubeConfig: kubeConfigFor(url),
    namespace: 'ml',
    image: 'trainer:1',
    timeoutSeconds: 60,
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });

// Without a timeout these requests would wait forever: the test's own limit turns that into a failure.
const LIMIT = { timeout: 20_000 };

describe('Kubernetes API request timeouts', () => {
  let silent: StalledHttpServer;
  let trickle: StalledHttpServer;
  before(async () => {
    silent = await startStalledHttpServer('silent');
    trickle = await startStalledHttpServer('trickle');
  });
  after(async () => {
    await silent.close();
    await trickle.close();
  });

  it('a training Job read that gets no answer fails naming the call, the request and the limit', LIMIT, async () => {
    await assert.rejects(jobs(silent.url, 300).status('j1'), (err: Error) => {
      assert.equal(
        err.message,
        'reading Kubernetes Job ml/j1 (training job "j1"): no answer from the Kubernetes API within 300 ms (GET /apis/batch/v1/namespaces/ml/jobs/j1)',
      );
      return true;
    });
  });

  it('the limit covers the body: an API server that trickles its answer times out too', LIMIT, async () => {
    await assert.rejects(jobs(trickle.url, 300).cancel('j2'), /reading Kubernetes Job ml\/j2 .*: no answer from the Kubernetes API within 300 ms/);
  });

  it('inside a heartbeating activity a request gets at most a fifth of the heartbeat timeout', LIMIT, async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 1000 }, { logger: new DefaultLogger('ERROR') });
    await assert.rejects(
      env.run(() => jobs(silent.url).submit({ jobId: 'j3', command: ['train'] })),
      /creating Kubernetes Job ml\/j3 for training job "j3": no answer from the Kubernetes API within 200 ms \(POST \/apis\/batch\/v1\/namespaces\/ml\/jobs\)/,
    );
  });

  it('a KServe InferenceService read that gets no answer fails naming the call and the limit', LIMIT, async () => {
    const kserve = createKServeDeployment({ kubeConfig: kubeConfigFor(silent.url), services: { m: { namespace: 'ml', name: 'isvc' } }, requestTimeoutMs: 300 });
    await assert.rejects(kserve.currentTraffic('m'), (err: Error) => {
      assert.match(
        err.message,
        /KServe InferenceService ml\/isvc for model "m": no answer from the Kubernetes API within 300 ms \(GET \/apis\/serving\.kserve\.io\/v1beta1\/namespaces\/ml\/inferenceservices\/isvc\)$/,
      );
      return true;
    });
  });
});
