import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyTrainingFailure,
  TRAINING_FAILURE_TRIES,
  type TrainingFailureEvidence,
  type TrainingFailureKind,
} from '../../adapters/training/trainingFailure.js';

const TORCH_OOM = [
  '{"type":"progress","jobId":"inc-1-train","step":3,"total":40,"loss":0.61}',
  'Traceback (most recent call last):',
  '  File "trainer_torch.py", line 120, in train',
  'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.06 GiB is free.',
].join('\n');

const cases: [string, TrainingFailureEvidence, TrainingFailureKind, boolean, RegExp][] = [
  [
    'PyTorch CUDA OOM (exit 1)',
    { exitCode: 1, logs: TORCH_OOM },
    'out_of_memory',
    false,
    /^out of GPU memory \(exit 1\): torch\.OutOfMemoryError: CUDA out of memory\. Tried to allocate 2\.00 GiB.*not retried: .*a GPU with more memory/,
  ],
  ['CUDA driver OOM', { exitCode: 1, logs: 'RuntimeError: CUDA error: CUDA_ERROR_OUT_OF_MEMORY' }, 'out_of_memory', false, /out of GPU memory/],
  [
    'Python MemoryError in the trainer’s error line',
    { exitCode: 1, logs: '{"type":"error","jobId":null,"message":"MemoryError: Unable to allocate 74.5 GiB for an array"}' },
    'out_of_memory',
    false,
    /^out of memory \(exit 1\): .*MemoryError: Unable to allocate 74\.5 GiB/,
  ],
  [
    'C++ bad_alloc',
    { exitCode: 134, logs: "terminate called after throwing an instance of 'std::bad_alloc'" },
    'out_of_memory',
    false,
    /^out of memory \(exit 134, SIGABRT\)/,
  ],
  [
    'exit 137 with the OOM killer’s line',
    { exitCode: 137, logs: 'epoch 3\nOut of memory: Killed process 4242 (python) total-vm:9000000kB' },
    'out_of_memory',
    false,
    /^out of memory \(exit 137, SIGKILL\): Out of memory: Killed process 4242/,
  ],
  ['Kubernetes OOMKilled reason', { exitCode: 137, logs: '', reason: 'OOMKilled' }, 'out_of_memory', false, /^out of memory \(exit 137, SIGKILL\): OOMKilled/],
  [
    'exit 137 without an OOM trace',
    { exitCode: 137, logs: '{"type":"progress","step":2,"total":40,"loss":0.6}' },
    'killed',
    true,
    /^killed by SIGKILL \(exit 137, SIGKILL\), not by Vigil — retried as a new job/,
  ],
  ['SIGTERM not sent by Vigil (143)', { exitCode: 143, logs: 'trainer: SIGTERM received, stopping' }, 'killed', true, /killed by SIGTERM/],
  ['signal by name', { signal: 'SIGKILL', logs: '' }, 'killed', true, /^killed by SIGKILL \(killed by SIGKILL\)/],
  ['signal by number', { signal: 9, logs: '' }, 'killed', true, /SIGKILL/],
  ['negative exit code (Python’s convention)', { exitCode: -15, logs: '' }, 'killed', true, /SIGTERM/],
  ['SIGINT (130)', { exitCode: 130, logs: '' }, 'killed', true, /SIGINT/],
  [
    'Kubernetes eviction',
    { exitCode: 1, logs: '', reason: 'Evicted: The node was low on resource: ephemeral-storage.' },
    'killed',
    true,
    /^evicted \(exit 1\): Evicted/,
  ],
  [
    'exit 2 with the protocol’s error line',
    {
      exitCode: 2,
      logs: 'trainer: error\n{"type":"error","jobId":"j","message":"/data/train.csv: row 3, line 4, column \\"age\\": \\"x\\" is not a finite number"}',
    },
    'bad_input',
    false,
    /^bad input \(exit 2\): \/data\/train\.csv: row 3, line 4, column "age": "x" is not a finite number — not retried: fix the data or the trainer arguments$/,
  ],
  [
    'exit 2 whose message names an oom column is still bad input',
    { exitCode: 2, logs: '', error: 'train.csv: row 1, column "oom_killed": value is missing' },
    'bad_input',
    false,
    /bad input/,
  ],
  ['exit 2 without an error line', { exitCode: 2, logs: 'usage: train.py [-h]' }, 'bad_input', false, /^bad input \(exit 2\) — not retried/],
  [
    'other non-zero exit, trainer error',
    { exitCode: 1, logs: '{"type":"error","message":"ZeroDivisionError: division by zero"}' },
    'bad_exit',
    false,
    /^trainer failed \(exit 1\): ZeroDivisionError: division by zero — not retried/,
  ],
  [
    'other non-zero exit, last log line',
    { exitCode: 3, logs: 'step 1\nsomething broke here\n' },
    'bad_exit',
    false,
    /^trainer failed \(exit 3\): something broke here/,
  ],
  ['segfault is a crash, not a kill', { exitCode: 139, logs: '' }, 'bad_exit', false, /^trainer failed \(exit 139, SIGSEGV\)/],
  ['command not found', { exitCode: 127, logs: 'sh: 1: /opt/train: not found' }, 'bad_exit', false, /exit 127\): sh: 1: \/opt\/train: not found/],
  [
    'exit 0 without an artifact',
    { exitCode: 0, logs: '{"type":"metrics","auc":0.8}' },
    'bad_exit',
    false,
    /^trainer exited 0 without reporting an artifact — not retried: the trainer does not follow the protocol/,
  ],
  [
    'timed out by Vigil',
    { timedOut: true, timeout: '30m', exitCode: 143, logs: 'CUDA out of memory' },
    'timed_out',
    true,
    /^timed out after 30m \(stopped by Vigil\) — retried once as a new job/,
  ],
  [
    'Kubernetes DeadlineExceeded',
    { logs: '', reason: 'DeadlineExceeded: Job was active longer than specified deadline' },
    'timed_out',
    true,
    /^timed out \(DeadlineExceeded/,
  ],
  [
    'vanished without an exit code',
    { logs: '{"type":"progress","step":5,"total":40}' },
    'lost',
    true,
    /^the job vanished without an exit code — retried as a new job/,
  ],
  ['Ray driver lost', { logs: '', reason: 'Job supervisor actor died unexpectedly' }, 'lost', true, /vanished without an exit code: Job supervisor actor died/],
];

