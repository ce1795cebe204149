import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { compareCsvFiles, driftSettingsFor, readSchemaFile } from '../../cli/driftCompare.js';
import { parseConfig } from '../../domain/config.js';
import { datasetDrift, defaultTest, type FeatureColumn } from '../../domain/drift/datasetDrift.js';
import { UserInputError } from '../../domain/errors.js';
import { createRng } from '../../examples/credit-risk/dataset.js';

const normal = (n: number, mean: number, seed: number) => {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => mean + rng.normal());
};
const num = (values: Float64Array): FeatureColumn => ({ type: 'numeric', values });
const cat = (values: string[]): FeatureColumn => ({ type: 'categorical', values });

describe('dataset drift: default test per column (Evidently rules)', () => {
  it('small reference: KS for rich numeric, chi-square for > 2 categories, Z for binary', () => {
    assert.equal(defaultTest(num(normal(500, 0, 1)), 500), 'ks');
    assert.equal(defaultTest(num(Float64Array.from([0, 1, 2, 0, 1, 2])), 500), 'chisquare');
    assert.equal(defaultTest(cat(['a', 'b', 'c']), 500), 'chisquare');
    assert.equal(defaultTest(cat(['yes', 'no', 'yes']), 500), 'z');
  });

  it('large reference: normed Wasserstein for numeric, Jensen–Shannon for categorical', () => {
    assert.equal(defaultTest(num(normal(2000, 0, 1)), 2000), 'wasserstein');
    assert.equal(defaultTest(cat(['a', 'b', 'c']), 2000), 'jensenshannon');
  });

  it('flags the shifted feature, not the stable one, and gives the dataset verdict by share', () => {
    const reference = { stable: num(normal(800, 0, 1)), shifted: num(normal(800, 0, 2)) };
    const current = { stable: num(normal(800, 0, 3)), shifted: num(normal(800, 1, 4)) };
    const r = datasetDrift(reference, current, 800);
    const byName = Object.fromEntries(r.features.map((f) => [f.feature, f]));
    assert.equal(byName.stable!.test, 'ks');
    assert.equal(byName.stable!.drift, false, `stable p=${byName.stable!.pValue}`);
    assert.equal(byName.shifted!.drift, true, `shifted p=${byName.shifted!.pValue}`);
    assert.equal(r.share, 0.5);
    assert.equal(r.datasetDrift, true);
    assert.equal(datasetDrift(reference, current, 800, { shareThreshold: 0.6 }).datasetDrift, false);
  });

  it('a forced test and threshold apply to every column; a numeric-only test on a category is refused', () => {
    const r = datasetDrift({ x: num(normal(300, 0, 5)) }, { x: num(normal(300, 0.5, 6)) }, 300, { test: 'psi', thresholds: { psi: 0.05 } });
    assert.equal(r.features[0]!.test, 'psi');
    assert.equal(r.features[0]!.threshold, 0.05);
    assert.equal(r.features[0]!.pValue, undefined);
    assert.throws(() => datasetDrift({ c: cat(['a', 'b']) }, { c: cat(['a']) }, 2, { test: 'ks' }), /feature "c": the ks test needs a numeric column/);
  });
});

