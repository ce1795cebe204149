/**
 * The Alertmanager webhook receiver: `POST /alerts/alertmanager` turns firing alerts into incidents
 * (the IncidentService de-duplicates per model and failure mode) and records resolved ones on the open
 * incident. Bearer token required; every alert of a payload is validated and mapped before anything
 * starts, so a bad payload opens nothing. `GET /healthz` and `GET /openapi.json` answer without a token.
 * The same server takes predictions and labels when given `ingest` (adapters/http/ingestRoutes.ts).
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { IncidentService } from '../../client/incidentService.js';
import { findModel, formatZodIssues, signalForAlertname, type VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { failureModeForSignal, SignalKind, type EvidenceValue, type FailureMode } from '../../domain/incident.js';
import { bearerAuth } from '../http/bearerToken.js';
import { registerDecisionRoutes, type DecisionRouteOptions } from '../http/decisionRoutes.js';
import { parseJson } from '../http/jsonBody.js';
import { registerIngestRoutes, type IngestOptions } from '../http/ingestRoutes.js';
import { buildOpenApiDocument, OPENAPI_PATH } from '../http/openapi.js';
import { registerRoutingRoutes, type RoutingOptions } from '../http/routingRoutes.js';
import { ALERT_LIMITS, AlertmanagerWebhook, type AlertmanagerAlert } from './alertmanagerWebhook.js';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';
export const HTTP_PORT_ENV = 'VIGIL_HTTP_PORT';
export const HTTP_HOST_ENV = 'VIGIL_HTTP_HOST';

export interface AlertReceiverOptions {
  incidents: IncidentService;
  config: VigilConfig;
  /** The bearer token Alertmanager must send; the receiver refuses to exist without one. */
  token: string;
  log?: (message: string) => void;
  /** Serve prediction and label ingestion too (`POST /v1/models/{model}/predictions`, `/labels`). */
  ingest?: IngestOptions;
  /** With ingest: serve `GET /v1/models/{model}/routing` too, for model servers that follow Vigil (same token). */
  routing?: Pick<RoutingOptions, 'deploymentFor'>;
  /** Serve the decision API (`POST /v1/incidents/{id}/decisions`, its own per-person tokens). */
  decisions?: DecisionRouteOptions;
}

export interface AlertReceiverResponse {
  incidents: { id: string; created: boolean; fingerprint: string }[];
  resolved: { id: string; fingerprint: string }[];
  ignored: { fingerprint: string; reason: string }[];
}

interface Issue {
  path: string;
  message: string;
  line?: number;
}

/** A body that is not JSON: where it stops being JSON. */
class JsonBodyError extends Error {
  readonly statusCode = 400;
  constructor(readonly issue: Issue) {
    super(`invalid JSON body: line ${issue.line}, ${issue.message}`);
  }
}

/** One alert, mapped to what Vigil does with it. */
interface PlannedAlert {
  alert: AlertmanagerAlert;
  modelId: string;
  signal: SignalKind;
  mode: FailureMode;
}

/** The evidence key a numeric `value` annotation is stored under, per signal (what classify reads). */
const VALUE_KEYS: Partial<Record<SignalKind, string>> = {
  error_rate: 'error_rate',
  latency: 'latency_p99_ms',
  gpu_memory: 'gpu_memory_util',
  queue_depth: 'queue_depth',
  upstream_error: 'upstream_error_rate',
  data_drift: 'psi_max',
  accuracy_drop: 'accuracy_drop',
  missing_values: 'missing_share',
  label_anomaly: 'label_positive_rate_shift',
};

