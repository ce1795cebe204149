import { Context } from '@temporalio/activity';

/**
 * A notification fails its activity, so Temporal retries it, but only for a few attempts: then the
 * incident goes on without it (the audit log holds every event, the CLI still decides). A chat outage
 * must not hold a remediation or the approval deadline.
 */
export const NOTIFY_ATTEMPTS = 5;

export async function notifyBounded<T>(what: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await send();
  } catch (err) {
    const attempt = Context.current().info.attempt;
    if (attempt < NOTIFY_ATTEMPTS) throw err;
    console.error(`[vigil] ${what}: notification failed ${attempt} times, going on without it: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
