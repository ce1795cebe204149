/**
 * Reads a CSV file with a header row into columns, for drift comparisons of arbitrary datasets.
 * Plain RFC 4180 subset: comma separated, double-quoted fields may hold commas, quotes ("") and
 * newlines. Errors name the file, the row (its line in the file; the header is line 1) and the column.
 * `csvRecord` writes the same dialect (the scoring input of trainer protocol v2).
 */
import fs from 'node:fs';

export class CsvError extends Error {
  constructor(
    readonly file: string,
    readonly row: number | undefined,
    readonly column: string | undefined,
    reason: string,
  ) {
    super(`${file}${row !== undefined ? `, row ${row}` : ''}${column !== undefined ? `, column "${column}"` : ''}: ${reason}`);
  }
}

export type ColumnType = 'numeric' | 'categorical';

export interface CsvTable {
  file: string;
  columns: string[];
  /**
   * Raw cell text per column, in row order. A Map: column names are the file's, and a column named
   * "constructor" or "toString" must not meet Object.prototype's members.
   */
  cells: ReadonlyMap<string, string[]>;
  rows: number;
  /** The file line each data row starts on (the header is line 1), for error messages. */
  rowLines: number[];
}

export function parseCsvTable(text: string, file = '(csv)'): CsvTable {
  const records = parseRecords(text, file);
  // Blank lines carry no data.
  const nonEmpty = records.filter((r) => !(r.fields.length === 1 && r.fields[0]?.trim() === ''));
  const headerRecord = nonEmpty[0];
  if (!headerRecord) throw new CsvError(file, undefined, undefined, 'the file is empty (a header row is required)');
  const header = headerRecord.fields.map((h) => h.trim());
  header.forEach((h, i) => {
    if (h === '') throw new CsvError(file, 1, undefined, `header column ${i + 1} has no name`);
    if (header.indexOf(h) !== i) throw new CsvError(file, 1, h, 'duplicate column name');
    // Columns become feature names, stored and profiled as JSON objects, where this key is the prototype.
    if (h === '__proto__') throw new CsvError(file, 1, h, 'is not allowed as a column name');
  });
  if (nonEmpty.length === 1) throw new CsvError(file, undefined, undefined, 'the file has a header but no data rows');
  const columns = header.map((): string[] => []);
  const rowLines: number[] = [];
  for (const record of nonEmpty.slice(1)) {
    rowLines.push(record.line);
    if (record.fields.length !== header.length) {
      throw new CsvError(file, record.line, undefined, `expected ${header.length} fields, found ${record.fields.length}`);
    }
    // As many fields as header columns (checked above).
    record.fields.forEach((v, i) => columns[i]!.push(v.trim()));
  }
  const cells = new Map(header.map((h, i) => [h, columns[i]!]));
  return { file, columns: header, cells, rows: nonEmpty.length - 1, rowLines };
}

/**
 * One record of the dialect, without its line break: fields quoted (quotes doubled) when they hold a
 * comma, a double quote, CR or LF, or start or end with white space; others as they are.
 */
export function csvRecord(fields: readonly string[]): string {
  return fields.map((f) => (/[",\r\n]|^\s|\s$/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

export function readCsvTable(file: string): CsvTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CsvError(file, undefined, undefined, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCsvTable(text, file);
}

/** Numeric when every non-empty cell is a finite number; empty cells are missing values. */
export function inferColumnType(values: string[]): ColumnType {
  return values.every((v) => v === '' || isNumber(v)) && values.some((v) => v !== '') ? 'numeric' : 'categorical';
}

/** The column as numbers (missing cells dropped); a non-numeric cell is an error naming its row. */
export function numericColumn(table: CsvTable, column: string): Float64Array {
  const values = table.cells.get(column);
  if (!values) throw new CsvError(table.file, undefined, column, 'no such column');
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === '') continue;
    if (!isNumber(v)) throw new CsvError(table.file, table.rowLines[i], column, `"${v}" is not a number`);
    out[n++] = Number(v);
  }
  return out.subarray(0, n);
}

function isNumber(v: string): boolean {
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v);
}

interface CsvRecord {
  line: number;
  fields: string[];
}

function parseRecords(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      records.push({ line: recordLine, fields });
      fields = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) throw new CsvError(file, recordLine, undefined, 'a quoted field is not closed');
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    records.push({ line: recordLine, fields });
  }
  return records;
}
