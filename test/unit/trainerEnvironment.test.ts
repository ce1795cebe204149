/** What a local trainer's environment holds, and the `training.passEnv` config that adds to it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trainerEnvironment } from '../../adapters/process/trainerEnvironment.js';
import { parseConfig } from '../../domain/config.js';
import { configError } from '../support/configError.js';

const WORKER = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/vigil',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  VIRTUAL_ENV: '/srv/venv',
  CUDA_VISIBLE_DEVICES: '1',
  DATABASE_URL: 'postgres://vigil:secret@db/vigil',
  SLACK_BOT_TOKEN: 'xoxb-1',
  TEMPORAL_API_KEY: 'k-1',
  HF_TOKEN: 'hf-1',
  NODE_OPTIONS: '--inspect',
};

describe('trainerEnvironment', () => {
  it("keeps the harmless settings and drops the rest of the worker's environment", () => {
    assert.deepEqual(trainerEnvironment({ workerEnv: WORKER, jobId: 'j1' }), {
      PATH: '/usr/bin:/bin',
      HOME: '/home/vigil',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      VIRTUAL_ENV: '/srv/venv',
      CUDA_VISIBLE_DEVICES: '1',
      VIGIL_JOB_ID: 'j1',
    });
  });

  it('adds the named worker variables, then the config values, then the GPUs and the job id', () => {
    const env = trainerEnvironment({
      workerEnv: WORKER,
      passEnv: ['HF_TOKEN', 'NOT_SET'],
      env: { OMP_NUM_THREADS: '4', PATH: '/opt/trainer/bin', VIGIL_JOB_ID: 'spoofed' },
      gpus: '',
      jobId: 'j2',
    });
    assert.equal(env.HF_TOKEN, 'hf-1');
    assert.equal('NOT_SET' in env, false);
    assert.equal(env.OMP_NUM_THREADS, '4');
    assert.equal(env.PATH, '/opt/trainer/bin', 'the config wins over the inherited value');
    assert.equal(env.CUDA_VISIBLE_DEVICES, '', "gpus '' hides the worker's GPUs");
    assert.equal(env.VIGIL_JOB_ID, 'j2', 'the job id is always Vigil’s');
    assert.equal('DATABASE_URL' in env || 'SLACK_BOT_TOKEN' in env || 'NODE_OPTIONS' in env, false);
  });
});

describe('training.passEnv config', () => {
  const model = (training: unknown) => ({ id: 'm', displayName: 'M', tier: 'high', approvers: ['a'], training });

  it('takes names of environment variables; none by default', () => {
    assert.deepEqual(parseConfig({ models: [model({})] }).models[0]!.training.passEnv, []);
    assert.deepEqual(parseConfig({ models: [model({ passEnv: ['HF_TOKEN', 'WANDB_API_KEY'] })] }).models[0]!.training.passEnv, ['HF_TOKEN', 'WANDB_API_KEY']);
  });

  it('refuses what is not a name, without repeating a value', () => {
    const e = configError({ models: [model({ passEnv: ['HF_TOKEN=hf_abc123', '1BAD', 7] })] });
    assert.deepEqual(e.issues, [
      {
        path: 'models.0.training.passEnv.0',
        message: 'must be the NAME of an environment variable of the worker (such as "HF_TOKEN"), not NAME=value: the trainer gets the value from the worker',
      },
      {
        path: 'models.0.training.passEnv.1',
        message: 'must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "HF_TOKEN")',
      },
      { path: 'models.0.training.passEnv.2', message: 'must be the name of an environment variable (a string)' },
    ]);
    assert.ok(!e.message.includes('hf_abc123'), 'the value is not repeated');
  });

  it('applies to the local backend only', () => {
    const e = configError({ models: [model({ backend: 'ray', ray: { address: 'http://ray:8265' }, passEnv: ['HF_TOKEN'] })] });
    assert.equal(e.issues.length, 1);
    assert.equal(e.issues[0]!.path, 'models.0.training.passEnv');
    assert.match(e.issues[0]!.message, /^applies only to the local backend: a Ray job runs on the cluster/);
  });
});
