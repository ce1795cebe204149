/**
 * Pid files outlive their processes: after a crash or a reboot the pid may belong to an unrelated
 * program. Vigil must recognise it (start time, command line) and signal nothing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkRecordedProcess, processIdentity } from '../../adapters/process/processIdentity.js';
import { createLocalProcessBackend } from '../../adapters/training/localProcessBackend.js';
import { readStackFile, stackFileFor, stackFilePath, writeStackFile } from '../../stack/stackFile.js';

let root: string;
const bystanders: ChildProcess[] = [];

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-stale-pid-'));
});

after(() => {
  for (const b of bystanders) b.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** An unrelated program leading its own process group, as a reused pid would name. */
async function bystander(): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  bystanders.push(child);
  await new Promise((r) => child.once('spawn', r));
  return child as ChildProcess & { pid: number };
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('processIdentity', () => {
  it('recognises a live process by its start time, and a recorded one whose pid was reused as another', () => {
    const me = processIdentity(process.pid);
    assert.ok(me, 'this process has an identity');
    assert.ok(me.command.length > 0);
    assert.deepEqual(checkRecordedProcess(me), { state: 'same' });
    const reused = checkRecordedProcess({ ...me, startedAt: 'boot 0 tick 1', command: ['/bin/sh', '-c', 'trainer'] });
    assert.equal(reused.state, 'other');
    assert.match((reused as { reason: string }).reason, new RegExp(`pid ${process.pid} now belongs to `));
    assert.equal(processIdentity(2 ** 22 + 7), undefined);
  });
});

describe('local training backend with a stale pid file', () => {
  it('cancel signals nothing when the pid file names an unrelated process group (no recorded identity)', async () => {
    const lines: string[] = [];
    const backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs-a'), log: (m) => lines.push(m) });
    const other = await bystander();
    const dir = path.join(root, 'jobs-a', 'job-stale');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pid'), `${other.pid}\n`); // left by a job whose wrapper died with the machine

    await backend.cancel('job-stale');
    await pause(200);
    assert.ok(alive(other), 'the unrelated process group was not signalled');
    assert.equal(fs.existsSync(path.join(dir, 'pid')), false, 'the stale pid file is gone');
    assert.ok(fs.existsSync(path.join(dir, 'pid.stale')));
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      new RegExp(`^training job job-stale: its pid file is stale \\(pid ${other.pid} now runs "sleep 300", not the job's wrapper shell\\); nothing signalled`),
    );
    assert.equal((await backend.status('job-stale')).state, 'cancelled');
  });

  it('a job whose recorded identity no longer matches its pid is not running, and cancel leaves the pid alone', async () => {
    const lines: string[] = [];
    const backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs-b'), log: (m) => lines.push(m) });
    await backend.submit({ jobId: 'job-reused', command: ['/bin/sh', '-c', 'exec sleep 300'] });
    const dir = path.join(root, 'jobs-b', 'job-reused');
    const recorded = JSON.parse(fs.readFileSync(path.join(dir, 'process.json'), 'utf8'));
    assert.equal(recorded.pid, Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')));
    assert.equal((await backend.status('job-reused')).state, 'running');
    // The real wrapper is gone (killed here), and its pid now names someone else.
    process.kill(-recorded.pid, 'SIGKILL');
    // A pid is reused later, not within the clock tick its first owner started in (start times are
    // in ticks of 10 ms): a bystander started in the same tick would be the same identity.
    await pause(50);
    const other = await bystander();
    fs.writeFileSync(path.join(dir, 'process.json'), JSON.stringify({ ...recorded, pid: other.pid }));
    fs.writeFileSync(path.join(dir, 'pid'), `${other.pid}\n`);

    const s = await backend.status('job-reused');
    assert.equal(s.state, 'failed', 'not running forever on a reused pid');
    assert.equal(s.error, 'trainer process vanished without an exit code');
    await backend.cancel('job-reused');
    await pause(200);
    assert.ok(alive(other), 'the unrelated process group was not signalled');
    assert.match(lines.join('\n'), new RegExp(`its pid file is stale \\(pid ${other.pid} now belongs to "sleep 300", started `));
  });

  it('cancel still stops the job it started (identity recorded at launch)', async () => {
    const backend = createLocalProcessBackend({ jobsDir: path.join(root, 'jobs-c'), log: () => undefined });
    await backend.submit({ jobId: 'job-live', command: ['/bin/sh', '-c', 'sleep 300'] });
    const pid = Number(fs.readFileSync(path.join(root, 'jobs-c', 'job-live', 'pid'), 'utf8'));
    await backend.cancel('job-live');
    for (let i = 0; i < 100 && processIdentity(pid); i++) await pause(50);
    assert.equal(processIdentity(pid), undefined, 'the job was stopped');
  });
});

describe('stack.json', () => {
  it('a stack file whose pid now belongs to another process is reported stale and removed', () => {
    const stateDir = fs.mkdtempSync(path.join(root, 'state-'));
    const stack = stackFileFor({ temporalAddress: '127.0.0.1:1', namespace: 'default', databaseUrl: 'postgres://vigil@127.0.0.1:2/vigil', startedAt: 'now' });
    writeStackFile(stateDir, stack);
    assert.equal(readStackFile(stateDir)?.pid, process.pid, 'this process is the one recorded');
    writeStackFile(stateDir, { ...stack, process: { ...stack.process!, startedAt: 'boot 0 tick 1' } });
    const lines: string[] = [];
    assert.equal(readStackFile(stateDir, { log: (m) => lines.push(m) }), undefined);
    assert.match(lines[0]!, /stack\.json is stale \(pid \d+ now belongs to .*\): removed/);
    assert.equal(fs.existsSync(stackFilePath(stateDir)), false);
  });
});
