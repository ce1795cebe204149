/**
 * Pages through PagerDuty's Events API v2: an escalated incident triggers an alert on each PagerDuty
 * target of its model (`models[].escalation[]: { "pagerduty": { "routingKeyEnv": "…" } }`), and the
 * incident closing resolves it. Both carry the dedup key `vigil-<incident id>`, so one incident is one
 * PagerDuty alert however often it is escalated or an attempt is retried: PagerDuty folds a repeated
 * trigger into the open alert and ignores a resolve for a key it has no open alert for.
 *
 * Failures throw and the notifying activity retries them a bounded number of times: throttling (429),
 * PagerDuty's own errors (5xx), timeouts and network errors. A refused event (400) throws with PagerDuty's
 * message. Routing keys come from the environment only, are checked when the notifier is built (at
 * startup), and never appear in a log line or an error message.
 */
import type { VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import type { IncidentState, Severity } from '../../domain/incident.js';
import type { Notifier } from '../../ports/notifier.js';

export interface PagerDutyNotifierOptions {
  config: VigilConfig;
  /** Where the routing keys are read from (the variables named by `routingKeyEnv`). */
  env?: NodeJS.ProcessEnv;
  fetch?: typeof globalThis.fetch;
  log?: (line: string) => void;
  /** Per request; well inside the notifying activity's start-to-close timeout. */
  timeoutMs?: number;
  /** The clock for `payload.timestamp`. */
  now?: () => Date;
}

/** PagerDuty's severities (`payload.severity`). */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** An Events API v2 event as sent (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  client?: string;
}

/** One PagerDuty target of a model, its routing key read from the environment. */
export interface PagerDutyRoute {
  url: string;
  routingKey: string;
  /** The config field it came from (`models.0.escalation.1.pagerduty`), for messages. */
  field: string;
}

/** PagerDuty's limit on `payload.summary`. */
export const PAGERDUTY_SUMMARY_MAX = 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/** A routing key variable that is not set (or not usable) when the notifier is built: the config cannot page. */
export class PagerDutyConfigError extends UserInputError {
  constructor(readonly issues: { path: string; message: string }[]) {
    // The config error style: each field's path and what is wrong with it.
    super(`invalid config (PagerDuty routing keys from the environment):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
  }
}

/** PagerDuty did not take an event. `retryable`: throttled, PagerDuty's own error or no answer; else refused. */
export class PagerDutyError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Whether any model has a PagerDuty escalation target (the composition root builds the notifier only then). */
export function hasPagerDutyTargets(config: VigilConfig): boolean {
  return config.models.some((m) => m.escalation.some((e) => typeof e !== 'string'));
}

/**
 * Each model's PagerDuty targets with their routing keys, by model id. Every variable that is unset,
 * empty or holds something that cannot be a key is named at once, by its config field; values never are.
 */
export function pagerDutyRoutesFromEnv(config: VigilConfig, env: NodeJS.ProcessEnv = process.env): Map<string, PagerDutyRoute[]> {
  const routes = new Map<string, PagerDutyRoute[]>();
  const issues: { path: string; message: string }[] = [];
  config.models.forEach((model, i) => {
    const list: PagerDutyRoute[] = [];
    model.escalation.forEach((target, j) => {
      if (typeof target === 'string') return;
      const { routingKeyEnv, url } = target.pagerduty;
      const field = `models.${i}.escalation.${j}.pagerduty`;
      const raw = env[routingKeyEnv];
      const key = raw?.trim();
      const what = `it must hold the routing key (Integration Key) of the PagerDuty service's Events API v2 integration`;
      if (!key) {
        issues.push({
          path: `${field}.routingKeyEnv`,
          message: `environment variable ${routingKeyEnv} is ${raw === undefined ? 'not set' : 'empty'}: ${what}`,
        });
      } else if (/\s/.test(key)) {
        issues.push({ path: `${field}.routingKeyEnv`, message: `environment variable ${routingKeyEnv} contains spaces: ${what} (its value is not shown)` });
      } else if (!list.some((r) => r.url === url && r.routingKey === key)) {
        // The same service listed twice is paged once.
        list.push({ url, routingKey: key, field });
      }
    });
    if (list.length) routes.set(model.id, list);
  });
  if (issues.length) throw new PagerDutyConfigError(issues);
  return routes;
}

/** SEV1 pages as critical, SEV2 as error, SEV3 as warning; SEV4 (or not classified yet) as info. */
export function pagerDutySeverity(severity: Severity | undefined): PagerDutySeverity {
  switch (severity) {
    case 'SEV1':
      return 'critical';
    case 'SEV2':
      return 'error';
    case 'SEV3':
      return 'warning';
    default:
      return 'info';
  }
}

/** The dedup key of an incident's PagerDuty alert: derived from the incident, so every attempt and every escalation agree. */
export function pagerDutyDedupKey(incidentId: string): string {
  return `vigil-${incidentId}`;
}

