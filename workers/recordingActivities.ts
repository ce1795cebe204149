/**
 * The dry run's activities: each records what it would do, with its arguments, and answers as the
 * happy path would (evidence and recommendation as the past incident recorded them, gates passed, the
 * canary healthy, the model recovered). Nothing is called: no Slack, no registry, no webhook, no
 * database. Secrets appear by environment variable name only.
 */
import type { VigilActivities, WebhookCall, WebhookResult } from '../contracts/activities.js';
import type { IncidentState } from '../domain/incident.js';
import type { RunbookPolicy } from '../domain/runbook.js';

export interface PlannedStep {
  step: string;
  /** What it would do, in words. */
  does: string;
  /** Its arguments as the runbook gave them (secrets by environment variable name only). */
  args?: Record<string, unknown>;
  /** For waits: how long at most, and what the dry run assumed. */
  wait?: { timeout: string; assumed: string };
  /** When, in the incident's (skipped) time: how long after the runbook started. */
  at: string;
}

/** Receives each planned step; `at` is filled in by the recorder's owner (the dry run's clock). */
export type PlanSink = (step: Omit<PlannedStep, 'at'>) => void;

const ASSUMED = '(dry run: assumed)';

/** `taskQueue`: the dry run's one queue, which stands for every worker host's own. */
export function createRecordingActivities(opts: { recorded: IncidentState; policy: RunbookPolicy; plan: PlanSink; taskQueue: string }): VigilActivities {
  const { recorded, policy, plan } = opts;
  const model = recorded.model;
  // A stand-in registry: the champion is v1 and a candidate becomes v2 (the plan says what it would pick, not which).
  const CHAMPION = 1;
  const now = () => new Date().toISOString();
  const change = (key: string) => ({ changed: true, repeated: false, idempotencyKey: key, before: {}, after: {} });

  return {
    async recordPhase({ event, detail }) {
      if (event === 'step:note') plan({ step: 'note', does: detail });
      if (event === 'runbook_failed') plan({ step: 'runbook-failed', does: detail });
    },
    async notifyPhase() {},
    async measureModel() {
      return undefined;
    },
    async classifyIncident() {
      return recorded.classification!;
    },
    async triageIncident({ policy: p }) {
      const recommendation = recorded.recommendation ?? { action: p.actions[0]!, reasons: ['(no recommendation was recorded)'], considered: [] };
      plan({ step: 'gather-evidence', does: `gather ${p.evidence.join(', ')}; recommend (as recorded) ${recommendation.action}` });
      return { evidence: recorded.triageEvidence ?? {}, recommendation };
    },
    async requestApproval({ state }) {
      const a = state.approval;
      plan({
        step: 'request-approval',
        does: `ask ${a?.approvers.join(', ') || '(no approvers)'} (quorum ${a?.quorum ?? 1}) in Slack and the CLI to approve ${state.recommendation?.action ?? '(no action)'}`,
      });
      return {};
    },
    async escalate({ reason }) {
      plan({
        step: 'escalate',
        does: `escalate to ${model.escalation.join(', ') || '(no escalation targets)'} and the model's PagerDuty targets`,
        args: { reason },
      });
    },
    async rollbackModel() {
      plan({ step: 'rollback', does: `move ${model.id}'s champion to the newest earlier version not marked bad, mark the current one bad, roll it out` });
      return { from: CHAMPION + 1, to: CHAMPION, restoredMetrics: {} };
    },
    async markChampionHealthy() {
      plan({ step: 'mark-healthy', does: `mark ${model.id}'s champion healthy again` });
      return { version: CHAMPION };
    },
    async restoreChampion({ version, reason }) {
      plan({ step: 'restore-champion', does: `undo: ${model.id}'s champion back to the version it replaced`, args: { reason } });
      return { to: version };
    },
    async setServingMode({ mode, reason }) {
      plan({
        step: mode === 'fallback' ? 'degrade' : 'lift-degradation',
        does: mode === 'fallback' ? `serve ${model.id}'s fallback (${reason})` : `serve ${model.id} again`,
      });
      return { from: mode === 'fallback' ? 'model' : 'fallback', to: mode };
    },
    async workerHostQueue() {
      return opts.taskQueue;
    },
    async snapshotTrainingData({ minLabelledRows, since }) {
      plan({
        step: 'snapshot-training-data',
        does: `snapshot ${model.id}'s labelled predictions${since ? ` (preferring those since ${since})` : ''}, at least ${minLabelledRows} rows`,
      });
      return {
        trainCsv: ASSUMED,
        holdoutCsv: ASSUMED,
        rows: minLabelledRows,
        labelQuality: { ok: true, rows: minLabelledRows, positiveRate: 0.5, reasons: [] },
      };
    },
    async countFreshLabelledRows({ atLeast }) {
      return atLeast;
    },
    async runTrainingJob({ jobId }) {
      plan({ step: 'train', does: `run ${model.id}'s trainer (job ${jobId})` });
      return { jobId, artifactPath: ASSUMED, metrics: {} };
    },
    async evaluateCandidate() {
      plan({ step: 'evaluate', does: `score the candidate against the champion on the holdout; judge the task's gates (assumed passed)` });
      return { passed: true, gates: [], championVersion: CHAMPION };
    },
    async registerCandidate() {
      plan({ step: 'register', does: `register the candidate in ${model.id}'s registry` });
      return { version: CHAMPION + 1 };
    },
    async promoteCandidate({ canaried }) {
      plan({ step: 'promote', does: `make the candidate ${model.id}'s champion and give it all traffic${canaried ? ' (after its canary)' : ''}` });
      return { from: CHAMPION, to: CHAMPION + 1 };
    },
    async startCanary({ percent, shadow, incidentId }) {
      plan({ step: 'canary', does: `send the candidate ${percent}% of ${model.id}'s traffic${shadow ? ' (shadow)' : ''}` });
      return { stableVersion: CHAMPION, target: ASSUMED, change: change(`${incidentId}/canary`) };
    },
    async judgeCanary({ final }) {
      if (final) plan({ step: 'judge-canary', does: 'judge the canary against the champion (assumed healthy)' });
      const live = { predictions: 0, labelled: 0 };
      return { verdict: final ? 'promote' : 'continue', reasons: [ASSUMED], canary: live, stable: live, checkedAt: now() };
    },
    async rollbackCanary({ reason, incidentId }) {
      plan({ step: 'rollback-canary', does: `all of ${model.id}'s traffic back to the champion; the candidate marked bad`, args: { reason } });
      return change(`${incidentId}/canary-rollback`);
    },
    async checkRecovery({ failureMode, action }) {
      plan({
        step: 'validate',
        does: `check that ${model.id} recovered from ${failureMode} after ${action} (up to ${policy.validation.maxExtraWindows} more windows while traffic is thin; undo a model change that did not help)`,
      });
      return { recovered: true, reasons: ['(dry run: assumed recovered)'], checkedAt: now(), metrics: {} };
    },
    async callWebhook(call: WebhookCall): Promise<WebhookResult> {
      plan({
        step: call.step,
        does: `${call.method} ${call.url} with Idempotency-Key ${call.incidentId}/${call.step} (not called: dry run)`,
        args: {
          ...(call.headers ? { headers: call.headers } : {}),
          ...(call.secretHeaders ? { secretHeaders: Object.fromEntries(Object.entries(call.secretHeaders).map(([h, env]) => [h, `$${env}`])) } : {}),
          ...(call.body !== undefined ? { body: call.body } : {}),
          timeoutMs: call.timeoutMs,
        },
      });
      return { status: 200, body: '', truncated: false, idempotencyKey: `${call.incidentId}/${call.step}`, durationMs: 0 };
    },
    async writeReview({ state }) {
      plan({ step: 'review', does: `write the post-incident review (outcome ${state.outcome ?? 'unknown'})` });
      return { path: ASSUMED };
    },
    async runMonitor() {
      throw new Error('a dry run runs no monitor');
    },
  };
}
