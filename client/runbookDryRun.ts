/**
 * `vigil runbook dry-run <name> --incident <id>`: the runbook's code run against a past incident's
 * recorded state (model, classification, evidence, recommendation) with every step recorded instead of
 * performed — no webhook called, no page sent, no model changed — and time skipped: a wait returns at
 * once (as timed out, or as received for the signals given with --signal), a sleep is noted. The plan
 * lists each step with what it would do, its arguments and each wait with its timeout.
 */
import type { WebhookResult } from '../contracts/activities.js';
import type {
  Classification,
  Evidence,
  FinalDecision,
  IncidentState,
  ModelRef,
  Outcome,
  Recommendation,
  RemediationAction,
  RunbookSignal,
} from '../domain/incident.js';
import type { RunbookPolicy } from '../domain/runbook.js';
import type { Runbook } from '../workflows/runbook/defineRunbook.js';
import type { IncidentSteps, WaitOptions, WebhookOptions } from '../workflows/runbook/runbookIncident.js';

export interface PlannedStep {
  step: string;
  /** What it would do, in words. */
  does: string;
  /** Its arguments as the runbook gave them (secrets by environment variable name only). */
  args?: Record<string, unknown>;
  /** For waits: how long at most, and what the dry run assumed. */
  wait?: { timeout: string; assumed: string };
}

export interface DryRunResult {
  runbook: string;
  incident: string;
  params: Record<string, unknown>;
  plan: PlannedStep[];
  outcome?: Outcome;
  /** The runbook threw: it would fail here (and the incident be escalated). */
  error?: string;
}

export interface DryRunOptions {
  runbook: Runbook;
  state: IncidentState;
  policy: RunbookPolicy;
  /** The runbook's params as configured (parsed by its schema here). */
  params: Record<string, unknown>;
  /** Signals to treat as received when waited for (by name); others time out. */
  signals?: string[];
  /** The approval's answer (default: approve the recommendation). */
  decision?: 'approve' | 'reject';
}

export async function dryRunRunbook(opts: DryRunOptions): Promise<DryRunResult> {
  const parsed = opts.runbook.params.safeParse(opts.params);
  const base = { runbook: opts.runbook.name, incident: opts.state.id, params: opts.params };
  if (!parsed.success) {
    return {
      ...base,
      plan: [],
      error: `params refused by the runbook's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`,
    };
  }
  const incident = new DryRunIncident(opts);
  try {
    await opts.runbook.run(incident, parsed.data);
    return { ...base, params: parsed.data as Record<string, unknown>, plan: incident.plan, outcome: incident.outcome ?? 'monitoring' };
  } catch (err) {
    return { ...base, params: parsed.data as Record<string, unknown>, plan: incident.plan, error: (err as Error).message };
  }
}

class DryRunIncident implements IncidentSteps {
  readonly plan: PlannedStep[] = [];
  policy: RunbookPolicy;
  outcome: Outcome | undefined;
  private isDegraded = false;
  private readonly received: RunbookSignal[] = [];

  constructor(private readonly opts: DryRunOptions) {
    this.policy = opts.policy;
  }

  get id(): string {
    return this.opts.state.id;
  }
  get model(): ModelRef {
    return this.opts.state.model;
  }
  get classification(): Classification {
    const c = this.opts.state.classification;
    if (!c) throw new Error(`incident ${this.opts.state.id} was never classified: nothing to dry-run against`);
    return c;
  }
  get evidence(): readonly Evidence[] {
    return this.opts.state.evidence;
  }
  get signals(): readonly RunbookSignal[] {
    return this.received;
  }
  get degraded(): boolean {
    return this.isDegraded;
  }

  private add(step: PlannedStep) {
    this.plan.push(step);
  }

  async gatherEvidence(): Promise<{ evidence: Record<string, unknown>; recommendation: Recommendation }> {
    const recommendation = this.opts.state.recommendation ?? { action: this.policy.actions[0]!, reasons: ['(no recommendation was recorded)'], considered: [] };
    this.add({ step: 'gather-evidence', does: `gather ${this.policy.evidence.join(', ')}; recommend (as recorded) ${recommendation.action}` });
    return { evidence: this.opts.state.triageEvidence ?? {}, recommendation };
  }

