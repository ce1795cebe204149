/** Human-readable incident output for the terminal. */
import type { IncidentDetails } from '../client/incidentService.js';
import type { IncidentSummary } from '../ports/incidentStore.js';
import { formatTable } from './formatTable.js';

export function formatIncidentList(list: IncidentSummary[]): string {
  if (list.length === 0) return 'no incidents';
  const rows = list.map((i) => [i.id, i.status, i.phase, i.severity ?? '-', i.failureMode ?? '-', i.recommendedAction ?? '-', i.outcome ?? '-']);
  return formatTable(['ID', 'STATUS', 'PHASE', 'SEV', 'FAILURE MODE', 'ACTION', 'OUTCOME'], rows);
}

export function formatIncident(d: IncidentDetails): string {
  const s = d.state as Partial<IncidentDetails['state'] & Record<string, any>>;
  const lines = [
    `${d.id}`,
    `  model:        ${d.model}`,
    `  status:       ${d.status}${d.outcome ? ` (${d.outcome})` : ''}`,
    `  phase:        ${d.phase}`,
    `  severity:     ${d.severity ?? '-'}`,
    `  failure mode: ${d.failureMode ?? '-'}`,
    `  recommended:  ${d.recommendedAction ?? '-'}`,
    `  decision:     ${d.decision ? `${d.decision.verdict} by ${d.decision.by.join(', ')}${d.decision.reason ? ` — ${d.decision.reason}` : ''}` : '-'}`,
    `  opened:       ${d.openedAt}`,
  ];
  if (s.classification) lines.push('  why:', ...s.classification.reasons.map((r: string) => `    - ${r}`));
  if (s.recommendation) lines.push('  recommendation:', ...s.recommendation.reasons.map((r: string) => `    - ${r}`));
  if (s.approval && d.phase === 'awaiting_approval') {
    lines.push(`  approvers:    ${s.approval.approvers.join(', ')} (quorum ${s.approval.quorum}, deadline ${s.approval.deadline})`);
    lines.push(`  decide:       vigil approve ${d.id}   |   vigil reject ${d.id} --reason "..."`);
  }
  if (s.remediation) lines.push(`  remediation:  ${s.remediation.action}: ${s.remediation.summary ?? 'in progress'}`);
  if (s.validation)
    lines.push(
      `  validation:   ${s.validation.recovered === null ? 'inconclusive' : s.validation.recovered ? 'recovered' : 'not recovered'} — ${s.validation.reasons.join('; ')}`,
    );
  return lines.join('\n');
}
