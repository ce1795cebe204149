/**
 * A child process's output made fit for a message that people read (the incident, Slack, the review,
 * the Temporal UI): terminal escapes and control characters removed, the values of the worker's secret
 * environment variables and the credentials in URLs masked, and the length bounded. Every place where a
 * trainer's or scorer's output becomes a message goes through here: that output is team code's, and may
 * echo what it was given.
 */
import { redactUrlsInText } from '../net/redactUrl.js';

/** Names of environment variables whose values are secrets. */
export const SECRET_ENV_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL|DATABASE_URL/i;
/** Shorter values are not masked: they would mask ordinary words and numbers. */
export const MIN_SECRET_LENGTH = 6;
/** The default bound of a message, in characters. */
export const MAX_OUTPUT_MESSAGE_CHARS = 500;

export interface ProcessOutputMessageOptions {
  /** At most this many characters (default 500); longer text is cut, with `…` where it was cut. */
  maxChars?: number;
  /** Which end to keep when cutting: `start` (default) or `end` (a log's tail, where the error is). */
  keep?: 'start' | 'end';
  /** Collapse every run of white space, newlines included, into one space. */
  oneLine?: boolean;
  /** Whose secret values to mask (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
}

/** ESC-introduced sequences: CSI (colours, cursor moves), OSC (titles, links), and two-byte escapes; C1 CSI too. */
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]/g;
/** C0 and C1 controls other than tab and newline (carriage returns are handled before). */
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** The values of `env`'s variables whose names look secret, longest first (so no part of one is left). */
export function secretEnvValues(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH && SECRET_ENV_NAME.test(name)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

export function processOutputMessage(text: string, opts: ProcessOutputMessageOptions = {}): string {
  const maxChars = opts.maxChars ?? MAX_OUTPUT_MESSAGE_CHARS;
  let out = text
    .replace(ANSI, '')
    // A carriage return alone redraws the line (progress bars): what follows it is a new line.
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROL, '');
  for (const secret of secretEnvValues(opts.env)) out = out.split(secret).join('***');
  out = redactUrlsInText(out);
  out = opts.oneLine ? out.replace(/\s+/g, ' ').trim() : out.trim();
  if (out.length <= maxChars) return out;
  return opts.keep === 'end' ? `…${out.slice(out.length - (maxChars - 1))}` : `${out.slice(0, maxChars - 1)}…`;
}
