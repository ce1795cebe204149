/**
 * `vigil slack`: the Slack app on its own, against the Vigil that `vigil up` runs (or DATABASE_URL and
 * TEMPORAL_ADDRESS), for deployments that run workers and the Slack front separately. Credentials are
 * checked before anything connects; SIGINT / SIGTERM stop it cleanly.
 */
import type { Command } from 'commander';
import { describeSlackApp, startSlackApp } from '../adapters/slack/slackApp.js';
import { SLACK_ENV } from '../adapters/slack/slackContract.js';
import { slackCredentialsFor } from '../adapters/slack/slackCredentials.js';
import { UserInputError } from '../domain/errors.js';
import { openCliContext, type GlobalOptions } from './cliContext.js';
import { loadConfig } from './loadConfig.js';

const log = (m: string) => console.log(`[vigil] ${m}`);

export function registerSlackCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('slack')
    .description(
      `run the Slack app (buttons, reject modal, /vigil) against the running Vigil; needs ${SLACK_ENV.botToken} and ${SLACK_ENV.signingSecret} (or ${SLACK_ENV.appToken} in Socket Mode)`,
    )
    .action(async () => runSlackCommand(globals()));
}

export async function runSlackCommand(opts: GlobalOptions): Promise<void> {
  const { config } = loadConfig(opts.config);
  const credentials = slackCredentialsFor(config);
  if (!credentials.enabled) {
    throw new UserInputError(
      `Slack is not configured: set ${SLACK_ENV.botToken} and ${SLACK_ENV.signingSecret} (HTTP mode), or ${SLACK_ENV.botToken} and ${SLACK_ENV.appToken} with "slack": {"mode": "socket"} in the config`,
    );
  }
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const ctx = await openCliContext(opts);
  try {
    const app = await startSlackApp({ credentials, deps: { incidents: ctx.services.incidents, audit: ctx.services.incidentStore, config: ctx.config, log } });
    log(describeSlackApp(app));
    log('Ctrl-C stops it.');
    const signal = await stopRequested;
    log(`${signal}: stopping the Slack app`);
    await app.stop();
  } finally {
    await ctx.close();
  }
}
