/** The steps a workflow took, read from its Temporal history, for the post-incident review. */
import type { HistoryStep } from '../domain/review.js';

export interface WorkflowHistory {
  /** Activities and child workflows with their summaries, outcomes and attempts (bookkeeping left out). */
  steps(workflowId: string): Promise<HistoryStep[]>;
}
