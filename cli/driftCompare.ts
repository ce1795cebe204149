/** `vigil drift compare`: per-feature drift between two CSV files. */
import { CsvError, inferColumnType, numericColumn, readCsvTable, type CsvTable } from '../adapters/files/csvTable.js';
import { datasetDrift, type DatasetDrift, type DriftOptions, type FeatureColumn } from '../domain/drift/datasetDrift.js';
import fs from 'node:fs';
import { formatZodIssues, type ModelConfig } from '../domain/config.js';
import { InputSchema } from '../domain/dataQuality.js';
import { UserInputError } from '../domain/errors.js';
import { formatTable } from './formatTable.js';

/**
 * Column types given by a schema; columns it does not name are inferred from the reference. A Map:
 * looked up by the CSV's column names, which may be "constructor" or "toString".
 */
export type ColumnTypes = ReadonlyMap<string, 'numeric' | 'categorical'>;

export function compareCsvFiles(referenceFile: string, currentFile: string, opts: DriftOptions = {}, types: ColumnTypes = new Map()): DatasetDrift {
  try {
    const reference = readCsvTable(referenceFile);
    const current = readCsvTable(currentFile);
    const missing = reference.columns.filter((c) => !current.columns.includes(c));
    if (missing.length) throw new CsvError(current.file, undefined, missing[0], `missing (the reference has ${missing.map((m) => `"${m}"`).join(', ')})`);
    const extra = current.columns.filter((c) => !reference.columns.includes(c));
    if (extra.length) throw new CsvError(current.file, undefined, extra[0], 'is not in the reference');

    const ref = new Map<string, FeatureColumn>();
    const cur = new Map<string, FeatureColumn>();
    for (const column of reference.columns) {
      const type = types.get(column) ?? inferColumnType(cellsOf(reference, column));
      ref.set(column, columnOf(reference, column, type));
      cur.set(column, columnOf(current, column, type));
    }
    return datasetDrift(ref, cur, reference.rows, opts);
  } catch (err) {
    if (err instanceof CsvError || err instanceof RangeError) throw new UserInputError(err.message);
    throw err;
  }
}

/** Drift options and column types from a model's config: its `drift` settings and `inputSchema`. */
export function driftSettingsFor(model: ModelConfig): { options: DriftOptions; types: ColumnTypes } {
  const types = new Map(Object.entries(model.inputSchema?.columns ?? {}).map(([name, c]) => [name, c.type]));
  const { test, perFeature, thresholds, shareThreshold } = model.drift;
  return { options: { test, perFeature, thresholds, shareThreshold }, types };
}

/** Column types from a schema file: the config's `inputSchema` shape, `{ "columns": { "age": { "type": "numeric" } } }`. */
export function readSchemaFile(file: string): ColumnTypes {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserInputError(`cannot read schema ${file}: ${(err as Error).message}`);
  }
  const parsed = InputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UserInputError(
      `invalid schema ${file}:\n${formatZodIssues(parsed.error)
        .map((i) => `  - ${i.path || '(root)'}: ${i.message}`)
        .join('\n')}`,
    );
  }
  return new Map(Object.entries(parsed.data.columns).map(([name, c]) => [name, c.type]));
}

function cellsOf(table: CsvTable, column: string): string[] {
  const cells = table.cells.get(column);
  if (!cells) throw new CsvError(table.file, undefined, column, 'no such column');
  return cells;
}

function columnOf(table: CsvTable, column: string, type: 'numeric' | 'categorical'): FeatureColumn {
  if (type === 'categorical') return { type, values: cellsOf(table, column).filter((v) => v !== '') };
  const values = numericColumn(table, column);
  if (values.length === 0) throw new CsvError(table.file, undefined, column, 'has no values');
  return { type, values };
}

export function formatDrift(d: DatasetDrift): string {
  const rows = d.features.map((f) => [
    f.feature,
    f.type,
    f.test,
    fmt(f.statistic),
    f.pValue === undefined ? '-' : fmt(f.pValue),
    String(f.threshold),
    f.drift ? 'DRIFT' : 'ok',
  ]);
  return [
    formatTable(['FEATURE', 'TYPE', 'TEST', 'STATISTIC', 'P-VALUE', 'THRESHOLD', 'DRIFT'], rows),
    '',
    `${d.driftedFeatures}/${d.features.length} features drifted (share ${fmt(d.share)}, threshold ${d.shareThreshold}): ${d.datasetDrift ? 'DATASET DRIFT' : 'no dataset drift'}`,
  ].join('\n');
}

const fmt = (v: number) => (Math.abs(v) >= 1e-4 || v === 0 ? String(Math.round(v * 1e6) / 1e6) : v.toExponential(3));
