import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CsvError, inferColumnType, numericColumn, parseCsvTable, readCsvTable } from '../../adapters/files/csvTable.js';

describe('CSV tables', () => {
  it('reads columns, quoted fields with commas, quotes and newlines, and CRLF', () => {
    const t = parseCsvTable('a,b,c\r\n1,"x, y",3\r\n2,"say ""hi""\nthere",4\r\n', 'f.csv');
    assert.deepEqual(t.columns, ['a', 'b', 'c']);
    assert.deepEqual(t.cells.get('b'), ['x, y', 'say "hi"\nthere']);
    assert.deepEqual(t.rowLines, [2, 3]);
    assert.equal(t.rows, 2);
  });

  it('infers numeric and categorical columns; empty cells are missing', () => {
    const t = parseCsvTable('n,c,m\n1.5,a,\n-2e3,b,7\n,a,8\n');
    assert.equal(inferColumnType(t.cells.get('n')!), 'numeric');
    assert.equal(inferColumnType(t.cells.get('c')!), 'categorical');
    assert.equal(inferColumnType(t.cells.get('m')!), 'numeric');
    assert.deepEqual([...numericColumn(t, 'n')], [1.5, -2000]);
  });

  it('names file, row and column for a non-numeric value in a numeric column', () => {
    const t = parseCsvTable('x,y\n1,2\n\n3,oops\n', 'data.csv');
    assert.throws(
      () => numericColumn(t, 'y'),
      (e: unknown) => e instanceof CsvError && e.message === 'data.csv, row 4, column "y": "oops" is not a number',
    );
  });

  it('refuses ragged rows, empty files, headers without rows, duplicate and blank column names, unclosed quotes', () => {
    const cases: [string, RegExp][] = [
      ['a,b\n1,2\n3\n', /f\.csv, row 3: expected 2 fields, found 1/],
      ['', /f\.csv: the file is empty/],
      ['a,b\n', /f\.csv: the file has a header but no data rows/],
      ['a,a\n1,2\n', /row 1, column "a": duplicate column name/],
      ['a,,b\n1,2,3\n', /row 1: header column 2 has no name/],
      ['a\n"open\n', /row 2: a quoted field is not closed/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseCsvTable(text, 'f.csv'), message, JSON.stringify(text));
  });

  it('keeps columns named like Object.prototype members as ordinary columns, and refuses __proto__', () => {
    const t = parseCsvTable('constructor,toString,hasOwnProperty\na,1,x\nb,2,y\n', 'f.csv');
    assert.deepEqual(t.columns, ['constructor', 'toString', 'hasOwnProperty']);
    assert.deepEqual(t.cells.get('constructor'), ['a', 'b'], 'the column, not Object');
    assert.deepEqual([...numericColumn(t, 'toString')], [1, 2], 'the column, not Object.prototype.toString');
    assert.equal(t.cells.get('valueOf'), undefined, 'a column the file lacks is absent');
    assert.throws(() => numericColumn(t, 'valueOf'), /f\.csv, column "valueOf": no such column/);
    assert.throws(() => parseCsvTable('age,__proto__\n1,2\n', 'f.csv'), /f\.csv, row 1, column "__proto__": is not allowed as a column name/);
  });

  it('names a file it cannot read', () => {
    const missing = path.join(os.tmpdir(), `vigil-missing-${process.pid}.csv`);
    assert.ok(!fs.existsSync(missing), 'the file must not exist');
    assert.throws(() => readCsvTable(missing), /vigil-missing-.*\.csv: cannot read: ENOENT/);
  });
});
