/**
 * The incident's activity proxies, shared by the lifecycle and the runbook steps: one set of timeouts
 * and retry policies for every runbook, built-in or a team's.
 */
import * as wf from '@temporalio/workflow';
import type { VigilActivities } from '../contracts/activities.js';
import { BACKOFF, boundedBackoff } from './retryPolicies.js';

export const act = wf.proxyActivities<VigilActivities>({ startToCloseTimeout: '1 minute', retry: BACKOFF });

/** Remediation touches production: bounded retries, then the incident records the failure. */
export const remediation = wf.proxyActivities<VigilActivities>({ startToCloseTimeout: '2 minutes', retry: boundedBackoff(5) });

/**
 * Bookkeeping (audit log and projection, classification) is short and local to Vigil's database: as
 * local activities it costs no server round trip, which keeps alert → approval request fast. Telling
 * people (Slack, the log) is not bookkeeping: see Notifications.
 */
export const local = wf.proxyLocalActivities<VigilActivities>({ startToCloseTimeout: '30 seconds', retry: BACKOFF });

/** Incidents started before the `local-bookkeeping` change keep their regular activities on replay. */
export function bookkeeping() {
  return wf.patched('local-bookkeeping') ? local : act;
}
