/**
 * Vigil's Slack app (Bolt). HTTP mode: Bolt's HTTPReceiver behind the audit guard (slackRequestGuard)
 * on VIGIL_SLACK_PORT at /slack/events. Socket Mode: Bolt's SocketModeReceiver with the app token.
 * Both accept only one workspace: `slack.teamId`, or the bot token's own (auth.test); any other is
 * refused in Bolt's `authorize` step and audited. Handlers: see slackHandlers.ts.
 */
import http from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Authorize, type Logger } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { IncidentService } from '../../client/incidentService.js';
import type { VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import type { AuditLog } from '../../ports/incidentStore.js';
import { SLACK_ENV } from './slackContract.js';
import { SLACK_EVENTS_PATH, slackSettings, type HttpSlackCredentials, type SocketSlackCredentials } from './slackCredentials.js';
import { registerSlackHandlers } from './slackHandlers.js';
import { createSlackRefusalAudit, createSlackRequestGuard, type SlackRefusal, type SlackRefusalAudit } from './slackRequestGuard.js';

export type EnabledSlackCredentials = HttpSlackCredentials | SocketSlackCredentials;

export interface SlackAppDeps {
  incidents: IncidentService;
  /** Where refused requests and decisions on unknown incidents are recorded. */
  audit: AuditLog;
  config: VigilConfig;
  log?: (m: string) => void;
  /** How often refusals of unsigned requests are written, per reason (default UNVERIFIED_AUDIT_INTERVAL_MS). */
  unverifiedAuditIntervalMs?: number;
}

/** Who the bot token is (auth.test). */
export interface SlackIdentity {
  teamId: string;
  enterpriseId?: string;
  botUserId: string;
  botId?: string;
}

export interface SlackAppParts {
  app: App;
  mode: 'http' | 'socket';
  receiver: HTTPReceiver | SocketModeReceiver;
  /** The only workspace (or Enterprise Grid org) whose requests are served. */
  acceptedTeam: string;
  refusals: SlackRefusalAudit;
}

export interface RunningSlackApp {
  mode: 'http' | 'socket';
  /** HTTP mode: where Slack must send events, interactivity and slash commands. */
  url?: string;
  port?: number;
  teamId: string;
  stop(): Promise<void>;
}

const defaultLog = (m: string) => console.log(`[vigil] ${m}`);

/** Web API client options: SLACK_API_URL, and few quick retries (an answer to a click is useless late). */
export function slackClientOptions(credentials: EnabledSlackCredentials, logger?: Logger): WebClientOptions {
  return {
    ...(credentials.apiUrl ? { slackApiUrl: credentials.apiUrl } : {}),
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2000 },
    timeout: 10_000,
    ...(logger ? { logger } : {}),
  };
}

/** auth.test: proves the token works and names its workspace. */
export async function fetchSlackIdentity(credentials: EnabledSlackCredentials): Promise<SlackIdentity> {
  const client = new WebClient(credentials.botToken, {
    ...slackClientOptions(
      credentials,
      quietLogger(() => {}),
    ),
    retryConfig: { retries: 0 },
  });
  let r;
  try {
    r = await client.auth.test();
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
      throw new UserInputError(`${SLACK_ENV.botToken} was refused by Slack (${code}): check the Bot User OAuth Token of the installed app`);
    }
    throw new Error(`cannot reach the Slack Web API${credentials.apiUrl ? ` at ${credentials.apiUrl} (${SLACK_ENV.apiUrl})` : ''}: ${(err as Error).message}`);
  }
  if (!r.team_id || !r.user_id) throw new Error('Slack auth.test answered without a team or user id');
  return {
    teamId: r.team_id,
    botUserId: r.user_id,
    ...(r.enterprise_id ? { enterpriseId: r.enterprise_id } : {}),
    ...(r.bot_id ? { botId: r.bot_id } : {}),
  };
}

