/** The example's traffic simulator: its drift clock, the rows it posts to the ingestion API, and the labels it owes until they are due. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateApplicants } from '../../examples/credit-risk/dataset.js';
import { DEFAULT_TRAIN_OPTIONS, trainLogisticRegression } from '../../examples/credit-risk/logisticRegression.js';
import { PredictionSinkError, type LabelRow, type PredictionRow, type PredictionSink } from '../../examples/credit-risk/predictionSink.js';
import { TrafficSimulator, type Serving, type TrafficSimulatorOptions } from '../../examples/credit-risk/simulator.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

/** Records what the simulator posts; `fail` makes the next posts of a kind throw. */
class RecordingSink implements PredictionSink {
  predictions: PredictionRow[][] = [];
  labels: LabelRow[][] = [];
  fail: { predictions?: Error; labels?: Error } = {};

  async postPredictions(rows: readonly PredictionRow[]) {
    if (this.fail.predictions) throw this.fail.predictions;
    this.predictions.push([...rows]);
    return { accepted: rows.length, duplicates: 0, labelsMatched: 0 };
  }

  async postLabels(labels: readonly LabelRow[]) {
    if (this.fail.labels) throw this.fail.labels;
    this.labels.push([...labels]);
    return { matched: labels.length, pending: 0 };
  }
}

function simulator(over: Partial<TrafficSimulatorOptions> & { now: () => Date }) {
  return new TrafficSimulator({
    sink: new RecordingSink(),
    modelId: 'm',
    resolveServing: async () => ({ mode: 'fallback' }),
    driftAfterSeconds: 45,
    driftRampSeconds: 20,
    requestsPerSecond: 1,
    labelDelaySeconds: 0,
    seed: 1,
    tickMs: 60_000,
    servingCacheMs: 0,
    ...over,
  });
}

describe('TrafficSimulator drift clock', () => {
  it('a new world is healthy, then ramps to full drift after driftAfterSeconds', async () => {
    const sim = simulator({ now: () => at(0) });
    sim.start();
    await sim.stop();
    assert.equal(sim.driftAt(at(30)), 0);
    assert.equal(sim.driftAt(at(55)), 0.5);
    assert.equal(sim.driftAt(at(70)), 1);
  });

  it('a restarted simulator continues its world: long drifted stays drifted from the first request', async () => {
    const sim = simulator({ now: () => at(600), worldStartedAt: at(0) });
    sim.start();
    await sim.stop();
    assert.equal(sim.driftAt(at(600)), 1);
  });
});

describe('TrafficSimulator rows', () => {
  const artifact = trainLogisticRegression(generateApplicants(400, { seed: 3 }), { ...DEFAULT_TRAIN_OPTIONS, epochs: 5 });

  it('posts served rows with their version, shadow copies with the candidate’s, and fallback rows without one; request ids never repeat', async () => {
    const sink = new RecordingSink();
    let serving: Serving = { mode: 'model', version: 1, artifact, canary: { version: 2, percent: 50, artifact, shadow: true } };
    const sim = simulator({ sink, now: () => at(10), resolveServing: async () => serving });
    assert.equal(await sim.writeBatch({ n: 200, drift: 0 }), 200);
    const rows = sink.predictions.flat();
    const served = rows.filter((r) => r.servedBy === 'model');
    const shadows = rows.filter((r) => r.servedBy === 'shadow');
    assert.equal(served.length, 200);
    assert.ok(shadows.length > 60 && shadows.length < 140, `about half shadowed: ${shadows.length}`);
    assert.ok(served.every((r) => r.modelVersion === 1 && r.ts === at(10).toISOString() && typeof (r.prediction as { score: number }).score === 'number'));
    assert.ok(shadows.every((r) => r.modelVersion === 2));
    const servedIds = new Set(served.map((r) => r.requestId));
    assert.ok(
      shadows.every((r) => servedIds.has(r.requestId)),
      'a shadow row has its served row’s requestId',
    );

    serving = { mode: 'fallback' };
    await sim.writeBatch({ n: 10, drift: 0 });
    const fallback = sink.predictions.at(-1)!;
    assert.ok(
      fallback.every((r) => r.servedBy === 'fallback' && !('modelVersion' in r)),
      JSON.stringify(fallback[0]),
    );
    const ids = [...servedIds, ...fallback.map((r) => r.requestId)];
    assert.equal(new Set(ids).size, 210, 'request ids are unique');
    assert.equal(sim.written, 210);
  });
});

