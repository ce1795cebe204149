/**
 * Where Vigil tells people things: approval requests, escalations, phase updates, reviews.
 * The log notifier is the CLI-only default; the Slack notifier implements the same interface.
 */
import type { IncidentState } from '../../domain/incident.js';

/** What a channel learned while asking for approval (Slack: the members of approver user groups). */
export interface ApprovalRequestResult {
  /** Extra ids that may decide, e.g. a Slack user group's members at the time of the request. */
  approvers?: string[];
}

export interface Notifier {
  approvalRequested(state: IncidentState): Promise<ApprovalRequestResult | void>;
  escalated(state: IncidentState, reason: string): Promise<void>;
  phaseChanged(state: IncidentState, event: string, detail: string): Promise<void>;
  reviewWritten(state: IncidentState, markdownPath: string): Promise<void>;
}

export function createLogNotifier(log: (line: string) => void = (l) => console.log(l)): Notifier {
  return {
    async approvalRequested(s) {
      const r = s.recommendation;
      log(
        `[vigil] ${s.id} (${s.classification?.severity} ${s.classification?.failureMode}) recommends ${r?.action}: ${r?.reasons.join('; ')}\n` +
          `        approve: ./bin/vigil approve ${s.id}    reject: ./bin/vigil reject ${s.id} --reason "..."    approvers: ${s.approval?.approvers.join(', ')}`,
      );
    },
    async escalated(s, reason) {
      log(`[vigil] ${s.id} escalated to ${s.model.escalation.join(', ') || 'the model owners'}: ${reason}`);
    },
    async phaseChanged(s, event, detail) {
      if (event.startsWith('phase:')) log(`[vigil] ${s.id} → ${s.phase}: ${detail}`);
    },
    async reviewWritten(s, p) {
      log(`[vigil] ${s.id} review written: ${p} (./bin/vigil review show ${s.id})`);
    },
  };
}
