/**
 * The runbooks a worker knows: Vigil's own and, when `runbooks.path` is configured, the team's files the
 * worker bundled (registered by the bundle's entry module, before any workflow runs).
 */
import type { Runbook } from './defineRunbook.js';
import { standardRunbook } from './standardRunbook.js';

const runbooks = new Map<string, { runbook: Runbook; file?: string }>([[standardRunbook.name, { runbook: standardRunbook as unknown as Runbook }]]);

/** Called once by a bundle that includes a team's runbooks folder. A name used twice is refused. */
export function registerRunbooks(entries: { file: string; runbook: Runbook }[]): void {
  for (const e of entries) {
    const taken = runbooks.get(e.runbook.name);
    if (taken && taken.file !== e.file)
      throw new Error(`runbook "${e.runbook.name}" in ${e.file} is already defined${taken.file ? ` in ${taken.file}` : ' by Vigil'}`);
    runbooks.set(e.runbook.name, e);
  }
}

export function findRunbook(name: string): Runbook | undefined {
  return runbooks.get(name)?.runbook;
}