  async requestApproval(): Promise<FinalDecision> {
    const action = this.opts.state.recommendation?.action ?? this.policy.actions[0]!;
    const verdict = this.opts.decision ?? 'approve';
    const approvers = this.model.approversBySeverity?.[this.classification.severity] ?? this.model.approvers;
    this.add({
      step: 'request-approval',
      does: `ask ${approvers.join(', ')} (quorum ${this.policy.approval.quorum[this.classification.severity] ?? 1}) to approve ${action}; escalate after ${this.policy.approval.timeout}, then apply ${this.policy.safeDefault} after ${this.policy.approval.escalationTimeout}`,
      wait: { timeout: this.policy.approval.timeout, assumed: verdict === 'approve' ? 'approved' : 'rejected' },
    });
    return { verdict, action, by: ['(dry run)'], at: new Date().toISOString(), ...(verdict === 'reject' ? { reason: '(dry run)' } : {}) };
  }

  async degrade(why: string): Promise<void> {
    this.isDegraded = true;
    this.add({ step: 'degrade', does: `serve ${this.model.id}'s fallback while ${why}` });
  }

  async liftDegradation(): Promise<void> {
    if (!this.isDegraded) return;
    this.isDegraded = false;
    this.add({ step: 'lift-degradation', does: `serve ${this.model.id} again` });
  }

  async remediate(action: RemediationAction): Promise<void> {
    this.add({
      step: 'remediate',
      does: `${action}, then validate over ${this.policy.validation.window} (undo a model change that did not help)`,
      args: { action },
    });
    this.outcome = action === 'escalate_upstream' ? 'escalated_upstream' : action === 'monitor' ? 'monitoring' : 'resolved';
  }

  async validate(step = 'validate'): Promise<boolean | null> {
    this.add({
      step,
      does: `watch ${this.model.id} for ${this.policy.validation.window} (up to ${this.policy.validation.maxExtraWindows} more windows while traffic is thin); escalate if not recovered`,
      wait: { timeout: this.policy.validation.window, assumed: 'recovered' },
    });
    this.outcome = 'resolved';
    return true;
  }

  async escalate(reason: string): Promise<void> {
    this.add({
      step: 'escalate',
      does: `escalate to ${this.model.escalation.join(', ') || '(no escalation targets)'} and the model's PagerDuty targets`,
      args: { reason },
    });
  }

  async page(reason: string): Promise<void> {
    await this.escalate(reason);
  }

  async callWebhook(step: string, opts: WebhookOptions): Promise<WebhookResult> {
    const method = opts.method ?? 'POST';
    this.add({
      step,
      does: `${method} ${opts.url} with Idempotency-Key ${this.id}/${step} (not called: dry run)`,
      args: {
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.secretHeaders ? { secretHeaders: Object.fromEntries(Object.entries(opts.secretHeaders).map(([h, env]) => [h, `$${env}`])) } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        timeout: opts.timeout ?? '10s',
        attempts: opts.attempts ?? 5,
      },
    });
    return { status: 200, body: '', truncated: false, idempotencyKey: `${this.id}/${step}`, durationMs: 0 };
  }

  async waitForSignal(name: string, opts: WaitOptions): Promise<RunbookSignal | undefined> {
    const arrives = this.opts.signals?.includes(name) ?? false;
    this.add({
      step: name,
      does: `wait for signal ${name} (vigil incident signal ${this.id} ${name}${opts.button ? `, or the Slack button "${opts.button}"` : ''})`,
      wait: { timeout: opts.timeout, assumed: arrives ? 'received (--signal)' : 'timed out' },
    });
    if (!arrives) return undefined;
    const signal = { name, by: '(dry run)' };
    this.received.push(signal);
    return signal;
  }

  async sleep(duration: string): Promise<void> {
    this.add({ step: 'sleep', does: `sleep ${duration}`, wait: { timeout: duration, assumed: 'elapsed' } });
  }

  async note(text: string): Promise<void> {
    this.add({ step: 'note', does: `note: ${text}` });
  }

  finish(outcome: Outcome): void {
    this.outcome = outcome;
  }
}

/** The plan as text, one numbered step a line (args and waits indented). */
export function formatPlan(r: DryRunResult): string {
  const lines = [`runbook ${r.runbook} on ${r.incident} (dry run: nothing called, no time waited)`, `params: ${JSON.stringify(r.params)}`, ''];
  r.plan.forEach((p, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${p.step}: ${p.does}`);
    if (p.wait) lines.push(`      waits at most ${p.wait.timeout}; assumed ${p.wait.assumed}`);
    if (p.args && Object.keys(p.args).length) lines.push(`      ${JSON.stringify(p.args)}`);
  });
  lines.push('', r.error ? `FAILS: ${r.error}` : `outcome: ${r.outcome}`);
  return lines.join('\n');
}
