/** The remediation ledger (ports/remediationLedger.ts) in Vigil's PostgreSQL. */
import type pg from 'pg';
import type { RemediationLedger, RemediationPlan } from '../../ports/remediationLedger.js';

interface PlanRow {
  model_id: string;
  action: 'rollback';
  from_version: number;
  to_version: number;
}

const toPlan = (r: PlanRow): RemediationPlan => ({ modelId: r.model_id, action: r.action, from: r.from_version, to: r.to_version });

export function createRemediationLedger(pool: pg.Pool): RemediationLedger {
  const ledger: RemediationLedger = {
    async plan(key, plan) {
      await pool.query(
        `INSERT INTO remediation_plans (idempotency_key, model_id, action, from_version, to_version)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
        [key, plan.modelId, plan.action, plan.from, plan.to],
      );
      return (await ledger.planFor(key))!;
    },

    async planFor(key) {
      const r = await pool.query<PlanRow>('SELECT model_id, action, from_version, to_version FROM remediation_plans WHERE idempotency_key = $1', [key]);
      return r.rows[0] && toPlan(r.rows[0]);
    },

    async claimModel(modelId, incidentId) {
      // Taken over only from an incident that is no longer open; concurrent claims serialise on the row.
      const r = await pool.query<{ incident_id: string }>(
        `INSERT INTO model_change_claims (model_id, incident_id) VALUES ($1, $2)
         ON CONFLICT (model_id) DO UPDATE SET incident_id = EXCLUDED.incident_id, claimed_at = now()
         WHERE model_change_claims.incident_id = EXCLUDED.incident_id
            OR NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = model_change_claims.incident_id AND i.status = 'open')
         RETURNING incident_id`,
        [modelId, incidentId],
      );
      if (r.rows.length) return { granted: true };
      const held = await pool.query<{ incident_id: string }>('SELECT incident_id FROM model_change_claims WHERE model_id = $1', [modelId]);
      return { granted: false, heldBy: held.rows[0]?.incident_id ?? '(unknown)' };
    },
  };
  return ledger;
}
