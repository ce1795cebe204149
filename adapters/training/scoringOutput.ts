/**
 * A scoring job's predictions file (trainer protocol v2, docs/trainer-protocol.md), checked against the
 * model's task type: JSON lines, exactly one object per input row, in order —
 *
 *   binary      {"score": p}                                  p finite, in [0, 1]
 *   multiclass  {"label": c, "probabilities"?: {c: p, …}}     c a declared class; each p finite in [0, 1],
 *                                                             keys declared classes, summing to 1 (± 0.01)
 *   regression  {"value": x}                                  x finite
 *
 * Other fields are ignored. Anything else — a missing file, too few or too many lines, a line that is not
 * a JSON object, a missing or mistyped field, NaN or ±Infinity (which Python's json writes bare), a
 * score outside [0, 1], an undeclared class — is a ScoringOutputError naming the 1-based line and why,
 * e.g. `line 17: "score" is not a finite number (NaN)`.
 */
import { PROBABILITY_SUM_TOLERANCE } from '../../domain/ingest.js';
import type { TaskConfig } from '../../domain/task.js';
import { ScoringOutputError, type ScoredPrediction } from '../../ports/modelScorer.js';

/** Stands in for a bare NaN / Infinity token, so the message can say which field held it. */
const NON_FINITE = '\u0000non-finite:';

/** The predictions in `text` for `expectedRows` input rows, or a ScoringOutputError naming the first bad line. */
export function parseScoringOutput(text: string, task: TaskConfig, expectedRows: number): ScoredPrediction[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // the last line's line break
  if (lines.length < expectedRows) {
    throw new ScoringOutputError(
      `line ${lines.length + 1}: missing: ${lines.length} prediction line${lines.length === 1 ? '' : 's'} for ${expectedRows} input rows (one line per row, in order)`,
    );
  }
  if (lines.length > expectedRows) {
    throw new ScoringOutputError(
      `line ${expectedRows + 1}: more prediction lines (${lines.length}) than input rows (${expectedRows}); one line per row, in order`,
    );
  }
  const check = checkerFor(task);
  return lines.map((raw, i) => {
    const fail = (why: string) => new ScoringOutputError(`line ${i + 1}: ${why}`);
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') throw fail('blank; expected a JSON object (one line per input row)');
    const obj = parseLine(line);
    if (obj === undefined) throw fail(`not valid JSON: ${clip(line)}`);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw fail(`not a JSON object: ${clip(line)}`);
    const why = { message: '' };
    const out = check(obj as Record<string, unknown>, why);
    if (!out) throw fail(why.message);
    return out;
  });
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    // Python's json.dumps writes NaN and Infinity bare; say which field held one rather than "not JSON"
    // (the escaped \u0000 parses to NON_FINITE's first character).
    const salvaged = line.replace(/([:,[]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, (_m, before: string, token: string) => `${before}"\\u0000non-finite:${token}"`);
    if (salvaged === line) return undefined;
    try {
      return JSON.parse(salvaged);
    } catch {
      return undefined;
    }
  }
}

type Checker = (obj: Record<string, unknown>, why: { message: string }) => ScoredPrediction | undefined;

function checkerFor(task: TaskConfig): Checker {
  switch (task.type) {
    case 'binary':
      return (obj, why) => {
        const score = finite(obj, 'score', '{"score": p}', why);
        if (score === undefined) return undefined;
        if (score < 0 || score > 1) return reject(why, `"score" ${score} is outside [0, 1]`);
        return { score };
      };
    case 'regression':
      return (obj, why) => {
        const value = finite(obj, 'value', '{"value": x}', why);
        return value === undefined ? undefined : { value };
      };
    case 'multiclass': {
      const classes = new Map(task.classes.map((c) => [String(c), c]));
      const declared = task.classes.map((c) => JSON.stringify(c)).join(', ');
      return (obj, why) => {
        if (!Object.hasOwn(obj, 'label')) return reject(why, `"label" is missing (a multiclass prediction is {"label": c, "probabilities"?: {…}})`);
        const label = obj.label;
        if (typeof label !== 'string' && typeof label !== 'number') return reject(why, `"label" is not a string or number (got ${describe(label)})`);
        const canonical = classes.get(String(label));
        if (canonical === undefined) return reject(why, `"label" ${JSON.stringify(label)} is not a declared class (${declared})`);
        if (obj.probabilities === undefined) return { label: canonical };
        const p = obj.probabilities;
        if (p === null || typeof p !== 'object' || Array.isArray(p))
          return reject(why, `"probabilities" is not an object of class → probability (got ${describe(p)})`);
        const probabilities: Record<string, number> = {};
        let sum = 0;
        for (const [key, v] of Object.entries(p as Record<string, unknown>)) {
          if (!classes.has(key)) return reject(why, `"probabilities" names ${JSON.stringify(key)}, not a declared class (${declared})`);
          if (typeof v !== 'number' || !Number.isFinite(v))
            return reject(why, `"probabilities"[${JSON.stringify(key)}] is not a finite number (${nonFiniteOrType(v)})`);
          if (v < 0 || v > 1) return reject(why, `"probabilities"[${JSON.stringify(key)}] ${v} is outside [0, 1]`);
          probabilities[key] = v;
          sum += v;
        }
        if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
          return reject(why, `"probabilities" sum to ${Math.round(sum * 1e6) / 1e6}, not 1 (± ${PROBABILITY_SUM_TOLERANCE})`);
        }
        return { label: canonical, probabilities };
      };
    }
  }
}

function finite(obj: Record<string, unknown>, field: string, shape: string, why: { message: string }): number | undefined {
  if (!Object.hasOwn(obj, field)) return reject(why, `"${field}" is missing (a prediction of this model is ${shape})`);
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) return reject(why, `"${field}" is not a finite number (${nonFiniteOrType(v)})`);
  return v;
}

function reject(why: { message: string }, message: string): undefined {
  why.message = message;
  return undefined;
}

function nonFiniteOrType(v: unknown): string {
  if (typeof v === 'string' && v.startsWith(NON_FINITE)) return v.slice(NON_FINITE.length);
  if (typeof v === 'number') return String(v); // ±Infinity from an overflowing literal (1e999)
  return `got ${describe(v)}`;
}

function describe(v: unknown): string {
  if (typeof v === 'string' && v.startsWith(NON_FINITE)) return v.slice(NON_FINITE.length);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${clip(JSON.stringify(v), 40)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
