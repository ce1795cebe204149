/**
 * Labelled rows of any task type as CSV (trainer protocol v2, docs/trainer-protocol.md): a header of
 * feature names plus `label`, RFC 4180 quoting (a cell holding a comma, a quote or a line break is
 * double-quoted, quotes doubled), numbers as JavaScript writes them, text as it is, a missing value as
 * an empty cell. The label is the task's: a class (binary and multiclass, as the model's config names
 * them) or a number (regression). Read back with the same quoting (adapters/files/csvTable.ts):
 * numeric columns become numbers, others stay text. Binary datasets for protocol v1 trainers keep their
 * own numeric 0/1 format (labelledCsv.ts).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CsvError, inferColumnType, readCsvTable } from './csvTable.js';

export interface TaskDatasetRow {
  features: Record<string, unknown>;
  label: string | number;
}

/** One cell: quoted when it must be (RFC 4180). */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV text: `order`'s features first (those present), then others in order of appearance, then `label`. */
export function taskDatasetToCsv(rows: readonly TaskDatasetRow[], order: readonly string[] = []): string {
  const present = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.features)) present.add(k);
  const header = rows.length === 0 ? [...order] : order.filter((f) => present.has(f));
  for (const k of present) if (!header.includes(k)) header.push(k);
  const lines = [[...header, 'label'].map(csvCell).join(',')];
  for (const r of rows) lines.push([...header.map((h) => csvCell(r.features[h])), csvCell(r.label)].join(','));
  return lines.join('\n') + '\n';
}

/** Writes the rows atomically (a temporary file renamed into place). */
export async function writeTaskDatasetCsv(file: string, rows: readonly TaskDatasetRow[], order: readonly string[] = []): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, taskDatasetToCsv(rows, order));
  await rename(tmp, file);
}

/** Reads a task dataset: its feature columns (in file order) and rows; `labelAs` types the label. */
export function readTaskDatasetCsv(file: string, labelAs: 'text' | 'number'): { features: string[]; rows: TaskDatasetRow[] } {
  const table = readCsvTable(file);
  if (!table.columns.includes('label')) throw new CsvError(file, 1, undefined, 'the header has no "label" column');
  const features = table.columns.filter((c) => c !== 'label');
  const numeric = new Set(features.filter((f) => inferColumnType(table.cells.get(f)!) === 'numeric'));
  const rows: TaskDatasetRow[] = [];
  for (let i = 0; i < table.rows; i++) {
    const feats = Object.fromEntries(
      features.map((f) => {
        const cell = table.cells.get(f)![i]!;
        return [f, cell === '' ? null : numeric.has(f) ? Number(cell) : cell];
      }),
    );
    const raw = table.cells.get('label')![i]!;
    const label = labelAs === 'number' ? Number(raw) : raw;
    if (raw === '' || (labelAs === 'number' && !Number.isFinite(label))) {
      throw new CsvError(file, table.rowLines[i], 'label', raw === '' ? 'the label is missing' : `"${raw}" is not a number`);
    }
    rows.push({ features: feats, label });
  }
  return { features, rows };
}
