/** Writes the post-incident review from the workflow history and the audit log. */
import proto from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import type { IncidentState } from '../domain/incident.js';
import { buildReview, type AuditEventRecord, type HistoryStep } from '../domain/review.js';
import type { ActivityDeps } from './activityDeps.js';

// @temporalio/proto is CommonJS: take the namespace from its default export.
const { temporal } = proto;
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const E = temporal.api.enums.v1.EventType;

export function createReviewActivities(deps: ActivityDeps) {
  return {
    async writeReview(args: { state: IncidentState }): Promise<{ path: string }> {
      const { state } = args;
      const audit = await deps.pool.query(
        'SELECT kind, actor, detail, occurred_at FROM audit_events WHERE incident_id = $1 ORDER BY id',
        [state.id],
      );
      const history = await deps.temporal.workflow.getHandle(state.id).fetchHistory();
      const { markdown, data } = buildReview({
        state,
        audit: audit.rows.map((r): AuditEventRecord => ({ kind: r.kind, actor: r.actor, detail: r.detail, occurredAt: r.occurred_at.toISOString() })),
        history: historySteps(history.events ?? []),
        writtenAt: new Date().toISOString(),
      });
      // Rewriting the same review on retry is harmless; a sign-off already given is kept.
      await deps.pool.query(
        `INSERT INTO reviews (incident_id, markdown, data) VALUES ($1, $2, $3)
         ON CONFLICT (incident_id) DO UPDATE SET markdown = EXCLUDED.markdown, data = EXCLUDED.data`,
        [state.id, markdown, JSON.stringify(data)],
      );
      const file = path.join(deps.stateDir, 'reviews', `${state.id}.md`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, markdown);
      await deps.notifier.reviewWritten(state, file);
      return { path: file };
    },
  };
}

/** Activities and child workflows from the history, with their summaries, results and attempts. */
export function historySteps(events: HistoryEvent[]): HistoryStep[] {
  const steps = new Map<string, HistoryStep>();
  const at = (e: HistoryEvent) =>
    new Date(Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)).toISOString();
  const summaryOf = (e: HistoryEvent) => {
    const data = e.userMetadata?.summary?.data;
    if (!data) return undefined;
    try {
      return JSON.parse(Buffer.from(data).toString('utf8')) as string;
    } catch {
      return undefined;
    }
  };
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        steps.set(id, { at: at(e), kind: 'activity', name: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', summary: summaryOf(e) });
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const s = steps.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId));
        if (s) s.attempts = e.activityTaskStartedEventAttributes?.attempt ?? 1;
        break;
      }
      case E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        mark(steps, e.activityTaskCompletedEventAttributes?.scheduledEventId, 'completed');
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        mark(steps, e.activityTaskFailedEventAttributes?.scheduledEventId, 'failed');
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        mark(steps, e.activityTaskTimedOutEventAttributes?.scheduledEventId, 'timed_out');
        break;
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        steps.set(id, {
          at: at(e),
          kind: 'child_workflow',
          name: e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? '?',
          summary: summaryOf(e),
        });
        break;
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        mark(steps, e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId, 'completed');
        break;
      case E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        mark(steps, e.childWorkflowExecutionFailedEventAttributes?.initiatedEventId, 'failed');
        break;
    }
  }
  // Bookkeeping (recording phases) is in the timeline already; keep the steps that did something.
  return [...steps.values()].filter((s) => s.name !== 'recordPhase');
}

function mark(steps: Map<string, HistoryStep>, id: unknown, outcome: HistoryStep['outcome']) {
  const s = steps.get(String(id));
  if (s) s.outcome = outcome;
}
