/** Ingestion rows checked against a model's task and input schema, and JSON / NDJSON bodies located by line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson, parseNdjson } from '../../adapters/http/jsonBody.js';
import { parseConfig, type ModelConfig } from '../../domain/config.js';
import { createIngestValidator, INGEST_ROW_LIMITS, MAX_LISTED_ISSUES, rowsOfEnvelope } from '../../domain/ingest.js';

const NOW = new Date('2025-11-26T12:00:00Z');

function model(over: Record<string, unknown>): ModelConfig {
  return parseConfig({ models: [{ id: 'm', displayName: 'M', tier: 'low', approvers: ['a'], ...over }] }).models[0]!;
}

describe('ingestion: rows against the model', () => {
  it('decides binary predictions with the threshold and maps labels to 1 = positive class, 0 = negative', () => {
    const v = createIngestValidator(model({ task: { type: 'binary', threshold: 0.3, positiveClass: 2, negativeClass: 1 } }));
    const p = v.predictions(
      [
        { requestId: 'a', modelVersion: 1, features: {}, prediction: { score: 0.3 } },
        { requestId: 'b', modelVersion: 1, features: {}, prediction: { score: 0.29 } },
      ],
      { receivedAt: NOW },
    );
    assert.ok(p.ok, JSON.stringify(p));
    assert.deepEqual(
      p.rows.map((r) => [r.score, r.predicted, r.prediction, r.ts.toISOString()]),
      [
        [0.3, 1, null, NOW.toISOString()],
        [0.29, 0, null, NOW.toISOString()],
      ],
    );
    const l = v.labels(
      [
        { requestId: 'a', label: 2 },
        { requestId: 'b', label: '1' },
      ],
      { receivedAt: NOW },
    );
    assert.ok(l.ok, JSON.stringify(l));
    assert.deepEqual(
      l.rows.map((r) => [r.label, r.labelValue]),
      [
        [1, null],
        [0, null],
      ],
      'classes 2 / 1: "1" is the negative class, not positive',
    );
    const zero = v.labels([{ requestId: 'a', label: 0 }], { receivedAt: NOW });
    assert.ok(!zero.ok && zero.issues[0]!.message.startsWith('must be 2 (positive) or 1 (negative)'), JSON.stringify(zero));
  });

  it('stores the class as declared: "2" sent for class 2 is the number 2', () => {
    const v = createIngestValidator(model({ task: { type: 'multiclass', classes: [0, 1, 2] } }));
    const p = v.predictions([{ requestId: 'a', modelVersion: 1, features: {}, prediction: { label: '2', probabilities: { '2': 0.995 } } }], {
      receivedAt: NOW,
    });
    assert.ok(p.ok, JSON.stringify(p));
    assert.deepEqual(p.rows[0]!.prediction, { label: 2, probabilities: { '2': 0.995 } });
    const l = v.labels([{ requestId: 'a', label: '0' }], { receivedAt: NOW });
    assert.ok(l.ok);
    assert.deepEqual([l.rows[0]!.label, l.rows[0]!.labelValue], [null, 0]);
  });

  it('needs a model version unless the fallback answered, and refuses "__proto__" as a feature', () => {
    const v = createIngestValidator(model({}));
    const p = v.predictions(
      [
        { requestId: 'a', features: {}, prediction: { score: 0.5 } },
        { requestId: 'b', servedBy: 'fallback', features: {}, prediction: { score: 0.5 } },
        JSON.parse('{"requestId": "c", "modelVersion": 1, "features": {"__proto__": 1}, "prediction": {"score": 0.5}}'),
      ],
      { receivedAt: NOW },
    );
    assert.ok(!p.ok);
    assert.deepEqual(
      p.issues.map((i) => `${i.row} ${i.path}`),
      ['0 modelVersion', '2 features.__proto__'],
    );
  });

  it('takes shadow rows beside their served row: the candidate’s version required, once per requestId and version, binary models only', () => {
    const v = createIngestValidator(model({}));
    const served = { requestId: 'a', modelVersion: 1, features: { x: 1 }, prediction: { score: 0.2 } };
    const shadow = (over: Record<string, unknown> = {}) => ({ ...served, modelVersion: 2, servedBy: 'shadow', prediction: { score: 0.7 }, ...over });
    const ok = v.predictions([served, shadow(), shadow({ modelVersion: 3 })], { receivedAt: NOW });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(
      ok.rows.map((r) => [r.requestId, r.servedBy, r.modelVersion, r.score, r.predicted]),
      [
        ['a', 'model', 1, 0.2, 0],
        ['a', 'shadow', 2, 0.7, 1],
        ['a', 'shadow', 3, 0.7, 1],
      ],
    );

    const bad = v.predictions([served, shadow({ modelVersion: undefined }), shadow(), shadow(), { ...served, prediction: { score: 0.3 } }], {
      receivedAt: NOW,
    });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.issues.map((i) => `${i.row} ${i.path}: ${i.message}`),
      [
        '1 modelVersion: is required on a shadow row (the version of the candidate that scored the request in the shadow, an integer ≥ 1)',
        '3 requestId: "a" is also row 2: a shadow row may appear once per requestId and modelVersion in a request',
        '4 requestId: "a" is also row 0: a requestId may appear once per request (a shadow row of it says "servedBy": "shadow")',
      ],
    );

    const multiclass = createIngestValidator(model({ task: { type: 'multiclass', classes: ['x', 'y'] } }));
    const refused = multiclass.predictions([{ requestId: 'a', modelVersion: 2, servedBy: 'shadow', features: {}, prediction: { label: 'x' } }], {
      receivedAt: NOW,
    });
    assert.ok(!refused.ok);
    assert.deepEqual(
      refused.issues.map((i) => `${i.path}: ${i.message}`),
      ['servedBy: "shadow" is taken for binary models only (a shadow canary is judged on binary accuracy); model "m" is multiclass: send only the served rows'],
    );
  });

  it('accepts a time up to 5 minutes ahead of the clock, not more', () => {
    const v = createIngestValidator(model({}));
    const row = (ts: string) => ({ requestId: ts, ts, modelVersion: 1, features: {}, prediction: { score: 0.5 } });
    assert.ok(v.predictions([row('2025-11-26T12:05:00Z'), row('2025-11-26T13:04:00+01:00')], { receivedAt: NOW }).ok);
    const late = v.predictions([row('2025-11-26T12:05:01Z')], { receivedAt: NOW });
    assert.ok(!late.ok && late.issues[0]!.path === 'ts', JSON.stringify(late));
  });

  it('bounds a row: features, feature names and string values; a refused name is not echoed whole', () => {
    let n = 0;
    const row = (features: Record<string, unknown>) => ({ requestId: `r${n++}`, modelVersion: 1, features, prediction: { score: 0.5 } });
    for (const v of [createIngestValidator(model({})), createIngestValidator(model({ inputSchema: { columns: { country: { type: 'categorical' } } } }))]) {
      const many = Object.fromEntries(Array.from({ length: INGEST_ROW_LIMITS.maxFeatures + 1 }, (_, i) => [`f${i}`, i]));
      const longName = 'n'.repeat(INGEST_ROW_LIMITS.maxFeatureNameLength + 1);
      const r = v.predictions([row(many), row({ [longName]: 1 }), row({ country: 'x'.repeat(INGEST_ROW_LIMITS.maxStringLength + 1) })], { receivedAt: NOW });
      assert.ok(!r.ok, 'refused');
      assert.deepEqual(
        r.issues.map((i) => `${i.row} ${i.path}: ${i.message}`),
        [
          '0 features: has 1025 features; at most 1024 are accepted',
          `1 features.${'n'.repeat(40)}…: a feature name must be at most 256 characters`,
          '2 features.country: must be at most 4096 characters',
        ],
      );
      const fits = v.predictions([row({ country: 'x'.repeat(INGEST_ROW_LIMITS.maxStringLength), [longName.slice(1)]: 1 })], { receivedAt: NOW });
      assert.ok(fits.ok, JSON.stringify(fits).slice(0, 300));
    }
  });

  it('lists at most MAX_LISTED_ISSUES problems and counts the rest', () => {
    const v = createIngestValidator(model({ task: { type: 'multiclass', classes: ['cat', 'dog'] } }));
    const probabilities = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`c${i}`, 0]));
    const r = v.predictions([{ requestId: 'r', modelVersion: 1, features: {}, prediction: { label: 'cat', probabilities } }], { receivedAt: NOW });
    assert.ok(!r.ok);
    assert.equal(r.issues.length, MAX_LISTED_ISSUES);
    assert.ok(r.unlisted >= 500, `the rest counted: ${r.unlisted}`);
  });

  it('names what is wrong with a body that is not a batch', () => {
    assert.deepEqual(rowsOfEnvelope({ labels: [] }, 'labels'), { rows: [] });
    assert.deepEqual(rowsOfEnvelope({ labels: {} }, 'labels'), { issues: [{ path: 'labels', message: 'must be an array of rows, got an object' }] });
    assert.deepEqual(rowsOfEnvelope('x', 'predictions'), {
      issues: [{ path: '', message: 'the body must be a JSON object {"predictions": [...]}, got a string ("x")' }],
    });
  });
});

describe('ingestion: JSON and NDJSON bodies', () => {
  it('locates a JSON syntax error by line and column', () => {
    const cases: [string, number, number, string][] = [
      ['{"a": }', 1, 7, 'unexpected "}"'],
      ['{\n  "a": [1, 2,]\n}', 2, 14, 'unexpected "]"'],
      ['{"a": 1', 1, 8, 'unexpected end of input'],
      ['{"a": tru}', 1, 7, 'unexpected "t"'],
      ['{"a": "x\\q"}', 1, 9, 'invalid escape in a string'],
      ['[1] [2]', 1, 5, 'unexpected "["'],
      ['', 1, 1, 'unexpected end of input'],
    ];
    for (const [text, line, column, message] of cases) {
      const r = parseJson(text);
      assert.ok(!r.ok, text);
      assert.deepEqual(r.error, { line, column, message }, text);
    }
    assert.deepEqual(parseJson('{"a": [1, {"b": null}]}'), { ok: true, value: { a: [1, { b: null }] } });
  });

  it('reads NDJSON rows with their lines, skipping blank lines, and stops counting past the limit', () => {
    const r = parseNdjson('{"a":1}\r\n\n  \n{"b":2}\n{"c":\n', 10);
    assert.deepEqual(r.rows.slice(0, 2), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(r.lines, [1, 4, 5]);
    assert.deepEqual(r.errors, [{ row: 2, line: 5, column: 6, message: 'unexpected end of input' }]);
    assert.equal(parseNdjson('1\n2\n3', 3).tooMany, false);
    assert.equal(parseNdjson('1\n2\n3\n4', 3).tooMany, true);
  });
});
