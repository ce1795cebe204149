/**
 * `vigil runbook dry-run <name> --incident <id>`: the runbook run as a real workflow against a past
 * incident's recorded state — on a throw-away Temporal dev server, by a worker whose activities record
 * what they would do instead of doing it (recordingActivities.ts), with time skipped: the dry run is the
 * clock. Like Temporal's time-skipping test server, it lets a timer fire only when the workflow is
 * otherwise idle, after answering what it was told to answer (the approval, the signals given with
 * --signal), and the workflow's clock jumps to the timer's due time. The plan lists each step with what
 * it would do, its arguments, each wait with its timeout and what the dry run assumed, and when in the
 * incident's time it happens.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { IncidentInput } from '../contracts/incidentWorkflow.js';
import { decideUpdate, runbookSignal } from '../contracts/incidentWorkflow.js';
import {
  dryRunClockQuery,
  dryRunTickSignal,
  RUNBOOK_DRY_RUN_WORKFLOW,
  type DryRunClock,
  type PendingTimer,
  type RunbookDryRunInput,
} from '../contracts/runbookDryRunWorkflow.js';
import { failureMessage } from '../domain/errors.js';
import type { IncidentState, Outcome } from '../domain/incident.js';
import { isPlaceholder } from '../domain/people.js';
import type { Runbooks } from '../domain/runbook.js';
import type { Runbook } from '../workflows/runbook/defineRunbook.js';
import { createRecordingActivities, type PlannedStep } from './recordingActivities.js';
import { workflowBundle } from './workflowBundle.js';

export type { PlannedStep } from './recordingActivities.js';

export interface DryRunResult {
  runbook: string;
  incident: string;
  params: Record<string, unknown>;
  plan: PlannedStep[];
  outcome?: Outcome;
  /** The runbook failed: where and why (a live incident would be escalated here). */
  error?: string;
}

