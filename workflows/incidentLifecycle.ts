/**
 * One incident, from detection to signed-off review. Reads like the runbook it encodes:
 *
 *   detect → classify → triage → human approval → remediate → validate → review → closed
 *
 * What to gather, which actions to consider, who approves, how long to wait and what to do when nobody
 * answers all come from the runbook policy snapshotted into the input; this file holds the process only.
 */
import * as wf from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import ms from 'ms';
import type { VigilActivities } from '../contracts/activities.js';
import { addEvidenceSignal, decideUpdate, stateQuery, type IncidentInput } from '../contracts/incidentWorkflow.js';
import type { RetrainResult } from '../contracts/retrainWorkflow.js';
import { failureMessage } from '../domain/errors.js';
import type {
  Classification,
  DecideRequest,
  DecideResult,
  Evidence,
  FinalDecision,
  IncidentState,
  Outcome,
  Phase,
  RemediationAction,
  ValidationRecord,
  Vote,
} from '../domain/incident.js';
import { SEVERITIES } from '../domain/incident.js';
import type { RunbookPolicy } from '../domain/runbook.js';
import { VigilFailureMode, VigilPhase, VigilSeverity } from '../domain/searchAttributes.js';
import { retrainModel } from './retrainModel.js';
import { BACKOFF, boundedBackoff } from './retryPolicies.js';

const act = wf.proxyActivities<VigilActivities>({ startToCloseTimeout: '1 minute', retry: BACKOFF });

/** Remediation touches production: bounded retries, then the incident records the failure. */
const remediation = wf.proxyActivities<VigilActivities>({ startToCloseTimeout: '2 minutes', retry: boundedBackoff(5) });

/**
 * Bookkeeping (audit log and projection, classification) is short and local to Vigil's database: as
 * local activities it costs no server round trip, which keeps alert → approval request fast. Telling
 * people (Slack, the log) is not bookkeeping: see Notifications.
 */
const local = wf.proxyLocalActivities<VigilActivities>({ startToCloseTimeout: '30 seconds', retry: BACKOFF });

/** Incidents started before the `local-bookkeeping` change keep their regular activities on replay. */
function bookkeeping() {
  return wf.patched('local-bookkeeping') ? local : act;
}

/**
 * Phase notifications as regular activities, sent in order by one background sender so that neither
 * the incident's progress nor an approver's Update waits on Slack. Incidents started before this
 * change notify inside recordPhase, as their histories recorded.
 */
class Notifications {
  private readonly queue: { event: string; detail: string }[] = [];
  private sending = false;

  constructor(private readonly state: IncidentState) {}

  /** True when this incident tells people separately from recording (decided on first use, kept by the patch marker). */
  get separate(): boolean {
    return wf.patched('notify-outside-record');
  }

  push(event: string, detail: string) {
    this.queue.push({ event, detail });
    if (!this.sending) void this.send();
  }

  /** Waits until everything pushed has been sent (or given up on). */
  async settled() {
    await wf.condition(() => !this.sending && this.queue.length === 0);
  }

  private async send() {
    this.sending = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        try {
          await act.notifyPhase.executeWithOptions({ summary: `Tell ${next.event}` }, [{ state: this.state, ...next }]);
        } catch (err) {
          // notifyPhase gives up on a channel by itself after a few tries; anything else is logged, not fatal.
          wf.log.warn('phase notification failed', { event: next.event, error: failureMessage(err) });
        }
      }
    } finally {
      this.sending = false;
    }
  }
}

// Workflow code runs in Temporal's sandbox, where Date is the SDK's deterministic clock.

const MAX_EVIDENCE = 30;

const MODEL_CHANGING: RemediationAction[] = ['rollback', 'retrain', 'fallback'];

