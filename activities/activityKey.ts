import { Context } from '@temporalio/activity';
import crypto from 'node:crypto';

/**
 * The idempotency key of the running activity: workflow id + activity id, stable across retries of the
 * same activity, so side effects keyed on it happen once.
 *
 * A workflow reset re-runs the code after its reset point with the same activity ids. For a side effect
 * on another system (a rollback, a rollout, a fallback) that is what keeps it from happening twice: the
 * re-run finds the first run's change. For a record of what happened (an audit row) it is wrong: the
 * re-run may record something else at the same position, which the old key would silently drop. Such
 * callers pass `content` — what the record says — and get a key that changes with it: a retry (same
 * content) dedupes, a different record at the same position is kept.
 */
export function activityKey(content?: unknown): string {
  const info = Context.current().info;
  if (!info.workflowExecution) throw new Error('activityKey() needs an activity started by a workflow');
  const key = `${info.workflowExecution.workflowId}:${info.activityId}`;
  if (content === undefined) return key;
  return `${key}:${crypto.createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16)}`;
}
