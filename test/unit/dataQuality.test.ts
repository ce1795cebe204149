import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../domain/config.js';
import {
  assessDataQuality,
  dataQualityAsEvidence,
  DataQualityThresholds,
  InputSchema,
  primaryQualitySignal,
  schemaFromFeatures,
} from '../../domain/dataQuality.js';
import type { ReferenceProfile } from '../../domain/drift/psi.js';

const thresholds = DataQualityThresholds.parse({});
const schema = InputSchema.parse({
  columns: {
    age: { type: 'numeric', min: 18, max: 120 },
    income: { type: 'numeric', min: 0 },
    region: { type: 'categorical', categories: ['north', 'south'] },
    promo: { type: 'categorical', optional: true },
  },
});
const healthy = (i: number) => ({ age: 20 + (i % 50), income: 40 + i, region: i % 2 ? 'north' : 'south' });
const rows = (n: number, f: (i: number) => Record<string, unknown> = healthy) => Array.from({ length: n }, (_, i) => f(i));

describe('data quality against the declared input schema', () => {
  it('measures a large window without overflowing the stack (observed min and max by a loop)', () => {
    const r = assessDataQuality(schema, rows(300_000), thresholds);
    const age = r.columns.find((c) => c.column === 'age');
    assert.deepEqual([age?.observedMin, age?.observedMax], [20, 69]);
  });

  it('healthy traffic has no issues', () => {
    const r = assessDataQuality(schema, rows(200), thresholds);
    assert.deepEqual(r.issues, [], JSON.stringify(r.issues));
    assert.equal(primaryQualitySignal(r), undefined, 'no signal');
  });

  it('a required column absent from every row is a schema break; an optional one is not', () => {
    const r = assessDataQuality(
      schema,
      rows(100, () => ({ age: 30, region: 'north' })),
      thresholds,
    );
    assert.deepEqual(r.missingColumns, ['income'], 'income missing');
    assert.equal(primaryQualitySignal(r), 'schema_break', 'schema_break');
    assert.match(r.issues[0]!.message, /column "income" is missing from all 100 rows/);
  });

  it('a numeric column that starts carrying strings is a type change (schema break) and leaves the range check alone', () => {
    const r = assessDataQuality(
      schema,
      rows(100, (i) => ({ ...healthy(i), income: i < 60 ? String(40 + i) : 40 + i })),
      thresholds,
    );
    assert.deepEqual(r.typeChanges, ['income'], 'type change found');
    const col = r.columns.find((c) => c.column === 'income')!;
    assert.equal(col.typeMismatchShare, 0.6, 'share of strings');
    assert.equal(col.seenType, 'categorical', 'seen type');
    assert.match(r.issues[0]!.message, /"income" is declared numeric but 60\.0% of values are categorical/);
  });

  it('a missing share above the reference share by more than the threshold is missing_values', () => {
    const reference: ReferenceProfile = { rows: 1000, features: { age: { edges: [], shares: [], mean: 0, std: 1, min: 18, max: 90, count: 950 } } };
    // 10% missing vs the reference's 5%: within 0.05 → fine; 12% → breach.
    const within = assessDataQuality(
      schema,
      rows(100, (i) => ({ ...healthy(i), age: i < 10 ? null : 30 })),
      thresholds,
      reference,
    );
    assert.deepEqual(
      within.issues.map((i) => i.signal),
      [],
      'within tolerance',
    );
    const over = assessDataQuality(
      schema,
      rows(100, (i) => ({ ...healthy(i), age: i < 12 ? null : 30 })),
      thresholds,
      reference,
    );
    assert.deepEqual(
      over.issues.map((i) => i.signal),
      ['missing_values'],
      'breach',
    );
    assert.match(over.issues[0]!.message, /"age" is missing in 12\.0% of rows \(reference 5\.0%\)/);
  });

  it('values outside the declared range are out_of_range, with the observed span', () => {
    const r = assessDataQuality(
      schema,
      rows(100, (i) => ({ ...healthy(i), age: i < 5 ? 150 : i < 7 ? -1 : 40 })),
      thresholds,
    );
    assert.equal(primaryQualitySignal(r), 'out_of_range', 'out_of_range');
    const col = r.columns.find((c) => c.column === 'age')!;
    assert.equal(col.outOfRangeShare, 0.07, 'share');
    assert.match(r.issues[0]!.message, /7\.0% of "age" values are outside \[18, 120\] \(observed -1\.\.150\)/);
  });

  it('categories the model never saw are unseen_category, most frequent named first', () => {
    const r = assessDataQuality(
      schema,
      rows(100, (i) => ({ ...healthy(i), region: i < 6 ? 'east' : i < 8 ? 'west' : 'north' })),
      thresholds,
    );
    assert.equal(primaryQualitySignal(r), 'unseen_category', 'unseen');
    assert.deepEqual(r.columns.find((c) => c.column === 'region')!.unseenCategories, ['east', 'west'], 'categories');
    const ev = dataQualityAsEvidence(r);
    assert.equal(ev.unseen_category_share, 0.08, 'evidence share');
    assert.equal(ev.unseen_categories, 'east,west', 'evidence categories');
  });

  it('undeclared columns are a schema break unless extra columns are allowed', () => {
    const traffic = rows(50, (i) => ({ ...healthy(i), customer_segment: 'b' }));
    assert.deepEqual(assessDataQuality(schema, traffic, thresholds).newColumns, ['customer_segment'], 'new column');
    assert.deepEqual(assessDataQuality({ ...schema, allowExtraColumns: true }, traffic, thresholds).issues, [], 'allowed');
  });

  it('issues are ordered schema break first, and the evidence names every issue', () => {
    const r = assessDataQuality(
      schema,
      rows(100, (i) => ({ age: 200, region: 'east', extra: i })),
      thresholds,
    );
    assert.deepEqual([...new Set(r.issues.map((i) => i.signal))], ['schema_break', 'out_of_range', 'unseen_category'], 'order');
    const ev = dataQualityAsEvidence(r);
    assert.equal(ev.missing_columns, 'income', 'missing column');
    assert.equal(ev.new_columns, 'extra', 'new column');
    assert.match(String(ev.data_quality_issues), /"income" is missing.*undeclared column "extra".*"age" values are outside.*never saw/);
  });

  it('without a declared schema the reference features are required numbers and extra columns pass', () => {
    const s = schemaFromFeatures(['a', 'b']);
    const r = assessDataQuality(
      s,
      rows(60, (i) => ({ a: i, b: 'x', c: 1 })),
      thresholds,
    );
    assert.deepEqual(r.typeChanges, ['b'], 'b changed type');
    assert.deepEqual(r.newColumns, [], 'extra columns pass');
  });
});

