/** A workflow's steps from its Temporal history (ports/workflowHistory.ts), for the post-incident review. */
import proto from '@temporalio/proto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { HistoryStep } from '../../domain/review.js';
import type { WorkflowHistory } from '../../ports/workflowHistory.js';

// @temporalio/proto is CommonJS: take the namespace from its default export.
const { temporal } = proto;
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const E = temporal.api.enums.v1.EventType;
const BOOKKEEPING = new Set(['recordPhase', 'notifyPhase']);

/** Events a page asks for first; a page too large for one gRPC message is asked for again in smaller pages. */
const PAGE_EVENTS = 50;

export function createWorkflowHistory(client: Client): WorkflowHistory {
  return {
    async steps(workflowId) {
      return historySteps(await readHistory(client, workflowId));
    },
  };
}

/**
 * The whole history, page by page. Signals carry what their senders put in them (up to Temporal's
 * payload limit each), so pages are small, and a page that still passes the client's message limit is
 * read again in smaller pages, down to one event at a time.
 */
async function readHistory(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  let pageSize = PAGE_EVENTS;
  for (;;) {
    let page;
    try {
      page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId },
        maximumPageSize: pageSize,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
    } catch (err) {
      if ((err as { code?: number }).code === RESOURCE_EXHAUSTED && pageSize > 1) {
        pageSize = Math.max(1, Math.floor(pageSize / 5));
        continue;
      }
      throw err;
    }
    events.push(...((page.history?.events ?? []) as HistoryEvent[]));
    if (!page.nextPageToken?.length) return events;
    nextPageToken = page.nextPageToken;
  }
}

/** gRPC status RESOURCE_EXHAUSTED: here, an answer larger than the client accepts. */
const RESOURCE_EXHAUSTED = 8;

/** Activities and child workflows from the history, with their summaries, results and attempts. */
export function historySteps(events: HistoryEvent[]): HistoryStep[] {
  const steps = new Map<string, HistoryStep>();
  const at = (e: HistoryEvent) => new Date(Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)).toISOString();
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
  // Bookkeeping (recording and telling phases) is in the timeline already; keep the steps that did something.
  return [...steps.values()].filter((s) => !BOOKKEEPING.has(s.name));
}

function mark(steps: Map<string, HistoryStep>, id: unknown, outcome: HistoryStep['outcome']) {
  const s = steps.get(String(id));
  if (s) s.outcome = outcome;
}
