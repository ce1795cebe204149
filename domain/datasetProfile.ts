/**
 * The reference profile Vigil computes from a model's reference data (its training rows), never read
 * from the model's artifact: per numeric feature the PSI reference of domain/drift/psi.ts (decile edges
 * and shares, mean, std, min, max) and its missing share; per categorical feature the share of each of
 * its top categories and an "other" bucket; and the same for the prediction and label columns.
 */
import type { InputSchema } from './dataQuality.js';
import { buildFeatureReference, psi, psiFromShares, type FeatureReference, type ReferenceProfile } from './drift/psi.js';
import { ownValue } from './ownValue.js';

/** Categories kept by name; the rest share one "other" bucket. */
export const MAX_PROFILE_CATEGORIES = 50;

export interface NumericColumnProfile extends FeatureReference {
  type: 'numeric';
  /** Share of rows without a finite value. */
  missingShare: number;
}

export interface CategoricalColumnProfile {
  type: 'categorical';
  /** Share of the non-missing values per category, the most frequent MAX_PROFILE_CATEGORIES of them. */
  shares: Record<string, number>;
  /** Share of the non-missing values in categories beyond those. */
  otherShare: number;
  /** Distinct categories seen. */
  distinct: number;
  /** Non-missing values. */
  count: number;
  missingShare: number;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile;

export interface DatasetProfile {
  profileVersion: 1;
  rows: number;
  features: Record<string, ColumnProfile>;
  prediction?: ColumnProfile;
  label?: ColumnProfile;
}

/** A column's raw values: numbers, strings, or missing (null, undefined, '', NaN). */
export type ColumnValues = readonly (string | number | boolean | null | undefined)[];

export class ProfileError extends Error {}

const isMissing = (v: unknown) => v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v));

/** Profiles one column as numeric or categorical. */
export function profileColumn(values: ColumnValues, type: 'numeric' | 'categorical', name = 'column'): ColumnProfile {
  const rows = values.length;
  if (type === 'numeric') {
    const numbers = new Float64Array(rows);
    let finite = 0;
    for (let i = 0; i < rows; i++) {
      const v = values[i];
      const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      if (typeof v === 'string' && v.trim() !== '' && !Number.isFinite(x)) throw new ProfileError(`${name}: "${v}" (row ${i + 1}) is not a number`);
      numbers[i] = x;
      if (Number.isFinite(x)) finite++;
    }
    if (finite === 0) throw new ProfileError(`${name}: no numeric values to profile`);
    return { type: 'numeric', ...buildFeatureReference(numbers), missingShare: 1 - finite / rows };
  }
  const counts = new Map<string, number>();
  let count = 0;
  for (const v of values) {
    if (isMissing(v)) continue;
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    count++;
  }
  if (count === 0) throw new ProfileError(`${name}: no values to profile`);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = ranked.slice(0, MAX_PROFILE_CATEGORIES);
  const keptCount = kept.reduce((n, [, c]) => n + c, 0);
  return {
    type: 'categorical',
    shares: Object.fromEntries(kept.map(([k, c]) => [k, c / count])),
    otherShare: (count - keptCount) / count,
    distinct: counts.size,
    count,
    missingShare: 1 - count / rows,
  };
}

export interface ProfileColumns {
  /** Feature name → its values and type. */
  features: Record<string, { values: ColumnValues; type: 'numeric' | 'categorical' }>;
  prediction?: { values: ColumnValues; type: 'numeric' | 'categorical' };
  label?: { values: ColumnValues; type: 'numeric' | 'categorical' };
}

export function computeDatasetProfile(columns: ProfileColumns): DatasetProfile {
  const names = Object.keys(columns.features);
  if (names.length === 0) throw new ProfileError('the reference data has no feature columns');
  const rows = columns.features[names[0]!]!.values.length;
  if (rows === 0) throw new ProfileError('the reference data has no rows');
  const features: Record<string, ColumnProfile> = {};
  for (const name of names) {
    const c = columns.features[name]!;
    features[name] = profileColumn(c.values, c.type, name);
  }
  return {
    profileVersion: 1,
    rows,
    features,
    ...(columns.prediction ? { prediction: profileColumn(columns.prediction.values, columns.prediction.type, 'prediction') } : {}),
    ...(columns.label ? { label: profileColumn(columns.label.values, columns.label.type, 'label') } : {}),
  };
}

