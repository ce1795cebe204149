/**
 * The steps of Vigil's built-in process, as the lifecycle ran them before runbooks were workflows:
 * triage, human approval (re-classifying on new evidence), degradation, remediation with validation and
 * compensation. The standard runbook runs them in this order; a team's runbook calls them through
 * RunbookIncident. Moving them here changed no command: recorded incidents replay unchanged.
 */
import type { Duration } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import ms from 'ms';
import type { IncidentInput } from '../../contracts/incidentWorkflow.js';
import type { RetrainResult } from '../../contracts/retrainWorkflow.js';
import { failureMessage } from '../../domain/errors.js';
import type { Classification, FinalDecision, RemediationAction, ValidationRecord } from '../../domain/incident.js';
import { SEVERITIES } from '../../domain/incident.js';
import type { RunbookPolicy } from '../../domain/runbook.js';
import { act, bookkeeping, remediation } from '../incidentActivities.js';
import type { IncidentRecord } from '../incidentRecord.js';
import { retrainModel } from '../retrainModel.js';

const MODEL_CHANGING: RemediationAction[] = ['rollback', 'retrain', 'fallback'];

/** Gathers the runbook's evidence and recommends the first applicable action. */
export async function triage(incident: IncidentRecord, policy: RunbookPolicy) {
  const { state } = incident;
  const result = await act.triageIncident.executeWithOptions({ summary: `Gather ${policy.evidence.join(', ')}` }, [
    { incidentId: state.id, model: state.model, classification: state.classification!, policy },
  ]);
  state.triageEvidence = result.evidence;
  state.recommendation = result.recommendation;
  await incident.enter('triaged', `Recommend ${result.recommendation.action}`);
  return result;
}

export async function awaitDecision(
  incident: IncidentRecord,
  policy: RunbookPolicy,
  classification: Classification,
  runbooks: IncidentInput['runbooks'],
): Promise<{ decision: FinalDecision; policy: RunbookPolicy }> {
  const { state } = incident;
  const quorum = policy.approval.quorum[classification.severity] ?? 1;
  const deadline = new Date(Date.now() + ms(policy.approval.timeout as ms.StringValue)).toISOString();
  const approvers = state.model.approversBySeverity?.[classification.severity] ?? state.model.approvers;
  state.approval = { approvers, quorum, deadline, votes: [], escalated: false };
  await incident.enter('awaiting_approval', `Awaiting ${quorum} approval(s) until ${deadline}`);
  const requested = await act.requestApproval.executeWithOptions({ summary: 'Request approval' }, [{ state }]);
  // Slack user groups come back as their members, snapshotted now: listed ids stay (for display), members
  // may decide. Histories recorded before this returned nothing, and take the same path as before.
  if (requested?.approvers?.length) state.approval.approvers = [...new Set([...approvers, ...requested.approvers])];

  let decided: boolean;
  if (wf.patched('reclassify-while-awaiting')) {
    ({ decided, policy } = await awaitDecidingOrEvidence(incident, policy, runbooks));
  } else {
    decided = await wf.condition(() => state.decision !== undefined, policy.approval.timeout as Duration);
  }
  if (!decided) {
    state.approval.escalated = true;
    await act.escalate.executeWithOptions({ summary: 'Escalate: approval timed out' }, [{ state, reason: `no decision within ${policy.approval.timeout}` }]);
    await incident.record('approval_escalated', `no decision within ${policy.approval.timeout}`);
    if (ms(policy.approval.escalationTimeout as ms.StringValue) > 0) {
      decided = await wf.condition(() => state.decision !== undefined, policy.approval.escalationTimeout as Duration);
    }
  }
  // The deciding vote is recorded (and its Update completed) before anything else happens: the order of
  // the Update's completion and the next step's commands must not depend on how quickly the two
  // bookkeeping writes come back, or a replay could order them differently from the run.
  if (wf.patched('vote-recorded-before-decision')) await wf.condition(() => incident.votesInFlight === 0);
  // A decision may have landed while the escalation was being sent: a human's answer always wins.
  if (!decided && state.decision === undefined) {
    state.decision = {
      verdict: 'timeout',
      action: policy.safeDefault,
      by: ['runbook safe default'],
      reason: `no decision after escalation; runbook ${policy.version} applies ${policy.safeDefault}`,
      at: new Date(Date.now()).toISOString(),
    };
    await incident.record('safe_default_applied', state.decision.reason ?? '');
  } else {
    const d = state.decision!;
    await incident.record(`decision:${d.verdict}`, `${d.by.join(', ')}${d.reason ? `: ${d.reason}` : ''}`);
  }
  return { decision: state.decision!, policy };
}