/** A fastify app with the receiver's routes; not listening yet (see startAlertReceiver). */
export function createAlertReceiver(opts: AlertReceiverOptions): FastifyInstance {
  const { incidents, config } = opts;
  const log = opts.log ?? ((m: string) => console.log(`[vigil] ${m}`));
  const authenticate = bearerAuth({ token: opts.token, what: 'alert receiver', log });

  const app = Fastify({ logger: false });
  // Parsed here rather than by fastify's parser: a syntax error is located by line and column, and
  // keys such as "__proto__" reach the zod schema, which builds fresh objects and never merges them.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body: string, done) => {
    const parsed = parseJson(body);
    if (parsed.ok) return done(null, parsed.value);
    const { line, column, message } = parsed.error;
    done(new JsonBodyError({ path: '', line, message: `column ${column}: ${message}` }));
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof JsonBodyError) return reply.code(400).send({ error: err.message, issues: [err.issue] });
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({
        error: `the body is larger than ${ALERT_LIMITS.maxBodyBytes} bytes; nothing was started: set max_alerts (at most ${ALERT_LIMITS.maxAlerts}) in Alertmanager's webhook_config`,
      });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const sent = req.headers['content-type'];
      return reply.code(415).send({ error: `${sent ? `unsupported Content-Type "${sent}"` : 'no Content-Type'}: send application/json` });
    }
    if (status === 400 && err.code?.startsWith('FST_ERR_CTP')) {
      return reply.code(400).send({ error: `invalid JSON body: ${err.message}`, issues: [{ path: '', message: err.message }] });
    }
    if (status < 500) return reply.code(status).send({ error: err.message });
    log(`alert receiver: ${err.message}`);
    return reply.code(500).send({ error: 'internal error' });
  });

  app.get('/healthz', async () => ({ ok: true }));
  const openapi = JSON.stringify(
    buildOpenApiDocument({ ingest: opts.ingest !== undefined, routing: opts.routing !== undefined, decisions: opts.decisions !== undefined }),
  );
  app.get(OPENAPI_PATH, async (_req, reply) => reply.type('application/json; charset=utf-8').send(openapi));
  if (opts.ingest) registerIngestRoutes(app, { ...opts.ingest, config, log });
  if (opts.ingest && opts.routing) registerRoutingRoutes(app, { ...opts.routing, config, token: opts.ingest.token, log });
  if (opts.decisions) registerDecisionRoutes(app, opts.decisions);

  // Authentication runs on request, before the body is even parsed.
  app.post(ALERTMANAGER_PATH, { onRequest: authenticate, bodyLimit: ALERT_LIMITS.maxBodyBytes }, async (req, reply) => {
    const parsed = AlertmanagerWebhook.safeParse(req.body);
    if (!parsed.success) {
      const issues = formatZodIssues(parsed.error);
      // Too many alerts is a size limit, like the body's; anything else is a malformed payload.
      const tooMany = parsed.error.issues.some((i) => i.code === 'too_big' && i.path.length === 1 && i.path[0] === 'alerts');
      return reply.code(tooMany ? 413 : 400).send({ error: `invalid Alertmanager webhook payload; nothing was started: ${describe(issues)}`, issues });
    }
    const payload = parsed.data;
    const { planned, issues } = planAlerts(payload.alerts, config);
    if (issues.length) {
      log(`alert receiver: 422 for group ${payload.groupKey}: ${describe(issues)}`);
      return reply.code(422).send({ error: `cannot map the alerts to Vigil models and signals; nothing was started: ${describe(issues)}`, issues });
    }
    if (payload.truncatedAlerts > 0) {
      log(`alert receiver: Alertmanager left out ${payload.truncatedAlerts} alert(s) of group ${payload.groupKey} (max_alerts)`);
    }

    try {
      const result = await act(planned, incidents);
      log(`alert receiver: ${summarise(result)}`);
      return reply.code(200).send(result);
    } catch (err) {
      if (err instanceof UserInputError) return reply.code(422).send({ error: err.message, issues: [] });
      // Temporal or PostgreSQL is unavailable: Alertmanager retries on 5xx.
      log(`alert receiver: 503 for group ${payload.groupKey}: ${(err as Error).message}`);
      return reply.code(503).send({ error: 'Vigil cannot record the alerts right now (Temporal or PostgreSQL unavailable); retry later' });
    }
  });

  return app;
}

/** Where `vigil up` serves HTTP: VIGIL_HTTP_HOST (default 127.0.0.1) and VIGIL_HTTP_PORT (default 8080). */
export function httpAddressFromEnv(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const rawPort = env[HTTP_PORT_ENV];
  let port = 8080;
  if (rawPort !== undefined) {
    port = /^\s*\d+\s*$/.test(rawPort) ? Number(rawPort) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new UserInputError(`${HTTP_PORT_ENV}="${rawPort}": must be an integer from 1 to 65535`);
  }
  const rawHost = env[HTTP_HOST_ENV];
  if (rawHost !== undefined && !rawHost.trim())
    throw new UserInputError(`${HTTP_HOST_ENV} is set but empty: give a host or address to listen on, e.g. 127.0.0.1`);
  return { host: rawHost?.trim() || '127.0.0.1', port };
}

/** Starts the receiver on host:port; a port in use is reported with the variable that changes it. */
export async function startAlertReceiver(
  opts: AlertReceiverOptions & { host: string; port: number },
): Promise<{ app: FastifyInstance; url: string; baseUrl: string; port: number; stop(): Promise<void> }> {
  const app = createAlertReceiver(opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`alert receiver: port ${opts.port} on ${opts.host} is already in use (set ${HTTP_PORT_ENV} to another port)`);
    }
    throw new Error(`alert receiver: cannot listen on ${opts.host}:${opts.port} (${HTTP_PORT_ENV}): ${(err as Error).message}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const baseUrl = `http://${host}:${port}`;
  return { app, url: `${baseUrl}${ALERTMANAGER_PATH}`, baseUrl, port, stop: () => app.close() };
}

