/**
 * Slack credentials, from the environment only (Bolt's usual names, see SLACK_ENV). None set: Slack is
 * off and Vigil runs CLI-only. Partly set or malformed: a UserInputError naming the variable, raised
 * before anything starts. Tokens and secrets never appear in messages, not even in part.
 */
import { SlackConfig, type VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { SLACK_ENV } from './slackContract.js';

export const DEFAULT_SLACK_PORT = 3000;
/** The HTTP-mode endpoint for events, interactivity and slash commands (Bolt's default). */
export const SLACK_EVENTS_PATH = '/slack/events';
/** The Slack app binds the same host as Vigil's other HTTP endpoint (the alert receiver). */
const HOST_ENV = 'VIGIL_HTTP_HOST';

interface CommonCredentials {
  enabled: true;
  botToken: string;
  /** Web API base URL (SLACK_API_URL), ending with '/'; undefined: Slack's own. */
  apiUrl?: string;
}
export interface HttpSlackCredentials extends CommonCredentials {
  mode: 'http';
  signingSecret: string;
  host: string;
  port: number;
}
export interface SocketSlackCredentials extends CommonCredentials {
  mode: 'socket';
  appToken: string;
}
export type SlackCredentials = HttpSlackCredentials | SocketSlackCredentials | { enabled: false };

/** The `slack` section of the config, defaults filled in (the section is optional). */
export function slackSettings(config: VigilConfig): SlackConfig {
  return config.slack;
}

/** One line for `vigil up` when Slack is off. */
export function slackOffMessage(): string {
  return `Slack: off, Vigil runs CLI-only (to decide in Slack set ${SLACK_ENV.botToken} and ${SLACK_ENV.signingSecret}, or ${SLACK_ENV.appToken} with slack.mode "socket"; see slack/manifest.yml)`;
}

/** Reads and checks the Slack variables for the configured mode; throws UserInputError naming the variable. */
export function slackCredentialsFromEnv(settings: Pick<SlackConfig, 'mode'>, env: NodeJS.ProcessEnv = process.env): SlackCredentials {
  const read = (name: string) => {
    const v = env[name];
    return v === undefined ? undefined : v.trim();
  };
  const botToken = read(SLACK_ENV.botToken);
  const signingSecret = read(SLACK_ENV.signingSecret);
  const appToken = read(SLACK_ENV.appToken);
  const apiUrl = read(SLACK_ENV.apiUrl);
  const port = read(SLACK_ENV.port);
  const given = Object.entries({
    [SLACK_ENV.botToken]: botToken,
    [SLACK_ENV.signingSecret]: signingSecret,
    [SLACK_ENV.appToken]: appToken,
    [SLACK_ENV.apiUrl]: apiUrl,
    [SLACK_ENV.port]: port,
  })
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (given.length === 0) return { enabled: false };

  const how =
    settings.mode === 'http'
      ? `HTTP mode (slack.mode "http") needs ${SLACK_ENV.botToken} and ${SLACK_ENV.signingSecret}`
      : `Socket Mode (slack.mode "socket") needs ${SLACK_ENV.botToken} and ${SLACK_ENV.appToken}`;
  if (!botToken) {
    const others = given.filter((g) => g !== SLACK_ENV.botToken);
    const but = others.length ? ` but ${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} set` : '';
    throw new UserInputError(`${SLACK_ENV.botToken} is ${botToken === '' ? 'empty' : 'not set'}${but}: ${how} (unset them all to run CLI-only)`);
  }
  // Only the prefix is checked and named: the value itself is never echoed.
  if (!/^xoxb-[A-Za-z0-9-]+$/.test(botToken)) {
    throw new UserInputError(`${SLACK_ENV.botToken} must be a bot token starting with "xoxb-" (the Bot User OAuth Token under OAuth & Permissions)`);
  }

  let normalizedApiUrl: string | undefined;
  if (apiUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(apiUrl);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      throw new UserInputError(`${SLACK_ENV.apiUrl}="${apiUrl}": must be an http(s) URL such as https://slack.com/api/`);
    }
    normalizedApiUrl = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  }

  if (settings.mode === 'socket') {
    if (!appToken)
      throw new UserInputError(`${SLACK_ENV.appToken} is ${appToken === '' ? 'empty' : 'not set'}: ${how} (an app-level token with connections:write)`);
    if (!/^xapp-[A-Za-z0-9-]+$/.test(appToken)) {
      throw new UserInputError(
        `${SLACK_ENV.appToken} must be an app-level token starting with "xapp-" (Basic Information → App-Level Tokens, scope connections:write)`,
      );
    }
    return { enabled: true, mode: 'socket', botToken, appToken, ...(normalizedApiUrl ? { apiUrl: normalizedApiUrl } : {}) };
  }

  if (!signingSecret) {
    throw new UserInputError(
      `${SLACK_ENV.signingSecret} is ${signingSecret === '' ? 'empty' : 'not set'}: ${how}` +
        (appToken ? ` (${SLACK_ENV.appToken} is set: for Socket Mode set "slack": {"mode": "socket"} in the config)` : ''),
    );
  }
  // Slack's signing secrets are 32 hex characters; anything much shorter is a paste error.
  if (!/^\S{16,}$/.test(signingSecret)) {
    throw new UserInputError(
      `${SLACK_ENV.signingSecret} must be the app's Signing Secret (Basic Information → App Credentials): at least 16 characters, no spaces`,
    );
  }
  let portNumber = DEFAULT_SLACK_PORT;
  if (port !== undefined) {
    portNumber = /^\d+$/.test(port) ? Number(port) : NaN;
    if (!(portNumber >= 1 && portNumber <= 65535)) throw new UserInputError(`${SLACK_ENV.port}="${env[SLACK_ENV.port]}": must be an integer from 1 to 65535`);
  }
  const rawHost = env[HOST_ENV];
  if (rawHost !== undefined && !rawHost.trim()) throw new UserInputError(`${HOST_ENV} is set but empty: give a host or address to listen on, e.g. 127.0.0.1`);
  return {
    enabled: true,
    mode: 'http',
    botToken,
    signingSecret,
    host: rawHost?.trim() || '127.0.0.1',
    port: portNumber,
    ...(normalizedApiUrl ? { apiUrl: normalizedApiUrl } : {}),
  };
}

/** Reads the credentials for a config; a convenience for `vigil up` and `vigil slack`. */
export function slackCredentialsFor(config: VigilConfig, env: NodeJS.ProcessEnv = process.env): SlackCredentials {
  return slackCredentialsFromEnv(slackSettings(config), env);
}
