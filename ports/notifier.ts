/**
 * Where Vigil tells people things: approval requests, escalations, phase updates, reviews.
 * Implemented by the log notifier (adapters/notify/logNotifier.ts), the Slack notifier, the PagerDuty
 * notifier (adapters/pagerduty/pagerDutyNotifier.ts) and their composite.
 */
import type { IncidentState } from '../domain/incident.js';

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
