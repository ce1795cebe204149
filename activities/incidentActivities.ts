/**
 * Recording and telling: the audit log and incident projection in PostgreSQL, approval requests and
 * escalations through the notifier, classification and triage.
 */
import { Context } from '@temporalio/activity';
import type { ApprovalRequestResult } from '../adapters/notify/notifier.js';
import { classify } from '../domain/classify.js';
import type { Classification, Evidence, IncidentState, ModelRef, Recommendation, SignalKind } from '../domain/incident.js';
import { failureModeForSignal } from '../domain/incident.js';
import { assessLabels } from '../domain/labelQuality.js';
import { durationMs, type RunbookPolicy } from '../domain/runbook.js';
import { recommendAction, type TriageFacts } from '../domain/triage.js';
import { computeModelSignals, signalsAsEvidence } from '../monitoring/computeModelSignals.js';
import { computeHealthSignals } from '../monitoring/healthSignals.js';
import { inTransaction } from '../adapters/postgres/database.js';
import { loadRecentTraffic } from '../adapters/postgres/predictionLog.js';
import { activityKey } from './activityKey.js';
import { modelConfig, type ActivityDeps } from './activityDeps.js';

export function createIncidentActivities(deps: ActivityDeps) {
  const { pool, notifier } = deps;

  return {
    /** Projects the incident's state and appends one audit event, once per activity (not per attempt). */
    async recordPhase(args: { state: IncidentState; event: string; detail: string; actor?: string }): Promise<void> {
      const { state, event, detail } = args;
      const key = activityKey();
      await inTransaction(pool, async (client) => {
        await client.query(
          `INSERT INTO incidents (id, model_id, dedupe_key, signal, status, phase, failure_mode, severity,
                                  recommended_action, outcome, state, seq, opened_at, updated_at, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now(), $14)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, phase = EXCLUDED.phase,
             failure_mode = EXCLUDED.failure_mode, severity = EXCLUDED.severity,
             recommended_action = EXCLUDED.recommended_action, outcome = EXCLUDED.outcome,
             state = EXCLUDED.state, seq = EXCLUDED.seq, updated_at = now(), closed_at = EXCLUDED.closed_at
           WHERE incidents.seq <= EXCLUDED.seq`,
          [
            state.id,
            state.model.id,
            `${state.model.id}:${failureModeForSignal(state.signal)}`,
            state.signal,
            state.status,
            state.phase,
            state.classification?.failureMode ?? null,
            state.classification?.severity ?? null,
            state.recommendation?.action ?? null,
            state.outcome ?? null,
            JSON.stringify(state),
            state.timeline.length,
            state.openedAt,
            state.closedAt ?? null,
          ],
        );
        await client.query(
          `INSERT INTO audit_events (incident_id, kind, actor, detail, idempotency_key) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (idempotency_key) DO NOTHING`,
          [state.id, event, args.actor ?? 'vigil', JSON.stringify({ detail, phase: state.phase }), key],
        );
      });
      // Every attempt notifies, not only the one that wrote the audit row: when a notifier fails, the retry
      // must tell again (the Slack notifier posts each event once, whatever the attempts).
      await notifyBounded(`${state.id} ${event}`, () => notifier.phaseChanged(state, event, detail));
    },

    async classifyIncident(args: { model: ModelRef; signal: SignalKind; evidence: Evidence[] }): Promise<Classification> {
      const cfg = modelConfig(deps, args.model.id);
      return classify({ signal: args.signal, evidence: args.evidence, tier: args.model.tier, psiThreshold: cfg.monitor.psiThreshold });
    },

    /** Gathers the runbook's evidence and recommends an action. */
    async triageIncident(args: {
      incidentId: string;
      model: ModelRef;
      classification: Classification;
      policy: RunbookPolicy;
    }): Promise<{ evidence: Record<string, unknown>; recommendation: Recommendation }> {
      const { model, policy } = args;
      const cfg = modelConfig(deps, model.id);
      const evidence: Record<string, unknown> = {};
      const [servingMode, champion] = await Promise.all([
        deps.registry.getServingMode(model.id),
        deps.registry.getAlias(model.id, 'champion'),
      ]);
      const facts: TriageFacts = { servingMode };

      const wants = new Set(policy.evidence);
      if (wants.has('drift_report') || wants.has('performance') || wants.has('data_quality_report')) {
        const s = await computeModelSignals(deps, cfg);
        if (wants.has('drift_report')) evidence.driftReport = { samples: s.samples, psi: round(s.psi), driftedFeatures: s.driftedFeatures, threshold: cfg.monitor.psiThreshold };
        if (wants.has('performance')) evidence.performance = { labelled: s.labelled, accuracy: s.accuracy, baselineAccuracy: s.baselineAccuracy, accuracyDrop: s.accuracyDrop };
        if (wants.has('data_quality_report')) evidence.dataQuality = s.dataQuality;
        evidence.signals = signalsAsEvidence(s);
      }
      if (wants.has('recent_deployments')) {
        const since = new Date(Date.now() - durationMs(policy.rollback.recentDeployWindow));
        const changes = await deps.registry.aliasHistory(model.id, 'champion', since);
        evidence.recentDeployments = changes;
        const last = changes[changes.length - 1];
        if (last && champion) {
          facts.recentDeploy = { fromVersion: last.fromVersion, toVersion: last.toVersion, at: last.at };
          const target = await deps.registry.lastGoodVersionBefore(model.id, champion.version);
          if (target) facts.rollbackTarget = { version: target.version, reason: `v${target.version} is ${target.status}, auc ${target.metrics.auc ?? '?'}` };
        }
        evidence.championVersion = champion?.version;
      }
      if (wants.has('label_quality')) {
        const labelled = await loadRecentTraffic(pool, model.id, { limit: 5000, labelledOnly: true });
        const baseline = champion?.metrics.positiveRate;
        const quality = assessLabels(labelled.map((r) => r.label as number), {
          minRows: policy.retrain.minLabelledRows,
          baselinePositiveRate: typeof baseline === 'number' ? baseline : undefined,
        });
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

    /** Asks the approvers; returns extra ids that may decide (Slack user groups' members). */
    async requestApproval(args: { state: IncidentState }): Promise<ApprovalRequestResult> {
      const r = await notifyBounded(`${args.state.id} approval request`, () => notifier.approvalRequested(args.state));
      return r?.approvers?.length ? { approvers: r.approvers } : {};
    },

    async escalate(args: { state: IncidentState; reason: string }): Promise<void> {
      const key = activityKey();
      await pool.query(
        `INSERT INTO audit_events (incident_id, kind, actor, detail, idempotency_key) VALUES ($1, 'escalated', 'vigil', $2, $3)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [args.state.id, JSON.stringify({ reason: args.reason, to: args.state.model.escalation }), key],
      );
      // Like recordPhase: every attempt notifies; the notifier dedupes.
      await notifyBounded(`${args.state.id} escalation`, () => notifier.escalated(args.state, args.reason));
    },
  };
}

/**
 * A notification fails its activity, so Temporal retries it, but only for a few attempts: then the
 * incident goes on without it (the audit log holds every event, the CLI still decides). A chat outage
 * must not hold a remediation or the approval deadline.
 */
export const NOTIFY_ATTEMPTS = 5;

async function notifyBounded<T>(what: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await send();
  } catch (err) {
    const attempt = Context.current().info.attempt;
    if (attempt < NOTIFY_ATTEMPTS) throw err;
    console.error(`[vigil] ${what}: notification failed ${attempt} times, going on without it: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

function round(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10000) / 10000]));
}
