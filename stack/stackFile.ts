/**
 * `vigil up` records where its local services listen in `<stateDir>/stack.json`, so the other CLI
 * commands find them without flags. Environment settings (DATABASE_URL, TEMPORAL_ADDRESS) win.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface StackFile {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl?: string;
  /** The embedded database's local URL (its password is a local default, not a secret). */
  databaseUrl: string;
  startedAt: string;
}

export const stackFilePath = (stateDir: string) => path.join(stateDir, 'stack.json');

export function readStackFile(stateDir: string): StackFile | undefined {
  try {
    const stack = JSON.parse(fs.readFileSync(stackFilePath(stateDir), 'utf8')) as StackFile;
    process.kill(stack.pid, 0); // still running?
    return stack;
  } catch {
    return undefined;
  }
}

export function writeStackFile(stateDir: string, stack: StackFile): void {
  fs.writeFileSync(stackFilePath(stateDir), JSON.stringify(stack, null, 2), { mode: 0o600 });
}

export function removeStackFile(stateDir: string): void {
  fs.rmSync(stackFilePath(stateDir), { force: true });
}