/** Builds the Bolt app for the mode, with Vigil's handlers; starts nothing. */
export function createSlackApp(opts: { credentials: EnabledSlackCredentials; identity: SlackIdentity; deps: SlackAppDeps }): SlackAppParts {
  const { credentials, identity, deps } = opts;
  const log = deps.log ?? defaultLog;
  const settings = slackSettings(deps.config);
  const acceptedTeam = settings.teamId ?? identity.teamId;
  if (acceptedTeam !== identity.teamId && acceptedTeam !== identity.enterpriseId) {
    throw new UserInputError(
      `slack.teamId "${acceptedTeam}" is not the workspace of ${SLACK_ENV.botToken} (${identity.teamId}${identity.enterpriseId ? `, org ${identity.enterpriseId}` : ''}): fix the config or the token`,
    );
  }
  const refusals = createSlackRefusalAudit(deps.audit, log, {
    ...(deps.unverifiedAuditIntervalMs !== undefined ? { intervalMs: deps.unverifiedAuditIntervalMs } : {}),
  });
  const refuse = (r: SlackRefusal) => refusals.refuse(r);
  const logger = quietLogger(log);

  // One workspace: the single bot token, for requests from that workspace only.
  const authorize: Authorize<boolean> = async (source, body) => {
    const team = source.teamId;
    const fromAccepted = team === acceptedTeam || (source.enterpriseId !== undefined && source.enterpriseId === acceptedTeam);
    // A Slack Connect channel can carry people from another organisation; they do not decide here.
    const userTeam = (body as { user?: { team_id?: string } } | undefined)?.user?.team_id;
    const userForeign = acceptedTeam.startsWith('T') && userTeam !== undefined && userTeam !== acceptedTeam;
    if (!fromAccepted || userForeign) {
      const refusal: SlackRefusal = !fromAccepted
        ? { reason: 'other_workspace', message: `request from workspace ${team ?? source.enterpriseId ?? 'unknown'}; only ${acceptedTeam} is served` }
        : { reason: 'other_workspace_user', message: `user of workspace ${userTeam} acting in ${team}; only members of ${acceptedTeam} are served` };
      await refuse({ ...refusal, ...(source.userId ? { user: source.userId } : {}), ...(team ? { team } : {}) });
      throw new Error(refusal.message);
    }
    return {
      botToken: credentials.botToken,
      botUserId: identity.botUserId,
      ...(identity.botId ? { botId: identity.botId } : {}),
      ...(team ? { teamId: team } : {}),
      ...(source.enterpriseId ? { enterpriseId: source.enterpriseId } : {}),
    };
  };

  const clientOptions = slackClientOptions(credentials, logger);
  let receiver: HTTPReceiver | SocketModeReceiver;
  if (credentials.mode === 'http') {
    receiver = new HTTPReceiver({
      signingSecret: credentials.signingSecret,
      endpoints: SLACK_EVENTS_PATH,
      // Explicit: Bolt verifies signature and age again behind the guard.
      signatureVerification: true,
      logger,
    });
  } else {
    // Only the URL: Socket Mode keeps its own patient retries for apps.connections.open (reconnects).
    receiver = new SocketModeReceiver({
      appToken: credentials.appToken,
      logger,
      installerOptions: { clientOptions: credentials.apiUrl ? { slackApiUrl: credentials.apiUrl } : {} },
    });
  }
  const app = new App({
    receiver,
    ...(credentials.mode === 'socket' ? { socketMode: true } : {}),
    authorize,
    logger,
    clientOptions,
    convoStore: false,
    // developerMode would log whole request bodies.
    developerMode: false,
  });
  registerSlackHandlers(app, { incidents: deps.incidents, audit: deps.audit, log });
  return { app, mode: credentials.mode, receiver, acceptedTeam, refusals };
}

/** Checks the token (auth.test), then serves: HTTP on host:port behind the guard, or Socket Mode. */
export async function startSlackApp(opts: { credentials: EnabledSlackCredentials; deps: SlackAppDeps }): Promise<RunningSlackApp> {
  const { credentials, deps } = opts;
  const log = deps.log ?? defaultLog;
  const identity = await fetchSlackIdentity(credentials);
  const parts = createSlackApp({ credentials, identity, deps });

  if (credentials.mode === 'socket') {
    await parts.app.start();
    return {
      mode: 'socket',
      teamId: parts.acceptedTeam,
      stop: async () => {
        await parts.app.stop();
        await parts.refusals.flush();
      },
    };
  }

  const receiver = parts.receiver as HTTPReceiver;
  const guard = createSlackRequestGuard({
    signingSecret: credentials.signingSecret,
    path: SLACK_EVENTS_PATH,
    refuse: (r) => parts.refusals.refuse(r),
    log,
    handOff: (req, res) => {
      try {
        receiver.requestListener(req, res);
      } catch (err) {
        log(`slack: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    },
  });
  const server = http.createServer(guard);
  const { host, port } = credentials;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`Slack app: port ${port} on ${host} is already in use (set ${SLACK_ENV.port} to another port)`);
    throw new Error(`Slack app: cannot listen on ${host}:${port} (${SLACK_ENV.port}): ${(err as Error).message}`);
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    mode: 'http',
    url: `http://${shownHost}:${actualPort}${SLACK_EVENTS_PATH}`,
    port: actualPort,
    teamId: parts.acceptedTeam,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections from Slack (or a proxy) must not hold the stop.
        server.closeAllConnections();
      });
      // Unsigned requests counted but not yet written: the audit log keeps their number.
      await parts.refusals.flush();
    },
  };
}

/** Bolt's logger, into Vigil's log: warnings and errors only, no debug (which can include payloads). */
function quietLogger(log: (m: string) => void): Logger {
  let level = LogLevel.WARN;
  let name = 'slack';
  const text = (msgs: unknown[]) => msgs.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: () => {},
    info: (...msgs) => {
      if (level === LogLevel.INFO) log(`${name}: ${text(msgs)}`);
    },
    warn: (...msgs) => log(`${name}: ${text(msgs)}`),
    error: (...msgs) => log(`${name}: ${text(msgs)}`),
    setLevel: (l) => {
      // Never below INFO: debug output may carry request bodies.
      level = l === LogLevel.DEBUG ? LogLevel.INFO : l;
    },
    getLevel: () => level,
    setName: (n) => {
      name = n;
    },
  };
}

/** One line for the log: where Slack reaches Vigil. */
export function describeSlackApp(running: RunningSlackApp): string {
  return running.mode === 'http'
    ? `Slack app: POST ${running.url} (HTTP mode, workspace ${running.teamId})`
    : `Slack app: Socket Mode, connected (workspace ${running.teamId})`;
}
