/**
 * The Alertmanager webhook payload, version 4 (what `webhook_configs` POSTs), validated at the edge.
 * See https://prometheus.io/docs/alerting/latest/configuration/#webhook_config.
 */
import { z } from 'zod';

const Labels = z.record(z.string(), z.string());
const AlertStatus = z.enum(['firing', 'resolved']);
// Alertmanager writes RFC 3339 with nanoseconds; firing alerts may carry the zero time as endsAt.
const Timestamp = z.string().datetime({ offset: true, message: 'must be an RFC 3339 timestamp' });

export const AlertmanagerAlert = z.object({
  status: AlertStatus,
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: Timestamp,
  endsAt: Timestamp.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1, 'must be a non-empty string'),
});
export type AlertmanagerAlert = z.output<typeof AlertmanagerAlert>;

export const AlertmanagerWebhook = z.object({
  version: z.literal('4', { message: 'must be "4" (the Alertmanager webhook payload version Vigil reads)' }),
  groupKey: z.string(),
  /** How many alerts Alertmanager left out because of `max_alerts`. */
  truncatedAlerts: z.number().int().min(0).default(0),
  status: AlertStatus,
  receiver: z.string(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertmanagerAlert).min(1, 'must list at least one alert'),
});
export type AlertmanagerWebhook = z.output<typeof AlertmanagerWebhook>;
