/**
 * The Alertmanager webhook payload, version 4 (what `webhook_configs` POSTs), validated at the edge.
 * See https://prometheus.io/docs/alerting/latest/configuration/#webhook_config.
 *
 * Bounded: a request over ALERT_LIMITS is refused whole (413 / 400 naming the alert and field) before
 * anything starts. Alert text becomes incident evidence (Temporal payloads, PostgreSQL rows), so an
 * unbounded annotation would fail mid-way or make Alertmanager retry a payload that can never fit.
 */
import { z } from 'zod';

export const ALERT_LIMITS = {
  /** The request body, in bytes (413). Alertmanager's `max_alerts` keeps groups below it. */
  maxBodyBytes: 1024 * 1024,
  /** Alerts in one request (413): set `max_alerts` to at most this in Alertmanager's webhook_config. */
  maxAlerts: 500,
  /** Labels, or annotations, of one alert (and of groupLabels, commonLabels, commonAnnotations). */
  maxLabels: 64,
  /** Characters in a label or annotation name. */
  maxNameLength: 256,
  /** Characters in a label or annotation value, a URL, the group key. */
  maxValueLength: 4096,
} as const;

const Labels = z
  .record(
    z.string().max(ALERT_LIMITS.maxNameLength, `a name must be at most ${ALERT_LIMITS.maxNameLength} characters`),
    z.string().max(ALERT_LIMITS.maxValueLength, `must be at most ${ALERT_LIMITS.maxValueLength} characters`),
  )
  .refine((r) => Object.keys(r).length <= ALERT_LIMITS.maxLabels, {
    error: (iss) => `has ${Object.keys(iss.input as object).length} entries; at most ${ALERT_LIMITS.maxLabels} are accepted`,
  })
  .meta({ maxProperties: ALERT_LIMITS.maxLabels });
const AlertStatus = z.enum(['firing', 'resolved']);
// Alertmanager writes RFC 3339 with nanoseconds; firing alerts may carry the zero time as endsAt.
const Timestamp = z.string().datetime({ offset: true, message: 'must be an RFC 3339 timestamp' });
const Text = z.string().max(ALERT_LIMITS.maxValueLength, `must be at most ${ALERT_LIMITS.maxValueLength} characters`);

export const AlertmanagerAlert = z.object({
  status: AlertStatus,
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: Timestamp,
  endsAt: Timestamp.optional(),
  generatorURL: Text.default(''),
  fingerprint: z.string().min(1, 'must be a non-empty string').max(256, 'must be at most 256 characters'),
});
export type AlertmanagerAlert = z.output<typeof AlertmanagerAlert>;

export const AlertmanagerWebhook = z.object({
  version: z.literal('4', { message: 'must be "4" (the Alertmanager webhook payload version Vigil reads)' }),
  groupKey: Text,
  /** How many alerts Alertmanager left out because of `max_alerts`. */
  truncatedAlerts: z.number().int().min(0).default(0),
  status: AlertStatus,
  receiver: Text,
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: Text.default(''),
  alerts: z
    .array(AlertmanagerAlert)
    .min(1, 'must list at least one alert')
    .max(ALERT_LIMITS.maxAlerts, `more than ${ALERT_LIMITS.maxAlerts} alerts in one request: set max_alerts: ${ALERT_LIMITS.maxAlerts} in the webhook_config`),
});
export type AlertmanagerWebhook = z.output<typeof AlertmanagerWebhook>;
