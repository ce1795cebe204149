/**
 * The incident as a runbook sees it: what is known (model, classification, policy, evidence) and the
 * steps it may take. Every step records itself — a timeline entry and an audit row, a line in the Slack
 * thread, a line in the review — and shows a summary in the Temporal UI. Steps are workflow code: they
 * wait durably, and each effect runs as an activity with its own retries.
 */
import type { Duration } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import ms from 'ms';
import type { VigilActivities, WebhookCall, WebhookResult } from '../../contracts/activities.js';
import type { IncidentInput } from '../../contracts/incidentWorkflow.js';
import type {
  Classification,
  Evidence,
  FinalDecision,
  ModelRef,
  Outcome,
  Recommendation,
  RemediationAction,
  RunbookSignal,
  RunbookStepRecord,
} from '../../domain/incident.js';
import type { RunbookPolicy } from '../../domain/runbook.js';
import { act } from '../incidentActivities.js';
import type { IncidentRecord } from '../incidentRecord.js';
import { boundedBackoff } from '../retryPolicies.js';
import { awaitDecision, degrade, liftDegradation, remediateAndValidate, triage } from './incidentSteps.js';

const STEP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
const MAX_STEP_RECORDS = 50;

export interface WebhookOptions {
  url: string;
  /** Default POST. */
  method?: WebhookCall['method'];
  headers?: Record<string, string>;
  /** Header → environment variable name on the worker, e.g. `{ authorization: 'PIPELINE_TOKEN' }`. */
  secretHeaders?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Per attempt (default 10s). */
  timeout?: string;
  /** Attempts on 408, 429, 5xx and network errors (default 5). */
  attempts?: number;
}

export interface WaitOptions {
  /** How long to wait at most, e.g. "4h". */
  timeout: string;
  /** The label of a Slack button that sends this signal on the incident's message. */
  button?: string;
}

/** What a runbook may read and do: implemented by the workflow (RunbookIncident) and by `vigil runbook dry-run`. */
export interface IncidentSteps {
  readonly id: string;
  readonly model: ModelRef;
  readonly classification: Classification;
  readonly evidence: readonly Evidence[];
  readonly signals: readonly RunbookSignal[];
  /** The failure mode's policy (approval, validation, retrain settings). */
  policy: RunbookPolicy;
  readonly degraded: boolean;
  readonly outcome: Outcome | undefined;
  gatherEvidence(): Promise<{ evidence: Record<string, unknown>; recommendation: Recommendation }>;
  requestApproval(): Promise<FinalDecision>;
  degrade(why: string): Promise<void>;
  liftDegradation(): Promise<void>;
  remediate(action: RemediationAction): Promise<void>;
  validate(step?: string): Promise<boolean | null>;
  escalate(reason: string): Promise<void>;
  page(reason: string): Promise<void>;
  callWebhook(step: string, opts: WebhookOptions): Promise<WebhookResult>;
  waitForSignal(name: string, opts: WaitOptions): Promise<RunbookSignal | undefined>;
  sleep(duration: string): Promise<void>;
  note(text: string): Promise<void>;
  finish(outcome: Outcome): void;
}

export class RunbookIncident implements IncidentSteps {
  /** The runbook policy of the incident's failure mode (approval, validation, retrain settings). */
  policy: RunbookPolicy;

  constructor(
    private readonly record: IncidentRecord,
    private readonly input: IncidentInput,
    policy: RunbookPolicy,
  ) {
    this.policy = policy;
  }

  get id(): string {
    return this.record.state.id;
  }
  get model(): ModelRef {
    return this.record.state.model;
  }
  get classification(): Classification {
    return this.record.state.classification!;
  }
  get evidence(): readonly Evidence[] {
    return this.record.state.evidence;
  }
  /** The signals received so far (bounded), oldest first. */
  get signals(): readonly RunbookSignal[] {
    return this.record.signals;
  }

  /** Gathers the policy's evidence and recommends the first applicable of its actions. */
  async gatherEvidence(): Promise<{ evidence: Record<string, unknown>; recommendation: Recommendation }> {
    return triage(this.record, this.policy);
  }