export async function incidentLifecycle(input: IncidentInput): Promise<IncidentState> {
  const incident = new IncidentRecord(input);

  // 1. Detect: the opening signal arrives as evidence through the same signal repeated alerts use.
  await wf.condition(() => incident.state.evidence.length > 0, '1 minute');
  await incident.enter('detected', `Opened from ${input.signal} for ${input.model.id}`);

  // 2. Classify: failure mode and severity from the evidence and the model's tier, with reasons — and
  //    from what the model's prediction log says now, where the report left a figure out (a drift
  //    figure for an accuracy alert), so nothing is called stable that was not measured.
  if (wf.patched('measure-before-classify')) {
    const measured = await act.measureModel.executeWithOptions({ summary: 'Measure the model now' }, [
      { model: input.model, evidence: incident.state.evidence },
    ]);
    if (measured) incident.addEvidence({ source: 'monitor', signal: input.signal, observedAt: new Date(Date.now()).toISOString(), values: measured });
  }
  const classification = await bookkeeping().classifyIncident.executeWithOptions({ summary: 'Classify failure mode and severity' }, [
    { model: input.model, signal: input.signal, evidence: incident.state.evidence },
  ]);
  let policy = input.runbooks[classification.failureMode];
  incident.classified(classification, policy.version);
  await incident.enter('classified', `${classification.failureMode}, ${classification.severity}`);

  // 3. Triage: gather the runbook's evidence and recommend the first applicable action.
  const triage = await act.triageIncident.executeWithOptions({ summary: `Gather ${policy.evidence.join(', ')}` }, [
    { incidentId: input.incidentId, model: input.model, classification, policy },
  ]);
  incident.state.triageEvidence = triage.evidence;
  incident.state.recommendation = triage.recommendation;
  await incident.enter('triaged', `Recommend ${triage.recommendation.action}`);

  // 4. Human approval: a person decides; on silence, escalate, then apply the safe default. The
  //    runbook may degrade the model to its fallback meanwhile; the decision lifts it (unless the
  //    decision is the fallback itself), so remediation and validation see the model serving.
  if (policy.degrade?.whileAwaitingApproval && wf.patched('degrade-while-awaiting')) await degrade(incident, 'awaiting approval');
  const awaited = await awaitDecision(incident, policy, classification, input.runbooks);
  const decision = awaited.decision;
  policy = awaited.policy;
  if (incident.state.degraded && !(decision.verdict !== 'reject' && decision.action === 'fallback')) await liftDegradation(incident);

  // 5. Remediate, 6. validate (undo if it did not help), 7. review.
  if (decision.verdict === 'reject') {
    incident.finish('rejected');
  } else {
    await remediateAndValidate(incident, decision.action, policy);
  }

  await incident.enter('reviewing', `Outcome: ${incident.state.outcome}`);
  incident.state.closedAt = new Date(Date.now()).toISOString();
  await act.writeReview.executeWithOptions({ summary: 'Write post-incident review' }, [{ state: incident.state }]);
  incident.state.status = 'closed';
  await incident.enter('closed', `Closed: ${incident.state.outcome}`);
  await incident.notifications.settled();
  return incident.state;
}

