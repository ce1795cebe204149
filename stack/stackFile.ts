/**
 * `vigil up` records where its local services listen in `<stateDir>/stack.json`, so the other CLI
 * commands find them without flags. Environment settings (DATABASE_URL, TEMPORAL_ADDRESS) win.
 *
 * The file holds no password: the database URL is stored without one, and says where the password is
 * (the embedded PostgreSQL's 0600 password file) or that it came from DATABASE_URL. The pid is stored
 * with the process's start time, so a pid reused by another program after a crash is not taken for a
 * running stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isSecretParamName } from '../adapters/net/redactUrl.js';
import { readSecretFile } from '../adapters/files/secretFile.js';
import { checkRecordedProcess, parseProcessIdentity, processIdentity, type ProcessIdentity } from '../adapters/process/processIdentity.js';

export interface StackFile {
  pid: number;
  /** `vigil up`'s own identity (start time, command line) when it wrote the file. */
  process?: ProcessIdentity;
  temporalAddress: string;
  namespace: string;
  uiUrl?: string;
  /** The database URL without its password. */
  databaseUrl: string;
  /** Where databaseUrl's password is: a file (mode 0600), or the DATABASE_URL `vigil up` was given. Absent: it has none. */
  databasePassword?: { file: string } | { environment: 'DATABASE_URL' };
  startedAt: string;
}

export const stackFilePath = (stateDir: string) => path.join(stateDir, 'stack.json');

/**
 * The running stack's file, or undefined when there is none or its `vigil up` is gone. A file whose
 * pid now belongs to another process is stale: reported through `log` and removed.
 */
export function readStackFile(stateDir: string, opts: { log?: (m: string) => void } = {}): StackFile | undefined {
  const file = stackFilePath(stateDir);
  let stack: StackFile;
  try {
    stack = JSON.parse(fs.readFileSync(file, 'utf8')) as StackFile;
  } catch {
    return undefined;
  }
  const recorded = parseProcessIdentity(stack.process);
  if (recorded && recorded.pid === stack.pid) {
    const now = checkRecordedProcess(recorded);
    if (now.state === 'same') return stack;
    if (now.state === 'other') {
      opts.log?.(`${file} is stale (${now.reason}): removed`);
      removeStackFile(stateDir);
    }
    return undefined;
  }
  // A file from before identities were recorded: a live pid has to do.
  try {
    process.kill(stack.pid, 0);
    return stack;
  } catch {
    return undefined;
  }
}

/** stack.json's contents for this process: `databaseUrl` may carry a password, which is left out. */
export function stackFileFor(stack: Omit<StackFile, 'pid' | 'process' | 'databasePassword'> & { databasePasswordFile?: string }): StackFile {
  const url = new URL(stack.databaseUrl);
  let hadPassword = url.password !== '';
  url.password = '';
  // A password may also ride in the query (`?password=…`, `sslpassword=…`).
  for (const name of [...url.searchParams.keys()]) {
    if (isSecretParamName(name)) {
      url.searchParams.delete(name);
      hadPassword = true;
    }
  }
  const { databasePasswordFile, ...rest } = stack;
  return {
    ...rest,
    pid: process.pid,
    process: processIdentity(process.pid),
    databaseUrl: url.toString(),
    databasePassword: databasePasswordFile ? { file: databasePasswordFile } : hadPassword ? { environment: 'DATABASE_URL' } : undefined,
  };
}

/** The stack's database URL with its password, read from its file; throws naming what is missing. */
export function stackDatabaseUrl(stack: StackFile): string {
  const where = stack.databasePassword;
  if (!where) return stack.databaseUrl;
  if ('environment' in where) {
    throw new Error(`the local stack uses the DATABASE_URL it was started with, whose password is not kept in stack.json: set DATABASE_URL`);
  }
  const password = readSecretFile(where.file, 'PostgreSQL password');
  if (password === undefined) throw new Error(`the local stack's database password file ${where.file} is missing`);
  const url = new URL(stack.databaseUrl);
  url.password = encodeURIComponent(password);
  return url.toString();
}

export function writeStackFile(stateDir: string, stack: StackFile): void {
  fs.writeFileSync(stackFilePath(stateDir), JSON.stringify(stack, null, 2), { mode: 0o600 });
}

export function removeStackFile(stateDir: string): void {
  fs.rmSync(stackFilePath(stateDir), { force: true });
}
