/**
 * One incident, from detection to signed-off review:
 *
 *   detect → classify → run the failure mode's runbook → review → closed
 *
 * The runbook is Vigil's standard one (evidence → approval → remediate → validate, its policy from the
 * model's config) or a team's own, chosen per model and failure mode; either drives the incident through
 * the same steps (workflows/runbook/). This file holds the frame every incident shares.
 */
import * as wf from '@temporalio/workflow';
import type { IncidentInput } from '../contracts/incidentWorkflow.js';
import { failureMessage } from '../domain/errors.js';
import type { IncidentState } from '../domain/incident.js';
import { act, bookkeeping } from './incidentActivities.js';
import { IncidentRecord } from './incidentRecord.js';
import { findRunbook } from './runbook/runbookRegistry.js';
import { awaitDecision, degrade, liftDegradation, remediateAndValidate } from './runbook/incidentSteps.js';
import { RunbookIncident } from './runbook/runbookIncident.js';
import { standardRunbook } from './runbook/standardRunbook.js';

// Workflow code runs in Temporal's sandbox, where Date is the SDK's deterministic clock.

export async function incidentLifecycle(input: IncidentInput): Promise<IncidentState> {
  const incident = new IncidentRecord(input);

  // 1. Detect: the opening signal arrives as evidence through the same signal repeated alerts use.
  await wf.condition(() => incident.state.evidence.length > 0, '1 minute');
  await incident.enter('detected', `Opened from ${input.signal} for ${input.model.id}`);

  // 2. Classify: failure mode and severity from the evidence and the model's tier, with reasons — and
  //    from what the model's prediction log says now, where the report left a figure out (a drift
  //    figure for an accuracy alert), so nothing is called stable that was not measured.
  let classification;
  try {
    classification = await measureAndClassify(incident, input);
  } catch (err) {
    // Nothing can be measured or classified (the model left the config): people take over, and the
    // incident still closes with its review instead of failing with none.
    if (wf.isCancellation(err) || !wf.patched('classify-failure-escalates')) throw err;
    const reason = `could not classify: ${failureMessage(err)}`;
    await incident.record('classification_failed', reason);
    await act.escalate.executeWithOptions({ summary: 'Escalate: classification failed' }, [{ state: incident.state, reason }]);
    incident.finish('remediation_failed');
    await reviewAndClose(incident);
    return incident.state;
  }
  let policy = input.runbooks[classification.failureMode];
  incident.classified(classification, policy.version);
  await incident.enter('classified', `${classification.failureMode}, ${classification.severity}`);

  if (wf.patched('runbooks-as-workflows')) {
    // 3–6. The runbook: Vigil's standard one, or the team's own for this failure mode.
    await runRunbook(incident, input, policy);
  } else {
    // Incidents started before runbooks were workflows replay the process as it was written inline
    // then: the same steps, awaited at the same depth (an Update's completion and the next command
    // keep their recorded order).
    const triage = await act.triageIncident.executeWithOptions({ summary: `Gather ${policy.evidence.join(', ')}` }, [
      { incidentId: input.incidentId, model: input.model, classification, policy },
    ]);
    incident.state.triageEvidence = triage.evidence;
    incident.state.recommendation = triage.recommendation;
    await incident.enter('triaged', `Recommend ${triage.recommendation.action}`);
    if (policy.degrade?.whileAwaitingApproval && wf.patched('degrade-while-awaiting')) await degrade(incident, 'awaiting approval');
    const awaited = await awaitDecision(incident, policy, classification, input.runbooks);
    const decision = awaited.decision;
    policy = awaited.policy;
    if (incident.state.degraded && !(decision.verdict !== 'reject' && decision.action === 'fallback')) await liftDegradation(incident);
    if (decision.verdict === 'reject') {
      incident.finish('rejected');
    } else {
      await remediateAndValidate(incident, decision.action, policy);
    }
  }

  await reviewAndClose(incident);
  return incident.state;
}

async function measureAndClassify(incident: IncidentRecord, input: IncidentInput) {
  if (wf.patched('measure-before-classify')) {
    const measured = await act.measureModel.executeWithOptions({ summary: 'Measure the model now' }, [
      { model: input.model, evidence: incident.state.evidence },
    ]);
    if (measured) incident.addEvidence({ source: 'monitor', signal: input.signal, observedAt: new Date(Date.now()).toISOString(), values: measured });
  }
  return bookkeeping().classifyIncident.executeWithOptions({ summary: 'Classify failure mode and severity' }, [
    { model: input.model, signal: input.signal, evidence: incident.state.evidence },
  ]);
}

/** The review written, the incident closed, everyone told. */
export async function reviewAndClose(incident: IncidentRecord): Promise<void> {
  await incident.enter('reviewing', `Outcome: ${incident.state.outcome}`);
  incident.state.closedAt = new Date(Date.now()).toISOString();
  await act.writeReview.executeWithOptions({ summary: 'Write post-incident review' }, [{ state: incident.state }]);
  incident.state.status = 'closed';
  await incident.enter('closed', `Closed: ${incident.state.outcome}`);
  await incident.notifications.settled();
}

/**
 * Runs the chosen runbook. One that fails (a webhook refused, a bug in a team's runbook) ends its part
 * of the incident escalated, with the reason, instead of failing the workflow: the review is still
 * written. A runbook this worker does not have fails the workflow task, so the incident waits for a
 * worker that has it (a deploy that lost a runbook is fixed by deploying it).
 */
export async function runRunbook(incident: IncidentRecord, input: IncidentInput, policy: IncidentInput['runbooks'][keyof IncidentInput['runbooks']]) {
  const choice = input.customRunbooks?.[incident.state.classification!.failureMode];
  const runbook = choice ? findRunbook(choice.name) : standardRunbook;
  if (!runbook) throw new Error(`runbook "${choice!.name}" is not in this worker's bundle (runbooks.path): deploy it, and the incident carries on`);
  const steps = new RunbookIncident(incident, input, policy);
  if (choice) {
    incident.runbookRecord().name = choice.name;
    // A team's runbook acts from here on: the incident shows as remediating (VigilPhase) until it validates or ends.
    await incident.enter('remediating', `Runbook ${choice.name}`);
    await incident.notifications.settled();
  }
  try {
    // The params were checked against the runbook's schema at start; parsed again here for its defaults.
    await runbook.run(steps, choice ? runbook.params.parse(choice.params) : {});
    if (choice && incident.state.outcome === undefined) incident.finish('monitoring');
  } catch (err) {
    if (wf.isCancellation(err) || !wf.patched('runbook-failure-escalates')) throw err;
    const { degraded } = incident.state;
    // The fallback is the safe state, so it stays; but whoever takes over must know the model is on it.
    const stillDegraded = degraded && !degraded.liftedAt ? `; ${incident.state.model.id} is still serving its fallback (since ${degraded.since})` : '';
    const reason = `runbook ${choice?.name ?? runbook.name} failed: ${failureMessage(err)}${stillDegraded}`;
    await incident.record('runbook_failed', reason);
    await act.escalate.executeWithOptions({ summary: 'Escalate: runbook failed' }, [{ state: incident.state, reason }]);
    incident.finish('remediation_failed');
  }
}