describe('classifyTrainingFailure', () => {
  for (const [name, evidence, kind, retryable, message] of cases) {
    it(`${name} → ${kind}${retryable ? ' (retryable)' : ''}`, () => {
      const f = classifyTrainingFailure(evidence);
      assert.equal(f.kind, kind, `kind of ${JSON.stringify(evidence)}: ${f.message}`);
      assert.equal(f.retryable, retryable, `retryable for ${name}`);
      assert.match(f.message, message, `message for ${name}`);
    });
  }

  it('retryable kinds get more than one try; the others exactly one', () => {
    assert.deepEqual(TRAINING_FAILURE_TRIES, { out_of_memory: 1, bad_input: 1, bad_exit: 1, killed: 3, timed_out: 2, lost: 3 }, 'tries per kind');
  });

  it('reads only the tail of huge logs, and still finds an OOM there', () => {
    const noise = 'x'.repeat(2_000_000);
    const f = classifyTrainingFailure({ exitCode: 1, logs: `CUDA out of memory (an old run)\n${noise}\nValueError: bad shape` });
    assert.equal(f.kind, 'bad_exit', `an OOM far back in the logs is ignored: ${f.message.slice(0, 200)}`);
    const g = classifyTrainingFailure({ exitCode: 1, logs: `${noise}\nRuntimeError: CUDA out of memory.` });
    assert.equal(g.kind, 'out_of_memory', 'an OOM at the end is found');
  });

  it('clips long evidence lines in the message', () => {
    const f = classifyTrainingFailure({ exitCode: 1, logs: `MemoryError: ${'y'.repeat(5000)}` });
    assert.ok(f.message.length < 600, `message of ${f.message.length} chars`);
  });
});