/**
 * Waits for the decision until the approval deadline; evidence that arrives meanwhile re-classifies the
 * incident first, so nobody approves a verdict the latest measurements contradict.
 */
export async function awaitDecidingOrEvidence(
  incident: IncidentRecord,
  policy: RunbookPolicy,
  runbooks: IncidentInput['runbooks'],
): Promise<{ decided: boolean; policy: RunbookPolicy }> {
  const { state } = incident;
  const deadline = Date.now() + ms(policy.approval.timeout as ms.StringValue);
  let seen = incident.evidenceReceived;
  // Reminders only where the policy asks for them: other incidents keep their recorded timers.
  const remindEvery = policy.approval.remindEvery && wf.patched('approval-reminders') ? ms(policy.approval.remindEvery as ms.StringValue) : 0;
  let nextReminder = remindEvery > 0 ? Date.now() + remindEvery : Infinity;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { decided: false, policy };
    const wait = Math.min(left, nextReminder - Date.now());
    const woke = await wf.condition(() => state.decision !== undefined || incident.evidenceReceived !== seen, Math.max(1, wait));
    if (state.decision !== undefined) return { decided: true, policy };
    if (!woke && Date.now() >= nextReminder && Date.now() < deadline) {
      const approval = state.approval!;
      const approvals = approval.votes.filter((v) => v.verdict === 'approve').length;
      await incident.record(
        'approval_reminder',
        `still waiting: ${approvals} of ${approval.quorum} approval(s) for ${state.recommendation?.action ?? 'the recommendation'} from ${approval.approvers.join(', ')}; decide by ${approval.deadline}`,
      );
      nextReminder += remindEvery;
      continue;
    }
    if (!woke) return { decided: false, policy };
    seen = incident.evidenceReceived;
    policy = await reassess(incident, policy, runbooks);
  }
}

/**
 * The failure mode and severity follow the latest evidence; a severity is never lowered below what was
 * shown. A raised severity asks its own approvers and quorum again; a changed failure mode re-runs
 * triage under its runbook (votes for the old recommendation no longer count). Each change is recorded
 * with its reasons and time, and people are told.
 */
