/**
 * Labelled rows as CSV, the trainer protocol's data format (docs/trainer-protocol.md): a header of
 * feature names plus a `label` column, one row per example with finite numbers and a 0/1 label.
 * Retrain snapshots are written with it; trainers read it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabelledRow } from '../../domain/metrics.js';

/** A malformed dataset file; names the file, the 1-based data row (and line) and the column. */
export class DatasetCsvError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly row?: number,
    readonly column?: string,
    readonly line?: number,
  ) {
    const where = [
      row !== undefined ? `row ${row}` : undefined,
      line !== undefined ? `line ${line}` : undefined,
      column !== undefined ? `column "${column}"` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${file}${where ? `: ${where}` : ''}: ${reason}`);
    this.name = 'DatasetCsvError';
  }
}

/**
 * The CSV text of `rows`. Header: every feature name found in any row (the `order` ones first, in that
 * order, then others in order of appearance; key order of the row objects does not matter, e.g. rows
 * read back from jsonb) + `label`. A feature a row lacks is written as an empty cell, which
 * readDatasetCsv reports as a missing value naming row and column.
 */
export function datasetToCsv(rows: readonly LabelledRow[], order: readonly string[] = []): string {
  const present = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.features)) present.add(k);
  const header: string[] = rows.length === 0 ? [...order] : order.filter((f) => present.has(f));
  for (const k of present) if (!header.includes(k)) header.push(k);
  const lines = [[...header, 'label'].join(',')];
  for (const r of rows) {
    const cells = header.map((h) => {
      const v = r.features[h];
      return v === undefined || v === null ? '' : String(v);
    });
    lines.push([...cells, String(r.label)].join(','));
  }
  return lines.join('\n') + '\n';
}

/** Writes `rows` as CSV (atomically: a temporary file renamed into place). */
export async function writeDatasetCsv(file: string, rows: readonly LabelledRow[], order: readonly string[] = []): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, datasetToCsv(rows, order));
  await rename(tmp, file);
}

export interface ParsedDataset {
  features: string[];
  rows: LabelledRow[];
}

/**
 * Parses dataset CSV text: a header of feature names plus a `label` column (any position), then one
 * row per applicant with finite numbers and a 0/1 label. Blank lines are skipped. Throws
 * DatasetCsvError naming the file, row and column of the first problem.
 */
export function parseDatasetCsv(text: string, file = '(csv)'): ParsedDataset {
  const lines = text.split(/\r?\n/);
  const headerLine = lines.findIndex((l) => l.trim() !== '');
  const headerText = lines[headerLine];
  if (headerText === undefined) throw new DatasetCsvError(file, 'file is empty (expected a header with feature names and "label")');
  const header = headerText
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new DatasetCsvError(file, `header column ${i + 1} has no name`, undefined, undefined, headerLine + 1);
    if (seen.has(h)) throw new DatasetCsvError(file, `duplicate header column "${h}"`, undefined, h, headerLine + 1);
    // A row's features are an object keyed by column: this name would be its prototype, not a feature.
    if (h === '__proto__') throw new DatasetCsvError(file, 'is not allowed as a column name', undefined, h, headerLine + 1);
    seen.add(h);
  });
  const labelIdx = header.indexOf('label');
  if (labelIdx < 0) throw new DatasetCsvError(file, 'header has no "label" column', undefined, undefined, headerLine + 1);
  const features = header.filter((_, i) => i !== labelIdx);
  if (features.length === 0) throw new DatasetCsvError(file, 'header has no feature columns besides "label"', undefined, undefined, headerLine + 1);

  const rows: LabelledRow[] = [];
  let rowNo = 0;
  for (let li = headerLine + 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    rowNo++;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      throw new DatasetCsvError(file, `expected ${header.length} columns, got ${cells.length}`, rowNo, undefined, li + 1);
    }
    const feats: Record<string, number> = {};
    let label: 0 | 1 = 0;
    for (let c = 0; c < cells.length; c++) {
      const raw = cells[c]!.trim();
      const column = header[c]!; // as many cells as header columns (checked above)
      const value = raw === '' ? Number.NaN : Number(raw);
      if (c === labelIdx) {
        if (value !== 0 && value !== 1) throw new DatasetCsvError(file, `label must be 0 or 1, got "${raw}"`, rowNo, 'label', li + 1);
        label = value;
      } else {
        if (!Number.isFinite(value)) {
          throw new DatasetCsvError(file, raw === '' ? 'value is missing' : `"${raw}" is not a finite number`, rowNo, column, li + 1);
        }
        feats[column] = value;
      }
    }
    rows.push({ features: feats, label });
  }
  return { features, rows };
}

/** Reads a dataset CSV file (see parseDatasetCsv); a missing file is a DatasetCsvError too. */
export async function readDatasetCsv(file: string): Promise<ParsedDataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DatasetCsvError(file, e.code === 'ENOENT' ? 'file does not exist' : `cannot read: ${e.message}`);
  }
  return parseDatasetCsv(text, file);
}
