import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartBudget, superviseServer, type ProcessExit, type RestartPolicy, type SupervisedServer } from '../../stack/supervisor.js';

const POLICY: RestartPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, resetAfterMs: 60_000, maxRestarts: 5, windowMs: 300_000 };

describe('RestartBudget', () => {
  it('backs off 1 s, 2 s, 4 s, 8 s, 16 s, then gives up on the sixth death within 5 minutes', () => {
    const budget = new RestartBudget(POLICY);
    const delays: number[] = [];
    let t = 0;
    for (let i = 0; i < 5; i++) {
      const d = budget.onDeath(t, 100);
      assert.ok(d.restart);
      delays.push(d.delayMs);
      t += d.delayMs + 500;
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000]);
    assert.deepEqual(budget.onDeath(t, 100), { restart: false, restartsInWindow: 5 });
  });

  it('starts again from 1 s once the server stayed up a while', () => {
    const budget = new RestartBudget(POLICY);
    assert.equal((budget.onDeath(0, 0) as { delayMs: number }).delayMs, 1000);
    assert.equal((budget.onDeath(2000, 1000) as { delayMs: number }).delayMs, 2000);
    assert.equal((budget.onDeath(70_000, 65_000) as { delayMs: number }).delayMs, 1000);
  });

  it('counts only the restarts of the last 5 minutes, and caps the delay', () => {
    const budget = new RestartBudget({ ...POLICY, maxDelayMs: 5000 });
    for (let i = 0; i < 5; i++) assert.ok(budget.onDeath(i * 10_000, 0).restart);
    // The first restart (t=0) is more than 5 minutes old now: a sixth death is allowed.
    const d = budget.onDeath(300_001, 0);
    assert.ok(d.restart);
    assert.equal(d.delayMs, 5000);
    assert.equal(d.restartsInWindow, 5);
  });
});

/** A server whose death the test decides. */
function fakeServer(pid: number): SupervisedServer & { die(exit: ProcessExit): void; stopped: boolean } {
  let die: (exit: ProcessExit) => void = () => undefined;
  const exited = new Promise<ProcessExit>((resolve) => (die = resolve));
  const server = {
    pid,
    exited,
    stopped: false,
    die,
    async stop() {
      server.stopped = true;
      die({ code: 0, signal: null });
    },
  };
  return server;
}

const fast: RestartPolicy = { initialDelayMs: 5, maxDelayMs: 40, resetAfterMs: 60_000, maxRestarts: 3, windowMs: 60_000 };
const settle = (ms = 60) => new Promise((r) => setTimeout(r, ms));

describe('superviseServer', () => {
  it('restarts a server the moment it dies, logging what happened, and stops the current one when asked', async () => {
    const lines: string[] = [];
    const first = fakeServer(100);
    const second = fakeServer(101);
    let restarts = 0;
    const supervision = superviseServer({
      name: 'PostgreSQL',
      first,
      restart: async () => (restarts++, second),
      log: (m) => lines.push(m),
      onGiveUp: () => assert.fail('gave up'),
      policy: fast,
    });
    first.die({ code: null, signal: 'SIGKILL' });
    await settle();
    assert.equal(restarts, 1);
    assert.equal(supervision.current(), second);
    assert.match(lines[0]!, /^PostgreSQL \(pid 100\) was killed by SIGKILL; restarting it in 5 ms \(restart 1 of at most 3 within 1 min\)$/);
    assert.match(lines[1]!, /^PostgreSQL is back \(pid 101\), \d+ ms after it died$/);
    await supervision.stop();
    assert.equal(second.stopped, true);
    assert.equal(restarts, 1, 'an exit asked for is not restarted');
  });

  it('gives up, naming the server, when it keeps dying; a failed restart counts as a death', async () => {
    const lines: string[] = [];
    let gaveUp: Error | undefined;
    const servers: ReturnType<typeof fakeServer>[] = [];
    let attempt = 0;
    const first = fakeServer(200);
    const supervision = superviseServer({
      name: 'Temporal dev server',
      first,
      restart: async () => {
        attempt++;
        if (attempt === 2) throw new Error('port 7233 is already in use\nsecond line');
        const s = fakeServer(200 + attempt);
        servers.push(s);
        setTimeout(() => s.die({ code: 1, signal: null }), 1);
        return s;
      },
      log: (m) => lines.push(m),
      onGiveUp: (err) => (gaveUp = err),
      policy: fast,
    });
    first.die({ code: 2, signal: null });
    await settle(400);
    assert.ok(gaveUp, lines.join('\n'));
    assert.match(
      gaveUp.message,
      /^Temporal dev server kept dying: Temporal dev server \(pid \d+\) exited with code 1 after 3 restarts within 1 min; stopping Vigil/,
    );
    assert.ok(
      lines.some(
        (l) => l === 'Temporal dev server could not be restarted (port 7233 is already in use); restarting it in 20 ms (restart 3 of at most 3 within 1 min)',
      ),
      lines.join('\n'),
    );
    assert.equal(attempt, 3);
    await supervision.stop();
  });

  it('stop() during the backoff starts nothing more', async () => {
    const first = fakeServer(300);
    let restarts = 0;
    const supervision = superviseServer({
      name: 'PostgreSQL',
      first,
      restart: async () => (restarts++, fakeServer(301)),
      log: () => undefined,
      onGiveUp: () => assert.fail('gave up'),
      policy: { ...fast, initialDelayMs: 10_000 },
    });
    first.die({ code: null, signal: 'SIGKILL' });
    await settle(20);
    const t0 = Date.now();
    await supervision.stop();
    assert.ok(Date.now() - t0 < 1000, 'stop does not wait out the backoff');
    assert.equal(restarts, 0);
  });
});
