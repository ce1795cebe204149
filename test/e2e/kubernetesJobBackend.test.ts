/**
 * The Kubernetes Job training backend through @kubernetes/client-node against a loopback API server
 * with the real wire format (no cluster runs here): the Job manifest exactly as sent, a duplicate
 * submit finding the first Job, terminal states only on Complete / Failed conditions, timeouts, the
 * trainer protocol read from the pod's log, and cancel as a Background delete.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../domain/config.js';
import { EXAMPLE_CONFIG } from '../../examples/credit-risk/exampleConfig.js';
import { generateApplicants, writeDatasetCsv } from '../../examples/credit-risk/dataset.js';
import { runTrainer } from '../../examples/credit-risk/trainer.js';
import {
  createKubernetesJobBackend,
  JOB_ID_ANNOTATION,
  JOB_KIND_ANNOTATION,
  kubernetesJobBackendFromConfig,
  kubernetesJobName,
} from '../../adapters/training/kubernetesJobBackend.js';
import { parseProtocol } from '../../adapters/training/localProcessBackend.js';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '../support/fakeKubernetesApi.js';

const NS = 'ml-training';
const IMAGE = 'registry.example.com/vigil/trainer:1.4.2';
const COMMAND = [
  'python',
  '/app/trainer.py',
  '--data',
  '/state/snapshots/j/train.csv',
  '--holdout',
  '/state/snapshots/j/holdout.csv',
  '--out',
  '/state/artifacts/j',
];

describe('Kubernetes Job training backend (API wire format)', () => {
  let k8s: FakeKubernetesApi;
  let tmp: string;
  /** Real trainer output (stdout JSON lines and stderr, as a container log interleaves them). */
  let trainerLog: string;
  let trainerLines: string[];

  const backend = (extra: Partial<Parameters<typeof createKubernetesJobBackend>[0]> = {}) =>
    createKubernetesJobBackend({ kubeConfig: k8s.kubeConfig(), namespace: NS, image: IMAGE, timeoutSeconds: 1800, ...extra });

  before(async () => {
    k8s = await startFakeKubernetesApi();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-k8s-job-'));
    const csv = path.join(tmp, 'train.csv');
    await writeDatasetCsv(csv, generateApplicants(400, { seed: 7 }));
    trainerLines = [];
    const code = await runTrainer(
      ['--data', csv, '--out', path.join(tmp, 'out'), '--epochs', '5'],
      { VIGIL_JOB_ID: 'incident-credit-risk-data-drift-20250301101500-train' },
      {
        emit: (e) => trainerLines.push(JSON.stringify(e)),
        log: (m) => trainerLines.push(m),
        stopped: () => false,
      },
    );
    assert.equal(code, 0, 'the example trainer runs to completion');
    trainerLog = trainerLines.join('\n') + '\n';
  });
  after(async () => {
    await k8s?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => k8s.clearRequests());

  it('creates the Job exactly as specified: name from the job id, trainer command and env, no GPU, backoffLimit 0, deadline, TTL', async () => {
    const jobId = 'incident-credit-risk-data-drift-20250301101500-train';
    const out = await backend({ ttlSecondsAfterFinished: 3600, serviceAccount: 'trainer' }).submit({
      jobId,
      command: COMMAND,
      env: { VIGIL_DATA_SOURCE: 'snapshot', PYTHONUNBUFFERED: '1' },
    });
    assert.deepEqual(out, { jobId, alreadySubmitted: false }, 'a first submit creates the job');

    const posts = k8s.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1, 'one create request');
    assert.equal(posts[0]!.path, `/apis/batch/v1/namespaces/${NS}/jobs`, 'created in the configured namespace');
    assert.equal(posts[0]!.contentType, 'application/json', 'create is plain JSON');
    const labels = { 'app.kubernetes.io/managed-by': 'vigil', 'app.kubernetes.io/component': 'training', 'vigil.dev/job-id': jobId };
    assert.deepEqual(
      posts[0]!.body,
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: jobId, namespace: NS, labels, annotations: { [JOB_ID_ANNOTATION]: jobId, [JOB_KIND_ANNOTATION]: 'train' } },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: 1800,
          ttlSecondsAfterFinished: 3600,
          template: {
            metadata: { labels, annotations: { [JOB_ID_ANNOTATION]: jobId } },
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: 'trainer',
              containers: [
                {
                  name: 'trainer',
                  image: IMAGE,
                  command: COMMAND,
                  env: [
                    { name: 'VIGIL_DATA_SOURCE', value: 'snapshot' },
                    { name: 'PYTHONUNBUFFERED', value: '1' },
                    { name: 'VIGIL_JOB_ID', value: jobId },
                  ],
                },
              ],
            },
          },
        },
      },
      'the Job manifest as sent on the wire',
    );
    const stored = k8s.job(NS, jobId)!;
    assert.ok(stored.metadata.uid && stored.metadata.resourceVersion && stored.metadata.creationTimestamp, 'the server assigned identity fields');
    assert.equal(stored.spec.template.metadata.labels['batch.kubernetes.io/job-name'], jobId, 'the server labels the pod template with the job name');
  });

  it('requests GPUs as resources.limits["nvidia.com/gpu"] when asked, from the config or from the job\'s gpus', async () => {
    await backend({ gpus: 2 }).submit({ jobId: 'gpu-job-config', command: COMMAND });
    await backend().submit({ jobId: 'gpu-job-spec', command: COMMAND, gpus: '0,1,2' });
    await backend().submit({ jobId: 'cpu-only-job', command: COMMAND, gpus: '' });
    const container = (i: number) => (k8s.requests.filter((r) => r.method === 'POST')[i]!.body as any).spec.template.spec.containers[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(container(0).resources, { limits: { 'nvidia.com/gpu': '2' } }, 'config gpus: 2 → a limit of 2');
    assert.deepEqual(container(1).resources, { limits: { 'nvidia.com/gpu': '3' } }, "job gpus '0,1,2' → a limit of 3");
    assert.equal(container(2).resources, undefined, 'no GPU → no resources block at all');
    assert.deepEqual(
      container(2).env.find((e: { name: string }) => e.name === 'CUDA_VISIBLE_DEVICES'),
      { name: 'CUDA_VISIBLE_DEVICES', value: '' },
      "gpus '' hides GPUs from the trainer",
    );
    assert.deepEqual(
      k8s.job(NS, 'gpu-job-config')!.spec.template.spec.containers[0].resources.requests,
      { 'nvidia.com/gpu': '2' },
      'the server defaults GPU requests to the limit',
    );
  });

  it('mounts the shared state volume when configured', async () => {
    await backend({ volume: { claimName: 'vigil-state', mountPath: '/var/lib/vigil' } }).submit({ jobId: 'volume-job', command: COMMAND });
    const spec = (k8s.requests.find((r) => r.method === 'POST')!.body as any).spec.template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(spec.volumes, [{ name: 'vigil-state', persistentVolumeClaim: { claimName: 'vigil-state' } }], 'the PVC is a pod volume');
    assert.deepEqual(spec.containers[0].volumeMounts, [{ name: 'vigil-state', mountPath: '/var/lib/vigil' }], 'mounted at the state path');
  });

  it('derives a valid, stable Job name from any job id and keeps the full id in an annotation', async () => {
    const long = `incident-${'a-very-long-model-name-'.repeat(3)}data-drift-20250301101500-train`;
    const name = kubernetesJobName(long);
    assert.ok(name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name), `"${name}" is a DNS-1123 label`);
    assert.equal(kubernetesJobName(long), name, 'the same id gives the same name');
    assert.notEqual(kubernetesJobName(`${long}-2`), name, 'another id gives another name');
    assert.match(kubernetesJobName('Incident_Credit.Risk-train'), /^incident-credit-risk-train-[0-9a-f]{8}$/, 'upper case and dots are folded, with a hash');

    await backend().submit({ jobId: long, command: COMMAND });
    const body = k8s.requests.find((r) => r.method === 'POST')!.body as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(body.metadata.name, name, 'created under the derived name');
    assert.equal(body.metadata.annotations[JOB_ID_ANNOTATION], long, 'the full id is annotated');
    assert.equal(body.metadata.labels['vigil.dev/job-id'], undefined, 'an id longer than a label value is not a label');
    assert.equal((await backend().status(long)).jobId, long, 'status finds it by the full id');
  });

  it('a second submit of the same job id meets 409 AlreadyExists and finds the first Job', async () => {
    const jobId = 'incident-credit-risk-data-drift-20250301101600-train';
    const b = backend();
    assert.equal((await b.submit({ jobId, command: COMMAND })).alreadySubmitted, false, 'first submit creates');
    const uid = k8s.job(NS, jobId)!.metadata.uid;
    const again = await backend().submit({ jobId, command: COMMAND });
    assert.deepEqual(again, { jobId, alreadySubmitted: true }, 'the retry finds the same job');
    assert.equal(k8s.job(NS, jobId)!.metadata.uid, uid, 'still the first Job');
    assert.deepEqual(
      k8s.requests.map((r) => `${r.method} ${r.path}`),
      [`POST /apis/batch/v1/namespaces/${NS}/jobs`, `POST /apis/batch/v1/namespaces/${NS}/jobs`, `GET /apis/batch/v1/namespaces/${NS}/jobs/${jobId}`],
      'create, create (409), get',
    );
  });

  it('refuses to adopt a Job of the same name that belongs to another id', async () => {
    // A foreign Job squats the name.
    await backend().submit({ jobId: 'squatted-name', command: COMMAND });
    const kc = k8s.kubeConfig();
    const { BatchV1Api } = await import('@kubernetes/client-node');
    await kc.makeApiClient(BatchV1Api).deleteNamespacedJob({ name: 'squatted-name', namespace: NS, propagationPolicy: 'Background' });
    await kc.makeApiClient(BatchV1Api).createNamespacedJob({
      namespace: NS,
      body: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'squatted-name' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'busybox:1' }] } } },
      },
    });
    await assert.rejects(
      backend().submit({ jobId: 'squatted-name', command: COMMAND }),
      /Job ml-training\/squatted-name already exists but is not training job "squatted-name"/,
      'names the clash',
    );
  });

  it('stays running until a Complete condition, even with succeeded: 1 and SuccessCriteriaMet; then reports metrics and the artifact', async () => {
    const jobId = 'incident-credit-risk-data-drift-20250301101700-train';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    assert.deepEqual(await b.status(jobId), { jobId, state: 'running' }, 'no pod yet: running, nothing parsed');

    const podName = k8s.startJobPod(NS, jobId, { waiting: 'ContainerCreating' });
    assert.deepEqual(await b.status(jobId), { jobId, state: 'running' }, 'a waiting container is running, with nothing to parse yet');

    // The kubelet starts the container; the trainer writes its first lines.
    k8s.runPodContainer(NS, podName);
    const progressAt = trainerLines.findIndex((l) => l.includes('"type":"progress"') && l.includes('"step":3'));
    k8s.appendPodLog(NS, podName, trainerLines.slice(0, progressAt + 1).join('\n') + '\n');
    const running = await b.status(jobId);
    assert.equal(running.state, 'running', 'running while the trainer runs');
    assert.equal(running.progress?.step, 3, 'progress from the latest protocol line');
    assert.equal(running.progress?.total, 5, 'total epochs');

    k8s.appendPodLog(NS, podName, trainerLines.slice(progressAt + 1).join('\n') + '\n');
    k8s.finishJobPod(NS, jobId, { exitCode: 0 });
    k8s.setJobStatus(NS, jobId, { succeeded: 1 });
    assert.equal(k8s.job(NS, jobId)!.status.succeeded, 1, 'the pod count says succeeded');
    assert.equal((await b.status(jobId)).state, 'running', 'succeeded: 1 alone is not terminal');
    k8s.addJobCondition(NS, jobId, { type: 'SuccessCriteriaMet', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    assert.equal((await b.status(jobId)).state, 'running', 'SuccessCriteriaMet is not terminal (pods may still terminate)');
    k8s.addJobCondition(NS, jobId, { type: 'Complete', status: 'False' });
    assert.equal((await b.status(jobId)).state, 'running', 'a Complete condition with status False is not terminal');

    k8s.addJobCondition(NS, jobId, { type: 'Complete', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    const done = await b.status(jobId);
    const expected = parseProtocol(trainerLog);
    assert.equal(done.state, 'succeeded', 'Complete=True is success');
    assert.equal(done.exitCode, 0, 'exit code from the container');
    assert.equal(done.artifactPath, expected.artifactPath, 'artifact path from the protocol');
    assert.deepEqual(done.metrics, expected.metrics, 'metrics from the protocol');
    assert.ok((done.metrics?.auc ?? 0) > 0.6, 'real metrics');
    assert.equal(done.failure, undefined, 'no failure on success');

    const logs = await b.logs(jobId);
    assert.equal(logs, trainerLog, 'logs are the trainer container log');
    const logReq = k8s.requests.filter((r) => r.path.endsWith('/log')).at(-1)!;
    assert.equal(logReq.path, `/api/v1/namespaces/${NS}/pods/${podName}/log`, 'read from the job pod');
    assert.equal(logReq.query.container, 'trainer', 'the trainer container');
    const list = k8s.requests.find((r) => r.path === `/api/v1/namespaces/${NS}/pods`)!;
    assert.equal(list.query.labelSelector, `batch.kubernetes.io/job-name=${jobId}`, 'pods found by the job-name label');
  });

  it("Failed with BackoffLimitExceeded is a failure with the exit code and the trainer's error; FailureTarget alone is not terminal", async () => {
    const jobId = 'bad-input-job';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    const podName = k8s.startJobPod(NS, jobId);
    k8s.appendPodLog(
      NS,
      podName,
      'reading train.csv\n{"type":"error","jobId":"bad-input-job","message":"train.csv row 12, column income: not a number (\\"abc\\")"}\n',
    );
    k8s.finishJobPod(NS, jobId, { exitCode: 2 });
    k8s.addJobCondition(NS, jobId, { type: 'FailureTarget', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    assert.equal((await b.status(jobId)).state, 'running', 'FailureTarget is not terminal');
    k8s.addJobCondition(NS, jobId, { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    const s = await b.status(jobId);
    assert.equal(s.state, 'failed', 'Failed=True is failure');
    assert.equal(s.exitCode, 2, 'exit code from the terminated container');
    assert.equal(s.error, 'train.csv row 12, column income: not a number ("abc")', "the trainer's own error line");
    assert.equal(s.failure?.kind, 'bad_input', 'exit 2 is bad input');
    assert.equal(s.failure?.retryable, false, 'bad input is not retried');
  });

  it('an OOMKilled container is classed out of memory', async () => {
    const jobId = 'oom-job';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    const podName = k8s.startJobPod(NS, jobId);
    k8s.appendPodLog(NS, podName, '{"type":"progress","jobId":"oom-job","step":1,"total":40,"loss":0.6}\n');
    k8s.finishJobPod(NS, jobId, { exitCode: 137, reason: 'OOMKilled' });
    k8s.addJobCondition(NS, jobId, { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    const s = await b.status(jobId);
    assert.equal(s.state, 'failed', 'failed');
    assert.equal(s.exitCode, 137, 'exit 137');
    assert.match(s.error ?? '', /exited with code 137 \(OOMKilled\); Job BackoffLimitExceeded/, 'the error names the container reason and the Job condition');
    assert.equal(s.failure?.kind, 'out_of_memory', 'OOMKilled → out of memory');
    assert.equal(s.progress?.step, 1, 'progress so far is kept');
  });

  it('Failed with DeadlineExceeded is a timeout', async () => {
    const jobId = 'slow-job';
    const b = backend({ timeoutSeconds: 60 });
    await b.submit({ jobId, command: COMMAND });
    const podName = k8s.startJobPod(NS, jobId);
    k8s.appendPodLog(NS, podName, '{"type":"progress","jobId":"slow-job","step":2,"total":40}\n');
    k8s.addJobCondition(NS, jobId, { type: 'FailureTarget', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    assert.equal((await b.status(jobId)).state, 'running', 'FailureTarget is not terminal');
    k8s.addJobCondition(NS, jobId, { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    const s = await b.status(jobId);
    assert.equal(s.state, 'failed', 'a timeout is a failed job');
    assert.equal(s.error, 'timed out after 60s (activeDeadlineSeconds): DeadlineExceeded: Job was active longer than specified deadline', 'says it timed out');
    assert.equal(s.failure?.kind, 'timed_out', 'classed timed out');
    assert.equal(s.failure?.retryable, true, 'a timeout may be retried');
    assert.equal(k8s.pods(NS).filter((p) => p.metadata.name === podName).length, 0, 'the controller removed the pod at the deadline');
  });

  it('Complete without an artifact line is a failure (the trainer broke the protocol)', async () => {
    const jobId = 'no-artifact-job';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    const podName = k8s.startJobPod(NS, jobId);
    k8s.appendPodLog(NS, podName, 'done, I think\n');
    k8s.finishJobPod(NS, jobId, { exitCode: 0 });
    k8s.addJobCondition(NS, jobId, { type: 'Complete' });
    const s = await b.status(jobId);
    assert.equal(s.state, 'failed', 'no artifact → failed');
    assert.equal(s.error, 'trainer exited 0 without reporting an artifact', 'says why');
    assert.equal(s.failure?.kind, 'bad_exit', 'classed bad exit');
  });

  it('cancel deletes the running Job with propagationPolicy Background; its pods go too', async () => {
    const jobId = 'cancel-me';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    k8s.startJobPod(NS, jobId);
    k8s.clearRequests();
    await b.cancel(jobId);
    const deletes = k8s.requests.filter((r) => r.method === 'DELETE');
    assert.equal(deletes.length, 1, 'one DELETE');
    assert.equal(deletes[0]!.path, `/apis/batch/v1/namespaces/${NS}/jobs/${jobId}`, 'the job');
    assert.equal(deletes[0]!.query.propagationPolicy, 'Background', 'Background propagation (batch/v1 would orphan the pods otherwise)');
    assert.equal(k8s.job(NS, jobId), undefined, 'the Job is gone');
    assert.equal(k8s.pods(NS).filter((p) => p.metadata.labels['job-name'] === jobId).length, 0, 'and its pods');
    await b.cancel(jobId); // already gone: nothing to do
    assert.equal(k8s.requests.filter((r) => r.method === 'DELETE').length, 1, 'cancelling again sends nothing');
    await assert.rejects(
      b.status(jobId),
      /training job "cancel-me" does not exist \(no Kubernetes Job ml-training\/cancel-me\)/,
      'status afterwards names the job',
    );
  });

  it('cancel leaves a finished Job alone', async () => {
    const jobId = 'finished-job';
    const b = backend();
    await b.submit({ jobId, command: COMMAND });
    k8s.startJobPod(NS, jobId);
    k8s.finishJobPod(NS, jobId, { exitCode: 1 });
    k8s.addJobCondition(NS, jobId, { type: 'Failed', reason: 'BackoffLimitExceeded' });
    await b.cancel(jobId);
    assert.equal(k8s.requests.filter((r) => r.method === 'DELETE').length, 0, 'no DELETE for a finished job');
    assert.equal((await b.status(jobId)).state, 'failed', 'it keeps its outcome');
  });

  it('API errors name what Vigil was doing and never carry the token', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: k8s.url, skipTLSVerify: true }],
      users: [{ name: 'intruder', token: 'wrong-token-0123' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'intruder' }],
      currentContext: 'fake',
    });
    const b = createKubernetesJobBackend({ kubeConfig: kc, namespace: NS, image: IMAGE, timeoutSeconds: 60 });
    const err = await b.submit({ jobId: 'unauthorised', command: COMMAND }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'the submit fails');
    assert.match(
      err.message,
      /creating Kubernetes Job ml-training\/unauthorised for training job "unauthorised": Kubernetes API answered 401/,
      'names the call and the status',
    );
    assert.ok(!err.message.includes('wrong-token-0123') && !err.message.includes(k8s.token), 'no token in the message');
  });

  it('builds from config: backend "kubernetes", the training timeout as the deadline', async () => {
    const config = parseConfig({
      models: [
        {
          ...EXAMPLE_CONFIG.models[0],
          training: { backend: 'kubernetes', timeout: '45m', kubernetes: { namespace: NS, image: IMAGE, gpus: 1, ttlSecondsAfterFinished: 600 } },
        },
      ],
    });
    const b = kubernetesJobBackendFromConfig(config.models[0]!.training, k8s.kubeConfig());
    const m = b.manifest({ jobId: 'from-config', command: COMMAND });
    assert.equal(m.spec?.activeDeadlineSeconds, 2700, '45m → 2700 s');
    assert.equal(m.spec?.ttlSecondsAfterFinished, 600, 'TTL from config');
    assert.deepEqual(m.spec?.template.spec?.containers[0]!.resources, { limits: { 'nvidia.com/gpu': '1' } }, 'GPUs from config');
    assert.equal(m.metadata?.namespace, NS, 'namespace from config');
  });
});
