/**
 * Resolves approver lists when approval is requested (the requestApproval activity asks the notifier):
 * `group:<name>` becomes its members as config `people` says now, every person is listed under each of
 * their names (a Slack id and a CLI name of one person both may decide, and count once: see the decide
 * validator), `$USER` becomes the local stack's operator, and the members of Slack user groups the
 * channels found are named by their person too. The workflow adds the names to the approval; nothing is
 * resolved when the incident opens or the config loads.
 */
import { Context } from '@temporalio/activity';
import { NOTIFY_ATTEMPTS } from '../../activities/notifyBounded.js';
import type { VigilConfig } from '../../domain/config.js';
import { approverNames, LOCAL_USER_PLACEHOLDER, namesOf, personOf } from '../../domain/people.js';
import type { ApprovalRequestResult, Notifier } from '../../ports/notifier.js';

export interface PeopleNotifierOptions {
  /** Read at every request: `people` as the worker knows it then. */
  config: Pick<VigilConfig, 'people'>;
  /** Who `$USER` is: the operator of `vigil up`; undefined in production, where `$USER` names no one. */
  localOperator?: string;
  log?: (line: string) => void;
}

export function withPeopleResolution(inner: Notifier, opts: PeopleNotifierOptions): Notifier {
  const log = opts.log ?? ((line: string) => console.error(line));
  return {
    ...inner,
    async approvalRequested(state): Promise<ApprovalRequestResult> {
      const listed = state.approval?.approvers ?? [];
      const people = opts.config.people;
      const fromPeople = approverNames(people, listed, opts.localOperator ? { localOperator: opts.localOperator } : {});
      if (listed.includes(LOCAL_USER_PLACEHOLDER) && !opts.localOperator) {
        log(`[vigil] ${state.id}: "${LOCAL_USER_PLACEHOLDER}" in the approvers names no one outside the local stack: list people by name`);
      }
      let fromChannels: string[] = [];
      try {
        fromChannels = (await inner.approvalRequested(state))?.approvers ?? [];
      } catch (err) {
        // The activity retries a failed notification a few times, then goes on without it; the people
        // resolved here must not be lost with it, or nobody listed by group could decide while Slack is down.
        // With nobody to add, the failure goes to the activity as before.
        if (activityAttempt() < NOTIFY_ATTEMPTS || !fromPeople.some((name) => !listed.includes(name))) throw err;
        log(`[vigil] ${state.id}: approval request not sent (${err instanceof Error ? err.message : String(err)}); approvers resolved from people`);
      }
      const fromGroups = fromChannels.flatMap((name) => namesOf(people, personOf(people, name)));
      const approvers = [...new Set([...fromPeople, ...fromChannels, ...fromGroups])].filter((name) => !listed.includes(name));
      return approvers.length ? { approvers } : {};
    },
  };
}

/** The activity's attempt; outside an activity (a direct call), the last one. */
function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return NOTIFY_ATTEMPTS;
  }
}
