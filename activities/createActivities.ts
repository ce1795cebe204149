/** All of Vigil's activities, built from their dependencies (real clients, or local ones in tests). */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { VigilActivities } from '../contracts/activities.js';
import { ModelNotConfiguredError } from '../domain/errors.js';
import type { ActivityDeps } from './activityDeps.js';
import { createCanaryActivities } from './canaryActivities.js';
import { createIncidentActivities } from './incidentActivities.js';
import { createMonitorActivities } from './monitorActivities.js';
import { createRemediationActivities } from './remediationActivities.js';
import { createReviewActivities } from './reviewActivities.js';
import { createTrainingActivities } from './trainingActivities.js';
import { createValidationActivities } from './validationActivities.js';
import { createWebhookActivities } from './webhookActivities.js';

/** `hostQueue`: the task queue of this worker's host (workers/hostTaskQueue.ts), which it also polls. */
export function createActivities(deps: ActivityDeps, opts: { hostQueue: string }): VigilActivities {
  return giveUpOnUnconfiguredModels({
    ...createIncidentActivities(deps),
    ...createRemediationActivities(deps),
    ...createTrainingActivities(deps),
    ...createCanaryActivities(deps),
    ...createValidationActivities(deps),
    ...createReviewActivities(deps),
    ...createMonitorActivities(deps),
    ...createWebhookActivities(),
    workerHostQueue: async () => opts.hostQueue,
  });
}

/** Tries before a model missing from the config counts as gone (a rolling deploy may have reached only this worker). */
export const MODEL_NOT_CONFIGURED_ATTEMPTS = 5;

/**
 * Every activity that meets a model the worker does not know retries a few times, then fails for good
 * (`ModelNotConfigured`, not retried): the incident escalates and closes with its review instead of
 * retrying forever while new alerts pile onto it.
 */
function giveUpOnUnconfiguredModels(activities: VigilActivities): VigilActivities {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities) as [string, (...args: never[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof ModelNotConfiguredError && Context.current().info.attempt >= MODEL_NOT_CONFIGURED_ATTEMPTS) {
          throw ApplicationFailure.nonRetryable(`${err.message} (tried ${MODEL_NOT_CONFIGURED_ATTEMPTS} times)`, 'ModelNotConfigured');
        }
        throw err;
      }
    };
  }
  return wrapped as unknown as VigilActivities;
}
