/**
 * The bearer token Alertmanager must present to the alert receiver: VIGIL_ALERT_TOKEN, else the
 * state folder's `alert-token` file, generated on first use (mode 0600). Callers report where the
 * token lives, never the token itself.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../../domain/errors.js';

export const ALERT_TOKEN_ENV = 'VIGIL_ALERT_TOKEN';
export const ALERT_TOKEN_FILE = 'alert-token';
const MIN_LENGTH = 16;

export interface AlertToken {
  token: string;
  /** Where it came from, safe to log: `VIGIL_ALERT_TOKEN` or the file's path. */
  source: string;
  /** The file, when the token lives in one. */
  file?: string;
  /** True when this call generated the file. */
  created: boolean;
}

export function resolveAlertToken(opts: { stateDir: string; env?: NodeJS.ProcessEnv }): AlertToken {
  const env = opts.env ?? process.env;
  const fromEnv = env[ALERT_TOKEN_ENV];
  if (fromEnv !== undefined) {
    checkToken(fromEnv, ALERT_TOKEN_ENV);
    return { token: fromEnv, source: ALERT_TOKEN_ENV, created: false };
  }

  const file = path.join(opts.stateDir, ALERT_TOKEN_FILE);
  const existing = readTokenFile(file);
  if (existing !== undefined) return { token: existing, source: file, file, created: false };

  const token = crypto.randomBytes(32).toString('base64url');
  fs.mkdirSync(opts.stateDir, { recursive: true });
  try {
    // `wx`: if another process created it meanwhile, theirs wins and is read below.
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, source: file, file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new UserInputError(`cannot write the alert token file ${file}: ${(err as Error).message}`);
    }
    const raced = readTokenFile(file);
    if (raced === undefined) throw new UserInputError(`cannot read the alert token file ${file}`);
    return { token: raced, source: file, file, created: false };
  }
}

function readTokenFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserInputError(`cannot read the alert token file ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  checkToken(token, `the alert token file ${file}`);
  return token;
}

/** The token is never part of the message, only its length. */
function checkToken(token: string, where: string): void {
  if (token.length < MIN_LENGTH) {
    throw new UserInputError(`${where}: the alert token must be at least ${MIN_LENGTH} characters (it has ${token.length})`);
  }
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\s\x00-\x1f\x7f]/.test(token)) {
    throw new UserInputError(`${where}: the alert token must not contain whitespace or control characters`);
  }
}
