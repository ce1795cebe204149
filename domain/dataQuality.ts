/**
 * Data-quality checks of recent model inputs against the model's declared input schema and its
 * training reference: missing or new columns and type changes (a schema break), missing-value share
 * above the reference's, values outside the declared range, categories never declared.
 *
 * A schema break is its own failure signal, distinct from drift: drift statistics over a column that
 * changed type or vanished are meaningless, so the monitor reports the break and skips drift for it.
 *
 * Value typing: a finite number is numeric; a string or boolean is categorical; null, undefined and
 * non-finite numbers are missing; anything else (objects, arrays) is a type change for every column.
 */
import { z } from 'zod';
import type { ReferenceProfile } from './drift/psi.js';
import type { SignalKind } from './incident.js';
import { ownValue } from './ownValue.js';

export const InputColumn = z
  .strictObject({
    type: z.enum(['numeric', 'categorical']),
    /** Inclusive bounds of valid values (numeric). */
    min: z.number().optional(),
    max: z.number().optional(),
    /** The categories the model knows (categorical); anything else is an unseen category. */
    categories: z.array(z.string()).min(1).optional(),
    /** A column the model can score without (absent or null is not a schema break). */
    optional: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (c.type === 'categorical' && (c.min !== undefined || c.max !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.min !== undefined ? 'min' : 'max'], message: 'min/max apply to numeric columns only' });
    }
    if (c.type === 'numeric' && c.categories) ctx.addIssue({ code: 'custom', path: ['categories'], message: 'categories apply to categorical columns only' });
    if (c.min !== undefined && c.max !== undefined && c.min > c.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: `min ${c.min} is above max ${c.max}` });
  });
export type InputColumn = z.output<typeof InputColumn>;

export const InputSchema = z.strictObject({
  columns: z.record(z.string().min(1), InputColumn).refine((c) => Object.keys(c).length > 0, 'declare at least one column'),
  /** Columns not declared here are a schema break unless allowed. */
  allowExtraColumns: z.boolean().default(false),
});
export type InputSchema = z.output<typeof InputSchema>;

export const DataQualityThresholds = z.strictObject({
  /** Missing share above the reference's own missing share by more than this is a breach. */
  maxMissingShareIncrease: z.number().min(0).max(1).default(0.05),
  /** Values of the wrong type: above this share the column has changed type (a schema break). */
  maxTypeMismatchShare: z.number().min(0).max(1).default(0.01),
  maxOutOfRangeShare: z.number().min(0).max(1).default(0.01),
  maxUnseenCategoryShare: z.number().min(0).max(1).default(0.01),
});
export type DataQualityThresholds = z.output<typeof DataQualityThresholds>;

export type ValueKind = 'numeric' | 'categorical' | 'missing' | 'other';

export interface ColumnQuality {
  column: string;
  type: InputColumn['type'];
  missingShare: number;
  referenceMissingShare: number;
  typeMismatchShare: number;
  /** The kind most mismatching values had (e.g. 'categorical' in a numeric column). */
  seenType?: ValueKind;
  outOfRangeShare?: number;
  observedMin?: number;
  observedMax?: number;
  unseenCategoryShare?: number;
  /** Up to five unseen categories, most frequent first. */
  unseenCategories?: string[];
}

export interface DataQualityIssue {
  signal: Extract<SignalKind, 'schema_break' | 'missing_values' | 'out_of_range' | 'unseen_category'>;
  column?: string;
  message: string;
  value?: number;
  threshold?: number;
}

export interface DataQualityReport {
  rows: number;
  missingColumns: string[];
  newColumns: string[];
  typeChanges: string[];
  columns: ColumnQuality[];
  issues: DataQualityIssue[];
}

/** Issue order when one signal must stand for the report: a broken schema explains the rest. */
const SIGNAL_ORDER: DataQualityIssue['signal'][] = ['schema_break', 'missing_values', 'out_of_range', 'unseen_category'];

/** The schema assumed when none is declared: every reference feature numeric and required. */
export function schemaFromFeatures(features: readonly string[]): InputSchema {
  return { columns: Object.fromEntries(features.map((f) => [f, { type: 'numeric' as const, optional: false }])), allowExtraColumns: true };
}

export function valueKind(v: unknown): ValueKind {
  if (v === null || v === undefined) return 'missing';
  if (typeof v === 'number') return Number.isFinite(v) ? 'numeric' : 'missing';
  if (typeof v === 'string' || typeof v === 'boolean') return 'categorical';
  return 'other';
}

