/**
 * An incident's state inside its workflow, with the handlers clients reach it by (state query, evidence
 * signal, decide Update, runbook signals): every change of phase and every runbook step is written to the
 * audit log once and told to people in order.
 */
import * as wf from '@temporalio/workflow';
import { addEvidenceSignal, decideUpdate, runbookSignal, stateQuery, type IncidentInput } from '../contracts/incidentWorkflow.js';
import { DECISION_REFUSAL, failureMessage, type DecisionRefusal } from '../domain/errors.js';
import type {
  Classification,
  DecideRequest,
  DecideResult,
  Evidence,
  IncidentState,
  Outcome,
  Phase,
  RunbookRecord,
  RunbookSignal,
  Vote,
} from '../domain/incident.js';
import { cut } from '../domain/cut.js';
import { boundedEvidence, boundedSignal, INCIDENT_LIMITS } from '../domain/incidentBounds.js';
import { VigilFailureMode, VigilPhase, VigilSeverity } from '../domain/searchAttributes.js';
import { act, bookkeeping } from './incidentActivities.js';

const MAX_EVIDENCE = 30;
const MAX_SIGNALS = 20;

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

/** The incident's state plus its handlers; every change of phase is written to the audit log once. */
export class IncidentRecord {
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
    wf.setHandler(addEvidenceSignal, (evidence: Evidence) => {
      const kept = boundedEvidence(evidence);
      if (kept) this.addEvidence(kept);
      else wf.log.warn('evidence signal ignored: not evidence', { incident: input.incidentId });
    });
    wf.setHandler(runbookSignal, (signal: RunbookSignal) => this.addSignal(signal));
    wf.setHandler(
      decideUpdate,
      async (req: DecideRequest) => {
        const result = this.decide(req);
        const vote = result.votes[result.votes.length - 1]!;
        this.votesInFlight++;
        try {
          await this.persist(`vote:${vote.verdict}`, vote.reason ?? '', `Record vote by ${vote.by}`, vote.by);
        } finally {
          this.votesInFlight--;
        }
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

  /** A timeline line; the timeline keeps its first entries and the latest (INCIDENT_LIMITS), each detail cut to size. */
  note(event: string, detail?: string) {
    const { timeline } = this.state;
    timeline.push({
      at: new Date(Date.now()).toISOString(),
      event: cut(event, 100),
      detail: detail === undefined ? undefined : cut(detail, INCIDENT_LIMITS.detailChars),
    });
    if (timeline.length > INCIDENT_LIMITS.timelineEntries) {
      timeline.splice(INCIDENT_LIMITS.timelineHead, 1);
      this.state.timelineTrimmed = (this.state.timelineTrimmed ?? 0) + 1;
    }
  }

  /** Votes being recorded by the decide Update: the main flow waits for them before its next step (see awaitDecision). */
  votesInFlight = 0;

  /** Evidence received so far (the list itself is bounded): a change wakes whoever waits on new evidence. */
  evidenceReceived = 0;

  /** A report or a measurement. A monitor re-reports every run while the incident is open: keep the first and the latest, so state and history stay bounded. */
  addEvidence(evidence: Evidence) {
    this.evidenceReceived++;
    this.state.evidence.push(evidence);
    if (this.state.evidence.length > MAX_EVIDENCE) this.state.evidence.splice(1, 1);
    if (this.state.evidence.length > 1) this.note('evidence_attached', `${evidence.signal} from ${evidence.source}`);
  }

  /** Runbook signals received (bounded: the first and the latest are kept), whichever runbook runs. */
  readonly signals: RunbookSignal[] = [];

  private addSignal(received: RunbookSignal) {
    const signal = boundedSignal(received);
    if (!signal) return;
    this.signals.push({ name: signal.name, by: signal.by, at: new Date(Date.now()).toISOString(), ...(signal.data ? { data: signal.data } : {}) });
    if (this.signals.length > MAX_SIGNALS) this.signals.splice(1, 1);
    if (this.state.runbook) this.state.runbook.signals = [...this.signals];
    this.note(`signal:${signal.name}`, `from ${signal.by}`);
  }

  /** The team runbook's record in the state, made on first use. */
  runbookRecord(): RunbookRecord {
    this.state.runbook ??= { name: '', steps: [], signals: [...this.signals] };
    return this.state.runbook;
  }

  finish(outcome: Outcome) {
    this.state.outcome = outcome;
  }

  /**
   * Refusals carry their kind as the failure's type (DECISION_REFUSAL), for callers that answer by it.
   * Validators are not replayed: changing what they refuse never breaks a recorded history.
   */
  private validateDecision(req: DecideRequest) {
    const { state } = this;
    const refuse = (type: DecisionRefusal, message: string) => wf.ApplicationFailure.nonRetryable(message, type);
    if (state.phase !== 'awaiting_approval' || !state.approval || state.decision) {
      throw refuse(DECISION_REFUSAL.noPendingApproval, `incident ${state.id} has no pending approval (phase ${state.phase})`);
    }
    if (req.verdict !== 'approve' && req.verdict !== 'reject') {
      throw refuse(DECISION_REFUSAL.invalidDecision, `verdict must be "approve" or "reject", got "${String(req.verdict)}"`);
    }
    if (typeof req.by !== 'string' || req.by.length > INCIDENT_LIMITS.deciderChars) {
      throw refuse(DECISION_REFUSAL.invalidDecision, `by: at most ${INCIDENT_LIMITS.deciderChars} characters`);
    }
    if (req.person !== undefined && (typeof req.person !== 'string' || !req.person || req.person.length > INCIDENT_LIMITS.deciderChars)) {
      throw refuse(DECISION_REFUSAL.invalidDecision, `person: 1 to ${INCIDENT_LIMITS.deciderChars} characters`);
    }
    // The approver list holds every name of every person who may decide (resolved when approval was
    // requested); the person is accepted too, for approvals requested before people had several names.
    const { approvers } = state.approval;
    if (!approvers.includes(req.by) && !(req.person !== undefined && approvers.includes(req.person))) {
      throw refuse(DECISION_REFUSAL.notAnApprover, `${req.by} is not an approver for model ${state.model.id} (approvers: ${approvers.join(', ')})`);
    }
    if (req.reason !== undefined && (typeof req.reason !== 'string' || req.reason.length > INCIDENT_LIMITS.reasonChars)) {
      throw refuse(
        DECISION_REFUSAL.invalidDecision,
        `reason: at most ${INCIDENT_LIMITS.reasonChars} characters (got ${typeof req.reason === 'string' ? req.reason.length : typeof req.reason})`,
      );
    }
    if (req.verdict === 'reject' && !req.reason?.trim()) {
      throw refuse(DECISION_REFUSAL.invalidDecision, 'a rejection needs a reason');
    }
    if (state.approval.votes.some((v) => v.by === req.by)) {
      throw refuse(DECISION_REFUSAL.alreadyVoted, `${req.by} has already voted on ${state.id}`);
    }
    // Quorum counts people: one person's second name (a Slack id, then the CLI name) is not a second vote.
    const person = req.person ?? req.by;
    const same = state.approval.votes.find((v) => (v.person ?? v.by) === person || v.by === person || v.person === req.by);
    if (same) {
      const who = req.by === person ? person : `${req.by} is ${person}, who`;
      throw refuse(DECISION_REFUSAL.alreadyVoted, `${who} has already voted on ${state.id} as ${same.by}`);
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
      // Only when the request names the person: votes of requests without one stay as they were recorded.
      ...(req.person !== undefined ? { person: req.person } : {}),
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
