/**
 * Vigil's worker: the lifecycle, retrain and monitor workflows plus every activity, on one task
 * queue. Scale out by running more of these (`npm run worker` in production).
 */
import { Worker, type NativeConnection, type WorkerInterceptors } from '@temporalio/worker';
import { createActivities } from '../activities/createActivities.js';
import type { ActivityDeps } from '../activities/activityDeps.js';
import { workflowBundle } from './workflowBundle.js';

export interface VigilWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Identity shown in the Temporal UI's worker list. */
  identity?: string;
  /** A team's runbook files (config `runbooks.path`, loaded by adapters/runbooks/runbookFolder.ts), bundled with the workflows. */
  runbookFiles?: readonly string[];
  /** Worker interceptors (the crash tests kill the process after an activity's side effect). */
  interceptors?: WorkerInterceptors;
}

export async function createVigilWorker(opts: VigilWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle(opts.runbookFiles),
    activities: createActivities(opts.deps),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
    // Long-lived training watches must not starve short activities.
    maxConcurrentActivityTaskExecutions: 50,
    // The worker's memory stays bounded with many open incidents awaiting approval.
    maxCachedWorkflows: 500,
  });
}
