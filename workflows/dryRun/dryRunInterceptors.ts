/**
 * The dry run's clock, as workflow interceptors (bundled only into the dry run's worker): time passes
 * only when the dry run says so, the way Temporal's time-skipping test server skips it.
 *
 * - In `runbookDryRun`, every timer (a sleep, a wait's timeout) waits until the driver fires it; the
 *   driver fires the earliest one only when the workflow is otherwise idle — no activity or child in
 *   flight, no approval or signal it is about to answer — and the workflow's clock jumps to its due time.
 * - In its children (a retrain), timers elapse at once and the clock jumps by their length.
 *
 * The workflow's clock (`Date`) is the SDK's plus the time skipped, so deadlines computed from it behave
 * as they would in the hours the dry run skipped.
 */
import * as wf from '@temporalio/workflow';
import type { DryRunClock, PendingTimer } from '../../contracts/runbookDryRunWorkflow.js';
import { RUNBOOK_DRY_RUN_WORKFLOW } from '../../contracts/runbookDryRunWorkflow.js';

/** One per workflow run (module state is per workflow in the sandbox). */
export const clock = {
  skippedMs: 0,
  inFlight: 0,
  fired: 0,
  timers: new Map<number, PendingTimer>(),
  firedSeqs: new Set<number>(),
};

/** Fires a pending timer: the clock moves to its due time. */
export function fireTimer(seq: number): void {
  const timer = clock.timers.get(seq);
  if (!timer || clock.firedSeqs.has(seq)) return;
  clock.firedSeqs.add(seq);
  clock.fired++;
  clock.skippedMs = Math.max(clock.skippedMs, timer.due - sdkNow());
}

export function clockState(): Pick<DryRunClock, 'inFlight' | 'timers' | 'fired' | 'skippedMs'> {
  return { inFlight: clock.inFlight, timers: [...clock.timers.values()], fired: clock.fired, skippedMs: clock.skippedMs };
}

let sdkNow: () => number = () => Date.now();

/** Replaces the workflow's Date with one that is `clock.skippedMs` ahead of the SDK's. */
function installVirtualDate(): void {
  const SdkDate = globalThis.Date;
  sdkNow = () => SdkDate.now();
  const now = () => SdkDate.now() + clock.skippedMs;
  function VirtualDate(this: unknown, ...args: unknown[]): unknown {
    if (!new.target) return new SdkDate(now()).toString();
    return args.length ? new (SdkDate as unknown as new (...a: unknown[]) => Date)(...args) : new SdkDate(now());
  }
  VirtualDate.now = now;
  VirtualDate.parse = SdkDate.parse.bind(SdkDate);
  VirtualDate.UTC = SdkDate.UTC.bind(SdkDate);
  VirtualDate.prototype = SdkDate.prototype;
  globalThis.Date = VirtualDate as unknown as DateConstructor;
}

async function counted<T>(run: () => Promise<T>): Promise<T> {
  clock.inFlight++;
  try {
    return await run();
  } finally {
    clock.inFlight--;
  }
}

export const interceptors: wf.WorkflowInterceptorsFactory = () => {
  installVirtualDate();
  if (wf.workflowInfo().workflowType !== RUNBOOK_DRY_RUN_WORKFLOW) {
    return {
      outbound: [
        {
          async startTimer(input, next) {
            await next({ ...input, durationMs: 1 });
            clock.skippedMs += input.durationMs;
          },
        },
      ],
    };
  }
  return {
    outbound: [
      {
        async startTimer(input) {
          clock.timers.set(input.seq, { seq: input.seq, ms: input.durationMs, due: Date.now() + input.durationMs });
          try {
            // Cancelled with its scope (a wait answered before its timeout), like a real timer.
            await wf.condition(() => clock.firedSeqs.has(input.seq));
          } finally {
            clock.timers.delete(input.seq);
          }
        },
        scheduleActivity: (input, next) => counted(() => next(input)),
        scheduleLocalActivity: (input, next) => counted(() => next(input)),
        async startChildWorkflowExecution(input, next) {
          clock.inFlight++;
          const [started, completed] = await next(input);
          const done = completed.finally(() => clock.inFlight--);
          return [started, done];
        },
      },
    ],
  };
};
