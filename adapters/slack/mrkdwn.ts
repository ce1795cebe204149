/** Slack mrkdwn text: escaping, and mentions of users and user groups by id. */

/** Slack's three control characters in mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Slack ids have digits: an all-letter name such as UNKNOWN or SRE is not an id.
const USER_ID = /^[UW](?=[A-Z]*\d)[A-Z0-9]{2,}$/;
const GROUP_ID = /^S(?=[A-Z]*\d)[A-Z0-9]{2,}$/;

/** `<@U…>` for a Slack user, `<!subteam^S…>` for a user group, the name itself (escaped) otherwise. */
export function mention(who: string): string {
  if (USER_ID.test(who)) return `<@${who}>`;
  if (GROUP_ID.test(who)) return `<!subteam^${who}>`;
  return escapeMrkdwn(who);
}

/** Every Slack user or group id inside already-escaped text, as a mention. */
export function mentionIds(text: string): string {
  return text.replace(/\b([UW](?=[A-Z]*\d)[A-Z0-9]{3,})\b/g, '<@$1>').replace(/\b(S(?=[A-Z]*\d)[A-Z0-9]{3,})\b/g, '<!subteam^$1>');
}