export function assessDataQuality(
  schema: InputSchema,
  rows: readonly Record<string, unknown>[],
  thresholds: DataQualityThresholds,
  reference?: ReferenceProfile,
): DataQualityReport {
  const report: DataQualityReport = { rows: rows.length, missingColumns: [], newColumns: [], typeChanges: [], columns: [], issues: [] };
  if (rows.length === 0) return report;
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

  const present = new Map<string, number>();
  for (const row of rows) for (const key of Object.keys(row)) present.set(key, (present.get(key) ?? 0) + 1);

  for (const [column, spec] of Object.entries(schema.columns)) {
    const kinds = rows.map((r) => valueKind(ownValue(r, column)));
    const missing = kinds.filter((k) => k === 'missing').length;
    if (missing === rows.length) {
      if (!spec.optional) {
        report.missingColumns.push(column);
        report.issues.push({ signal: 'schema_break', column, message: `column "${column}" is missing from all ${rows.length} rows` });
      }
      continue;
    }
    const refFeature = ownValue(reference?.features, column);
    const referenceMissingShare = refFeature && reference!.rows > 0 ? Math.max(0, 1 - refFeature.count / reference!.rows) : 0;
    const mismatched = kinds.filter((k) => k !== 'missing' && k !== spec.type);
    const seen = mismatched.length ? mostCommon(mismatched) : undefined;
    const q: ColumnQuality = {
      column,
      type: spec.type,
      missingShare: missing / rows.length,
      referenceMissingShare,
      typeMismatchShare: mismatched.length / rows.length,
      seenType: seen,
    };
    report.columns.push(q);

    if (q.typeMismatchShare > thresholds.maxTypeMismatchShare) {
      report.typeChanges.push(column);
      report.issues.push({
        signal: 'schema_break',
        column,
        message: `column "${column}" is declared ${spec.type} but ${pct(q.typeMismatchShare)} of values are ${seen}`,
        value: q.typeMismatchShare,
        threshold: thresholds.maxTypeMismatchShare,
      });
    }
    if (!spec.optional && q.missingShare - referenceMissingShare > thresholds.maxMissingShareIncrease) {
      report.issues.push({
        signal: 'missing_values',
        column,
        message: `column "${column}" is missing in ${pct(q.missingShare)} of rows (reference ${pct(referenceMissingShare)})`,
        value: q.missingShare,
        threshold: referenceMissingShare + thresholds.maxMissingShareIncrease,
      });
    }
    if (spec.type === 'numeric' && (spec.min !== undefined || spec.max !== undefined)) {
      const values = rows.map((r) => ownValue(r, column)).filter((v): v is number => valueKind(v) === 'numeric');
      const outside = values.filter((v) => (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)).length;
      q.outOfRangeShare = outside / rows.length;
      // A loop, not Math.min(...values): spreading a large window overflows the call stack.
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      q.observedMin = lo;
      q.observedMax = hi;
      if (q.outOfRangeShare > thresholds.maxOutOfRangeShare) {
        report.issues.push({
          signal: 'out_of_range',
          column,
          message: `${pct(q.outOfRangeShare)} of "${column}" values are outside [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}] (observed ${round(q.observedMin)}..${round(q.observedMax)})`,
          value: q.outOfRangeShare,
          threshold: thresholds.maxOutOfRangeShare,
        });
      }
    }
    if (spec.type === 'categorical' && spec.categories) {
      const known = new Set(spec.categories);
      const unseen = new Map<string, number>();
      for (const r of rows) {
        const v = ownValue(r, column);
        if (valueKind(v) !== 'categorical') continue;
        const key = String(v);
        if (!known.has(key)) unseen.set(key, (unseen.get(key) ?? 0) + 1);
      }
      const count = [...unseen.values()].reduce((a, b) => a + b, 0);
      q.unseenCategoryShare = count / rows.length;
      q.unseenCategories = [...unseen.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, 5)
        .map(([k]) => k);
      if (q.unseenCategoryShare > thresholds.maxUnseenCategoryShare) {
        report.issues.push({
          signal: 'unseen_category',
          column,
          message: `${pct(q.unseenCategoryShare)} of "${column}" values are categories the model never saw (${q.unseenCategories.map((c) => JSON.stringify(c)).join(', ')})`,
          value: q.unseenCategoryShare,
          threshold: thresholds.maxUnseenCategoryShare,
        });
      }
    }
  }

  if (!schema.allowExtraColumns) {
    report.newColumns = [...present.keys()].filter((k) => !(k in schema.columns)).sort();
    for (const column of report.newColumns) {
      report.issues.push({
        signal: 'schema_break',
        column,
        message: `undeclared column "${column}" appeared in ${pct(present.get(column)! / rows.length)} of rows`,
      });
    }
  }
  report.issues.sort((a, b) => SIGNAL_ORDER.indexOf(a.signal) - SIGNAL_ORDER.indexOf(b.signal));
  return report;
}

/** The signal that stands for the whole report (the most fundamental issue), if any. */
export function primaryQualitySignal(report: DataQualityReport): DataQualityIssue['signal'] | undefined {
  return report.issues[0]?.signal;
}

/** Flattens a report into incident evidence values. */
export function dataQualityAsEvidence(report: DataQualityReport): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  if (report.missingColumns.length) values.missing_columns = report.missingColumns.join(',');
  if (report.newColumns.length) values.new_columns = report.newColumns.join(',');
  if (report.typeChanges.length) values.type_changes = report.typeChanges.join(',');
  const worst = (pick: (c: ColumnQuality) => number | undefined) =>
    report.columns.reduce<{ column?: string; value: number }>((best, c) => ((pick(c) ?? 0) > best.value ? { column: c.column, value: pick(c)! } : best), {
      value: 0,
    });
  const missing = worst((c) => c.missingShare - c.referenceMissingShare);
  if (missing.column) {
    values.missing_share = round(report.columns.find((c) => c.column === missing.column)!.missingShare);
    values.missing_share_column = missing.column;
  }
  const range = worst((c) => c.outOfRangeShare);
  if (range.column) {
    values.out_of_range_share = round(range.value);
    values.out_of_range_column = range.column;
  }
  const unseen = worst((c) => c.unseenCategoryShare);
  if (unseen.column) {
    values.unseen_category_share = round(unseen.value);
    values.unseen_category_column = unseen.column;
    values.unseen_categories = report.columns.find((c) => c.column === unseen.column)!.unseenCategories!.join(',');
  }
  if (report.issues.length) values.data_quality_issues = report.issues.map((i) => i.message).join('; ');
  return values;
}

function mostCommon<T>(items: T[]): T {
  const counts = new Map<T, number>();
  for (const x of items) counts.set(x, (counts.get(x) ?? 0) + 1);
  // Callers pass a non-empty list.
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}
