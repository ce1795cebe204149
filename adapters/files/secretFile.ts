/**
 * A secret kept in a file only its owner can read (mode 0600): generated on first use, the same one
 * read back afterwards. Used for the embedded PostgreSQL's passwords in the state folder. Messages name
 * the file, never the secret.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface SecretFile {
  secret: string;
  file: string;
  /** True when this call generated it. */
  created: boolean;
}

/** Reads the secret in `file`, creating the file (mode 0600, 32 random bytes, base64url) if it does not exist. */
export function readOrCreateSecretFile(file: string, what: string): SecretFile {
  const existing = readSecretFile(file, what);
  if (existing !== undefined) return { secret: existing, file, created: false };
  const secret = crypto.randomBytes(32).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // `wx`: if another process created it meanwhile, theirs wins and is read below.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot write the ${what} file ${file}: ${(err as Error).message}`);
    const raced = readSecretFile(file, what);
    if (raced === undefined) throw new Error(`cannot read the ${what} file ${file}`);
    return { secret: raced, file, created: false };
  }
}

/** The secret in `file`, or undefined when there is no such file. Refuses a file other users can read. */
export function readSecretFile(file: string, what: string): string | undefined {
  let text: string;
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new Error(`the ${what} file ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): \`chmod 600 ${file}\``);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((err as NodeJS.ErrnoException).code) throw new Error(`cannot read the ${what} file ${file}: ${(err as Error).message}`);
    throw err;
  }
  const secret = text.trim();
  // eslint-disable-next-line no-control-regex -- a secret with whitespace or control characters was not written by Vigil
  if (secret.length < 16 || /[\s\x00-\x1f\x7f]/.test(secret)) {
    throw new Error(`the ${what} file ${file} does not hold a usable secret (at least 16 characters, no whitespace)`);
  }
  return secret;
}
