/**
 * Recording and telling: the incident's projection and audit log (a database-only step), phase
 * notifications, approval requests and escalations through the notifier, classification and triage.
 */
import type { IncidentActivities } from '../contracts/activities.js';
import { classify } from '../domain/classify.js';
import type { IncidentState } from '../domain/incident.js';
import { assessLabels } from '../domain/labelQuality.js';
import { durationMs } from '../domain/runbook.js';
import type { TaskType } from '../domain/task.js';
import { lastDeploy, recommendAction, type TriageFacts } from '../domain/triage.js';
import { computeModelSignals, signalsAsEvidence } from '../monitoring/computeModelSignals.js';
import { computeHealthSignals } from '../monitoring/healthSignals.js';
import { activityKey } from './activityKey.js';
import { compareVersions } from './compareVersions.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';
import { notifyBounded } from './notifyBounded.js';

export function createIncidentActivities(deps: ActivityDeps): IncidentActivities {
  const { incidentStore, notifier } = deps;
  const tell = (state: IncidentState, event: string, detail: string) =>
    notifyBounded(`${state.id} ${event}`, () => notifier.phaseChanged(state, event, detail));

  return {
    async recordPhase(args) {
      const { state, event, detail } = args;
      const actor = args.actor ?? 'vigil';
      await incidentStore.record(state, { kind: event, actor, detail: { detail, phase: state.phase }, idempotencyKey: activityKey({ event, actor, detail }) });
      // Incidents started before notifyPhase existed are told here. Every attempt notifies, not only the
      // one that wrote the audit row: the Slack notifier posts each event once, whatever the attempts.
      if (args.notified !== 'separately') await tell(state, event, detail);
    },

    async notifyPhase({ state, event, detail }) {
      await tell(state, event, detail);
    },

    async measureModel(args) {
      const cfg = modelConfig(deps, args.model.id);
      const s = await computeModelSignals(deps, cfg);
      if (s.samples === 0 && s.labelled === 0) return undefined;
      const reported = new Set(args.evidence.flatMap((e) => Object.keys(e.values)));
      const measured = Object.entries(signalsAsEvidence(s)).filter(([k]) => !reported.has(k));
      return measured.length ? Object.fromEntries(measured) : undefined;
    },

    async classifyIncident(args) {
      const cfg = modelConfig(deps, args.model.id);
      return classify({ signal: args.signal, evidence: args.evidence, tier: args.model.tier, psiThreshold: cfg.monitor.psiThreshold, task: cfg.task.type });
    },

    /** Gathers the runbook's evidence and recommends an action. */
    async triageIncident(args) {
      const { model, policy } = args;
      const cfg = modelConfig(deps, model.id);
      const evidence: Record<string, unknown> = {};
      const [servingMode, champion] = await Promise.all([deps.deploymentFor(model.id).servingMode(model.id), deps.registry.getAlias(model.id, 'champion')]);
      const facts: TriageFacts = { servingMode };

      const wants = new Set(policy.evidence);
      if (wants.has('drift_report') || wants.has('performance') || wants.has('data_quality_report')) {
        const s = await computeModelSignals(deps, cfg);
        if (wants.has('drift_report'))
          evidence.driftReport = { samples: s.samples, psi: round(s.psi), driftedFeatures: s.driftedFeatures, threshold: cfg.monitor.psiThreshold };
        if (wants.has('performance'))
          evidence.performance = {
            task: s.task,
            labelled: s.labelled,
            accuracy: s.accuracy,
            baselineAccuracy: s.baselineAccuracy,
            accuracyDrop: s.accuracyDrop,
            // The task type's own figures (binary AUC, log loss…; multiclass macro-F1; regression MAE, RMSE) and their verdicts.
            metrics: s.metrics && round(s.metrics),
            findings: s.performance?.map((f) => ({ metric: f.metric, current: f.current, baseline: f.baseline, breached: f.breached, reason: f.reason })),
          };
        if (wants.has('data_quality_report')) evidence.dataQuality = s.dataQuality;
        evidence.signals = signalsAsEvidence(s);
      }
      if (wants.has('recent_deployments')) {
        const since = new Date(Date.now() - durationMs(policy.rollback.recentDeployWindow));
        const changes = await deps.registry.aliasHistory(model.id, 'champion', since);
        evidence.recentDeployments = changes;
        const last = lastDeploy(changes);
        if (last && champion) {
          facts.recentDeploy = { fromVersion: last.fromVersion, toVersion: last.toVersion, at: last.at };
          const target = await deps.registry.lastGoodVersionBefore(model.id, champion.version);
          if (target) {
            // The version's headline holdout figure by task type: AUC, macro-F1 or MAE.
            const [metric, label] = HEADLINE_METRIC[cfg.task.type];
            const judgement = await compareVersions(deps, cfg, {
              champion,
              other: target,
              minImprovement: policy.rollback.minImprovement ?? 0.02,
              step: 'triage',
            });
            facts.rollbackTarget = {
              version: target.version,
              reason: `v${target.version} is ${target.status}, ${label} ${target.metrics[metric] ?? '?'}`,
              judgement,
            };
            evidence.rollbackJudgement = judgement;
          }
        }
        evidence.championVersion = champion?.version;
      }
      if (wants.has('label_quality')) {
        const labelled = await deps.predictions.recent(model.id, { limit: 5000, labelledOnly: true, withoutFeatures: true });
        const baseline = champion?.metrics.positiveRate;
        const minRows = policy.retrain.minLabelledRows;
        // A positive rate means something for binary labels only; a class or a value is judged by its count.
        const valued = labelled.filter((r) => r.labelValue !== undefined).length;
        const quality =
          cfg.task.type === 'binary'
            ? assessLabels(
                labelled.map((r) => r.label as number),
                { minRows, baselinePositiveRate: typeof baseline === 'number' ? baseline : undefined },
              )
            : {
                ok: valued >= minRows,
                rows: valued,
                reasons: [valued >= minRows ? `${valued} labelled rows (${cfg.task.type})` : `only ${valued} labelled rows (need ${minRows})`],
              };
        facts.labelledRows = quality.rows;
        facts.labelQuality = quality;
        evidence.labelQuality = quality;
      }
      if (wants.has('health_metrics')) {
        const health = await computeHealthSignals(deps, cfg);
        evidence.healthMetrics = health.checks.length
          ? health.checks.map((c) => ({ metric: c.metric, status: c.status, value: c.value, threshold: c.threshold, message: c.message }))
          : { note: 'no health checks configured for this model (models[].health)' };
      }

      return { evidence, recommendation: recommendAction(policy, facts) };
    },

    async requestApproval(args) {
      const r = await notifyBounded(`${args.state.id} approval request`, () => notifier.approvalRequested(args.state));
      return r?.approvers?.length ? { approvers: r.approvers } : {};
    },

    async escalate(args) {
      await incidentStore.append({
        incidentId: args.state.id,
        kind: 'escalated',
        actor: 'vigil',
        detail: { reason: args.reason, to: args.state.model.escalation },
        idempotencyKey: activityKey({ escalated: args.reason }),
      });
      // Like recordPhase: every attempt notifies; the notifier dedupes.
      await notifyBounded(`${args.state.id} escalation`, () => notifier.escalated(args.state, args.reason));
    },
  };
}

/** The holdout metric a version is introduced by, per task type: [registry metric name, label]. */
const HEADLINE_METRIC: Record<TaskType, [string, string]> = { binary: ['auc', 'auc'], multiclass: ['macroF1', 'macro-F1'], regression: ['mae', 'MAE'] };

function round(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10000) / 10000]));
}
