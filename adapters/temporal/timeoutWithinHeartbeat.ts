/**
 * The timeout of one request made inside a heartbeating activity (the training watch, the candidate
 * evaluation), derived from that activity's own heartbeat timeout rather than set beside it: a request
 * that hangs must fail with an error naming it well before Temporal declares the worker lost, which
 * would retry the activity on another worker and say only "heartbeat timeout". The watch heartbeats
 * before each backend call, and one call makes at most a few requests (Ray's status: two; Kubernetes'
 * status: up to four when pods are found by the legacy label), so each request gets a fifth: even four
 * slow answers in a row leave room for the next heartbeat.
 */
import { Context } from '@temporalio/activity';

/** A request gets at most 1/REQUESTS_PER_HEARTBEAT of the heartbeat timeout. */
export const REQUESTS_PER_HEARTBEAT = 5;

/** `configuredMs`, or less inside an activity with a heartbeat timeout: never more than a fifth of it. */
export function timeoutWithinHeartbeat(configuredMs: number): number {
  let heartbeatTimeoutMs: number | undefined;
  try {
    heartbeatTimeoutMs = Context.current().info.heartbeatTimeoutMs;
  } catch {
    return configuredMs; // not in an activity: a script, the CLI, a test
  }
  if (!heartbeatTimeoutMs || heartbeatTimeoutMs <= 0) return configuredMs;
  return Math.max(1, Math.min(configuredMs, Math.floor(heartbeatTimeoutMs / REQUESTS_PER_HEARTBEAT)));
}
