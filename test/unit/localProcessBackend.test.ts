import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalProcessBackend, parseProtocol } from '../../adapters/training/localProcessBackend.js';
import { INHERITED_ENV_NAMES } from '../../adapters/process/trainerEnvironment.js';
import type { TrainingBackend, TrainingJobStatus } from '../../ports/trainingBackend.js';

let root: string;
let jobsDir: string;
let backend: TrainingBackend;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-local-backend-'));
  jobsDir = path.join(root, 'jobs');
  backend = createLocalProcessBackend({ jobsDir });
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A trainer: `/bin/sh -c <script>`. */
const sh = (script: string) => ['/bin/sh', '-c', script];

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls until the job leaves `running`. */
function finished(jobId: string): Promise<TrainingJobStatus> {
  return waitFor(`${jobId} to finish`, async () => {
    const s = await backend.status(jobId);
    return s.state === 'running' ? undefined : s;
  });
}

/** A process no longer exists (or is a zombie waiting to be reaped, which has already exited). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

const SUCCESS_SCRIPT = [
  'echo started >> "$COUNT_FILE"',
  `echo '{"type":"progress","step":1,"total":2,"loss":0.7}'`,
  'echo "a human line on stdout"',
  `echo '{"type":"progress","step":2,"total":2,"loss":0.4}'`,
  `echo '{"type":"metrics","auc":0.81,"logloss":0.42,"note":"not a number"}'`,
  `echo '{"type":"artifact","path":"/models/candidate.json"}'`,
  'echo "training done" >&2',
  'echo "$VIGIL_JOB_ID $EXTRA" > env.txt',
  'exit 0',
].join('\n');

describe('local process backend', () => {
  it('a job that reports an artifact and exits 0 succeeds, with its metrics and artifact', async () => {
    const count = path.join(root, 'ok.count');
    const submitted = await backend.submit({ jobId: 'job-ok', command: sh(SUCCESS_SCRIPT), env: { COUNT_FILE: count, EXTRA: 'hello' } });
    assert.deepEqual(submitted, { jobId: 'job-ok', alreadySubmitted: false });

    const s = await finished('job-ok');
    assert.equal(s.state, 'succeeded', JSON.stringify(s));
    assert.equal(s.jobId, 'job-ok');
    assert.equal(s.exitCode, 0);
    assert.equal(s.artifactPath, '/models/candidate.json');
    assert.deepEqual(s.metrics, { auc: 0.81, logloss: 0.42 });
    assert.deepEqual(s.progress, { type: 'progress', step: 2, total: 2, loss: 0.4 });
    assert.equal(s.error, undefined);
    assert.deepEqual(lines(count), ['started']);

    // The job runs in its own folder, with the job id and the spec's env.
    const dir = path.join(jobsDir, 'job-ok');
    assert.equal(fs.readFileSync(path.join(dir, 'env.txt'), 'utf8').trim(), 'job-ok hello');
    assert.equal(fs.readFileSync(path.join(dir, 'exit_code'), 'utf8').trim(), '0');
    // The spec is recorded without env values.
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8')).env, ['COUNT_FILE', 'EXTRA']);

    const logs = await backend.logs('job-ok');
    assert.match(logs, /"type":"artifact"/);
    assert.match(logs, /training done/);

    // Cancelling a finished job does not rewrite its outcome.
    await backend.cancel('job-ok');
    assert.equal((await backend.status('job-ok')).state, 'succeeded');
  });

  it('submitting the same job id again returns alreadySubmitted and starts no second process', async () => {
    const count = path.join(root, 'dup.count');
    const spec = { jobId: 'job-dup', command: sh(`sleep 1\n${SUCCESS_SCRIPT}`), env: { COUNT_FILE: count } };
    assert.equal((await backend.submit(spec)).alreadySubmitted, false);
    // While it runs…
    assert.equal((await backend.status('job-dup')).state, 'running');
    assert.deepEqual(await backend.submit(spec), { jobId: 'job-dup', alreadySubmitted: true });
    const s = await finished('job-dup');
    assert.equal(s.state, 'succeeded', JSON.stringify(s));
    // …and after it finished.
    assert.deepEqual(await backend.submit(spec), { jobId: 'job-dup', alreadySubmitted: true });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(lines(count), ['started'], 'the script ran exactly once');
  });

  it('concurrent submits of one job id start it once', async () => {
    const count = path.join(root, 'race.count');
    const spec = { jobId: 'job-race', command: sh(SUCCESS_SCRIPT), env: { COUNT_FILE: count } };
    const results = await Promise.all([backend.submit(spec), backend.submit(spec), backend.submit(spec)]);
    assert.deepEqual(results.map((r) => r.alreadySubmitted).sort(), [false, true, true]);
    assert.equal((await finished('job-race')).state, 'succeeded');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(lines(count), ['started']);
  });

  it('a non-zero exit fails, with the exit code and the stderr tail in error', async () => {
    const script = ['for i in 1 2 3 4 5 6 7; do echo "stderr line $i" >&2; done', `echo '{"type":"progress","step":1,"total":10}'`, 'exit 3'].join('\n');
    await backend.submit({ jobId: 'job-fail', command: sh(script) });
    const s = await finished('job-fail');
    assert.equal(s.state, 'failed');
    assert.equal(s.exitCode, 3);
    assert.equal(s.error, 'trainer exited with code 3: stderr line 3\nstderr line 4\nstderr line 5\nstderr line 6\nstderr line 7');
    assert.deepEqual(s.progress, { type: 'progress', step: 1, total: 10 });
  });

  it('a non-zero exit reports the trainer’s own error message when it gave one', async () => {
    await backend.submit({ jobId: 'job-fail-msg', command: sh(`echo '{"type":"error","message":"holdout has one class"}'\necho boom >&2\nexit 2`) });
    const s = await finished('job-fail-msg');
    assert.equal(s.state, 'failed');
    assert.equal(s.exitCode, 2);
    assert.equal(s.error, 'holdout has one class');
  });

  it('exit 0 without an artifact is a failure', async () => {
    await backend.submit({ jobId: 'job-no-artifact', command: sh(`echo '{"type":"metrics","auc":0.9}'\nexit 0`) });
    const s = await finished('job-no-artifact');
    assert.equal(s.state, 'failed');
    assert.equal(s.exitCode, 0);
    assert.equal(s.error, 'trainer exited 0 without reporting an artifact');
  });

  it('a trainer that cannot be started fails with the shell’s complaint', async () => {
    await backend.submit({ jobId: 'job-missing', command: [path.join(root, 'no-such-trainer')] });
    const s = await finished('job-missing');
    assert.equal(s.state, 'failed');
    assert.equal(s.exitCode, 127);
    assert.match(s.error!, /^trainer exited with code 127: .*no-such-trainer/);
  });

  it('cancel stops a long-running job: cancelled, and its processes are gone', async () => {
    const pidFile = path.join(root, 'trainer.pid');
    const script = `echo $$ > "$PID_FILE"\necho '{"type":"progress","step":1,"total":100}'\nexec sleep 30`;
    await backend.submit({ jobId: 'job-cancel', command: sh(script), env: { PID_FILE: pidFile } });

    const running = await waitFor('progress', async () => {
      const s = await backend.status('job-cancel');
      return s.progress ? s : undefined;
    });
    assert.equal(running.state, 'running');
    assert.equal(running.progress?.step, 1);
    const trainerPid = Number(
      await waitFor('the trainer pid', () => (fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() || undefined : undefined)),
    );
    const wrapperPid = Number(fs.readFileSync(path.join(jobsDir, 'job-cancel', 'pid'), 'utf8').trim());
    assert.ok(trainerPid > 0 && wrapperPid > 0 && trainerPid !== wrapperPid, `trainer ${trainerPid}, wrapper ${wrapperPid}`);
    assert.equal(gone(trainerPid), false);

    const t0 = Date.now();
    await backend.cancel('job-cancel');
    const s = await finished('job-cancel');
    assert.equal(s.state, 'cancelled', JSON.stringify(s));
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    await waitFor('the trainer to be gone', () => (gone(trainerPid) ? true : undefined), 5000);
    await waitFor('the wrapper to be gone', () => (gone(wrapperPid) ? true : undefined), 5000);
    assert.ok(fs.existsSync(path.join(jobsDir, 'job-cancel', 'cancelled')), 'no cancelled marker');
    // Still cancelled on a later look.
    assert.equal((await backend.status('job-cancel')).state, 'cancelled');
  });

  it("the trainer gets a few harmless settings, the config's passEnv and env — never the worker's secrets", async () => {
    const worker = {
      DATABASE_URL: 'postgres://vigil:pg-secret-1@db:5432/vigil',
      SLACK_BOT_TOKEN: 'xoxb-test-token-1',
      TEMPORAL_API_KEY: 'tmprl-test-key-1',
      SOME_WORKER_SETTING: 'worker-only',
      HF_TOKEN: 'hf_test_token_1',
      LC_TIME: 'C',
    };
    const saved = Object.fromEntries(Object.keys(worker).map((k) => [k, process.env[k]]));
    Object.assign(process.env, worker);
    try {
      await backend.submit({
        jobId: 'job-env',
        command: sh(`env > env.out\necho '{"type":"artifact","path":"/a"}'`),
        env: { EXTRA: 'from-config' },
        passEnv: ['HF_TOKEN', 'VIGIL_TEST_UNSET_VARIABLE'],
      });
      assert.equal((await finished('job-env')).state, 'succeeded');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const seen = new Map(
      fs
        .readFileSync(path.join(jobsDir, 'job-env', 'env.out'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    for (const secret of ['DATABASE_URL', 'SLACK_BOT_TOKEN', 'TEMPORAL_API_KEY', 'SOME_WORKER_SETTING'])
      assert.equal(seen.has(secret), false, `${secret} leaked`);
    assert.equal(seen.get('HF_TOKEN'), 'hf_test_token_1', 'passEnv passes the worker value');
    assert.equal(seen.has('VIGIL_TEST_UNSET_VARIABLE'), false, 'an unset passEnv name stays unset');
    assert.equal(seen.get('EXTRA'), 'from-config', 'env from the config');
    assert.equal(seen.get('VIGIL_JOB_ID'), 'job-env');
    assert.equal(seen.get('LC_TIME'), 'C', 'locale settings are inherited');
    assert.equal(seen.get('PATH'), process.env.PATH, 'PATH is inherited');
    // Nothing else of the worker's: only the allowlist, what the config names, and what the shells set themselves.
    const allowed = new Set([...INHERITED_ENV_NAMES, 'HF_TOKEN', 'EXTRA', 'VIGIL_JOB_ID', 'PWD', 'OLDPWD', 'SHLVL', '_']);
    const extra = [...seen.keys()].filter((k) => !allowed.has(k) && !k.startsWith('LC_'));
    assert.deepEqual(extra, [], 'variables the trainer should not have');
    // spec.json records names, never values.
    const spec = JSON.parse(fs.readFileSync(path.join(jobsDir, 'job-env', 'spec.json'), 'utf8'));
    assert.deepEqual([spec.env, spec.passEnv], [['EXTRA'], ['HF_TOKEN', 'VIGIL_TEST_UNSET_VARIABLE']]);
  });

  it("the failure message from stderr is bounded, without escapes, with the worker's secrets masked", async () => {
    const secret = 'sk-live-0123456789abcdef';
    process.env.VIGIL_TEST_API_TOKEN = secret;
    try {
      const script = [
        `printf 'loading\\n%s\\n' "${'x'.repeat(5000)}" >&2`,
        `printf '\\033[31mRuntimeError:\\033[0m cannot reach https://user:pw@hub.example/m?token=abc with %s\\a\\n' "$VIGIL_TEST_API_TOKEN" >&2`,
        'exit 1',
      ].join('\n');
      await backend.submit({ jobId: 'job-noisy', command: sh(script), passEnv: ['VIGIL_TEST_API_TOKEN'] });
      const s = await finished('job-noisy');
      assert.equal(s.state, 'failed');
      const prefix = 'trainer exited with code 1: ';
      assert.ok(s.error!.startsWith(prefix), s.error);
      assert.ok(s.error!.length <= prefix.length + 500, `error is ${s.error!.length} characters`);
      assert.ok(s.error!.endsWith('RuntimeError: cannot reach https://***@hub.example/m?token=*** with ***'), s.error!.slice(-120));
      for (const text of [s.error!, s.failure!.message]) {
        assert.ok(!text.includes(secret), 'the secret is masked');
        // eslint-disable-next-line no-control-regex -- control characters are what must not be there
        assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(text), `no control characters: ${JSON.stringify(text.slice(-80))}`);
      }
      assert.match(s.failure!.message, /^trainer failed \(exit 1\): RuntimeError: cannot reach https:\/\/\*\*\*@hub\.example\/m\?token=\*\*\* with \*\*\* — /);
    } finally {
      delete process.env.VIGIL_TEST_API_TOKEN;
    }
  });

  it('reads the output as it grows: a line split across reads, garbage and oversized lines are handled', async () => {
    const script = [
      `echo '{"type":"progress","step":1,"total":2}'`,
      `echo 'not json'; echo '{broken'; printf '\\001\\002\\n'`,
      `printf '%s\\n' "{\\"type\\":\\"metrics\\",\\"pad\\":\\"${'p'.repeat(70_000)}\\"}"`,
      `printf '{"type":"artifact",'`,
      'while [ ! -f go ]; do sleep 0.02; done',
      `printf '"path":"/m/split.json"}\\n'`,
    ].join('\n');
    await backend.submit({ jobId: 'job-split', command: sh(script) });
    const dir = path.join(jobsDir, 'job-split');
    // The wrapper writes its pid before it opens stdout.jsonl: the file may not be there yet.
    const stdoutSoFar = () => (fs.existsSync(path.join(dir, 'stdout.jsonl')) ? fs.readFileSync(path.join(dir, 'stdout.jsonl'), 'utf8') : '');
    await waitFor('the first half of the artifact line', () => (stdoutSoFar().endsWith('"artifact",') ? true : undefined));
    const half = await backend.status('job-split');
    assert.equal(half.state, 'running');
    assert.equal(half.artifactPath, undefined, 'half a line is not read');
    assert.deepEqual(half.progress, { type: 'progress', step: 1, total: 2 });
    fs.writeFileSync(path.join(dir, 'go'), '');
    const done = await finished('job-split');
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.artifactPath, '/m/split.json');
    assert.equal(done.metrics, undefined, 'the oversized metrics line is skipped');
  });

  it('a job whose output passes 512 MB is still read (the file is never read whole)', async () => {
    const script = [
      // Append from here on, so lines land after whatever the file holds by then.
      'exec >> "$PWD/stdout.jsonl"',
      `echo '{"type":"progress","step":1,"total":2}'`,
      'while [ ! -f go ]; do sleep 0.02; done',
      `printf '\\n{"type":"progress","step":2,"total":2}\\n{"type":"artifact","path":"/m/big.json"}\\n'`,
    ].join('\n');
    await backend.submit({ jobId: 'job-big', command: sh(script) });
    const dir = path.join(jobsDir, 'job-big');
    await waitFor('progress', async () => ((await backend.status('job-big')).progress ? true : undefined));
    // 600 MiB of NULs without a newline, sparse: no disk used. More than the longest string V8 makes.
    fs.truncateSync(path.join(dir, 'stdout.jsonl'), 600 * 1024 * 1024);
    const running = await backend.status('job-big');
    assert.equal(running.state, 'running');
    assert.equal(running.progress?.step, 1);
    fs.writeFileSync(path.join(dir, 'go'), '');
    const done = await finished('job-big');
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.artifactPath, '/m/big.json');
    assert.equal(done.progress?.step, 2);
    const logs = await backend.logs('job-big');
    assert.ok(logs.length <= 2 * 256 * 1024 + 1, `logs() returns the tails: ${logs.length} characters`);
    assert.match(logs, /"artifact"/);
    fs.truncateSync(path.join(dir, 'stdout.jsonl'), 0);
  });

  it('cancelling an unknown job is harmless and creates nothing', async () => {
    await backend.cancel('job-never-submitted');
    assert.ok(!fs.existsSync(path.join(jobsDir, 'job-never-submitted')), 'cancel created a job folder');
  });

  it('status of an unknown job throws', async () => {
    await assert.rejects(backend.status('job-unknown'), /training job "job-unknown" does not exist/);
  });

  for (const bad of ['../escape', 'a/b', '', '.hidden', '-flag', 'x'.repeat(202), 'sp ace']) {
    it(`refuses the job id ${JSON.stringify(bad.length > 20 ? bad.slice(0, 8) + '…' : bad)}`, async () => {
      const before = fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir).sort() : [];
      await assert.rejects(backend.submit({ jobId: bad, command: sh('exit 0') }), /training job id .* must be letters, digits, \. _ -/);
      await assert.rejects(backend.status(bad), /must be letters, digits/);
      await assert.rejects(backend.cancel(bad), /must be letters, digits/);
      await assert.rejects(backend.logs(bad), /must be letters, digits/);
      assert.deepEqual(fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir).sort() : [], before);
      assert.ok(!fs.existsSync(path.join(root, 'escape')), 'a folder was created outside jobsDir');
    });
  }
});

describe('parseProtocol', () => {
  it('ignores lines that are not JSON, including ones that start with {', () => {
    const text = [
      'Epoch 1/10',
      '{not json',
      '{"type":"progress","step":3,"total":10}',
      '  {"type":"artifact","path":"/indented/ignored"}',
      '',
      '[1,2,3]',
      '{"type":"metrics","auc":0.8,"name":"x","ok":true}',
      '{"type":"artifact","path":42}',
      '{"type":"artifact","path":"/a/model.json"}',
      '{"type":"unknown","path":"/b"}',
      'done.',
    ].join('\n');
    assert.deepEqual(parseProtocol(text), {
      progress: { type: 'progress', step: 3, total: 10 },
      metrics: { auc: 0.8 },
      artifactPath: '/a/model.json',
    });
  });

  it('the last message of each type wins', () => {
    const text = [
      '{"type":"progress","step":1,"total":2}',
      '{"type":"progress","step":2,"total":2}',
      '{"type":"metrics","auc":0.7}',
      '{"type":"metrics","auc":0.9}',
    ].join('\n');
    const p = parseProtocol(text);
    assert.equal(p.progress?.step, 2);
    assert.deepEqual(p.metrics, { auc: 0.9 });
  });

  it('reads an error message and tolerates CRLF and a partial last line', () => {
    const p = parseProtocol('{"type":"error","message":"out of memory"}\r\n{"type":"artifact","pa');
    assert.deepEqual(p, { error: 'out of memory' });
  });

  it('empty or all-noise input gives nothing', () => {
    assert.deepEqual(parseProtocol(''), {});
    assert.deepEqual(parseProtocol('hello\nworld\n'), {});
  });
});
