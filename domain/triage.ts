/**
 * Triage: recommend the first of the runbook's candidate actions whose preconditions hold, and say
 * why each candidate was or was not chosen.
 */
import type { Recommendation, RemediationAction } from './incident.js';
import type { RollbackJudgement } from './rollbackJudgement.js';
import type { RunbookPolicy } from './runbook.js';

/** Facts triage gathered; each is optional because a runbook may not ask for it. */
export interface TriageFacts {
  /** The latest champion change within the runbook's recent-deploy window. */
  recentDeploy?: { fromVersion?: number; toVersion: number; at: string };
  /** The version a rollback would restore, and how it and the champion scored on recent labelled traffic. */
  rollbackTarget?: { version: number; reason: string; judgement?: RollbackJudgement };
  labelledRows?: number;
  labelQuality?: { ok: boolean; reasons: string[] };
  servingMode?: 'model' | 'fallback';
}

/**
 * The latest champion change that was a deploy: a move to a newer version. A move back (a rollback, an
 * undo — Vigil's own remediation or a person's) is a response to a bad deploy, not a new suspect: counting
 * it would make the next incident roll back further, past the version just restored.
 */
export function lastDeploy<C extends { fromVersion?: number; toVersion: number }>(changes: readonly C[]): C | undefined {
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.fromVersion === undefined || c.toVersion > c.fromVersion) return c;
  }
  return undefined;
}

export function recommendAction(policy: RunbookPolicy, facts: TriageFacts): Recommendation {
  const considered = policy.actions.map((action) => ({ action, ...applicability(action, policy, facts) }));
  const chosen = considered.find((c) => c.applicable);
  const action: RemediationAction = chosen?.action ?? policy.safeDefault;
  return {
    action,
    reasons: chosen ? [chosen.reason] : [`no candidate applies; runbook safe default ${policy.safeDefault}`],
    considered,
  };
}

function applicability(action: RemediationAction, policy: RunbookPolicy, f: TriageFacts): { applicable: boolean; reason: string } {
  switch (action) {
    case 'rollback':
      if (!f.recentDeploy) return { applicable: false, reason: 'no champion change in the recent-deploy window' };
      if (!f.rollbackTarget) return { applicable: false, reason: `v${f.recentDeploy.toVersion} was deployed recently but no earlier healthy version exists` };
      if (f.rollbackTarget.judgement) {
        const j = f.rollbackTarget.judgement;
        if (!j.enough) return { applicable: false, reason: `${j.summary}: not enough to say a rollback would help, so it is not preferred` };
        if (!j.better) {
          return {
            applicable: false,
            reason: `${j.summary}: rolling back to v${f.rollbackTarget.version} would not help (it must do better by ${policy.rollback.minImprovement ?? 0.02}${j.metric === 'mae' ? ' relative' : ''})`,
          };
        }
        return {
          applicable: true,
          reason: `champion changed to v${f.recentDeploy.toVersion} at ${f.recentDeploy.at}; roll back to v${f.rollbackTarget.version}: ${j.summary}`,
        };
      }
      return {
        applicable: true,
        reason: `champion changed to v${f.recentDeploy.toVersion} at ${f.recentDeploy.at}; roll back to v${f.rollbackTarget.version} (${f.rollbackTarget.reason})`,
      };
    case 'retrain': {
      const rows = f.labelledRows ?? 0;
      const min = policy.retrain.minLabelledRows;
      if (rows < min) return { applicable: false, reason: `only ${rows} labelled rows (need ${min})` };
      if (f.labelQuality && !f.labelQuality.ok) return { applicable: false, reason: `labels unfit: ${f.labelQuality.reasons.join('; ')}` };
      return { applicable: true, reason: `${rows} labelled rows of good quality (≥ ${min}): retrain on recent data` };
    }
    case 'fallback':
      if (f.servingMode === 'fallback') return { applicable: false, reason: 'already serving the fallback' };
      return { applicable: true, reason: 'degrade to the rules-based fallback until the model is trusted again' };
    case 'escalate_upstream':
      return { applicable: true, reason: 'page the owning upstream team; no model action' };
    case 'monitor':
      return { applicable: true, reason: 'keep watching; no change' };
  }
}
