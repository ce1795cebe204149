/**
 * The shape of a correctly signed Slack request, checked before Bolt sees it: a request Slack would
 * never send (a missing user, an action id Vigil's messages do not carry, a button value that names no
 * incident) is answered 400 naming the field, instead of being left unacknowledged for Bolt's 3-second
 * timeout or failing deep inside a handler. Only what Vigil's handlers read is checked; the rest of
 * Slack's payload passes as it is.
 */
import { parse as parseQuery } from 'node:querystring';
import { z } from 'zod';
import { formatZodIssues } from '../../domain/config.js';
import { SIGNAL_NAME } from '../../domain/incidentBounds.js';
import { REJECT_MODAL, SLACK_ACTIONS } from './slackContract.js';

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

const SlackId = z.string({ error: 'must be a Slack id (a string)' }).regex(/^[A-Z0-9]{2,40}$/, 'must be a Slack id such as "U0ALICE"');
const IncidentId = z.string({ error: 'must be an incident id (a string)' }).min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** A string holding JSON of `schema`'s shape (button values, modal metadata). */
function jsonString<T extends z.ZodType>(schema: T) {
  return z
    .string({ error: 'must be a string holding JSON' })
    .max(2000, 'must be at most 2000 characters')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** A value the sender gave, shown in a message: quoted, and short. */
function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

const Team = z.object({ id: SlackId }, { error: 'is required: {"id": "T…"}' });
const User = z.object({ id: SlackId }, { error: 'is required: {"id": "U…"}' });

const ButtonAction = z.discriminatedUnion(
  'action_id',
  [
    z.object({ action_id: z.literal(SLACK_ACTIONS.approve), value: jsonString(z.object({ incidentId: IncidentId })) }),
    z.object({ action_id: z.literal(SLACK_ACTIONS.reject), value: jsonString(z.object({ incidentId: IncidentId })) }),
    z.object({
      action_id: z.literal(SLACK_ACTIONS.signal),
      value: jsonString(
        z.object({
          incidentId: IncidentId,
          signal: z.string({ error: 'is required (the signal the runbook waits for)' }).regex(SIGNAL_NAME, 'must be a signal name'),
        }),
      ),
    }),
  ],
  {
    error: (iss) =>
      `${quoted((iss.input as { action_id?: unknown } | undefined)?.action_id)} is not an action of Vigil's messages (${Object.values(SLACK_ACTIONS).join(', ')})`,
  },
);

const BlockActions = z.object({
  type: z.literal('block_actions'),
  team: Team,
  user: User,
  actions: z.array(ButtonAction, { error: 'is required: the clicked action' }).min(1, 'must list the clicked action').max(1, 'must list one action'),
});

const ViewSubmission = z.object({
  type: z.literal('view_submission'),
  team: Team,
  user: User,
  view: z.object(
    {
      callback_id: z.literal(REJECT_MODAL.callbackId, { error: (iss) => `${quoted(iss.input)} is not a form of Vigil's (${REJECT_MODAL.callbackId})` }),
      private_metadata: jsonString(
        z.object({ incidentId: IncidentId, channel: z.string({ error: 'is required (a channel id)' }), messageTs: z.string().optional() }),
      ),
      state: z.object({
        values: z.record(
          z.string(),
          z.record(z.string(), z.object({ value: z.string({ error: 'must be a string or null' }).max(3000).nullable().optional() })),
        ),
      }),
    },
    { error: 'is required: the submitted form' },
  ),
});

const Interaction = z.discriminatedUnion('type', [BlockActions, ViewSubmission], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? 'must be "block_actions" or "view_submission" (the interactions of Vigil\'s messages)'
      : iss.code === 'invalid_type'
        ? 'must be a JSON object (an interaction)'
        : undefined,
});

const SlashCommand = z.object({
  command: z.literal('/vigil', { error: 'must be "/vigil" (the app\'s only command)' }),
  text: z.string().max(4000, 'must be at most 4000 characters').default(''),
  team_id: SlackId,
  user_id: SlackId,
  channel_id: z.string({ error: 'is required (a channel id)' }).min(1),
  response_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
});

/** Events API bodies (JSON): Vigil subscribes to none, but a URL check must reach Bolt. */
const EventBody = z.object({ type: z.string({ error: 'is required' }) }, { error: 'must be a JSON object' });

export type SlackPayloadCheck = { ok: true } | { ok: false; error: string; issues: { path: string; message: string }[] };

/** Whether a signed request's body is one Vigil's handlers can act on; the problems named by path when not. */
export function checkSlackPayload(contentType: string | undefined, body: string): SlackPayloadCheck {
  const refuse = (where: string, issues: { path: string; message: string }[]): SlackPayloadCheck => {
    const located = issues.map((i) => ({ path: i.path ? `${where}.${i.path}` : where, message: i.message }));
    return { ok: false, error: located.map((i) => `${i.path}: ${i.message}`).join('; '), issues: located };
  };
  // The same split Bolt makes: a form is an interaction (`payload=<json>`) or a slash command; else JSON.
  if (contentType === FORM_CONTENT_TYPE) {
    const form = parseQuery(body);
    if (form.payload !== undefined) {
      if (typeof form.payload !== 'string') return refuse('payload', [{ path: '', message: 'must be given once' }]);
      let payload: unknown;
      try {
        payload = JSON.parse(form.payload);
      } catch {
        return refuse('payload', [{ path: '', message: 'is not JSON' }]);
      }
      const parsed = Interaction.safeParse(payload);
      return parsed.success ? { ok: true } : refuse('payload', formatZodIssues(parsed.error));
    }
    const parsed = SlashCommand.safeParse(form);
    return parsed.success ? { ok: true } : refuse('form', formatZodIssues(parsed.error));
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return refuse('body', [{ path: '', message: `is neither JSON nor a form (Content-Type ${FORM_CONTENT_TYPE})` }]);
  }
  const parsed = EventBody.safeParse(json);
  return parsed.success ? { ok: true } : refuse('body', formatZodIssues(parsed.error));
}
