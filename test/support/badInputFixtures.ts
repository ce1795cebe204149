/**
 * The bad-input corpus's cases: one JSON file per case under test/fixtures/bad-input/<edge>/, each
 * `{ "description", …what is sent, "expect" }`. Large or repetitive inputs are written as macros, expanded
 * here, so each file stays readable:
 *
 *   {"$text": 5000, "char": "x"}                        a string of 5000 "x"
 *   {"$repeat": 501, "of": X}                           an array of 501 copies of X
 *   {"$object": 65, "key": "label_{i}", "value": V,     an object of 65 keys (and the keys of "with")
 *    "with": {...}}
 *   {"$<template>": {overrides, "$omit": ["field"]}}    the edge's template (a valid alert, prediction,
 *                                                       Slack payload…) with fields replaced or left out
 *
 * Keys such as "__proto__" stay own keys all the way to the request body, as a client's JSON would have them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BAD_INPUT_DIR = fileURLToPath(new URL('../fixtures/bad-input/', import.meta.url));

export interface BadInputCase {
  /** The fixture's file name, without `.json`. */
  name: string;
  description: string;
  [field: string]: unknown;
}

/** A template: the valid value, fresh on each call. */
export type Templates = Record<string, () => Record<string, unknown>>;

export function loadBadInputCases(edge: string): BadInputCase[] {
  const dir = path.join(BAD_INPUT_DIR, edge);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
      if (typeof raw.description !== 'string') throw new Error(`${edge}/${f}: no "description"`);
      return { ...raw, name: f.replace(/\.json$/, ''), description: raw.description };
    });
}

/** The value with its macros and templates expanded. */
export function expandFixture(value: unknown, templates: Templates = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => expandFixture(v, templates));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const expand = (v: unknown) => expandFixture(v, templates);
  if (Object.hasOwn(obj, '$text')) return String(obj.char ?? 'x').repeat(Number(obj.$text));
  if (Object.hasOwn(obj, '$repeat')) return Array.from({ length: Number(obj.$repeat) }, () => expand(obj.of));
  if (Object.hasOwn(obj, '$object')) {
    const key = String(expand(obj.key));
    const entries = Array.from({ length: Number(obj.$object) }, (_, i) => [key.replaceAll('{i}', String(i)), expand(obj.value)]);
    return { ...(expand(obj.with ?? {}) as object), ...Object.fromEntries(entries) };
  }
  const template = Object.keys(obj).find((k) => k.startsWith('$') && Object.hasOwn(templates, k));
  if (template !== undefined) {
    const { $omit, ...overrides } = (expand(obj[template]) ?? {}) as Record<string, unknown>;
    // Spread copies "__proto__" as an own key (CreateDataProperty), as JSON.parse made it.
    const out: Record<string, unknown> = { ...templates[template]!(), ...overrides };
    for (const field of ($omit as string[] | undefined) ?? []) delete out[field];
    return out;
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, expand(v)]));
}

/** Asserts that `text` names each of `mentions` (fields, rows, indexes), saying which one it does not. */
export function missingMentions(text: string, mentions: readonly string[]): string[] {
  return mentions.filter((m) => !text.includes(m));
}
