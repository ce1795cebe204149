export { createActivities, type VigilActivities } from './createActivities.js';
export type { ActivityDeps } from './activityDeps.js';