/** Maps every alert to (model, signal), or lists every alert that cannot be mapped. */
function planAlerts(alerts: AlertmanagerAlert[], config: VigilConfig): { planned: PlannedAlert[]; issues: Issue[] } {
  const planned: PlannedAlert[] = [];
  const issues: Issue[] = [];
  const configured = config.models.map((m) => m.id).join(', ');
  alerts.forEach((alert, i) => {
    const where = `alerts.${i}.labels`;
    const modelLabel = labelOf(alert, 'vigil_model', 'model');
    if (!modelLabel) {
      issues.push({ path: where, message: `alert ${i} has no "model" or "vigil_model" label (configured models: ${configured})` });
      return;
    }
    const model = findModel(config, modelLabel.value);
    if (!model) {
      issues.push({
        path: `${where}.${modelLabel.name}`,
        message: `alert ${i}: label ${modelLabel.name}="${modelLabel.value}" is not a configured model (configured: ${configured})`,
      });
      return;
    }
    let signal: SignalKind;
    const signalLabel = labelOf(alert, 'vigil_signal', 'signal');
    if (signalLabel) {
      const parsed = SignalKind.safeParse(signalLabel.value);
      if (!parsed.success) {
        issues.push({
          path: `${where}.${signalLabel.name}`,
          message: `alert ${i}: label ${signalLabel.name}="${signalLabel.value}" is not a signal (expected one of: ${SignalKind.options.join(', ')})`,
        });
        return;
      }
      signal = parsed.data;
    } else {
      const alertname = alert.labels.alertname;
      const mapped = alertname === undefined ? undefined : signalForAlertname(model, alertname);
      if (!mapped) {
        issues.push({
          path: `${where}.${alertname === undefined ? 'signal' : 'alertname'}`,
          message:
            `alert ${i}: no "signal" or "vigil_signal" label, and ` +
            (alertname === undefined ? 'no "alertname" label' : `alertname "${alertname}" is not in models.${model.id}.alerts`) +
            ` (add a signal label, or map the alert name in the model's "alerts" config)`,
        });
        return;
      }
      signal = mapped;
    }
    planned.push({ alert, modelId: model.id, signal, mode: failureModeForSignal(signal) });
  });
  return { planned, issues };
}

/** Firing alerts first, so a resolved alert in the same group finds the incident its sibling opened. */
async function act(planned: PlannedAlert[], incidents: IncidentService): Promise<AlertReceiverResponse> {
  const out: AlertReceiverResponse = { incidents: [], resolved: [], ignored: [] };
  for (const p of planned.filter((x) => x.alert.status === 'firing')) {
    const { id, created } = await incidents.open({
      modelId: p.modelId,
      signal: p.signal,
      source: 'alertmanager',
      observedAt: new Date(p.alert.startsAt),
      evidence: evidenceOf(p),
    });
    out.incidents.push({ id, created, fingerprint: p.alert.fingerprint });
  }
  for (const p of planned.filter((x) => x.alert.status === 'resolved')) {
    const endsAt = p.alert.endsAt && !p.alert.endsAt.startsWith('0001-') ? new Date(p.alert.endsAt) : new Date();
    const attached = await incidents.attachEvidence({
      modelId: p.modelId,
      signal: p.signal,
      source: 'alertmanager',
      observedAt: endsAt,
      evidence: { ...evidenceOf(p), endsAt: endsAt.toISOString() },
    });
    if (attached) out.resolved.push({ id: attached.id, fingerprint: p.alert.fingerprint });
    else out.ignored.push({ fingerprint: p.alert.fingerprint, reason: `resolved, and no incident is open for ${p.modelId} ${p.mode}` });
  }
  return out;
}

function evidenceOf({ alert, signal }: PlannedAlert): Record<string, EvidenceValue> {
  const values: Record<string, EvidenceValue> = {
    alertname: alert.labels.alertname ?? '',
    fingerprint: alert.fingerprint,
    status: alert.status,
    startsAt: alert.startsAt,
  };
  if (alert.labels.severity) values.severity = alert.labels.severity;
  if (alert.annotations.summary) values.summary = alert.annotations.summary;
  if (alert.annotations.description) values.description = alert.annotations.description;
  if (alert.generatorURL) values.generatorURL = alert.generatorURL;
  const raw = alert.annotations.value?.trim();
  if (raw) {
    const n = Number(raw);
    if (Number.isFinite(n)) values[VALUE_KEYS[signal] ?? 'value'] = n;
    else values.value = raw;
  }
  return values;
}

/** The Vigil-specific label wins over the generic one when both are set. */
function labelOf(alert: AlertmanagerAlert, specific: string, generic: string): { name: string; value: string } | undefined {
  for (const name of [specific, generic]) {
    const value = alert.labels[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

/** The first few issues (all of them are in the answer's `issues`), so a 500-alert refusal stays one readable line. */
function describe(issues: Issue[]): string {
  const shown = issues.slice(0, 5).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  return shown.join('; ') + (issues.length > shown.length ? `; … and ${issues.length - shown.length} more` : '');
}

function summarise(r: AlertReceiverResponse): string {
  const parts = [
    ...r.incidents.map((i) => `${i.fingerprint} → ${i.id} (${i.created ? 'opened' : 'attached'})`),
    ...r.resolved.map((i) => `${i.fingerprint} resolved → ${i.id}`),
    ...r.ignored.map((i) => `${i.fingerprint} ignored: ${i.reason}`),
  ];
  return parts.join('; ');
}
