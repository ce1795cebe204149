/**
 * The reference profile Vigil computes from a data file (`vigil model register --reference`, and a
 * retrained candidate's training snapshot): the features by the model's declared input types (else
 * inferred), the prediction and label columns by its task type.
 */
import type { ModelConfig } from './config.js';
import { computeDatasetProfile, ProfileError, type ColumnValues, type DatasetProfile } from './datasetProfile.js';
import { UserInputError } from './errors.js';
import { ownValue } from './ownValue.js';

/** A data file as columns of raw cells, the way adapters/files/csvTable.ts reads it. */
export interface DataTable {
  file: string;
  columns: string[];
  /** By column name (a Map: names are the file's, "constructor" included). */
  cells: ReadonlyMap<string, string[]>;
  rows: number;
}

/** The profile of the reference file's features, prediction and label, by the model's declared inputs and task. */
export function referenceProfile(model: ModelConfig, table: DataTable, predictionColumn: string, labelColumn: string): DatasetProfile {
  const declared = model.inputSchema?.columns;
  const featureNames = table.columns.filter((c) => c !== predictionColumn && c !== labelColumn);
  if (featureNames.length === 0) throw new UserInputError(`${table.file}: no feature columns (only "${predictionColumn}" and "${labelColumn}")`);
  if (declared) {
    const missing = Object.entries(declared)
      .filter(([name, spec]) => !spec.optional && !featureNames.includes(name))
      .map(([name]) => name);
    if (missing.length) throw new UserInputError(`${table.file}: declared input column(s) missing: ${missing.join(', ')} (models[].inputSchema)`);
    const extra = featureNames.filter((f) => !Object.hasOwn(declared, f));
    if (extra.length && !model.inputSchema?.allowExtraColumns) {
      throw new UserInputError(`${table.file}: column(s) not declared in models[].inputSchema: ${extra.join(', ')}`);
    }
  }
  const column = (name: string): ColumnValues => table.cells.get(name) ?? [];
  const typeOf = (name: string) => ownValue(declared, name)?.type ?? inferType(column(name));
  try {
    return computeDatasetProfile({
      features: Object.fromEntries(featureNames.map((f) => [f, { values: column(f), type: typeOf(f) }])),
      ...(table.columns.includes(predictionColumn)
        ? { prediction: { values: column(predictionColumn), type: model.task.type === 'multiclass' ? 'categorical' : 'numeric' } }
        : {}),
      ...(table.columns.includes(labelColumn)
        ? { label: { values: column(labelColumn), type: model.task.type === 'regression' ? 'numeric' : 'categorical' } }
        : {}),
    });
  } catch (err) {
    if (err instanceof ProfileError) throw new UserInputError(`${table.file}: ${err.message}`);
    throw err;
  }
}

function inferType(values: ColumnValues): 'numeric' | 'categorical' {
  let any = false;
  for (const v of values) {
    if (v === '' || v === null || v === undefined) continue;
    any = true;
    if (typeof v !== 'number' && !Number.isFinite(Number(v))) return 'categorical';
  }
  return any ? 'numeric' : 'categorical';
}
