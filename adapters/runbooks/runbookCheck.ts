/**
 * `vigil runbook check`: the runbooks as they are now — Vigil's and a team's folder, compiled and bundled
 * as the worker would — replayed against histories of incidents that ran them: the recent incidents on
 * Temporal (open and closed, on the config's task queue) and the histories committed under
 * test/histories. A change that would break an incident under way (a step added, removed or reordered
 * without `patched()`) shows as a nondeterminism, named by runbook, incident and step.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { INCIDENT_WORKFLOW, type IncidentInput } from '../../contracts/incidentWorkflow.js';
import { STANDARD_RUNBOOK } from '../../workflows/runbook/standardRunbook.js';
import { workflowBundle } from '../../workers/workflowBundle.js';

type History = temporal.api.history.v1.IHistory;

export interface ReplayedIncident {
  workflowId: string;
  /** Where the history came from: "temporal" or the committed file. */
  source: string;
  runbook: string;
  error?: { message: string; step?: string };
}

export interface RunbookCheckResult {
  replayed: ReplayedIncident[];
  failures: ReplayedIncident[];
  /** Histories of runbooks the checked folder does not have (e.g. Vigil's own test histories of its example runbooks). */
  skipped: { workflowId: string; source: string; runbook: string }[];
}

export interface RunbookCheckOptions {
  runbookFiles: readonly string[];
  /** Incidents on Temporal: the client and the task queue to look at (omit to check committed histories only). */
  temporal?: { client: Client; taskQueue: string; limit?: number };
  /** Committed histories (JSON, as the Temporal CLI exports them). */
  historiesDir?: string;
  /** The team runbooks the files define: a history that ran another one is skipped, not failed. */
  runbookNames?: readonly string[];
}

export async function checkRunbooks(opts: RunbookCheckOptions): Promise<RunbookCheckResult> {
  const histories: { workflowId: string; history: History; source: string }[] = [];
  if (opts.historiesDir && fs.existsSync(opts.historiesDir)) {
    for (const f of fs
      .readdirSync(opts.historiesDir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const file = path.join(opts.historiesDir, f);
      const history = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
      histories.push({ workflowId: path.basename(f, '.json'), history, source: file });
    }
  }
  if (opts.temporal) {
    const { client, taskQueue, limit = 100 } = opts.temporal;
    const query = `WorkflowType = '${INCIDENT_WORKFLOW}' AND TaskQueue = '${taskQueue.replace(/'/g, "\\'")}'`;
    for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push({ workflowId: wf.workflowId, history, source: 'temporal' });
      if (histories.filter((h) => h.source === 'temporal').length >= limit) break;
    }
  }
  const skipped: RunbookCheckResult['skipped'] = [];
  const known = new Set([STANDARD_RUNBOOK, ...(opts.runbookNames ?? [])]);
  const replayable = histories.filter((h) => {
    const runbook = runbookOf(h.history);
    if (
      !opts.runbookNames ||
      runbook === '?' ||
      runbook.split(' or ').every((n) => known.has(n)) ||
      h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name !== INCIDENT_WORKFLOW
    )
      return true;
    skipped.push({ workflowId: h.workflowId, source: h.source, runbook });
    return false;
  });
  const byId = new Map(replayable.map((h) => [h.workflowId, h]));
  const replayed: ReplayedIncident[] = [];
  const bundle = await workflowBundle(opts.runbookFiles);
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, replayable)) {
    const h = byId.get(r.workflowId)!;
    const entry: ReplayedIncident = { workflowId: r.workflowId, source: h.source, runbook: runbookOf(h.history) };
    if (r.error) entry.error = { message: String((r.error as Error).message ?? r.error), ...stepOf(String((r.error as Error).message ?? r.error), h.history) };
    replayed.push(entry);
  }
  return { replayed, failures: replayed.filter((r) => r.error), skipped };
}

/** The runbook an incident ran: a team's it chose (seen by its steps in the history), else the standard one. */
function runbookOf(history: History): string {
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  if (!started || started.workflowType?.name !== INCIDENT_WORKFLOW) return started?.workflowType?.name ?? '?';
  let input: IncidentInput;
  try {
    input = defaultPayloadConverter.fromPayload<IncidentInput>(started.input!.payloads![0]!);
  } catch {
    return '?';
  }
  const names = [...new Set(Object.values(input.customRunbooks ?? {}).map((c) => c!.name))];
  const ranTeamSteps = events.some((e) => /^(Runbook step |Record runbook|Record step:)/.test(summaryOf(e) ?? ''));
  return names.length && ranTeamSteps ? names.join(' or ') : STANDARD_RUNBOOK;
}

/** The step the nondeterminism is at: the event the SDK names, by the summary it was recorded with. */
function stepOf(message: string, history: History): { step?: string } {
  const m = /HistoryEvent\(id: (\d+)/.exec(message) ?? /event (?:id )?(\d+)/i.exec(message);
  if (!m) return {};
  const event = history.events?.find((e) => String(e.eventId) === m[1]);
  if (!event) return { step: `event ${m[1]}` };
  const summary = summaryOf(event);
  const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
  return { step: `event ${m[1]}${summary ? `: ${summary}` : type ? `: ${type}` : ''}` };
}

function summaryOf(event: temporal.api.history.v1.IHistoryEvent): string | undefined {
  const payload = event.userMetadata?.summary;
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<string>(payload);
  } catch {
    return undefined;
  }
}