/** The numeric features' PSI reference, as the drift and data-quality monitors read it. */
export function psiReference(profile: DatasetProfile): ReferenceProfile {
  const features: Record<string, FeatureReference> = {};
  for (const [name, p] of Object.entries(profile.features)) {
    if (p.type !== 'numeric') continue;
    const { type: _type, missingShare: _missing, ...reference } = p;
    features[name] = reference;
  }
  return { rows: profile.rows, features };
}

/** A short human summary of a profile, for `vigil model show`. */
export function summarizeProfile(profile: DatasetProfile): string[] {
  const lines = [`${profile.rows} reference rows, ${Object.keys(profile.features).length} features`];
  for (const [name, p] of Object.entries(profile.features)) lines.push(`  ${name}: ${describeColumn(p)}`);
  if (profile.prediction) lines.push(`  prediction: ${describeColumn(profile.prediction)}`);
  if (profile.label) lines.push(`  label: ${describeColumn(profile.label)}`);
  return lines;
}

function describeColumn(p: ColumnProfile): string {
  const missing = p.missingShare > 0 ? `, ${(p.missingShare * 100).toFixed(1)}% missing` : '';
  if (p.type === 'numeric') return `numeric, mean ${round(p.mean)}, std ${round(p.std)}, range [${round(p.min)}, ${round(p.max)}]${missing}`;
  const top = Object.entries(p.shares)
    .slice(0, 3)
    .map(([k, s]) => `${k} ${(s * 100).toFixed(0)}%`)
    .join(', ');
  return `categorical, ${p.distinct} categories (${top}${p.distinct > 3 ? ', …' : ''})${missing}`;
}

const round = (v: number) => Number(v.toPrecision(4));

/**
 * PSI of a categorical column against its profile: the profiled categories plus one bucket for the
 * rest (categories beyond the profiled ones, and new ones), shares floored like the numeric PSI's.
 * NaN when `values` hold no category.
 */
export function categoricalPsi(reference: CategoricalColumnProfile, values: readonly unknown[]): number {
  const known = Object.keys(reference.shares);
  const index = new Map(known.map((k, i) => [k, i]));
  const counts = new Float64Array(known.length + 1);
  let n = 0;
  for (const v of values) {
    if (isMissing(v)) continue;
    counts[index.get(String(v)) ?? known.length]!++;
    n++;
  }
  if (n === 0) return Number.NaN;
  const current = Array.from(counts, (c) => c / n);
  return psiFromShares([...known.map((k) => reference.shares[k]!), reference.otherShare], current);
}

/** PSI per profiled feature of `rows`: numeric ones by deciles, categorical ones by category shares. */
export function psiByProfiledFeature(profile: DatasetProfile, rows: readonly Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of Object.entries(profile.features)) {
    if (p.type !== 'categorical') continue;
    out[name] = categoricalPsi(
      p,
      rows.map((r) => ownValue(r, name)),
    );
  }
  return out;
}

/** PSI of any profiled column (a feature, the predictions, the labels): by deciles or by category shares. NaN without values. */
export function columnPsi(reference: ColumnProfile, values: readonly unknown[]): number {
  if (reference.type === 'categorical') return categoricalPsi(reference, values);
  const numbers = Float64Array.from(values, (v) => (typeof v === 'number' ? v : Number.NaN));
  return numbers.some(Number.isFinite) ? psi(reference, numbers) : Number.NaN;
}

/**
 * The input schema assumed for a profiled model without a declared one: each reference feature with
 * the type it had, optional where the reference already had missing values; other columns allowed.
 */
export function schemaFromProfile(profile: DatasetProfile): InputSchema {
  return {
    columns: Object.fromEntries(Object.entries(profile.features).map(([name, p]) => [name, { type: p.type, optional: p.missingShare > 0 }])),
    allowExtraColumns: true,
  };
}
