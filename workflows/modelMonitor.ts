/**
 * A model's monitor: every interval, compute drift and performance signals and open (or feed) an
 * incident when one breaches. Continues-as-new to keep its history short.
 */
import type { Duration } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import type { VigilActivities } from '../activities/createActivities.js';

export interface ModelMonitorInput {
  modelId: string;
  every: string;
  /** Runs before continue-as-new. */
  runsPerHistory?: number;
}

const act = wf.proxyActivities<VigilActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

export async function modelMonitor(input: ModelMonitorInput): Promise<void> {
  const runs = input.runsPerHistory ?? 50;
  for (let i = 0; i < runs; i++) {
    await wf.sleep(input.every as Duration);
    try {
      await act.runMonitor.executeWithOptions({ summary: `Monitor ${input.modelId}` }, [{ modelId: input.modelId }]);
    } catch (err) {
      wf.log.warn('monitor run failed; next run continues', { modelId: input.modelId, error: String(err) });
    }
  }
  await wf.continueAsNew<typeof modelMonitor>(input);
}
