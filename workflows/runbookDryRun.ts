/**
 * A runbook run against a past incident's recorded state, for `vigil runbook dry-run`: the same frame
 * as a live incident from the runbook on (runRunbook, then review), on a throw-away server whose worker
 * records every activity instead of performing it, with the clock the dry run drives
 * (dryRun/dryRunInterceptors.ts).
 */
import * as wf from '@temporalio/workflow';
import { dryRunClockQuery, dryRunTickSignal, type RunbookDryRunInput } from '../contracts/runbookDryRunWorkflow.js';
import type { IncidentState } from '../domain/incident.js';
import { clockState, fireTimer } from './dryRun/dryRunInterceptors.js';
import { reviewAndClose, runRunbook } from './incidentLifecycle.js';
import { IncidentRecord } from './incidentRecord.js';

export async function runbookDryRun(input: RunbookDryRunInput): Promise<IncidentState> {
  const incident = new IncidentRecord(input.incident);
  const { state } = incident;
  let done = false;
  wf.setHandler(dryRunTickSignal, (seq: number) => fireTimer(seq));
  wf.setHandler(dryRunClockQuery, () => ({
    ...clockState(),
    phase: state.phase,
    ...(state.phase === 'awaiting_approval' && state.approval && !state.decision
      ? { approval: { approvers: state.approval.approvers, voted: state.approval.votes.map((v) => v.by) } }
      : {}),
    ...(state.runbook?.waitingFor ? { waitingFor: state.runbook.waitingFor.name } : {}),
    signals: incident.signals.map((s) => s.name),
    done,
  }));

  state.evidence.push(...input.recorded.evidence);
  const policy = input.incident.runbooks[input.recorded.classification.failureMode];
  incident.classified(input.recorded.classification, policy.version);
  await runRunbook(incident, input.incident, policy);
  await reviewAndClose(incident);
  done = true;
  return state;
}
