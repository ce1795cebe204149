/** All of Vigil's activities, built from their dependencies (real clients, or local ones in tests). */
import type { VigilActivities } from '../contracts/activities.js';
import type { ActivityDeps } from './activityDeps.js';
import { createCanaryActivities } from './canaryActivities.js';
import { createIncidentActivities } from './incidentActivities.js';
import { createMonitorActivities } from './monitorActivities.js';
import { createRemediationActivities } from './remediationActivities.js';
import { createReviewActivities } from './reviewActivities.js';
import { createTrainingActivities } from './trainingActivities.js';
import { createValidationActivities } from './validationActivities.js';
import { createWebhookActivities } from './webhookActivities.js';

export function createActivities(deps: ActivityDeps): VigilActivities {
  return {
    ...createIncidentActivities(deps),
    ...createRemediationActivities(deps),
    ...createTrainingActivities(deps),
    ...createCanaryActivities(deps),
    ...createValidationActivities(deps),
    ...createReviewActivities(deps),
    ...createMonitorActivities(deps),
    ...createWebhookActivities(),
  };
}