describe('input schema in config', () => {
  const model = (inputSchema: unknown) => ({ models: [{ id: 'm', displayName: 'M', tier: 'low', approvers: ['a'], inputSchema }] });

  it('the example model declares its inputs', () => {
    const c = parseConfig({
      models: [{ id: 'credit-risk', displayName: 'x', tier: 'high', approvers: ['a'], inputSchema: { columns: { age: { type: 'numeric', min: 18 } } } }],
    });
    assert.equal(c.models[0]!.inputSchema?.columns.age!.min, 18, 'parsed');
  });

  it('bad declarations name the field', () => {
    assert.throws(() => parseConfig(model({ columns: { age: { type: 'number' } } })), /models\.0\.inputSchema\.columns\.age\.type/);
    assert.throws(
      () => parseConfig(model({ columns: { age: { type: 'numeric', min: 5, max: 1 } } })),
      /models\.0\.inputSchema\.columns\.age\.min: min 5 is above max 1/,
    );
    assert.throws(
      () => parseConfig(model({ columns: { region: { type: 'categorical', max: 3 } } })),
      /columns\.region\.max: min\/max apply to numeric columns only/,
    );
    assert.throws(() => parseConfig(model({ columns: {} })), /declare at least one column/);
  });

  it('drift tests and thresholds are configurable per model and validated', () => {
    const c = parseConfig({
      models: [{ id: 'm', displayName: 'M', tier: 'low', approvers: ['a'], drift: { test: 'psi', thresholds: { psi: 0.25 }, shareThreshold: 0.3 } }],
    });
    assert.deepEqual([c.models[0]!.drift.test, c.models[0]!.drift.thresholds.psi, c.models[0]!.drift.shareThreshold], ['psi', 0.25, 0.3], 'parsed');
    assert.throws(
      () => parseConfig({ models: [{ id: 'm', displayName: 'M', tier: 'low', approvers: ['a'], drift: { test: 'kolmogorov' } }] }),
      /models\.0\.drift\.test/,
    );
  });
});
