/**
 * A monitor's window longer than `monitor.maxRows` reaches Node as an evenly spaced sample of exactly
 * that many rows (adapters/postgres/evenlySpacedSample.ts), so a run's memory stays bounded whatever the
 * window: Vigil's own log here, the team's table in postgresSource.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPredictionLog } from '../../adapters/postgres/predictionLog.js';
import type { PredictionRecord } from '../../domain/ingest.js';
import type { PredictionLog } from '../../ports/predictionLog.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const at = (i: number) => new Date(T0 + i * 1000);

function row(i: number): PredictionRecord {
  return {
    requestId: `r-${i}`,
    ts: at(i),
    modelVersion: 1,
    servedBy: 'model',
    features: { x: i },
    score: (i % 10) / 10,
    predicted: i % 10 >= 5 ? 1 : 0,
    prediction: null,
  };
}

describe('prediction window sample', () => {
  let db: TestDatabase;
  let log: PredictionLog;

  before(async () => {
    db = await createTestDatabase();
    log = createPredictionLog(db.pool);
    // 1,000 predictions one second apart, and one of another model in between.
    await log.ingestPredictions(
      'm',
      Array.from({ length: 1000 }, (_, i) => row(i)),
    );
    await log.ingestPredictions('other', [row(500)]);
    await log.ingestLabels(
      'm',
      Array.from({ length: 1000 }, (_, i) => ({ requestId: `r-${i}`, label: i % 2 === 1 ? 1 : 0, labelValue: null, labeledAt: at(i + 1) })),
      { graceMs: 60_000 },
    );
  });

  after(async () => {
    await db?.drop();
  });

  it('keeps exactly `sample` rows, one in each run of window/sample, oldest first, the newest included', async () => {
    const rows = await log.recent('m', { limit: 1000, sample: 100 });
    assert.equal(rows.length, 100);
    assert.deepEqual(
      rows.map((r) => r.features.x),
      Array.from({ length: 100 }, (_, j) => 9 + j * 10),
    );
    assert.deepEqual(rows[0]!.features, { x: 9 }, 'features of the rows kept are read');
  });

  it('samples the window, not the table: the newest `limit` rows, and `since`', async () => {
    assert.deepEqual(
      (await log.recent('m', { limit: 300, sample: 3 })).map((r) => r.features.x),
      [799, 899, 999],
    );
    assert.deepEqual(
      (await log.recent('m', { limit: 1000, since: at(990), sample: 5 })).map((r) => r.features.x),
      [991, 993, 995, 997, 999],
    );
  });

  it('leaves a window no longer than the sample whole', async () => {
    const whole = await log.recent('m', { limit: 50, sample: 50 });
    assert.deepEqual(
      whole.map((r) => r.features.x),
      Array.from({ length: 50 }, (_, j) => 950 + j),
    );
  });

  it('samples labelled windows without features the same way', async () => {
    const rows = await log.recent('m', { limit: 1000, sample: 4, labelledOnly: true, withoutFeatures: true });
    assert.deepEqual(
      rows.map((r) => [r.ts.getTime(), r.label, r.features]),
      [249, 499, 749, 999].map((i) => [at(i).getTime(), i % 2, {}]),
    );
  });

  it('refuses a sample that is not a positive integer', async () => {
    await assert.rejects(log.recent('m', { limit: 10, sample: 0 }), /sample must be a positive integer, got 0/);
  });
});
