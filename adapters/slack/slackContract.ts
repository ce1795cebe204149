/**
 * The identifiers Vigil's Slack message and its Bolt handlers share: the message's buttons and the
 * reject modal are built with these, and the handlers listen for them. Changing one breaks buttons on
 * messages already posted, so they are versioned by name, not edited.
 */
export const SLACK_ACTIONS = {
  approve: 'vigil_approve_v1',
  reject: 'vigil_reject_v1',
  /** A runbook's wait: the button it names sends its signal (`vigil incident signal`). */
  signal: 'vigil_signal_v1',
} as const;

/** The modal opened by Reject, asking for the reason. */
export const REJECT_MODAL = {
  callbackId: 'vigil_reject_reason_v1',
  reasonBlockId: 'reason',
  reasonActionId: 'reason_input',
} as const;

/** What the Approve / Reject buttons carry in `value`. */
export interface SlackButtonValue {
  incidentId: string;
}

/** What a runbook's signal button carries in `value`. */
export interface SlackSignalButtonValue {
  incidentId: string;
  signal: string;
}

/** What the reject modal carries in `private_metadata`. */
export interface RejectModalMetadata {
  incidentId: string;
  channel: string;
  messageTs: string;
}

/** Message metadata on the incident message: lets a retried post find the message it already sent. */
export const SLACK_METADATA_EVENT = 'vigil_incident';

/** Credentials and endpoints, from the environment only (Bolt's usual names). */
export const SLACK_ENV = {
  botToken: 'SLACK_BOT_TOKEN',
  signingSecret: 'SLACK_SIGNING_SECRET',
  appToken: 'SLACK_APP_TOKEN',
  apiUrl: 'SLACK_API_URL',
  port: 'VIGIL_SLACK_PORT',
} as const;
