/**
 * Request bodies as JSON or NDJSON, with syntax errors located by line and column. Node 20's
 * JSON.parse does not always say where it failed ("Unexpected token '}', … is not valid JSON"), so
 * on failure (only then) a small scanner finds the offset of the first error.
 */

export interface JsonSyntaxError {
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError };

export function parseJson(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const offset = jsonErrorOffset(text);
    const { line, column } = lineAndColumn(text, offset);
    return { ok: false, error: { line, column, message: describeAt(text, offset, (err as Error).message) } };
  }
}

export interface NdjsonRows {
  rows: unknown[];
  /** lines[i]: the 1-based line of rows[i]. */
  lines: number[];
  /** Every line that is not valid JSON (blank lines are skipped, not errors). */
  errors: { row: number; line: number; column: number; message: string }[];
  /** True when there were more than `maxRows` rows; counting stopped there. */
  tooMany: boolean;
}

/** One JSON value per line; blank lines (and a final newline, and \r\n endings) are fine. */
export function parseNdjson(text: string, maxRows: number): NdjsonRows {
  const out: NdjsonRows = { rows: [], lines: [], errors: [], tooMany: false };
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() === '') continue;
    const row = out.rows.length;
    if (row >= maxRows) {
      out.tooMany = true;
      break;
    }
    const parsed = parseJson(raw);
    out.rows.push(parsed.ok ? parsed.value : undefined);
    out.lines.push(line);
    if (!parsed.ok) out.errors.push({ row, line, column: parsed.error.column, message: parsed.error.message });
  }
  return out;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** "unexpected '}'" / "unexpected end of input", from the offset the scanner found. */
function describeAt(text: string, offset: number, fallback: string): string {
  if (offset >= text.length) return 'unexpected end of input';
  if (offset < 0) return fallback;
  const ch = text[offset]!;
  const code = ch.charCodeAt(0);
  if (code < 0x20) return `unexpected control character U+${code.toString(16).padStart(4, '0')}`;
  if (ch === '\\') return 'invalid escape in a string';
  return `unexpected ${JSON.stringify(ch)}`;
}

const WS = new Set([' ', '\t', '\n', '\r']);

/**
 * The offset of the first syntax error in `text` (text.length for a premature end). Only called on text
 * JSON.parse refused; iterative, so deep nesting cannot overflow the stack.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n && WS.has(text[i]!)) i++;
  };
  // What the parser expects next; containers on a stack.
  const stack: ('obj' | 'arr')[] = [];
  type State = 'value' | 'afterValue' | 'key' | 'firstKey' | 'firstValue';
  let state: State = 'value';
  for (;;) {
    skip();
    if (state === 'value' || state === 'firstValue') {
      if (i >= n) return n;
      const c = text[i]!;
      if (state === 'firstValue' && c === ']') {
        stack.pop();
        i++;
        state = 'afterValue';
        continue;
      }
      if (c === '{') {
        stack.push('obj');
        i++;
        state = 'firstKey';
        continue;
      }
      if (c === '[') {
        stack.push('arr');
        i++;
        state = 'firstValue';
        continue;
      }
      const end = c === '"' ? scanString(text, i) : scanLiteral(text, i);
      if (end < 0) return -end - 1;
      i = end;
      state = 'afterValue';
      continue;
    }
    if (state === 'key' || state === 'firstKey') {
      if (i >= n) return n;
      if (state === 'firstKey' && text[i] === '}') {
        stack.pop();
        i++;
        state = 'afterValue';
        continue;
      }
      if (text[i] !== '"') return i;
      const end = scanString(text, i);
      if (end < 0) return -end - 1;
      i = end;
      skip();
      if (i >= n) return n;
      if (text[i] !== ':') return i;
      i++;
      state = 'value';
      continue;
    }
    // afterValue
    const top = stack[stack.length - 1];
    if (top === undefined) {
      return i < n ? i : n; // trailing content after a complete value (or, oddly, none: report the end)
    }
    if (i >= n) return n;
    const c = text[i]!;
    if (c === ',') {
      i++;
      state = top === 'obj' ? 'key' : 'value';
      continue;
    }
    if ((c === '}' && top === 'obj') || (c === ']' && top === 'arr')) {
      stack.pop();
      i++;
      continue;
    }
    return i;
  }
}

/** The offset after the string starting at `start`, or -(offset of the error)-1. */
function scanString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -i - 1;
    if (c === 0x5c) {
      const e = text[i + 1];
      if (e === undefined) return -text.length - 1;
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -i - 1;
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return -i - 1;
      i += 2;
      continue;
    }
    i++;
  }
  return -text.length - 1;
}

const LITERAL = /(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/y;

/** The offset after a number or true/false/null at `start`, or -(offset of the error)-1. */
function scanLiteral(text: string, start: number): number {
  LITERAL.lastIndex = start;
  const m = LITERAL.exec(text);
  if (!m) return -start - 1;
  const end = start + m[0].length;
  // "12abc", "truex": the literal ran into something that cannot follow a value.
  if (end < text.length && !/[\s,\]}]/.test(text[end]!)) return -end - 1;
  return end;
}