/** A throw-away Temporal server for the dry run (the composition root starts Vigil's dev server). */
export interface DryRunServer {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

export interface DryRunOptions {
  runbook: Runbook;
  /** The team's runbook files to bundle (none for Vigil's standard runbook). */
  runbookFiles: readonly string[];
  /** The past incident's recorded state (model, opening, classification, evidence, recommendation). */
  state: IncidentState;
  /** The model's policies per failure mode, as configured now. */
  runbooks: Runbooks;
  /** The runbook's params as configured (parsed by its schema here). */
  params: Record<string, unknown>;
  /** Signals to send when the runbook waits for them (by name); the others time out. */
  signals?: string[];
  /** The approval's answer (default: approve the recommendation). */
  decision?: 'approve' | 'reject';
  startServer(): Promise<DryRunServer>;
}

const TASK_QUEUE = 'vigil-dry-run';
/** No progress for this long (real time) means the workflow is stuck: say so instead of hanging. */
const STUCK_AFTER_MS = 60_000;
const MAX_MOVES = 2_000;

export async function dryRunRunbook(opts: DryRunOptions): Promise<DryRunResult> {
  const classification = opts.state.classification;
  const base = { runbook: opts.runbook.name, incident: opts.state.id, params: opts.params };
  if (!classification) return { ...base, plan: [], error: `incident ${opts.state.id} was never classified: nothing to dry-run against` };
  const parsed = opts.runbook.params.safeParse(opts.params);
  if (!parsed.success) {
    return {
      ...base,
      plan: [],
      error: `params refused by the runbook's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`,
    };
  }
  const params = parsed.data as Record<string, unknown>;
  const mode = classification.failureMode;
  const input: RunbookDryRunInput = {
    incident: {
      contractVersion: 1,
      incidentId: opts.state.id,
      model: opts.state.model,
      signal: opts.state.signal,
      openedAt: opts.state.openedAt,
      runbooks: opts.runbooks,
      ...(opts.runbook.name === 'standard' ? {} : { customRunbooks: { [mode]: { name: opts.runbook.name, params } } }),
    } satisfies IncidentInput,
    recorded: { evidence: opts.state.evidence, classification },
  };

  const plan: PlannedStep[] = [];
  let skippedMs = 0;
  const at = () => `+${formatMs(Math.max(0, Math.round(skippedMs / 1000) * 1000))}`;
  const activities = createRecordingActivities({
    recorded: opts.state,
    policy: opts.runbooks[mode],
    plan: (s) => plan.push({ ...s, at: at() }),
    taskQueue: TASK_QUEUE,
  });

  const server = await opts.startServer();
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: server.namespace });
    const worker = await Worker.create({
      connection: native,
      namespace: server.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(opts.runbookFiles, { dryRun: true }),
      activities,
      // One fresh context per run: the clock replaces the workflow's Date.
      reuseV8Context: false,
    });
    let final: IncidentState | undefined;
    let error: string | undefined;
    await worker.runUntil(async () => {
      const handle = await client.workflow.start(RUNBOOK_DRY_RUN_WORKFLOW, { taskQueue: TASK_QUEUE, workflowId: `dry-run-${opts.state.id}`, args: [input] });
      let settled = false;
      const result = handle.result().then(
        (s) => {
          final = s as IncidentState;
          settled = true;
        },
        (err) => {
          error = err instanceof WorkflowFailedError ? failureMessage(err.cause ?? err) : failureMessage(err);
          settled = true;
        },
      );
      const sent = new Set<string>();
      let lastMove = Date.now();
      for (let moves = 0; !settled && moves < MAX_MOVES;) {
        let c: DryRunClock;
        try {
          c = await handle.query(dryRunClockQuery);
        } catch (err) {
          if (settled) break;
          if (Date.now() - lastMove > STUCK_AFTER_MS) throw err;
          await pause(20);
          continue;
        }
        skippedMs = Math.max(skippedMs, c.skippedMs);
        if (c.done) break;
        if (Date.now() - lastMove > STUCK_AFTER_MS) {
          error = `the runbook made no progress for ${STUCK_AFTER_MS / 1000} s (phase ${c.phase}): a wait nothing answers?`;
          await handle.terminate('dry run stuck');
          break;
        }
        if (c.inFlight > 0) {
          await pause(10);
          continue;
        }
        const move = await nextMove(c);
        if (move) {
          moves++;
          lastMove = Date.now();
        } else await pause(10);
      }
      await result;

      async function nextMove(c: DryRunClock): Promise<boolean> {
        if (c.approval) {
          const key = `approval:${c.approval.voted.length}`;
          if (sent.has(key)) return false;
          // A name rather than a stand-in (`$USER`, `group:…`) when the list has one: the plan reads as who would decide.
          const unvoted = c.approval.approvers.filter((a) => !c.approval!.voted.includes(a));
          const voter = unvoted.find((a) => !isPlaceholder(a)) ?? unvoted[0];
          if (voter) {
            sent.add(key);
            const verdict = opts.decision ?? 'approve';
            plan.push({ step: 'approval', does: `${voter} ${verdict === 'approve' ? 'approves' : 'rejects'} (dry run)`, at: at() });
            await handle.executeUpdate(decideUpdate, { args: [{ verdict, by: voter, via: 'cli', ...(verdict === 'reject' ? { reason: '(dry run)' } : {}) }] });
            return true;
          }
        }
        if (c.waitingFor && !c.signals.includes(c.waitingFor) && opts.signals?.includes(c.waitingFor) && !sent.has(`signal:${c.waitingFor}`)) {
          const timer = earliest(c.timers);
          sent.add(`signal:${c.waitingFor}`);
          plan.push({
            step: c.waitingFor,
            does: `signal ${c.waitingFor} arrives (vigil incident signal ${opts.state.id} ${c.waitingFor}, or the runbook's Slack button)`,
            ...(timer ? { wait: { timeout: formatMs(timer.ms), assumed: 'received (--signal)' } } : {}),
            at: at(),
          });
          await handle.signal(runbookSignal, { name: c.waitingFor, by: '(dry run)' });
          return true;
        }
        const timer = earliest(c.timers);
        if (!timer) return false;
        const key = `timer:${timer.seq}`;
        if (sent.has(key)) return false;
        sent.add(key);
        plan.push(timerStep(c, timer, at()));
        // What the workflow's clock will read once the timer fires (the same rule as fireTimer's).
        skippedMs = Math.max(skippedMs, timer.due - Date.now());
        await handle.signal(dryRunTickSignal, timer.seq);
        return true;
      }
    });
    if (!final && !error) error = 'the dry run ended without a result';
    const failed = final?.timeline.find((e) => e.event === 'runbook_failed');
    return {
      ...base,
      params,
      plan,
      ...(final?.outcome ? { outcome: final.outcome } : {}),
      ...(error || failed ? { error: error ?? failed!.detail ?? 'the runbook failed' } : {}),
    };
  } finally {
    await connection.close().catch(() => undefined);
    await native.close().catch(() => undefined);
    await server.stop();
  }
}

function timerStep(c: DryRunClock, timer: PendingTimer, at: string): PlannedStep {
  const timeout = formatMs(timer.ms);
  if (c.waitingFor) return { step: c.waitingFor, does: `no signal ${c.waitingFor}`, wait: { timeout, assumed: 'timed out' }, at };
  if (c.phase === 'awaiting_approval') return { step: 'approval', does: 'no answer', wait: { timeout, assumed: 'timed out' }, at };
  return { step: 'wait', does: `${timeout} pass`, wait: { timeout, assumed: 'elapsed' }, at };
}

function earliest(timers: PendingTimer[]): PendingTimer | undefined {
  return [...timers].sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
}

function pause(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** 4h, 5m, 1h30m, 90s. */
export function formatMs(ms: number): string {
  if (ms > 0 && ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}

/** The plan as text, one numbered step a line (args and waits indented). */
export function formatPlan(r: DryRunResult): string {
  const lines = [`runbook ${r.runbook} on ${r.incident} (dry run: nothing called, time skipped)`, `params: ${JSON.stringify(r.params)}`, ''];
  r.plan.forEach((p, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${p.at.padEnd(7)} ${p.step}: ${p.does}`);
    if (p.wait) lines.push(`      waits at most ${p.wait.timeout}; assumed ${p.wait.assumed}`);
    if (p.args && Object.keys(p.args).length) lines.push(`      ${JSON.stringify(p.args)}`);
  });
  lines.push('', r.error ? `FAILS: ${r.error}` : `outcome: ${r.outcome}`);
  return lines.join('\n');
}
