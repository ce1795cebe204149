/**
 * The production worker (`vigil worker`: config from VIGIL_CONFIG, TEMPORAL_ADDRESS, DATABASE_URL, Slack
 * from SLACK_*), run by the chaos harness as its own process so it can be killed.
 *
 * With VIGIL_CHAOS_CRASH_LEDGER set, the worker SIGKILLs itself right after an activity (regular or
 * local) has done its work and before Temporal hears the result — once per activity type: the types it
 * already died after are lines of that file, which outlives each process. VIGIL_CHAOS_CRASH_ONLY (comma
 * separated) limits it to those types. The next worker must find the work done, not do it again.
 */
import fs from 'node:fs';
import { killAfterActivity } from '../test/support/killAfterActivity.js';
import { runWorker } from '../workers/main.js';

const ledger = process.env.VIGIL_CHAOS_CRASH_LEDGER;
const only = process.env.VIGIL_CHAOS_CRASH_ONLY ? new Set(process.env.VIGIL_CHAOS_CRASH_ONLY.split(',')) : undefined;

function crashedAfter(): Set<string> {
  try {
    return new Set(fs.readFileSync(ledger!, 'utf8').split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

const interceptors = ledger
  ? killAfterActivity((info) => {
      const type = info.activityType;
      if ((only && !only.has(type)) || crashedAfter().has(type)) return undefined;
      fs.appendFileSync(ledger, `${type}\n`);
      return `[chaos] SIGKILL after ${type} (${info.workflowExecution?.workflowId})`;
    })
  : undefined;

await runWorker({ ...(interceptors ? { interceptors } : {}) });
