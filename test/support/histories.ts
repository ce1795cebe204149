/**
 * Recorded workflow histories for replay tests. `VIGIL_RECORD_HISTORIES=1 npm test` rewrites them
 * under test/histories/; commit them when a workflow change is intentional.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VigilTestEnv } from './vigilTestEnv.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

export async function saveHistoryIfRecording(env: VigilTestEnv, workflowId: string, name: string): Promise<void> {
  if (process.env.VIGIL_RECORD_HISTORIES !== '1') return;
  const history = await env.services.temporal.workflow.getHandle(workflowId).fetchHistory();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  // The same JSON form the Temporal CLI and UI export.
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
