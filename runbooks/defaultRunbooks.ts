/**
 * Vigil's shipped runbooks, one per failure mode. Bump `version` on any change: it is recorded on every
 * incident and in its review. Teams override fields per model in their config.
 */
import type { FailureMode } from '../domain/incident.js';
import type { RunbookPolicyInput } from '../domain/runbook.js';

export const DEFAULT_RUNBOOKS: Record<FailureMode, RunbookPolicyInput> = {
  data_drift: {
    version: 'data_drift/v1',
    evidence: ['drift_report', 'performance', 'recent_deployments', 'label_quality'],
    actions: ['rollback', 'retrain', 'fallback', 'monitor'],
    approval: { timeout: '30m', escalationTimeout: '15m' },
    safeDefault: 'fallback',
  },
  concept_drift: {
    version: 'concept_drift/v1',
    evidence: ['performance', 'drift_report', 'recent_deployments', 'label_quality'],
    actions: ['rollback', 'retrain', 'fallback'],
    approval: { timeout: '30m', escalationTimeout: '15m' },
    safeDefault: 'fallback',
  },
  data_quality: {
    version: 'data_quality/v1',
    evidence: ['data_quality_report', 'recent_deployments', 'drift_report'],
    actions: ['rollback', 'fallback', 'escalate_upstream'],
    approval: { timeout: '15m', escalationTimeout: '10m' },
    safeDefault: 'fallback',
  },
  infrastructure: {
    version: 'infrastructure/v1',
    evidence: ['health_metrics', 'recent_deployments'],
    actions: ['rollback', 'fallback', 'escalate_upstream'],
    approval: { timeout: '10m', escalationTimeout: '5m' },
    safeDefault: 'fallback',
  },
  feedback_loop: {
    version: 'feedback_loop/v1',
    evidence: ['label_quality', 'performance', 'drift_report'],
    // Never retrain on labels that may be corrupted: hold the model and get people looking.
    actions: ['fallback', 'escalate_upstream', 'monitor'],
    approval: { timeout: '30m', escalationTimeout: '15m' },
    safeDefault: 'monitor',
  },
  upstream: {
    version: 'upstream/v1',
    evidence: ['health_metrics', 'data_quality_report'],
    actions: ['escalate_upstream', 'fallback'],
    approval: { timeout: '15m', escalationTimeout: '10m' },
    safeDefault: 'escalate_upstream',
  },
};

/**
 * Per-model overrides for a deployment target that cannot serve a fallback (`deployment.kind: "kserve"`):
 * the shipped runbooks with "fallback" taken out of their actions and safe defaults (and `degrade` is off
 * by default). The config refuses a KServe model whose merged runbooks could still choose a fallback.
 */
export const RUNBOOKS_WITHOUT_FALLBACK = {
  data_drift: { actions: ['rollback', 'retrain', 'monitor'], safeDefault: 'monitor' },
  concept_drift: { actions: ['rollback', 'retrain'], safeDefault: 'monitor' },
  data_quality: { actions: ['rollback', 'escalate_upstream'], safeDefault: 'escalate_upstream' },
  infrastructure: { actions: ['rollback', 'escalate_upstream'], safeDefault: 'escalate_upstream' },
  feedback_loop: { actions: ['escalate_upstream', 'monitor'] },
  upstream: { actions: ['escalate_upstream'] },
} satisfies Record<FailureMode, Partial<RunbookPolicyInput>>;
