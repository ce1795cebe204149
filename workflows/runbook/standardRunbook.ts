/**
 * Vigil's shipped runbook, the one every failure mode runs unless a model's config names another: gather
 * the evidence the policy lists → ask for approval (degraded to the fallback meanwhile if the policy
 * says so) → apply the decision → validate, undoing a model change that did not help. Its parameters
 * are the failure mode's policy (runbooks/defaultRunbooks.ts, merged with the model's overrides).
 */
import { patched } from './versioning.js';
import { z } from 'zod';
import { defineRunbook } from './defineRunbook.js';

export const STANDARD_RUNBOOK = 'standard';

export const standardRunbook = defineRunbook({
  name: STANDARD_RUNBOOK,
  description: "Vigil's process: evidence → approval → rollback / retrain / fallback / escalate → validate (undo if it did not help)",
  params: z.strictObject({}),
  async run(incident) {
    await incident.gatherEvidence();
    if (incident.policy.degrade?.whileAwaitingApproval && patched('degrade-while-awaiting')) await incident.degrade('awaiting approval');
    const decision = await incident.requestApproval();
    // The decision lifts a degradation (unless it is the fallback itself): remediation and validation see the model serving.
    if (incident.degraded && !(decision.verdict !== 'reject' && decision.action === 'fallback')) await incident.liftDegradation();
    if (decision.verdict === 'reject') incident.finish('rejected');
    else await incident.remediate(decision.action);
  },
});
