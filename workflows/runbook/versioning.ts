/**
 * Versioning a change to a runbook that running incidents use (README, "Write a runbook"): the SDK's
 * patching inside a workflow. Outside one (`vigil runbook dry-run`) a runbook takes its newest path.
 */
import * as wf from '@temporalio/workflow';

export function patched(patchId: string): boolean {
  return wf.inWorkflowContext() ? wf.patched(patchId) : true;
}

export function deprecatePatch(patchId: string): void {
  if (wf.inWorkflowContext()) wf.deprecatePatch(patchId);
}
