/** Retry policies the workflows share: exponential backoff from 1 s, capped, with bounded attempts where a step touches production. */
import type { RetryPolicy } from '@temporalio/common';

/** Vigil's own steps (database, classification, notifications): retried until they succeed. */
export const BACKOFF: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' };

/** Steps that change production get a bounded number of tries; then the incident records the failure. */
export function boundedBackoff(maximumAttempts: number): RetryPolicy {
  return { ...BACKOFF, maximumAttempts };
}
