/** The incident most end-to-end tests start from: drifted traffic in the log, then a data-drift signal. */
import assert from 'node:assert/strict';
import type { IncidentDetails } from '../../client/incidentService.js';
import { TEST_MODEL, type VigilTestEnv } from './vigilTestEnv.js';
import { waitFor } from './waitFor.js';

export async function openDriftIncident(env: VigilTestEnv, psiMax = 0.41): Promise<string> {
  await env.simulator.writeBatch({ n: 600, drift: 1 });
  const { id, created } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'data_drift', source: 'test', evidence: { psi_max: psiMax } });
  assert.equal(created, true, `expected a new incident, ${id} was already open`);
  return id;
}

export function untilIncident(env: VigilTestEnv, id: string, done: (s: IncidentDetails) => boolean, what: string, timeoutMs?: number) {
  return waitFor(() => env.services.incidents.show(id), done, what, timeoutMs);
}

/** Opens a drift incident and approves its recommendation (retrain) as alice. */
export async function openApprovedDriftIncident(env: VigilTestEnv, psiMax = 0.41): Promise<string> {
  const id = await openDriftIncident(env, psiMax);
  await untilIncident(env, id, (s) => s.phase === 'awaiting_approval', 'awaiting_approval');
  await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'retrain it' });
  return id;
}

/**
 * Once a remediation has run: waits for validation, writes drifted labelled traffic for it to judge, and
 * waits for the incident to close; returns it closed.
 */
export async function validateAndClose(env: VigilTestEnv, id: string) {
  const validating = await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 120_000);
  assert.equal(validating.phase, 'validating', JSON.stringify(validating.state.timeline.slice(-3)));
  await env.simulator.writeBatch({ n: 300, drift: 1 });
  return untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
}

/**
 * Waits for the retrain's canary to start, then writes `n` rows of drifted, labelled traffic through
 * the canary split; returns the canary's route as the deployment target showed it.
 */
export async function feedCanary(env: VigilTestEnv, n = 800) {
  const traffic = await waitFor(
    () => env.services.deploymentFor(TEST_MODEL).currentTraffic(TEST_MODEL),
    (t) => t.routes.some((r) => r.role === 'canary' || r.role === 'shadow'),
    'a canary route',
    120_000,
  );
  await env.simulator.writeBatch({ n, drift: 1 });
  return traffic.routes.find((r) => r.role === 'canary' || r.role === 'shadow')!;
}
