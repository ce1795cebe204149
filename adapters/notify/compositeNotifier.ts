/**
 * Tells several channels (the log, Slack, PagerDuty) the same thing. Every channel is always tried, so
 * one failing never hides another's message; if any failed, the call fails afterwards with each failure
 * named, and the activity's retry tells every channel again. That is safe because each channel is
 * idempotent (Slack dedupes per incident and event, PagerDuty by the incident's dedup key) or harmless
 * to repeat (a log line).
 */
import type { ApprovalRequestResult, Notifier } from '../../ports/notifier.js';

export interface NotifierChannel {
  name: string;
  notifier: Notifier;
}

export class NotifierChannelsError extends Error {
  constructor(readonly failures: { channel: string; error: unknown }[]) {
    super(failures.map((f) => `${f.channel} notifier failed: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; '), {
      cause: failures[0]?.error,
    });
  }
}

export function createCompositeNotifier(channels: NotifierChannel[]): Notifier {
  async function all<T>(call: (n: Notifier) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(channels.map((c) => call(c.notifier)));
    const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ channel: channels[i]!.name, error: s.reason as unknown }] : []));
    if (failures.length) throw new NotifierChannelsError(failures);
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  }

  return {
    /** The union of what the channels learned (only Slack returns approvers: its user groups' members). */
    async approvalRequested(state): Promise<ApprovalRequestResult> {
      const results = await all((n) => n.approvalRequested(state));
      const approvers = [...new Set(results.flatMap((r) => (r && r.approvers) || []))];
      return approvers.length ? { approvers } : {};
    },
    async escalated(state, reason) {
      await all((n) => n.escalated(state, reason));
    },
    async phaseChanged(state, event, detail) {
      await all((n) => n.phaseChanged(state, event, detail));
    },
    async reviewWritten(state, markdownPath) {
      await all((n) => n.reviewWritten(state, markdownPath));
    },
  };
}