export function createPagerDutyNotifier(opts: PagerDutyNotifierOptions): Notifier {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const log = opts.log ?? ((line: string) => console.log(line));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? (() => new Date());
  // Read and checked now, so a missing key stops startup instead of the first page.
  const routes = pagerDutyRoutesFromEnv(opts.config, opts.env ?? process.env);

  async function send(route: PagerDutyRoute, event: PagerDutyEvent, incidentId: string): Promise<void> {
    const what = `PagerDuty ${event.event_action} for ${incidentId} (${route.field})`;
    // Whatever PagerDuty or the network says is scrubbed of the key before it reaches a message.
    const scrub = (text: string) => text.split(route.routingKey).join('[routing key]');
    let res: Response;
    try {
      res = await doFetch(route.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const why = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : scrub(causeMessage(e));
      throw new PagerDutyError(`${what} failed: ${why}`, true);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    const answer = scrub(describeAnswer(text));
    if (res.status === 429) throw new PagerDutyError(`${what}: throttled by PagerDuty (HTTP 429)${answer ? `: ${answer}` : ''}`, true, 429);
    if (res.status >= 500) throw new PagerDutyError(`${what}: PagerDuty answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`, true, res.status);
    // 400 (an invalid event, a wrong routing key) and anything else: PagerDuty's own words say what to fix.
    throw new PagerDutyError(`${what} refused (HTTP ${res.status})${answer ? `: ${answer}` : ''}`, false, res.status);
  }

  /** Sends to every target (one failing never hides another), then fails naming each failure. */
  async function sendAll(state: IncidentState, event: (route: PagerDutyRoute) => PagerDutyEvent): Promise<PagerDutyRoute[]> {
    const targets = routes.get(state.model.id) ?? [];
    const settled = await Promise.allSettled(targets.map((r) => send(r, event(r), state.id)));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new PagerDutyError(
        failures.map((f) => f.message).join('; '),
        failures.some((f) => !(f instanceof PagerDutyError) || f.retryable),
      );
    }
    return targets;
  }

  return {
    async approvalRequested() {
      return {};
    },

    async escalated(state, reason) {
      const c = state.classification;
      const r = state.recommendation;
      const severity = pagerDutySeverity(c?.severity);
      const headline = [c?.severity, c?.failureMode ?? state.signal].filter(Boolean).join(' ');
      const sent = await sendAll(state, (route) => ({
        routing_key: route.routingKey,
        event_action: 'trigger',
        dedup_key: pagerDutyDedupKey(state.id),
        payload: {
          summary: truncate(`${headline} on ${state.model.id}: ${reason}`, PAGERDUTY_SUMMARY_MAX),
          source: 'vigil',
          severity,
          timestamp: now().toISOString(),
          component: state.model.id,
          ...(c ? { group: c.failureMode } : {}),
          class: state.signal,
          custom_details: {
            incident: state.id,
            model: state.model.id,
            phase: state.phase,
            ...(c ? { severity: c.severity, failureMode: c.failureMode } : {}),
            reason,
            ...(r ? { recommendation: `${r.action}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''}` } : {}),
          },
        },
        client: 'Vigil',
      }));
      if (sent.length) log(`[vigil] PagerDuty: paged ${sent.length} service(s) for ${state.id} (${severity}, dedup key ${pagerDutyDedupKey(state.id)})`);
    },

    async phaseChanged(state, event) {
      // Resolved on close whether or not it was ever triggered: PagerDuty ignores a resolve for a key it has no alert for.
      if (event !== 'phase:closed') return;
      const sent = await sendAll(state, (route) => ({ routing_key: route.routingKey, event_action: 'resolve', dedup_key: pagerDutyDedupKey(state.id) }));
      if (sent.length) log(`[vigil] PagerDuty: resolved ${pagerDutyDedupKey(state.id)} (${state.id} closed)`);
    },

    async reviewWritten() {},
  };
}

/** At most `max` characters (code points, so an emoji is never cut in half), an ellipsis marking the cut. */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** PagerDuty's answer in a line: its `status`, `message` and `errors`, else the start of the body. */
function describeAnswer(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim().slice(0, 300);
  }
  const b = (body && typeof body === 'object' ? body : {}) as { status?: unknown; message?: unknown; errors?: unknown };
  const parts = [typeof b.message === 'string' ? b.message : undefined, typeof b.status === 'string' && b.status !== b.message ? `(${b.status})` : undefined];
  const errors = Array.isArray(b.errors) ? b.errors.filter((e): e is string => typeof e === 'string') : [];
  const head = parts.filter(Boolean).join(' ');
  return [head, ...errors].filter(Boolean).join(': ').slice(0, 1000) || text.trim().slice(0, 300);
}

/** fetch's "fetch failed" says nothing: the cause (ECONNREFUSED, a DNS failure…) does. */
function causeMessage(err: Error | undefined): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  const inner = cause instanceof Error ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
  return `${err?.message ?? String(err)}${inner}`;
}
