/** The CLI-only default notifier: one line per event on the console. */
import type { Notifier } from '../../ports/notifier.js';

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
