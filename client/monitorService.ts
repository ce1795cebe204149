/**
 * Model monitors on Temporal Schedules: one schedule per model (`vigil-monitor-<modelId>`) starts a
 * `monitorModel` workflow every `monitor.every`. The schedule is the source of truth once it exists:
 * its interval and paused state survive restarts, so `vigil monitor enable --every` and
 * `vigil monitor disable` stick across `vigil up`.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  TimeoutFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type ms from 'ms';
import { findModel, type ModelConfig, type VigilConfig } from '../domain/config.js';
import { failureMessage, NotFoundError, UserInputError } from '../domain/errors.js';
import { Duration as DurationString, durationMs } from '../domain/runbook.js';
import { VigilModel } from '../domain/searchAttributes.js';
import { MONITOR_WORKFLOW, type MonitorOutcome, type MonitorWorkflow } from '../contracts/monitorWorkflow.js';

/** A run that takes longer than this is stuck (no worker, or a hung activity): it fails, and the next one starts. */
const RUN_TIMEOUT: Duration = '5 minutes';
/** The server's minimum: after downtime at most the latest missed run is taken, not a replay of all of them. */
const CATCHUP_WINDOW: Duration = '10 seconds';
const MIN_INTERVAL_MS = 1000;

export const monitorScheduleId = (modelId: string) => `vigil-monitor-${modelId}`;
/** Legacy (pre-schedule) long-running monitor workflows used this id; scheduled runs append their start time. */
export const monitorWorkflowIdPrefix = (modelId: string) => `monitor-${modelId}`;

export interface MonitorRunInfo {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  startedAt: string;
  /** The run's workflow status in lower case (running, completed, failed, timed_out, …), or unknown once it is gone. */
  status: string;
  /** What a completed run found. */
  outcome?: MonitorOutcome;
}

export interface MonitorScheduleInfo {
  modelId: string;
  scheduleId: string;
  state: 'enabled' | 'paused' | 'absent';
  /** The schedule's interval, e.g. "20s" (absent: none). */
  every?: string;
  note?: string;
  nextRunAt?: string;
  lastRun?: MonitorRunInfo;
  /** Runs in flight now (0 or 1: overlapping runs are skipped). */
  runningActions: number;
  /** Runs the schedule has started so far. */
  actionsTaken: number;
}

export interface MonitorService {
  /** Creates the model's schedule, or updates its interval (when given) and resumes it. */
  enable(modelId: string, every?: string): Promise<MonitorScheduleInfo & { created: boolean }>;
  /** Runs the monitor once now, whatever the schedule's state, and waits for what it found. */
  run(modelId: string): Promise<MonitorOutcome>;
  /** Every configured model's schedule, in config order. */
  list(): Promise<MonitorScheduleInfo[]>;
  /** Pauses the schedule (its history stays; `enable` resumes it). */
  disable(modelId: string): Promise<MonitorScheduleInfo>;
  /**
   * For `vigil up`: creates the schedule with the configured interval when absent; an existing one
   * keeps its interval and paused state (only its action follows the config, e.g. the task queue).
   * Also ends a legacy long-running monitor workflow from older versions.
   */
  ensure(modelId: string): Promise<MonitorScheduleInfo & { created: boolean }>;
}