describe('TrafficSimulator labels', () => {
  it('labelDelaySeconds 0: writeBatch posts the labels right after the predictions, known when the prediction was made', async () => {
    const sink = new RecordingSink();
    const sim = simulator({ sink, now: () => at(100) });
    await sim.writeBatch({ n: 5, drift: 0, at: at(40) }); // in the past: the labels still count
    assert.equal(sink.labels.length, 1);
    const predictionIds = sink.predictions[0]!.map((r) => r.requestId);
    assert.deepEqual(
      sink.labels[0]!.map((l) => l.requestId),
      predictionIds,
    );
    assert.ok(sink.labels[0]!.every((l) => l.ts === at(40).toISOString() && (l.label === 0 || l.label === 1)));
    await sim.writeBatch({ n: 5, drift: 0, labelled: false });
    assert.equal(sink.labels.length, 1, 'an unlabelled batch owes nothing');
    assert.equal(sim.owedLabels, 0);
  });

  it('owes delayed labels and posts each once due, with the time it became known', async () => {
    const sink = new RecordingSink();
    let now = at(0);
    const sim = simulator({ sink, now: () => now, labelDelaySeconds: 30 });
    await sim.writeBatch({ n: 3, drift: 0, at: at(0) });
    await sim.writeBatch({ n: 2, drift: 0, at: at(10) });
    assert.equal(sink.labels.length, 0, 'nothing due yet');
    assert.equal(sim.owedLabels, 5);
    now = at(29);
    assert.equal(await sim.postDueLabels(), 0);
    now = at(30);
    assert.equal(await sim.postDueLabels(), 3, 'the first batch’s labels');
    assert.ok(sink.labels[0]!.every((l) => l.ts === at(30).toISOString()));
    now = at(45);
    assert.equal(await sim.postDueLabels(), 2);
    assert.equal(sim.owedLabels, 0);
    assert.equal(sim.labelsPosted, 5);

    // A batch written long ago owes labels already due: they go with it.
    await sim.writeBatch({ n: 4, drift: 0, at: at(0) });
    assert.equal(sink.labels.at(-1)!.length, 4);
  });

  it('posts due labels on its ticks, even when no request arrived', async () => {
    const sink = new RecordingSink();
    let now = at(0);
    const sim = simulator({ sink, now: () => now, labelDelaySeconds: 5, requestsPerSecond: 0.001, tickMs: 5 });
    await sim.writeBatch({ n: 3, drift: 0, at: at(0) });
    sim.start();
    now = at(6);
    const deadline = Date.now() + 5000;
    while (sink.labels.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await sim.stop();
    assert.equal(sink.labels.flat().length, 3);
    assert.equal(sink.predictions.length, 1, 'no new requests at this rate');
  });

  it('keeps labels owed after a retryable failure, drops refused ones, and owes none for predictions that were not stored', async () => {
    const sink = new RecordingSink();
    const logged: string[] = [];
    const sim = simulator({ sink, now: () => at(100), labelDelaySeconds: 0, log: (m) => logged.push(m) });
    sink.fail.labels = new PredictionSinkError('POST …/labels: 503 PostgreSQL unavailable', 503);
    await assert.rejects(sim.writeBatch({ n: 3, drift: 0 }), /503/);
    assert.equal(sim.owedLabels, 3, 'kept for the next tick');
    sink.fail.labels = undefined;
    assert.equal(await sim.postDueLabels(), 3);

    sink.fail.labels = new PredictionSinkError('POST …/labels: 400 bad', 400);
    await assert.rejects(sim.writeBatch({ n: 2, drift: 0 }), /400/);
    assert.equal(sim.owedLabels, 0, 'a refused label would be refused again');

    sink.fail = { predictions: new PredictionSinkError('POST …/predictions: 429 busy', 429) };
    await assert.rejects(sim.writeBatch({ n: 2, drift: 0 }), /429/);
    assert.equal(sim.owedLabels, 0);
    assert.equal(sim.written, 5);
  });
});