export async function reassess(incident: IncidentRecord, policy: RunbookPolicy, runbooks: IncidentInput['runbooks']): Promise<RunbookPolicy> {
  const { state } = incident;
  const prev = state.classification!;
  const next = await bookkeeping().classifyIncident.executeWithOptions({ summary: 'Re-classify on new evidence' }, [
    { model: state.model, signal: state.signal, evidence: state.evidence },
  ]);
  const severity = SEVERITIES.indexOf(next.severity) < SEVERITIES.indexOf(prev.severity) ? next.severity : prev.severity;
  const modeChanged = next.failureMode !== prev.failureMode;
  if (!modeChanged && severity === prev.severity) return policy;
  const nextPolicy = modeChanged ? runbooks[next.failureMode] : policy;
  const kept = severity !== next.severity ? [`severity stays ${severity}: it is never lowered below what was shown`] : [];
  incident.classified({ failureMode: next.failureMode, severity, reasons: [...next.reasons, ...kept] }, nextPolicy.version);
  await incident.record('reclassified', `${prev.failureMode} ${prev.severity} → ${next.failureMode} ${severity}: ${next.reasons.join('; ')}`);
  if (modeChanged) {
    const triage = await act.triageIncident.executeWithOptions({ summary: `Re-triage under ${next.failureMode}: gather ${nextPolicy.evidence.join(', ')}` }, [
      { incidentId: state.id, model: state.model, classification: state.classification!, policy: nextPolicy },
    ]);
    state.triageEvidence = triage.evidence;
    state.recommendation = triage.recommendation;
    state.approval!.votes = [];
    await incident.record('triaged', `Recommend ${triage.recommendation.action} (${nextPolicy.version})`);
  }
  const approval = state.approval!;
  approval.quorum = nextPolicy.approval.quorum[severity] ?? 1;
  approval.approvers = state.model.approversBySeverity?.[severity] ?? state.model.approvers;
  const requested = await act.requestApproval.executeWithOptions({ summary: 'Request approval again' }, [{ state }]);
  if (requested?.approvers?.length) approval.approvers = [...new Set([...approval.approvers, ...requested.approvers])];
  return nextPolicy;
}

/** Puts the model on its fallback for the time being, remembering what it served before. */
export async function degrade(incident: IncidentRecord, why: string) {
  const { state } = incident;
  const reason = `degraded while ${why} (${state.id})`;
  const r = await remediation.setServingMode.executeWithOptions({ summary: `Degrade to fallback while ${why}` }, [
    { incidentId: state.id, modelId: state.model.id, mode: 'fallback', reason },
  ]);
  state.degraded = { since: new Date(Date.now()).toISOString(), reason, previousMode: r.from };
  await incident.record('degraded', `serving the fallback while ${why} (was ${r.from})`);
}

/** Restores what served before the degradation. */
export async function liftDegradation(incident: IncidentRecord) {
  const { state } = incident;
  const degraded = state.degraded!;
  await remediation.setServingMode.executeWithOptions({ summary: `Lift degradation: back to ${degraded.previousMode}` }, [
    { incidentId: state.id, modelId: state.model.id, mode: degraded.previousMode, reason: `degradation lifted (${state.id})` },
  ]);
  degraded.liftedAt = new Date(Date.now()).toISOString();
  await incident.record('degradation_lifted', `serving ${degraded.previousMode} again`);
}