describe('vigil drift compare on CSV files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-drift-'));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('compares numeric and categorical columns by header name', () => {
    const ref = write('ref.csv', 'x,color\n' + Array.from({ length: 50 }, (_, i) => `${i},${['red', 'green', 'blue'][i % 3]}`).join('\n'));
    const cur = write('cur.csv', 'color,x\n' + Array.from({ length: 50 }, (_, i) => `red,${i + 100}`).join('\n'));
    const r = compareCsvFiles(ref, cur);
    const byName = Object.fromEntries(r.features.map((f) => [f.feature, f]));
    assert.equal(byName.x!.test, 'ks');
    assert.equal(byName.x!.statistic, 1);
    assert.equal(byName.color!.type, 'categorical');
    assert.equal(byName.color!.test, 'chisquare');
    assert.equal(byName.color!.drift, true);
  });

  it('bad files are user errors naming file, row and column', () => {
    const ref = write('r.csv', 'a,b\n1,2\n3,4\n');
    const cases: [string, RegExp][] = [
      [write('c1.csv', 'a,b\n1,2\n5,x\n'), /c1\.csv, row 3, column "b": "x" is not a number/],
      [write('c2.csv', 'a\n1\n'), /c2\.csv, column "b": missing/],
      [write('c3.csv', 'a,b\n1,2\n3\n'), /c3\.csv, row 3: expected 2 fields, found 1/],
      [write('c4.csv', ''), /c4\.csv: the file is empty/],
    ];
    for (const [cur, message] of cases) {
      assert.throws(
        () => compareCsvFiles(ref, cur),
        (e: unknown) => e instanceof UserInputError && message.test(e.message),
        String(message),
      );
    }
  });

  it('a schema gives column types: numeric-looking codes compared as categories', () => {
    const ref = write('codes-ref.csv', 'zip,x\n' + Array.from({ length: 60 }, (_, i) => `${10000 + (i % 3)},${i}`).join('\n'));
    const cur = write('codes-cur.csv', 'zip,x\n' + Array.from({ length: 60 }, (_, i) => `${10000 + (i % 3)},${i}`).join('\n'));
    assert.equal(compareCsvFiles(ref, cur).features[0]!.type, 'numeric', 'inferred');
    const schema = write('schema.json', JSON.stringify({ columns: { zip: { type: 'categorical' } } }));
    const r = compareCsvFiles(ref, cur, {}, readSchemaFile(schema));
    assert.deepEqual([r.features[0]!.type, r.features[0]!.test], ['categorical', 'chisquare'], 'typed by the schema');
    assert.throws(() => readSchemaFile(write('bad-schema.json', '{"columns": {"zip": {"type": "text"}}}')), /bad-schema\.json:\n {2}- columns\.zip\.type/);
  });

  it('compares columns named constructor, toString and hasOwnProperty like any other', () => {
    const rows = (shift: number) => Array.from({ length: 60 }, (_, i) => `${['red', 'green', 'blue'][i % 3]},${i + shift},${i % 2 ? 'y' : 'n'}`);
    const ref = write('proto-ref.csv', ['constructor,toString,hasOwnProperty', ...rows(0)].join('\n'));
    const cur = write('proto-cur.csv', ['constructor,toString,hasOwnProperty', ...rows(100)].join('\n'));
    const config = parseConfig({ models: [{ id: 'm', displayName: 'M', tier: 'low', approvers: ['a'] }] });
    // No per-feature tests and no schema: nothing may be found for these names on Object.prototype.
    const settings = driftSettingsFor(config.models[0]!);
    for (const [what, r] of [
      ['inferred', compareCsvFiles(ref, cur)],
      ["with the model's (empty) settings", compareCsvFiles(ref, cur, settings.options, settings.types)],
    ] as const) {
      assert.deepEqual(
        r.features.map((f) => [f.feature, f.type, f.test]),
        [
          ['constructor', 'categorical', 'chisquare'],
          ['toString', 'numeric', 'ks'],
          ['hasOwnProperty', 'categorical', 'z'],
        ],
        what,
      );
      assert.equal(r.features[1]!.drift, true, `${what}: the shifted column drifts`);
    }
    assert.throws(
      () => compareCsvFiles(write('p-ref.csv', 'x,__proto__\n1,a\n'), write('p-cur.csv', 'x,__proto__\n1,a\n')),
      (e: unknown) => e instanceof UserInputError && /p-ref\.csv, row 1, column "__proto__": is not allowed as a column name/.test(e.message),
      '__proto__ is refused, not dropped',
    );
  });

  it("a model's drift settings choose the test, its threshold and the dataset share", () => {
    const config = parseConfig({
      models: [
        {
          id: 'm',
          displayName: 'M',
          tier: 'low',
          approvers: ['a'],
          drift: { test: 'psi', thresholds: { psi: 0.5 }, shareThreshold: 0.3 },
          inputSchema: { columns: { x: { type: 'numeric' } } },
        },
      ],
    });
    const { options, types } = driftSettingsFor(config.models[0]!);
    const ref = write('m-ref.csv', 'x\n' + Array.from({ length: 200 }, (_, i) => `${i}`).join('\n'));
    const cur = write('m-cur.csv', 'x\n' + Array.from({ length: 200 }, (_, i) => `${i + 30}`).join('\n'));
    const r = compareCsvFiles(ref, cur, options, types);
    assert.deepEqual([r.features[0]!.test, r.features[0]!.threshold, r.shareThreshold], ['psi', 0.5, 0.3], 'settings applied');
    assert.equal(r.features[0]!.drift, r.features[0]!.statistic >= 0.5, 'threshold decides');
  });
});
