/** Writes the post-incident review from the workflow history and the audit log. */
import fs from 'node:fs';
import path from 'node:path';
import type { ReviewActivities } from '../contracts/activities.js';
import { buildReview } from '../domain/review.js';
import type { ActivityDeps } from './activityDeps.js';
import { notifyBounded } from './notifyBounded.js';

export function createReviewActivities(deps: Pick<ActivityDeps, 'incidentStore' | 'history' | 'notifier' | 'stateDir'>): ReviewActivities {
  return {
    async writeReview({ state }) {
      const [audit, history] = await Promise.all([
        deps.incidentStore.auditTrail(state.id),
        // The steps are the review's appendix: a history Temporal cannot hand over must not keep the review unwritten.
        deps.history.steps(state.id).catch((err: unknown) => {
          console.error(`[vigil] ${state.id} review: written without the workflow's steps: ${err instanceof Error ? err.message : String(err)}`);
          return [];
        }),
      ]);
      const { markdown, data } = buildReview({ state, audit, history, writtenAt: new Date().toISOString() });
      await deps.incidentStore.saveReview(state.id, { markdown, data });
      const file = path.join(deps.stateDir, 'reviews', `${state.id}.md`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, markdown);
      // Told like every other notification: a chat outage or a revoked token must not hold the review (and the incident) open.
      await notifyBounded(`${state.id} review`, () => deps.notifier.reviewWritten(state, file));
      return { path: file };
    },
  };
}