  /**
   * Asks the approvers (Slack and CLI) to approve the recommendation, with the policy's quorum, reminders,
   * escalation and safe default on silence. Evidence arriving meanwhile re-classifies the incident.
   * Gather evidence first: approval decides on its recommendation.
   */
  async requestApproval(): Promise<FinalDecision> {
    if (!this.record.state.recommendation)
      throw wf.ApplicationFailure.nonRetryable('requestApproval needs a recommendation: call gatherEvidence() first', 'RunbookMisuse');
    const { decision, policy } = await awaitDecision(this.record, this.policy, this.classification, this.input.runbooks);
    this.policy = policy;
    return decision;
  }

  /** Serves the model's fallback until liftDegradation(). */
  async degrade(why: string): Promise<void> {
    await degrade(this.record, why);
    await this.told();
  }

  /** Restores what served before degrade(). */
  async liftDegradation(): Promise<void> {
    if (this.record.state.degraded && !this.record.state.degraded.liftedAt) await liftDegradation(this.record);
    await this.told();
  }

  get degraded(): boolean {
    return Boolean(this.record.state.degraded && !this.record.state.degraded.liftedAt);
  }

  /**
   * Rolls back, retrains (gates and canary as the policy says), serves the fallback, escalates upstream
   * or monitors; then validates over the policy's window and undoes a model change that did not help.
   * Sets the outcome.
   */
  async remediate(action: RemediationAction): Promise<void> {
    await remediateAndValidate(this.record, action, this.policy);
  }

  /**
   * Watches the model for the policy's validation window (extra windows while traffic is thin) and says
   * whether it recovered; an unrecovered model is escalated. Sets the outcome (resolved, not_recovered,
   * unverified). For runbooks whose fix happened elsewhere (an upstream repair).
   */
  async validate(step = 'validate'): Promise<boolean | null> {
    const { state } = this.record;
    // Counted from before the phase shows: traffic sent the moment someone sees "validating" is in the window.
    const since = new Date(Date.now()).toISOString();
    await this.record.enter('validating', `Watch ${state.model.id} for ${this.policy.validation.window}`);
    await this.told();
    let validation;
    for (let window = 0; window <= this.policy.validation.maxExtraWindows; window++) {
      await wf.sleep(this.policy.validation.window as Duration);
      validation = await act.checkRecovery.executeWithOptions({ summary: `Runbook step ${step}: check the model recovered` }, [
        { incidentId: state.id, modelId: state.model.id, failureMode: state.classification!.failureMode, action: 'monitor', since, policy: this.policy },
      ]);
      state.validation = validation;
      if (validation.recovered !== null) break;
    }
    const recovered = validation?.recovered ?? null;
    const reasons = validation?.reasons.join('; ') ?? 'nothing measured';
    await this.step({
      step,
      kind: 'validate',
      detail: `${recovered === true ? 'recovered' : recovered === false ? 'not recovered' : 'not enough traffic to tell'}: ${reasons}`,
    });
    if (recovered === true) {
      this.finish('resolved');
    } else {
      await this.escalate(reasons || 'recovery could not be verified');
      this.finish(recovered === false ? 'not_recovered' : 'unverified');
    }
    return recovered;
  }

  /** Escalates to the model's escalation targets (Slack mentions, PagerDuty) with the reason. */
  async escalate(reason: string): Promise<void> {
    const { state } = this.record;
    await act.escalate.executeWithOptions({ summary: `Escalate: ${reason.slice(0, 80)}` }, [{ state, reason }]);
    await this.step({ step: 'escalate', kind: 'page', detail: reason });
  }

  /** An alias of escalate(): pages whoever the model's escalation targets name. */
  async page(reason: string): Promise<void> {
    await this.escalate(reason);
  }

  /**
   * Calls another team's system. The receiver gets `Idempotency-Key: <incident>/<step>` on every attempt
   * (one key per step: a retry or a worker crash never makes it act twice); the status and the first
   * 2 KB of the answer are kept for the review. A refusal (4xx other than 408/429) or exhausted retries
   * throw: the runbook stops there and the incident is escalated, unless the runbook catches it.
   */
  async callWebhook(step: string, opts: WebhookOptions): Promise<WebhookResult> {
    checkStepName(step);
    const { state } = this.record;
    const timeout = opts.timeout ?? '10s';
    checkDuration(`callWebhook ${step}: timeout`, timeout);
    const method = opts.method ?? 'POST';
    const call = wf.proxyActivities<VigilActivities>({
      startToCloseTimeout: (ms(timeout as ms.StringValue) + 5_000) as Duration,
      retry: boundedBackoff(opts.attempts ?? 5),
    });
    const r = await call.callWebhook.executeWithOptions({ summary: `Runbook step ${step}: ${method} ${shortUrl(opts.url)}` }, [
      {
        incidentId: state.id,
        step,
        url: opts.url,
        method,
        timeoutMs: ms(timeout as ms.StringValue),
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.secretHeaders ? { secretHeaders: opts.secretHeaders } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      },
    ]);
    await this.step({ step, kind: 'webhook', detail: `${method} ${shortUrl(opts.url)} → ${r.status}`, status: r.status, body: r.body });
    return r;
  }