export function createMonitorService(opts: { temporal: Client; config: VigilConfig }): MonitorService {
  const { temporal, config } = opts;

  const model = (modelId: string): ModelConfig => {
    const m = findModel(config, modelId);
    if (!m) throw new NotFoundError(`unknown model "${modelId}" (configured: ${config.models.map((x) => x.id).join(', ')})`);
    return m;
  };

  const action = (m: ModelConfig): ScheduleOptionsStartWorkflowAction<MonitorWorkflow> => ({
    type: 'startWorkflow',
    workflowType: MONITOR_WORKFLOW,
    workflowId: monitorWorkflowIdPrefix(m.id),
    taskQueue: config.taskQueue,
    args: [{ modelId: m.id }],
    typedSearchAttributes: [{ key: VigilModel, value: m.id }],
    workflowExecutionTimeout: RUN_TIMEOUT,
    staticSummary: `Monitor ${m.displayName}`,
  });

  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false };

  const describe = async (modelId: string): Promise<ScheduleDescription | undefined> => {
    try {
      return await temporal.schedule.getHandle(monitorScheduleId(modelId)).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
  };

  const lastRun = async (d: ScheduleDescription): Promise<MonitorRunInfo | undefined> => {
    const recent = d.info.recentActions.at(-1);
    if (!recent) return undefined;
    const { workflowId, firstExecutionRunId } = recent.action.workflow;
    const run: MonitorRunInfo = {
      workflowId,
      runId: firstExecutionRunId,
      scheduledAt: recent.scheduledAt.toISOString(),
      startedAt: recent.takenAt.toISOString(),
      status: 'unknown',
    };
    try {
      const handle = temporal.workflow.getHandle<MonitorWorkflow>(workflowId, firstExecutionRunId);
      run.status = (await handle.describe()).status.name.toLowerCase();
      if (run.status === 'completed') run.outcome = await handle.result();
    } catch (err) {
      // Past the namespace's retention the run is gone; the schedule still remembers it ran.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return run;
  };

  const info = async (modelId: string, d?: ScheduleDescription): Promise<MonitorScheduleInfo> => {
    const scheduleId = monitorScheduleId(modelId);
    if (!d) return { modelId, scheduleId, state: 'absent', runningActions: 0, actionsTaken: 0 };
    const everyMs = d.spec.intervals?.[0]?.every;
    return {
      modelId,
      scheduleId,
      state: d.state.paused ? 'paused' : 'enabled',
      every: everyMs === undefined ? undefined : formatInterval(everyMs),
      note: d.state.note || undefined,
      nextRunAt: d.state.paused ? undefined : d.info.nextActionTimes[0]?.toISOString(),
      lastRun: await lastRun(d),
      runningActions: d.info.runningActions.length,
      actionsTaken: d.info.numActionsTaken,
    };
  };

  const create = async (m: ModelConfig, every: string): Promise<boolean> => {
    try {
      await temporal.schedule.create<MonitorWorkflow>({
        scheduleId: monitorScheduleId(m.id),
        spec: { intervals: [{ every: every as ms.StringValue }] },
        action: action(m),
        policies,
        state: { note: `monitor ${m.id} every ${every}` },
      });
      return true;
    } catch (err) {
      // Another `vigil up` or `enable` created it first: treat as existing.
      if (err instanceof ScheduleAlreadyRunning) return false;
      throw err;
    }
  };

  /** Rewrites the schedule from the config, keeping its interval unless one is given, and sets its state. */
  const update = async (m: ModelConfig, change: { every?: string; paused?: boolean; note?: string }) => {
    await temporal.schedule.getHandle(monitorScheduleId(m.id)).update<MonitorWorkflow>((prev) => ({
      spec: change.every ? { intervals: [{ every: change.every as ms.StringValue }] } : prev.spec,
      action: action(m),
      policies,
      state: {
        paused: change.paused ?? prev.state.paused,
        note: change.note ?? prev.state.note,
      },
    }));
  };

  const terminateLegacyMonitor = async (modelId: string) => {
    const handle = temporal.workflow.getHandle(monitorWorkflowIdPrefix(modelId));
    try {
      const d = await handle.describe();
      if (d.type === 'modelMonitor' && d.status.name === 'RUNNING') {
        await handle.terminate('replaced by the monitor schedule ' + monitorScheduleId(modelId));
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  };

  return {
    async enable(modelId, every) {
      const m = model(modelId);
      if (every !== undefined) validateEvery(every);
      const interval = every ?? m.monitor.every;
      const created = await create(m, interval);
      if (!created) {
        await update(m, { every, paused: false, note: `enabled${every ? ` every ${every}` : ''}` });
      }
      return { ...(await info(modelId, await describe(modelId))), created };
    },

    async run(modelId) {
      const m = model(modelId);
      const workflowId = `${monitorWorkflowIdPrefix(m.id)}-manual-${new Date().toISOString()}`;
      try {
        return await temporal.workflow.execute<MonitorWorkflow>(MONITOR_WORKFLOW, {
          workflowId,
          taskQueue: config.taskQueue,
          args: [{ modelId: m.id }],
          typedSearchAttributes: [{ key: VigilModel, value: m.id }],
          workflowExecutionTimeout: RUN_TIMEOUT,
          staticSummary: `Monitor ${m.displayName} (manual)`,
        });
      } catch (err) {
        if (err instanceof WorkflowFailedError) {
          if (err.cause instanceof TimeoutFailure) {
            throw new Error(`monitor run ${workflowId} did not finish within ${RUN_TIMEOUT}: is a worker running on task queue "${config.taskQueue}"?`, {
              cause: err,
            });
          }
          throw new Error(`monitor run ${workflowId} failed: ${failureMessage(err)}`, { cause: err });
        }
        throw err;
      }
    },

    async list() {
      return Promise.all(config.models.map(async (m) => info(m.id, await describe(m.id))));
    },

    async disable(modelId) {
      model(modelId);
      const d = await describe(modelId);
      if (!d) throw new NotFoundError(`model "${modelId}" has no monitor schedule (\`vigil monitor enable ${modelId}\` creates one)`);
      await temporal.schedule.getHandle(monitorScheduleId(modelId)).pause(`disabled at ${new Date().toISOString()} (vigil monitor enable ${modelId} resumes)`);
      return info(modelId, await describe(modelId));
    },

    async ensure(modelId) {
      const m = model(modelId);
      await terminateLegacyMonitor(m.id);
      const created = await create(m, m.monitor.every);
      if (!created) await update(m, {});
      return { ...(await info(modelId, await describe(modelId))), created };
    },
  };
}

/** `--every`: a duration string of at least one second. */
export function validateEvery(every: string): void {
  if (!DurationString.safeParse(every).success) throw new UserInputError(`--every "${every}": must be a duration such as "30s", "15m" or "2h"`);
  if (durationMs(every) < MIN_INTERVAL_MS) throw new UserInputError(`--every "${every}": must be at least 1s`);
}

/** 90000 → "90s", 3600000 → "1h": exact, unlike ms(), which rounds to the largest unit. */
export function formatInterval(millis: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (millis % size === 0) return `${millis / size}${unit}`;
  }
  return `${millis}ms`;
}