async function awaitDecision(
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
async function awaitDecidingOrEvidence(
  incident: IncidentRecord,
  policy: RunbookPolicy,
  runbooks: IncidentInput['runbooks'],
): Promise<{ decided: boolean; policy: RunbookPolicy }> {
  const { state } = incident;
  const deadline = Date.now() + ms(policy.approval.timeout as ms.StringValue);
  let seen = incident.evidenceReceived;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { decided: false, policy };
    const woke = await wf.condition(() => state.decision !== undefined || incident.evidenceReceived !== seen, left);
    if (state.decision !== undefined) return { decided: true, policy };
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
async function reassess(incident: IncidentRecord, policy: RunbookPolicy, runbooks: IncidentInput['runbooks']): Promise<RunbookPolicy> {
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
async function degrade(incident: IncidentRecord, why: string) {
  const { state } = incident;
  const reason = `degraded while ${why} (${state.id})`;
  const r = await remediation.setServingMode.executeWithOptions({ summary: `Degrade to fallback while ${why}` }, [
    { incidentId: state.id, modelId: state.model.id, mode: 'fallback', reason },
  ]);
  state.degraded = { since: new Date(Date.now()).toISOString(), reason, previousMode: r.from };
  await incident.record('degraded', `serving the fallback while ${why} (was ${r.from})`);
}

/** Restores what served before the degradation. */
async function liftDegradation(incident: IncidentRecord) {
  const { state } = incident;
  const degraded = state.degraded!;
  await remediation.setServingMode.executeWithOptions({ summary: `Lift degradation: back to ${degraded.previousMode}` }, [
    { incidentId: state.id, modelId: state.model.id, mode: degraded.previousMode, reason: `degradation lifted (${state.id})` },
  ]);
  degraded.liftedAt = new Date(Date.now()).toISOString();
  await incident.record('degradation_lifted', `serving ${degraded.previousMode} again`);
}

async function remediateAndValidate(incident: IncidentRecord, action: RemediationAction, policy: RunbookPolicy) {
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

async function restoreChampion(incident: IncidentRecord, version: number) {
  const { state } = incident;
  await remediation.restoreChampion.executeWithOptions({ summary: `Compensate: restore champion v${version}` }, [
    { incidentId: state.id, modelId: state.model.id, version, reason: 'not recovered after remediation' },
  ]);
  await incident.record('compensated', `champion restored to v${version}`);
}

async function failRemediation(incident: IncidentRecord, reason: string) {
  const { state } = incident;
  await incident.record('remediation_failed', reason);
  await act.escalate.executeWithOptions({ summary: 'Escalate: remediation failed' }, [{ state, reason }]);
  incident.finish('remediation_failed');
}

/** The incident's state plus its handlers; every change of phase is written to the audit log once. */
class IncidentRecord {
  readonly state: IncidentState;
  readonly notifications: Notifications;

  constructor(input: IncidentInput) {
    this.state = {
      contractVersion: 1,
      id: input.incidentId,
      model: input.model,
      signal: input.signal,
      phase: 'detected',
      status: 'open',
      openedAt: input.openedAt,
      evidence: [],
      timeline: [],
      runbookVersion: '',
    };
    this.notifications = new Notifications(this.state);
    wf.setHandler(stateQuery, () => this.state);
    wf.setHandler(addEvidenceSignal, (evidence: Evidence) => this.addEvidence(evidence));
    wf.setHandler(
      decideUpdate,
      async (req: DecideRequest) => {
        const result = this.decide(req);
        const vote = result.votes[result.votes.length - 1]!;
        await this.persist(`vote:${vote.verdict}`, vote.reason ?? '', `Record vote by ${vote.by}`, vote.by);
        return result;
      },
      {
        validator: (req: DecideRequest) => this.validateDecision(req),
      },
    );
  }

  classified(c: Classification, runbookVersion: string) {
    this.state.classification = c;
    this.state.runbookVersion = runbookVersion;
    wf.upsertSearchAttributes([
      { key: VigilSeverity, value: c.severity },
      { key: VigilFailureMode, value: c.failureMode },
    ]);
  }

  async enter(phase: Phase, detail: string) {
    this.state.phase = phase;
    this.note(`phase:${phase}`, detail);
    wf.upsertSearchAttributes([{ key: VigilPhase, value: phase }]);
    wf.setCurrentDetails(`**${phase}** — ${detail}`);
    await this.persist(`phase:${phase}`, detail, `Record phase ${phase}`);
  }

  /** An audited event that is not a phase change. */
  async record(event: string, detail: string) {
    this.note(event, detail);
    await this.persist(event, detail, `Record ${event}`);
  }

  /** Writes the projection and the audit row (local, database only), then queues the notification. */
  private async persist(event: string, detail: string, summary: string, actor?: string) {
    const separate = this.notifications.separate;
    await bookkeeping().recordPhase.executeWithOptions({ summary }, [
      { state: this.state, event, detail, ...(actor ? { actor } : {}), ...(separate ? { notified: 'separately' as const } : {}) },
    ]);
    if (separate) this.notifications.push(event, detail);
  }

  note(event: string, detail?: string) {
    this.state.timeline.push({ at: new Date(Date.now()).toISOString(), event, detail });
  }

  /** Evidence received so far (the list itself is bounded): a change wakes whoever waits on new evidence. */
  evidenceReceived = 0;

  /** A report or a measurement. A monitor re-reports every run while the incident is open: keep the first and the latest, so state and history stay bounded. */
  addEvidence(evidence: Evidence) {
    this.evidenceReceived++;
    this.state.evidence.push(evidence);
    if (this.state.evidence.length > MAX_EVIDENCE) this.state.evidence.splice(1, 1);
    if (this.state.evidence.length > 1) this.note('evidence_attached', `${evidence.signal} from ${evidence.source}`);
  }

  finish(outcome: Outcome) {
    this.state.outcome = outcome;
  }

  private validateDecision(req: DecideRequest) {
    const { state } = this;
    if (state.phase !== 'awaiting_approval' || !state.approval || state.decision) {
      throw new Error(`incident ${state.id} has no pending approval (phase ${state.phase})`);
    }
    if (req.verdict !== 'approve' && req.verdict !== 'reject') {
      throw new Error(`verdict must be "approve" or "reject", got "${String(req.verdict)}"`);
    }
    if (!state.approval.approvers.includes(req.by)) {
      throw new Error(`${req.by} is not an approver for model ${state.model.id} (approvers: ${state.approval.approvers.join(', ')})`);
    }
    if (req.verdict === 'reject' && !req.reason?.trim()) {
      throw new Error('a rejection needs a reason');
    }
    if (state.approval.votes.some((v) => v.by === req.by)) {
      throw new Error(`${req.by} has already voted on ${state.id}`);
    }
  }

  private decide(req: DecideRequest): DecideResult {
    const { state } = this;
    const approval = state.approval!;
    const vote: Vote = {
      verdict: req.verdict,
      by: req.by,
      reason: req.reason,
      via: req.via ?? 'cli',
      at: new Date(Date.now()).toISOString(),
    };
    approval.votes.push(vote);
    this.note(`vote:${vote.verdict}`, `${vote.by} via ${vote.via}${vote.reason ? `: ${vote.reason}` : ''}`);
    // The validator ran first; a quorum vote and the main flow both see the decision set synchronously.
    const approvals = approval.votes.filter((v) => v.verdict === 'approve');
    let outcome: DecideResult['outcome'] = 'vote_recorded';
    if (vote.verdict === 'reject') {
      state.decision = { verdict: 'reject', action: state.recommendation!.action, by: [vote.by], reason: vote.reason, at: vote.at };
      outcome = 'rejected';
    } else if (approvals.length >= approval.quorum) {
      state.decision = {
        verdict: 'approve',
        action: state.recommendation!.action,
        by: approvals.map((v) => v.by),
        reason: vote.reason,
        at: vote.at,
      };
      outcome = 'approved';
    }
    return { accepted: true, outcome, votes: approval.votes, quorum: approval.quorum };
  }
}

/** How the candidate was tried on live traffic before its promotion, for the summary. */
function canaryNote(r: RetrainResult): string {
  if (!r.canary) return '';
  return r.canary.mode === 'shadow' ? ` after shadowing ${r.canary.percent}% of requests` : ` after a ${r.canary.percent}% canary`;
}
