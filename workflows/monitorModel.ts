/**
 * One monitor run for one model: compute its signals once and open (or feed) an incident when one
 * breaches. A Temporal Schedule starts one of these every `monitor.every` (`vigil monitor enable`);
 * `vigil monitor run` starts one directly. One execution per run keeps each history tiny and lets the
 * schedule show each run's status.
 */
import * as wf from '@temporalio/workflow';
import type { VigilActivities } from '../contracts/activities.js';
import type { MonitorModelInput, MonitorOutcome } from '../contracts/monitorWorkflow.js';

const act = wf.proxyActivities<VigilActivities>({
  startToCloseTimeout: '1 minute',
  // The next scheduled run tries again: a few quick tries are enough.
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

export async function monitorModel(input: MonitorModelInput): Promise<MonitorOutcome> {
  return act.runMonitor.executeWithOptions({ summary: `Monitor ${input.modelId}` }, [{ modelId: input.modelId }]);
}
