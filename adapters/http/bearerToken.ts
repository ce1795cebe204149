/**
 * Bearer tokens for Vigil's HTTP routes (Alertmanager webhooks, prediction and label ingestion): each
 * comes from its environment variable, else from a file in the state folder, generated on first use
 * (mode 0600). Callers report where a token lives, never the token itself. Requests are checked by
 * comparing SHA-256 digests in constant time (equal lengths, so the token's length does not leak either).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UserInputError } from '../../domain/errors.js';

const MIN_LENGTH = 16;

/** Which token: its variable, its file name in the state folder, and what messages call it. */
export interface BearerTokenSpec {
  /** e.g. VIGIL_ALERT_TOKEN */
  env: string;
  /** e.g. alert-token */
  file: string;
  /** e.g. "alert token" */
  what: string;
}

export interface ResolvedToken {
  token: string;
  /** Where it came from, safe to log: the variable's name or the file's path. */
  source: string;
  /** The file, when the token lives in one. */
  file?: string;
  /** True when this call generated the file. */
  created: boolean;
}

export function resolveBearerToken(spec: BearerTokenSpec, opts: { stateDir: string; env?: NodeJS.ProcessEnv }): ResolvedToken {
  const env = opts.env ?? process.env;
  const fromEnv = env[spec.env];
  if (fromEnv !== undefined) {
    checkToken(spec, fromEnv, spec.env);
    return { token: fromEnv, source: spec.env, created: false };
  }

  const file = path.join(opts.stateDir, spec.file);
  const existing = readTokenFile(spec, file);
  if (existing !== undefined) return { token: existing, source: file, file, created: false };

  const token = crypto.randomBytes(32).toString('base64url');
  fs.mkdirSync(opts.stateDir, { recursive: true });
  try {
    // `wx`: if another process created it meanwhile, theirs wins and is read below.
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, source: file, file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new UserInputError(`cannot write the ${spec.what} file ${file}: ${(err as Error).message}`);
    }
    const raced = readTokenFile(spec, file);
    if (raced === undefined) throw new UserInputError(`cannot read the ${spec.what} file ${file}`);
    return { token: raced, source: file, file, created: false };
  }
}

function readTokenFile(spec: BearerTokenSpec, file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserInputError(`cannot read the ${spec.what} file ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  checkToken(spec, token, `the ${spec.what} file ${file}`);
  return token;
}

/** The token is never part of the message, only its length. */
function checkToken(spec: BearerTokenSpec, token: string, where: string): void {
  if (token.length < MIN_LENGTH) {
    throw new UserInputError(`${where}: the ${spec.what} must be at least ${MIN_LENGTH} characters (it has ${token.length})`);
  }
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\s\x00-\x1f\x7f]/.test(token)) {
    throw new UserInputError(`${where}: the ${spec.what} must not contain whitespace or control characters`);
  }
}

/**
 * A Fastify `onRequest` hook that lets through only `Authorization: Bearer <token>`; anything else is
 * a 401 with `WWW-Authenticate: Bearer` and a JSON error saying what was wrong (never the token).
 */
export function bearerAuth(opts: { token: string; what: string; log: (message: string) => void }) {
  if (!opts.token) throw new Error(`the ${opts.what} needs a bearer token`);
  const expected = sha256(opts.token);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
    // Compare digests: equal length, constant time, and the token's length is not leaked either.
    if (match && crypto.timingSafeEqual(sha256(match[1]!), expected)) return;
    const error = !header
      ? 'missing Authorization header: expected "Authorization: Bearer <token>"'
      : !match
        ? 'malformed Authorization header: expected "Authorization: Bearer <token>"'
        : 'invalid bearer token';
    opts.log(`${opts.what}: 401 from ${req.ip}: ${error}`);
    return reply.code(401).header('WWW-Authenticate', 'Bearer realm="vigil"').send({ error });
  };
}

function sha256(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest();
}
