import { ApplicationFailure } from '@temporalio/activity';
import type { RemediationLedger } from '../ports/remediationLedger.js';

/**
 * One incident at a time changes a model's versions: a second open incident on the same model (another
 * failure mode) does not stack a rollback or a retrain on the first one's — it fails its remediation
 * for good, naming the holder, and escalates. The claim ends when the holder closes.
 */
export async function claimModelChange(ledger: RemediationLedger, modelId: string, incidentId: string): Promise<void> {
  const claim = await ledger.claimModel(modelId, incidentId);
  if (!claim.granted) {
    throw ApplicationFailure.nonRetryable(
      `${modelId} is being changed by incident ${claim.heldBy}, which is still open: ${incidentId} does not stack a second change on it`,
      'ModelChangeInProgress',
    );
  }
}
