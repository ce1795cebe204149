/**
 * Runs `vigil up --no-example` as a child process on a free HTTP port, waits for "Vigil is up", hands the
 * running stack to `use`, then stops it with SIGINT and checks it exited 0, never printed `secret()`
 * (a token the test read), and freed its port.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertPortFree, freePort } from '../../adapters/net/freePort.js';
import { waitFor } from './waitFor.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));

export interface RunningVigilUp {
  /** `http://127.0.0.1:<port>` of its HTTP server. */
  base: string;
  /** Everything it printed so far. */
  output(): string;
}

export async function withVigilUp(
  opts: { configFile: string; stateDir: string; databaseUrl: string },
  use: (up: RunningVigilUp) => Promise<void>,
  secret: () => string = () => '',
): Promise<void> {
  const port = await freePort();
  const child = spawn(VIGIL, ['--config', opts.configFile, '--state-dir', opts.stateDir, 'up', '--no-example'], {
    env: { ...process.env, DATABASE_URL: opts.databaseUrl, VIGIL_HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      async () => output,
      (o) => o.includes('Vigil is up') || child.exitCode !== null,
      'vigil up',
      60_000,
    );
    await use({ base: `http://127.0.0.1:${port}`, output: () => output });
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, output);
  const token = secret();
  assert.ok(!token || !output.includes(token), 'the token never appears in the output');
  await assertPortFree(port, 'port after vigil up stopped');
}
