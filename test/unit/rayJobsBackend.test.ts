/**
 * The Ray Jobs backend's pure parts: the submission body, the state mapping and the shell quoting; and
 * its request timeouts, against a local server that never finishes answering. The behaviour against a
 * real Ray head is in test/e2e/rayJobsBackend.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import {
  createRayJobsBackend,
  rayJobsBackendFromConfig,
  rayJobStatus,
  rayJobSubmission,
  shellCommand,
  type RayJobDetails,
} from '../../adapters/training/rayJobsBackend.js';
import { parseConfig } from '../../domain/config.js';
import { startStalledHttpServer } from '../support/stalledHttpServer.js';

const job = (status: RayJobDetails['status'], extra: Partial<RayJobDetails> = {}): RayJobDetails => ({
  submission_id: 'j1',
  status,
  entrypoint: 'python train.py',
  ...extra,
});
const LOG = [
  '2026-11-22 04:16:07,773\tINFO job_manager.py:581 -- Runtime env is setting up.',
  'Running entrypoint for job j1: python train.py',
  '{"type":"started","jobId":"j1","rows":10}',
  '{"type":"progress","jobId":"j1","step":2,"total":4,"loss":0.5}',
].join('\n');
const DONE = `${LOG}\n{"type":"metrics","jobId":"j1","auc":0.8,"calibrationError":0.02}\n{"type":"artifact","jobId":"j1","path":"/s/model.json"}\n`;

describe('rayJobSubmission', () => {
  it('sends the job id as submission_id, the command as a quoted entrypoint, env with VIGIL_JOB_ID', () => {
    const body = rayJobSubmission({ jobId: 'j1', command: ['python', 'train.py', '--out', '/a b'], env: { FOO: '1' } }, {});
    assert.deepEqual(
      body,
      {
        entrypoint: "python train.py --out '/a b'",
        submission_id: 'j1',
        runtime_env: { env_vars: { FOO: '1', VIGIL_JOB_ID: 'j1' } },
        metadata: { submitted_by: 'vigil', vigil_job_id: 'j1', vigil_job_kind: 'train' },
      },
      'the body',
    );
  });

  it('reserves the configured resources and ships the working_dir', () => {
    const body = rayJobSubmission({ jobId: 'j1', command: ['t'] }, { numCpus: 2, numGpus: 1, memoryBytes: 4e9, workingDir: 's3://b/code.zip' });
    assert.equal(body.entrypoint_num_cpus, 2, 'cpus');
    assert.equal(body.entrypoint_num_gpus, 1, 'gpus');
    assert.equal(body.entrypoint_memory, 4e9, 'memory');
    assert.equal((body.runtime_env as { working_dir: string }).working_dir, 's3://b/code.zip', 'working_dir');
  });

  it("asks Ray for as many GPUs as the job's gpus list, unless the Ray section says how many", () => {
    assert.equal(rayJobSubmission({ jobId: 'j', command: ['t'], gpus: '0,1' }, {}).entrypoint_num_gpus, 2, 'two from the list');
    assert.equal(rayJobSubmission({ jobId: 'j', command: ['t'], gpus: '0,1' }, { numGpus: 4 }).entrypoint_num_gpus, 4, 'the Ray section wins');
    assert.equal(rayJobSubmission({ jobId: 'j', command: ['t'] }, {}).entrypoint_num_gpus, undefined, 'none asked');
    const cpuOnly = rayJobSubmission({ jobId: 'j', command: ['t'], gpus: '' }, {});
    assert.equal(cpuOnly.entrypoint_num_gpus, undefined, "'' asks for none");
    assert.equal((cpuOnly.runtime_env as { env_vars: Record<string, string> }).env_vars.CUDA_VISIBLE_DEVICES, '', "'' hides the GPUs");
  });
});

describe('rayJobStatus', () => {
  it('PENDING and RUNNING are running, with the progress so far', () => {
    assert.deepEqual(rayJobStatus('j1', job('PENDING'), ''), { jobId: 'j1', state: 'running' }, 'pending');
    const running = rayJobStatus('j1', job('RUNNING'), LOG);
    assert.equal(running.state, 'running', 'running');
    assert.deepEqual([running.progress?.step, running.progress?.total, running.progress?.loss], [2, 4, 0.5], 'progress');
  });

  it('SUCCEEDED with an artifact line succeeds; without one it failed', () => {
    const ok = rayJobStatus('j1', job('SUCCEEDED', { driver_exit_code: 0 }), DONE);
    assert.equal(ok.state, 'succeeded', 'succeeded');
    assert.equal(ok.artifactPath, '/s/model.json', 'artifact');
    assert.deepEqual(ok.metrics, { auc: 0.8, calibrationError: 0.02 }, 'metrics');
    const noArtifact = rayJobStatus('j1', job('SUCCEEDED', { driver_exit_code: 0 }), LOG);
    assert.equal(noArtifact.state, 'failed', 'no artifact → failed');
    assert.equal(noArtifact.failure?.kind, 'bad_exit', 'a trainer that breaks the protocol');
  });

  it('STOPPED is cancelled', () => {
    assert.equal(rayJobStatus('j1', job('STOPPED', { message: 'Job was intentionally stopped.' }), LOG).state, 'cancelled', 'cancelled');
  });

  it("FAILED keeps Ray's reason without the log it repeats, and classifies the failure", () => {
    const message =
      'Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\nTraceback…\nRuntimeError: CUDA error: CUDA_ERROR_OUT_OF_MEMORY';
    const logs = `${LOG}\nTraceback (most recent call last):\nRuntimeError: CUDA error: CUDA_ERROR_OUT_OF_MEMORY\n`;
    const s = rayJobStatus('j1', job('FAILED', { driver_exit_code: 1, message, error_type: 'JOB_ENTRYPOINT_COMMAND_ERROR' }), logs);
    assert.equal(s.state, 'failed', 'failed');
    assert.equal(s.exitCode, 1, 'exit code');
    assert.equal(
      s.error,
      'Job entrypoint command failed with exit code 1: Traceback (most recent call last):\nRuntimeError: CUDA error: CUDA_ERROR_OUT_OF_MEMORY',
      'reason and tail',
    );
    assert.equal(s.failure?.kind, 'out_of_memory', 'out of GPU memory');
    assert.equal(s.failure?.retryable, false, 'not retried');
  });

  it('FAILED without an exit code (the supervisor or its node died) is lost, retryable', () => {
    const s = rayJobStatus(
      'j1',
      job('FAILED', { message: 'Job supervisor actor died: the node was terminated', error_type: 'JOB_SUPERVISOR_ACTOR_DIED' }),
      LOG,
    );
    assert.equal(s.failure?.kind, 'lost', `lost: ${JSON.stringify(s.failure)}`);
    assert.equal(s.failure?.retryable, true, 'retryable');
    assert.match(s.error ?? '', /^Job supervisor actor died/, 'the reason');
  });

  it('FAILED with a negative exit code (killed by a signal, as Python reports it) is killed', () => {
    const s = rayJobStatus('j1', job('FAILED', { driver_exit_code: -9, message: 'Job entrypoint command failed with exit code -9' }), LOG);
    assert.equal(s.failure?.kind, 'killed', 'killed');
  });

  it('an unknown state is an error, not a guess', () => {
    assert.throws(() => rayJobStatus('j1', job('WEIRD' as RayJobDetails['status']), ''), /unknown status "WEIRD"/, 'throws');
  });
});

describe('shellCommand', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    assert.equal(shellCommand(['/usr/bin/python3', '-m', 'x.y', '--lr=0.5']), '/usr/bin/python3 -m x.y --lr=0.5', 'plain');
    assert.equal(shellCommand(["it's", '$HOME', 'a b', '']), `'it'\\''s' '$HOME' 'a b' ''`, 'quoted');
    assert.throws(() => shellCommand([]), /empty/, 'empty command');
  });
});

describe('training.ray config', () => {
  const model = (training: unknown) => ({ id: 'm', displayName: 'M', tier: 'high', approvers: ['a'], training });

  it('is required for the ray backend and names what is wrong', () => {
    assert.throws(() => parseConfig({ models: [model({ backend: 'ray' })] }), /training\.ray.*required when backend is "ray"/s, 'missing');
    assert.throws(
      () => parseConfig({ models: [model({ backend: 'ray', ray: { address: 'ray-head:8265' } })] }),
      /training\.ray\.address.*http\(s\) URL of the Ray dashboard/s,
      'not a URL',
    );
    assert.throws(
      () => parseConfig({ models: [model({ backend: 'ray', ray: { address: 'http://h:8265', workingDir: './code' } })] }),
      /training\.ray\.workingDir.*not a local path/s,
      'local working_dir',
    );
  });

  it('builds a backend with the token from RAY_AUTH_TOKEN', () => {
    const cfg = parseConfig({ models: [model({ backend: 'ray', ray: { address: 'http://h:8265', numGpus: 1 } })] });
    assert.equal(cfg.models[0]!.training.backend, 'ray', 'backend');
    assert.deepEqual(cfg.models[0]!.training.ray, { address: 'http://h:8265', numGpus: 1 }, 'section');
    assert.ok(rayJobsBackendFromConfig(cfg.models[0]!.training.ray!, { RAY_AUTH_TOKEN: 't' }), 'a backend');
  });
});

describe('Ray Jobs API request timeouts', () => {
  const inActivity = <T>(heartbeatTimeoutMs: number, fn: () => Promise<T>) =>
    new MockActivityEnvironment({ heartbeatTimeoutMs }, { logger: new DefaultLogger('ERROR') }).run(fn);

  it('inside a heartbeating activity a request times out within a fifth of the heartbeat timeout, naming the call', async () => {
    const head = await startStalledHttpServer('silent');
    try {
      // The backend's own limit (15 s) is longer than the heartbeat timeout: the heartbeat's share wins.
      const backend = createRayJobsBackend({ address: head.url });
      await assert.rejects(
        inActivity(1000, () => backend.status('j1')),
        (err: Error) => {
          assert.equal(err.message, `Ray Jobs API at ${head.url} did not answer GET /api/jobs/j1 within 200 ms`);
          return true;
        },
      );
      assert.equal(head.requests.length, 1);
    } finally {
      await head.close();
    }
  });

  it('the limit is on the whole answer: a head that trickles bytes does not keep the request open', { timeout: 20_000 }, async () => {
    const head = await startStalledHttpServer('trickle');
    try {
      const backend = createRayJobsBackend({ address: head.url, requestTimeoutMs: 300 });
      await assert.rejects(backend.details('j1'), /did not answer GET \/api\/jobs\/j1 within 300 ms/);
    } finally {
      await head.close();
    }
  });
});
