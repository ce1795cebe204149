/** The audit log of one incident, as the kinds of its events in order. */
import type { VigilTestEnv } from './vigilTestEnv.js';

export async function auditKinds(env: VigilTestEnv, incidentId: string): Promise<string[]> {
  const r = await env.services.pool.query<{ kind: string }>(`SELECT kind FROM audit_events WHERE incident_id = $1 ORDER BY id`, [incidentId]);
  return r.rows.map((row) => row.kind);
}
