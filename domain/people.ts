/**
 * Who people are, across the ways they reach Vigil: a person (config `people`) has one id and may have
 * a Slack user id, an email and groups. Approver lists name people (`alice`), groups (`group:ml-leads`),
 * Slack ids and Slack user groups; a name that is no one's in `people` is a person of its own, so lists
 * of plain ids keep working. Quorum counts people, not names: `U0ALICE` in Slack and `alice` on the API
 * are one vote.
 */
import { z } from 'zod';

/** `$USER` in an approver list: the operator of the local stack (see approverNames), never whoever opened the incident. */
export const LOCAL_USER_PLACEHOLDER = '$USER';
/** `group:<name>` in an approver list: every person whose `groups` has the name, read when approval is requested. */
export const GROUP_PREFIX = 'group:';

export const PersonId = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/, 'must be letters, digits, . _ - (at most 63), e.g. "alice"');

export const GroupName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, . _ - (at most 63), e.g. "ml-leads"');

export const Person = z.strictObject({
  /** The person's id: their CLI / API user name, and what their API tokens and OIDC claim resolve to. */
  id: PersonId,
  /** Their Slack user id (U… or W…): a decision from Slack counts as theirs. */
  slack: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U0123ABCD')
    .optional(),
  /** Their email: an OIDC token whose user claim holds it counts as theirs. */
  email: z.email().optional(),
  /** Groups approver lists name as `group:<name>`. */
  groups: z.array(GroupName).default([]),
});
export type Person = z.output<typeof Person>;

export const People = z.array(Person).superRefine((people, ctx) => {
  // Each name must point at one person, or a vote could count for two.
  const owner = new Map<string, string>();
  people.forEach((p, i) => {
    for (const [key, name] of [
      ['id', p.id],
      ['slack', p.slack],
      ['email', p.email?.toLowerCase()],
    ] as const) {
      if (name === undefined) continue;
      const other = owner.get(name);
      if (other !== undefined && other !== p.id) ctx.addIssue({ code: 'custom', path: [i, key], message: `"${name}" is already ${other}'s` });
      else if (other !== undefined) ctx.addIssue({ code: 'custom', path: [i, key], message: `duplicate person "${name}"` });
      owner.set(name, p.id);
    }
  });
});

/** The person a name belongs to: their id for their id, Slack id or email; an unknown name is its own person. */
export function personOf(people: readonly Person[], name: string): string {
  const lower = name.toLowerCase();
  const p = people.find((x) => x.id === name || x.slack === name || (x.email !== undefined && x.email.toLowerCase() === lower));
  return p ? p.id : name;
}

/** Every name a person decides under: their id and Slack id (an unknown id: itself). */
export function namesOf(people: readonly Person[], person: string): string[] {
  const p = people.find((x) => x.id === person);
  return p ? [p.id, ...(p.slack ? [p.slack] : [])] : [person];
}

export function membersOf(people: readonly Person[], group: string): Person[] {
  return people.filter((p) => p.groups.includes(group));
}

/** True for names that stand for others (`$USER`, `group:…`): never a decider themselves. */
export function isPlaceholder(name: string): boolean {
  return name === LOCAL_USER_PLACEHOLDER || name.startsWith(GROUP_PREFIX);
}

/**
 * Every name that may decide for an approver list, as of now: groups expanded to their members, each
 * person under all their names, `$USER` as `localOperator` (or no one without one). Slack user groups
 * (S…) are left to the Slack notifier, which reads their members; see names of those with namesOf.
 */
export function approverNames(people: readonly Person[], approvers: readonly string[], opts: { localOperator?: string } = {}): string[] {
  const out = new Set<string>();
  for (const listed of approvers) {
    if (listed.startsWith(GROUP_PREFIX)) {
      for (const member of membersOf(people, listed.slice(GROUP_PREFIX.length))) for (const n of namesOf(people, member.id)) out.add(n);
    } else if (listed === LOCAL_USER_PLACEHOLDER) {
      if (opts.localOperator) for (const n of namesOf(people, personOf(people, opts.localOperator))) out.add(n);
    } else {
      for (const n of namesOf(people, personOf(people, listed))) out.add(n);
    }
  }
  return [...out];
}

/** Approver-list entries naming a group no person belongs to (a typo, or a group emptied by mistake). */
export function unknownGroups(people: readonly Person[], approvers: readonly string[]): string[] {
  return approvers.filter((a) => a.startsWith(GROUP_PREFIX) && membersOf(people, a.slice(GROUP_PREFIX.length)).length === 0);
}
