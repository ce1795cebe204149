/** The example simulator's HTTP sink: the ingestion API's requests, chunking, errors with status and message, one wait on 429. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHttpPredictionSink, PredictionSinkError, type PredictionRow } from '../../examples/credit-risk/predictionSink.js';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that records requests and answers from `answers` in turn (the last one repeats). */
function fakeFetch(answers: (() => Response)[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fn = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return answers[Math.min(calls.length, answers.length) - 1]!();
  };
  return { fetch: fn as typeof fetch, calls };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const row = (i: number): PredictionRow => ({
  requestId: `r-${i}`,
  ts: '2026-01-01T00:00:00.000Z',
  modelVersion: 1,
  features: { a: i },
  prediction: { score: 0.5 },
});

describe('HTTP prediction sink', () => {
  it('posts JSON batches with the bearer token to the model’s routes, in chunks, and sums the answers', async () => {
    const { fetch, calls } = fakeFetch([json(200, { accepted: 2, duplicates: 0, labelsMatched: 1 })]);
    const sink = createHttpPredictionSink({ baseUrl: 'http://127.0.0.1:9/', modelId: 'credit risk', token: 'tok', rowsPerRequest: 2, fetch });
    assert.deepEqual(await sink.postPredictions([row(1), row(2), row(3)]), { accepted: 4, duplicates: 0, labelsMatched: 2 });
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.url, 'http://127.0.0.1:9/v1/models/credit%20risk/predictions');
    assert.equal(calls[0]!.init.method, 'POST');
    assert.deepEqual(calls[0]!.init.headers, { 'content-type': 'application/json', authorization: 'Bearer tok' });
    assert.deepEqual(
      JSON.parse(String(calls[1]!.init.body)).predictions.map((r: PredictionRow) => r.requestId),
      ['r-3'],
    );
    assert.deepEqual(await sink.postPredictions([]), { accepted: 0, duplicates: 0, labelsMatched: 0 });
    assert.equal(calls.length, 2, 'no request for no rows');
  });

  it('throws on a non-2xx answer with the status and the answer’s message', async () => {
    const { fetch } = fakeFetch([json(400, { error: '1 problem in 1 of 1 labels; nothing was stored: row 0 label: must be 1 (positive) or 0 (negative)' })]);
    const sink = createHttpPredictionSink({ baseUrl: 'http://vigil', modelId: 'm', token: 't', fetch });
    await assert.rejects(
      sink.postLabels([{ requestId: 'r', label: 7 }]),
      (err: unknown) =>
        err instanceof PredictionSinkError &&
        err.status === 400 &&
        !err.retryable &&
        err.message ===
          'POST http://vigil/v1/models/m/labels: 400 1 problem in 1 of 1 labels; nothing was stored: row 0 label: must be 1 (positive) or 0 (negative)',
    );
  });

  it('honours Retry-After once on 429, then surfaces a second 429 as a retryable error', async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    const busy = json(429, { error: 'Vigil is already handling 8 ingestion requests' }, { 'retry-after': '2' });
    const once = fakeFetch([busy, json(200, { matched: 1, pending: 0 })]);
    const sink = createHttpPredictionSink({ baseUrl: 'http://vigil', modelId: 'm', token: 't', fetch: once.fetch, sleep });
    assert.deepEqual(await sink.postLabels([{ requestId: 'r', label: 1 }]), { matched: 1, pending: 0 });
    assert.deepEqual(slept, [2000]);
    assert.equal(once.calls.length, 2);

    const always = fakeFetch([busy]);
    const stubborn = createHttpPredictionSink({ baseUrl: 'http://vigil', modelId: 'm', token: 't', fetch: always.fetch, sleep });
    await assert.rejects(stubborn.postPredictions([row(1)]), (err: unknown) => err instanceof PredictionSinkError && err.status === 429 && err.retryable);
    assert.equal(always.calls.length, 2, 'one retry, not a loop');
  });

  it('reports a server that does not answer as a retryable error', async () => {
    const fetch = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    }) as typeof globalThis.fetch;
    const sink = createHttpPredictionSink({ baseUrl: 'http://127.0.0.1:9', modelId: 'm', token: 't', fetch });
    await assert.rejects(
      sink.postPredictions([row(1)]),
      (err: unknown) => err instanceof PredictionSinkError && err.status === undefined && err.retryable && /ECONNREFUSED/.test(err.message),
    );
  });
});
