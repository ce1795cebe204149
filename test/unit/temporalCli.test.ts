import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { defaultToolsDir, resolveTemporalCli } from '../../adapters/temporal/temporalCli.js';

const saved = { TEMPORAL_CLI: process.env.TEMPORAL_CLI, PATH: process.env.PATH, VIGIL_TOOLS_DIR: process.env.VIGIL_TOOLS_DIR };
let dir: string;
const logs: string[] = [];
const log = (m: string) => logs.push(m);

function restore(name: keyof typeof saved) {
  if (saved[name] === undefined) delete process.env[name];
  else process.env[name] = saved[name];
}

function executable(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\necho fake temporal\n', { mode: 0o755 });
  return file;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cli-test-'));
});
afterEach(() => {
  for (const name of Object.keys(saved) as (keyof typeof saved)[]) restore(name);
  logs.length = 0;
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('TEMPORAL_CLI wins over PATH and the tools folder', async () => {
  const fromEnv = executable(path.join(dir, 'env', 'my-temporal'));
  executable(path.join(dir, 'path', 'temporal'));
  executable(path.join(dir, 'tools', 'bin', 'temporal'));
  process.env.TEMPORAL_CLI = fromEnv;
  process.env.PATH = path.join(dir, 'path');
  assert.equal(await resolveTemporalCli({ toolsDir: path.join(dir, 'tools'), log }), fromEnv);
  assert.deepEqual(logs, []);
});

test('a TEMPORAL_CLI that does not exist is a clear error', async () => {
  const missing = path.join(dir, 'nowhere', 'temporal');
  process.env.TEMPORAL_CLI = missing;
  await assert.rejects(resolveTemporalCli({ toolsDir: path.join(dir, 'tools'), log }), (err: Error) => {
    assert.match(err.message, /TEMPORAL_CLI/);
    assert.ok(err.message.includes(missing), err.message);
    return true;
  });
});

test('a TEMPORAL_CLI that is not executable is a clear error', async () => {
  const plain = path.join(dir, 'plain-temporal');
  fs.writeFileSync(plain, 'not a program', { mode: 0o644 });
  process.env.TEMPORAL_CLI = plain;
  await assert.rejects(resolveTemporalCli({ toolsDir: path.join(dir, 'tools'), log }), /TEMPORAL_CLI is set to .*plain-temporal/);
});

test('without TEMPORAL_CLI, `temporal` on PATH comes before the tools folder', async () => {
  delete process.env.TEMPORAL_CLI;
  const onPath = executable(path.join(dir, 'path2', 'temporal'));
  executable(path.join(dir, 'tools2', 'bin', 'temporal'));
  process.env.PATH = [path.join(dir, 'empty'), path.join(dir, 'path2')].join(path.delimiter);
  assert.equal(await resolveTemporalCli({ toolsDir: path.join(dir, 'tools2'), log }), onPath);
});

test('the tools folder is used when nothing is on PATH (no build)', async () => {
  delete process.env.TEMPORAL_CLI;
  const built = executable(path.join(dir, 'tools3', 'bin', 'temporal'));
  process.env.PATH = path.join(dir, 'empty');
  assert.equal(await resolveTemporalCli({ toolsDir: path.join(dir, 'tools3'), log }), built);
  assert.deepEqual(logs, []);
});

test('with no binary anywhere and no Go, the error says how to fix it', async () => {
  delete process.env.TEMPORAL_CLI;
  process.env.PATH = path.join(dir, 'empty');
  await assert.rejects(resolveTemporalCli({ toolsDir: path.join(dir, 'tools4'), log }), /Go is not installed.*TEMPORAL_CLI/s);
});

test('defaultToolsDir: VIGIL_TOOLS_DIR, else <project>/.tools', () => {
  delete process.env.VIGIL_TOOLS_DIR;
  assert.equal(defaultToolsDir('/repo'), path.join('/repo', '.tools'));
  process.env.VIGIL_TOOLS_DIR = '/cache/tools';
  assert.equal(defaultToolsDir('/repo'), '/cache/tools');
});
