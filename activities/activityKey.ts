import { Context } from '@temporalio/activity';

/**
 * The idempotency key of the running activity: workflow id + activity id. Stable across retries of
 * the same activity, so side effects keyed on it happen once.
 */
export function activityKey(): string {
  const info = Context.current().info;
  if (!info.workflowExecution) throw new Error('activityKey() needs an activity started by a workflow');
  return `${info.workflowExecution.workflowId}:${info.activityId}`;
}
