/**
 * Vigil's worker: the lifecycle, retrain and monitor workflows plus every activity, on the shared task
 * queue, and the same activities on this host's own queue (workers/hostTaskQueue.ts) for the steps that
 * need this host's files. Scale out by running more of these (`vigil worker` in production).
 */
import { Worker, type NativeConnection, type WorkerInterceptors } from '@temporalio/worker';
import { createActivities } from '../activities/createActivities.js';
import type { ActivityDeps } from '../activities/activityDeps.js';
import { hostTaskQueue } from './hostTaskQueue.js';
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

/** The two Temporal workers as one: run, shut down and report state together. */
export interface VigilWorker {
  /** Resolves when both have stopped; rejects (after stopping the other) when one fails. */
  run(): Promise<void>;
  shutdown(): void;
  getState(): ReturnType<Worker['getState']>;
}

export async function createVigilWorker(opts: VigilWorkerOptions): Promise<VigilWorker> {
  const hostQueue = hostTaskQueue(opts.taskQueue, opts.deps.stateDir);
  const activities = createActivities(opts.deps, { hostQueue });
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.interceptors ? { interceptors: opts.interceptors } : {}),
    // Long-lived training watches must not starve short activities.
    maxConcurrentActivityTaskExecutions: 50,
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle(opts.runbookFiles),
    // The worker's memory stays bounded with many open incidents awaiting approval.
    maxCachedWorkflows: 500,
  });
  const host = await Worker.create({ ...common, taskQueue: hostQueue });
  const workers = [shared, host];
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    async run() {
      const runs = workers.map((w) =>
        w.run().catch((err: unknown) => {
          shutdown();
          throw err;
        }),
      );
      const results = await Promise.allSettled(runs);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
    getState: () => shared.getState(),
  };
}
