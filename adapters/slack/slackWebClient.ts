/**
 * The worker's Slack Web API client: the bot token from SLACK_BOT_TOKEN, the API base from SLACK_API_URL
 * (tests point it at a local recorder). The client does not retry by itself: a failed call fails the
 * activity and Temporal's retry policy (visible in the UI) takes over, instead of WebClient's own
 * half-hour retry loop hidden inside one attempt.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import { UserInputError } from '../../domain/errors.js';
import { SLACK_ENV } from './slackContract.js';

export interface SlackWebClientOptions {
  token: string;
  /** Web API base URL; default Slack's own (https://slack.com/api/). */
  apiUrl?: string;
  /** Per request; well inside the notifying activity's start-to-close timeout. */
  timeoutMs?: number;
}

export function createSlackWebClient(opts: SlackWebClientOptions): WebClient {
  return new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    retryConfig: { retries: 0 },
    // A rate limit fails the call at once; the activity retries later.
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs ?? 10_000,
    logLevel: LogLevel.WARN,
  });
}

/** The client for SLACK_BOT_TOKEN, or undefined when it is not set (Slack off, CLI-only). */
export function slackWebClientFromEnv(env: NodeJS.ProcessEnv = process.env): WebClient | undefined {
  const token = env[SLACK_ENV.botToken]?.trim();
  if (!token) return undefined;
  // The prefix is checked and named, the value never echoed.
  if (!/^xoxb-[A-Za-z0-9-]+$/.test(token)) {
    throw new UserInputError(`${SLACK_ENV.botToken} must be a bot token starting with "xoxb-" (the Bot User OAuth Token under OAuth & Permissions)`);
  }
  const apiUrl = env[SLACK_ENV.apiUrl]?.trim();
  if (apiUrl) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(apiUrl).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UserInputError(`${SLACK_ENV.apiUrl}="${apiUrl}": must be an http(s) URL such as https://slack.com/api/`);
  }
  return createSlackWebClient({ token, apiUrl: apiUrl ? (apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`) : undefined });
}
