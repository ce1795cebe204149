import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { TrafficSimulator } from '../../examples/credit-risk/simulator.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

function simulator(now: Date, worldStartedAt?: Date) {
  return new TrafficSimulator({
    pool: {} as pg.Pool, // never used: the loop is stopped before its first tick
    modelId: 'm',
    resolveServing: async () => ({ mode: 'fallback' }),
    driftAfterSeconds: 45,
    driftRampSeconds: 20,
    requestsPerSecond: 1,
    labelDelaySeconds: 0,
    seed: 1,
    tickMs: 60_000,
    now: () => now,
    worldStartedAt,
  });
}

describe('TrafficSimulator drift clock', () => {
  it('a new world is healthy, then ramps to full drift after driftAfterSeconds', async () => {
    const sim = simulator(at(0));
    sim.start();
    await sim.stop();
    assert.equal(sim.driftAt(at(30)), 0);
    assert.equal(sim.driftAt(at(55)), 0.5);
    assert.equal(sim.driftAt(at(70)), 1);
  });

  it('a restarted simulator continues its world: long drifted stays drifted from the first request', async () => {
    const sim = simulator(at(600), at(0));
    sim.start();
    await sim.stop();
    assert.equal(sim.driftAt(at(600)), 1);
  });
});