export async function remediateAndValidate(incident: IncidentRecord, action: RemediationAction, policy: RunbookPolicy) {
  const { state } = incident;
  const ids = { incidentId: state.id, modelId: state.model.id };
  state.remediation = { action, startedAt: new Date(Date.now()).toISOString() };
  await incident.enter('remediating', `Remediate: ${action}`);

  let undo: (() => Promise<void>) | undefined;
  try {
    switch (action) {
      case 'rollback': {
        const r = await remediation.rollbackModel.executeWithOptions({ summary: 'Roll back champion to last good version' }, [ids]);
        state.remediation.summary = `champion v${r.from} → v${r.to}`;
        state.remediation.detail = r;
        undo = () => restoreChampion(incident, r.from);
        break;
      }
      case 'retrain': {
        const r: RetrainResult = await wf.executeChild(retrainModel, {
          workflowId: `${state.id}-retrain`,
          args: [{ ...ids, retrain: policy.retrain, since: state.openedAt }],
          staticSummary: `Retrain ${state.model.id} for ${state.id}`,
        });
        state.remediation.detail = r as unknown as Record<string, unknown>;
        if (r.outcome !== 'promoted') {
          state.remediation.summary = `retrain stopped: ${r.reason}`;
          return await failRemediation(incident, r.reason);
        }
        state.remediation.summary = `retrained: v${r.previousVersion} → v${r.version}${canaryNote(r)}`;
        undo = () => restoreChampion(incident, r.previousVersion!);
        break;
      }
      case 'fallback': {
        const r = await remediation.setServingMode.executeWithOptions({ summary: 'Serve rules-based fallback' }, [
          { ...ids, mode: 'fallback', reason: `incident ${state.id}` },
        ]);
        state.remediation.summary = `serving ${r.from} → ${r.to}`;
        // Fallback is the safe state: if the model is still unhealthy, stay on it.
        break;
      }
      case 'escalate_upstream':
        await remediation.escalate.executeWithOptions({ summary: 'Page the owning upstream team' }, [
          { state, reason: 'upstream failure: no model action taken' },
        ]);
        state.remediation.summary = 'escalated upstream';
        break;
      case 'monitor':
        state.remediation.summary = 'no change; monitoring';
        break;
    }
  } catch (err) {
    return await failRemediation(incident, failureMessage(err));
  }
  state.remediation.finishedAt = new Date(Date.now()).toISOString();
  await incident.record('remediated', state.remediation.summary ?? action);

  if (!MODEL_CHANGING.includes(action)) {
    incident.finish(action === 'escalate_upstream' ? 'escalated_upstream' : 'monitoring');
    return;
  }

  await incident.enter('validating', `Watch ${state.model.id} for ${policy.validation.window}`);
  let validation: ValidationRecord | undefined;
  for (let window = 0; window <= policy.validation.maxExtraWindows; window++) {
    await wf.sleep(policy.validation.window as Duration);
    validation = await act.checkRecovery.executeWithOptions({ summary: 'Check the model recovered' }, [
      { ...ids, failureMode: state.classification!.failureMode, action, since: state.remediation.finishedAt, policy },
    ]);
    state.validation = validation;
    if (validation.recovered !== null) break;
  }
  if (validation?.recovered === true) {
    // A version that served through validation is a known-good rollback target from now on.
    if (wf.patched('mark-healthy-after-validation') && (action === 'rollback' || action === 'retrain')) {
      await act.markChampionHealthy.executeWithOptions({ summary: 'Mark champion healthy' }, [ids]);
    }
    return incident.finish('resolved');
  }
  if (validation?.recovered === false && undo && policy.validation.compensateOnFailure) {
    // Compare, not only threshold: a change that measured better than what it replaced is kept (and
    // escalated), even below the baseline; undone when the previous version did better or nothing could be measured.
    const helped = validation.comparison?.enough === true && !validation.comparison.previousBetter;
    if (helped && wf.patched('undo-only-if-previous-better')) {
      state.remediation.summary = `${state.remediation.summary ?? action}; kept: ${validation.comparison!.summary}`;
    } else {
      await undo();
      state.remediation.compensated = true;
    }
  }
  await act.escalate.executeWithOptions({ summary: 'Escalate: not recovered' }, [
    { state, reason: validation?.reasons.join('; ') || 'recovery could not be verified' },
  ]);
  incident.finish(validation?.recovered === false ? 'not_recovered' : 'unverified');
}

export async function restoreChampion(incident: IncidentRecord, version: number) {
  const { state } = incident;
  await remediation.restoreChampion.executeWithOptions({ summary: `Compensate: restore champion v${version}` }, [
    { incidentId: state.id, modelId: state.model.id, version, reason: 'not recovered after remediation' },
  ]);
  await incident.record('compensated', `champion restored to v${version}`);
}

export async function failRemediation(incident: IncidentRecord, reason: string) {
  const { state } = incident;
  await incident.record('remediation_failed', reason);
  await act.escalate.executeWithOptions({ summary: 'Escalate: remediation failed' }, [{ state, reason }]);
  incident.finish('remediation_failed');
}

/** How the candidate was tried on live traffic before its promotion, for the summary. */
function canaryNote(r: RetrainResult): string {
  if (!r.canary) return '';
  return r.canary.mode === 'shadow' ? ` after shadowing ${r.canary.percent}% of requests` : ` after a ${r.canary.percent}% canary`;
}