  /**
   * Waits for a named signal (`vigil incident signal <id> <name> --data k=v`, or the Slack button) for
   * at most `timeout`; returns it, or undefined when the time ran out. A signal sent before the wait
   * began counts.
   */
  async waitForSignal(name: string, opts: WaitOptions): Promise<RunbookSignal | undefined> {
    checkStepName(name);
    checkDuration(`waitForSignal ${name}: timeout`, opts.timeout);
    const runbook = this.record.runbookRecord();
    const until = new Date(Date.now() + ms(opts.timeout as ms.StringValue)).toISOString();
    runbook.waitingFor = { name, until, ...(opts.button ? { button: opts.button } : {}) };
    wf.setCurrentDetails(`**waiting for signal \`${name}\`** until ${until}`);
    await this.record.record(`waiting:${name}`, `until ${until}${opts.button ? ` (Slack button "${opts.button}")` : ''}`);
    await this.told();
    const find = () => this.record.signals.find((s) => s.name === name);
    const arrived = await wf.condition(() => find() !== undefined, opts.timeout as Duration);
    delete runbook.waitingFor;
    const signal = find();
    if (arrived && signal) {
      const data = signal.data && Object.keys(signal.data).length ? JSON.stringify(signal.data) : undefined;
      await this.step({ step: name, kind: 'signal', detail: `received from ${signal.by}`, ...(data ? { body: data } : {}) });
      return signal;
    }
    await this.step({ step: name, kind: 'signal', detail: `not received within ${opts.timeout}` });
    return undefined;
  }

  /** A durable pause. */
  async sleep(duration: string): Promise<void> {
    checkDuration('sleep', duration);
    await wf.sleep(duration as Duration);
  }

  /** A line in the timeline, the Slack thread and the review. */
  async note(text: string): Promise<void> {
    await this.step({ step: 'note', kind: 'note', detail: text });
  }

  /** How the incident ends (the review and `vigil incident show` report it). */
  finish(outcome: Outcome): void {
    this.record.finish(outcome);
  }

  get outcome(): Outcome | undefined {
    return this.record.state.outcome;
  }

  private async step(entry: Omit<RunbookStepRecord, 'at'>): Promise<void> {
    const steps = this.record.runbookRecord().steps;
    steps.push({ ...entry, at: new Date(Date.now()).toISOString() });
    if (steps.length > MAX_STEP_RECORDS) steps.splice(1, 1);
    await this.record.record(`step:${entry.step}`, entry.detail);
    await this.told();
  }

  /**
   * Each step is told (Slack, log) before the next one acts. Besides keeping the thread in step with
   * the runbook, this keeps the background notifications from scheduling work while the runbook does:
   * which of the two commands came first would otherwise depend on when results arrived, and a
   * replay could order them differently from the run.
   */
  private async told(): Promise<void> {
    await this.record.notifications.settled();
  }
}

function checkStepName(name: string): void {
  if (!STEP_NAME.test(name)) throw wf.ApplicationFailure.nonRetryable(`step name "${name}" must be letters, digits, _ or - (at most 63)`, 'RunbookMisuse');
}

/** A runbook's duration ("4h", "30m", "10s") that means nothing ends the runbook naming it, not as "Invalid time value". */
function checkDuration(what: string, value: unknown): void {
  const n = typeof value === 'string' ? ms(value as ms.StringValue) : NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw wf.ApplicationFailure.nonRetryable(`${what} "${String(value)}" is not a duration (e.g. 4h, 30m, 10s)`, 'RunbookMisuse');
}

/** Host and path, for summaries: never a query string (it may hold a token). */
function shortUrl(url: string): string {
  const m = /^[a-z]+:\/\/([^/?#]+)([^?#]*)/i.exec(url);
  return m ? `${m[1]}${m[2]}` : url.slice(0, 80);
}
