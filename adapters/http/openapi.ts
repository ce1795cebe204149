/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of Vigil's HTTP API. Every schema in it is generated
 * from the zod schema the route validates with (z.toJSONSchema), so the document cannot drift from
 * the validation.
 */
import { z } from 'zod';
import { AlertmanagerWebhook } from '../alertmanager/alertmanagerWebhook.js';
import {
  BinaryPrediction,
  ErrorAnswer,
  IssueSchema,
  LabelBatch,
  LabelRow,
  LabelsAnswer,
  MulticlassPrediction,
  PredictionBatch,
  PredictionRow,
  PredictionsAnswer,
  RegressionPrediction,
} from '../../domain/ingest.js';
import { DecisionBody, SignalBody } from './decisionRoutes.js';
import { NDJSON, RETRY_AFTER_SECONDS } from './ingestRoutes.js';
import { RoutingAnswer } from './routingRoutes.js';

export const OPENAPI_PATH = '/openapi.json';

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });

/** The named component schemas, generated together so they refer to each other by $ref. */
function componentSchemas(ingest: boolean, routing: boolean, decisions: boolean): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  registry.add(ErrorAnswer, { id: 'Error' });
  registry.add(IssueSchema, { id: 'Issue' });
  registry.add(AlertmanagerWebhook, { id: 'AlertmanagerWebhook' });
  if (ingest) {
    registry.add(PredictionBatch, { id: 'PredictionBatch' });
    registry.add(PredictionRow, { id: 'PredictionRow' });
    registry.add(BinaryPrediction, { id: 'BinaryPrediction' });
    registry.add(MulticlassPrediction, { id: 'MulticlassPrediction' });
    registry.add(RegressionPrediction, { id: 'RegressionPrediction' });
    registry.add(PredictionsAnswer, { id: 'PredictionsAnswer' });
    registry.add(LabelBatch, { id: 'LabelBatch' });
    registry.add(LabelRow, { id: 'LabelRow' });
    registry.add(LabelsAnswer, { id: 'LabelsAnswer' });
  }
  if (routing) registry.add(RoutingAnswer, { id: 'RoutingAnswer' });
  if (decisions) {
    registry.add(DecisionBody, { id: 'Decision' });
    registry.add(SignalBody, { id: 'Signal' });
  }
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', unrepresentable: 'any' }) as {
    schemas: Record<string, Json>;
  };
  // Components are not documents of their own: no $schema / $id (the document's dialect applies).
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

const errorResponse = (description: string, headers?: Json) => ({ description, ...(headers ? { headers } : {}), content: json(ref('Error')) });

function ingestOperation(opts: { summary: string; description: string; batch: string; row: string; answer: string; operationId: string }): Json {
  return {
    operationId: opts.operationId,
    summary: opts.summary,
    description: opts.description,
    security: [{ ingestToken: [] }],
    parameters: [
      {
        name: 'model',
        in: 'path',
        required: true,
        description: 'The model’s id, as configured in Vigil.',
        schema: { type: 'string' },
      },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: ref(opts.batch) },
        [NDJSON]: {
          schema: { type: 'string', description: `One ${opts.row} object per line (blank lines are skipped).` },
          // Each line's schema (OpenAPI 3.2 calls it itemSchema; in 3.1 it is an extension).
          'x-itemSchema': ref(opts.row),
        },
      },
    },
    responses: {
      200: { description: 'Stored (or already stored).', content: json(ref(opts.answer)) },
      400: errorResponse('A malformed body or row: `issues` lists every problem (row, path, message); nothing was stored.'),
      401: errorResponse('No, a malformed, or a wrong bearer token.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
      404: errorResponse('The model is not configured in Vigil.'),
      409: errorResponse('The model’s predictions and labels are read from its own table (source.kind "postgres"): ingestion is off for it.'),
      413: errorResponse('The body is larger than ingest.maxBodyBytes, or has more rows than ingest.maxRowsPerRequest.'),
      415: errorResponse(`The Content-Type is neither application/json nor ${NDJSON}.`),
      429: errorResponse(`Every ingestion slot (ingest.maxInFlight) is taken: retry after Retry-After seconds (${RETRY_AFTER_SECONDS}).`, {
        'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
      }),
      503: errorResponse('PostgreSQL is unavailable: send the same request again after Retry-After seconds (that is safe: the API is idempotent).', {
        'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
      }),
    },
  };
}

/** The document; `ingest` / `routing` / `decisions`: whether this server serves the ingestion / routing / decision routes. */
export function buildOpenApiDocument(opts: { ingest: boolean; routing?: boolean; decisions?: boolean }): Json {
  const paths: Json = {};
  const decisions = opts.decisions === true;
  const routing = opts.ingest && opts.routing === true;
  if (opts.ingest) {
    paths['/v1/models/{model}/predictions'] = {
      post: ingestOperation({
        operationId: 'ingestPredictions',
        summary: 'Send predictions',
        description:
          'Logs a batch of the model’s predictions with their inputs. Idempotent by requestId per model: rows already stored count as ' +
          'duplicates and are not changed. The prediction’s shape follows the model’s task type; binary scores are decided with the ' +
          'model’s threshold. Features are checked against the model’s inputSchema: a value of the wrong type is refused, out-of-range ' +
          'values, unknown categories, missing and undeclared columns are stored and measured by the monitor. A label that arrived ' +
          'before its prediction is attached in the same transaction. Rows with servedBy "shadow" (binary models) are a shadow ' +
          'canary’s answers to a copy of a served request: stored once per requestId and modelVersion, judged on the label of the ' +
          'served row with the same requestId, never taking a label themselves.',
        batch: 'PredictionBatch',
        row: 'PredictionRow',
        answer: 'PredictionsAnswer',
      }),
    };
    paths['/v1/models/{model}/labels'] = {
      post: ingestOperation({
        operationId: 'ingestLabels',
        summary: 'Send labels (true outcomes)',
        description:
          'Attaches labels to their predictions by requestId. A label whose prediction has not arrived is kept for ingest.labelGrace ' +
          '(default 24h) and attached when the prediction arrives. The same label sent again changes nothing; a different one replaces ' +
          'it (a correction).',
        batch: 'LabelBatch',
        row: 'LabelRow',
        answer: 'LabelsAnswer',
      }),
    };
  }
  if (routing) {
    paths['/v1/models/{model}/routing'] = {
      get: {
        operationId: 'modelRouting',
        summary: 'What to serve now (for model servers that follow Vigil)',
        description:
          'The champion, the canary or shadow under test with its share, and the fallback flag, as Vigil’s built-in deployment ' +
          'target holds them: a model server that polls this follows every move Vigil makes during an incident. Send the ETag back ' +
          'in If-None-Match: 304 until something changes. Same token as ingestion.',
        security: [{ ingestToken: [] }],
        parameters: [
          { name: 'model', in: 'path', required: true, description: 'The model’s id, as configured in Vigil.', schema: { type: 'string' } },
          { name: 'If-None-Match', in: 'header', required: false, description: 'The ETag of the answer you hold.', schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: 'What to serve.',
            headers: { ETag: { description: 'The answer’s tag, for If-None-Match.', schema: { type: 'string' } } },
            content: json(ref('RoutingAnswer')),
          },
          304: { description: 'Unchanged since the ETag sent in If-None-Match.' },
          401: errorResponse('No, a malformed, or a wrong bearer token.'),
          404: errorResponse('The model is not configured in Vigil.'),
          409: errorResponse('The model is served by KServe, which routes it itself.'),
        },
      },
    };
  }
  if (decisions) {
    paths['/v1/incidents/{id}/decisions'] = {
      post: {
        operationId: 'decideIncident',
        summary: 'Approve or reject an incident’s recommended action',
        description:
          'A vote on the incident’s pending approval, as the person the bearer token names (a Vigil API token from `vigil token ' +
          'create --user <id>`, or an OIDC token when auth.oidc is configured). Vigil sets who decides and the channel (api): `by`, ' +
          '`via` or `person` in the body are ignored. Quorum counts people: one person’s Slack id and API name are one vote.',
        security: [{ personToken: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, description: 'The incident’s id.', schema: { type: 'string' } }],
        requestBody: { required: true, content: json(ref('Decision')) },
        responses: {
          200: { description: 'The vote was recorded: outcome (approved, rejected, vote_recorded), votes so far, quorum.' },
          400: errorResponse('A malformed body (the field is named), or a decision the incident refuses as such (a rejection without a reason).'),
          401: errorResponse('No, a malformed, unknown, revoked or expired token.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
          403: errorResponse('The token’s person is not an approver of this incident.'),
          404: errorResponse('No such incident.'),
          409: errorResponse('No approval is pending (not awaiting approval, decided, or closed), or this person has voted already.'),
          503: errorResponse('Temporal, PostgreSQL or the OIDC issuer is unavailable; retry later.'),
        },
      },
    };
    paths['/v1/incidents/{id}/signals'] = {
      post: {
        operationId: 'signalIncident',
        summary: 'Send a named event to the incident’s runbook (e.g. upstream_fixed)',
        description:
          'A runbook waiting for this signal (waitForSignal) goes on; it is recorded on the incident either way. Sent as the person the ' +
          'bearer token names: a `by` in the body is ignored.',
        security: [{ personToken: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, description: 'The incident’s id.', schema: { type: 'string' } }],
        requestBody: { required: true, content: json(ref('Signal')) },
        responses: {
          202: { description: 'Sent: the incident, the signal and who sent it.' },
          400: errorResponse('A malformed body (the field is named).'),
          401: errorResponse('No, a malformed, unknown, revoked or expired token.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
          404: errorResponse('No such incident.'),
          409: errorResponse('The incident is closed.'),
          503: errorResponse('Temporal, PostgreSQL or the OIDC issuer is unavailable; retry later.'),
        },
      },
    };
  }
  paths['/alerts/alertmanager'] = {
    post: {
      operationId: 'alertmanagerWebhook',
      summary: 'Alertmanager webhook (webhook_configs, payload version 4)',
      description:
        'Firing alerts open incidents (or attach evidence to the open incident of their model and failure mode); resolved alerts are ' +
        'recorded on it. Each alert needs a "model" (or "vigil_model") label and a "signal" label or an alertname mapped in the model’s config.',
      security: [{ alertToken: [] }],
      requestBody: { required: true, content: json(ref('AlertmanagerWebhook')) },
      responses: {
        200: { description: 'Incidents opened or fed, resolved alerts recorded, and alerts ignored (with the reason).' },
        400: errorResponse(
          'Not JSON, not a version 4 webhook payload, or a label or annotation over the limits (64 per alert, 4096 characters each); nothing was started.',
        ),
        401: errorResponse('No, a malformed, or a wrong bearer token.'),
        413: errorResponse('A body over 1 MiB, or more than 500 alerts (set max_alerts in the webhook_config); nothing was started.'),
        415: errorResponse('The Content-Type is not application/json.'),
        422: errorResponse('An alert names no configured model or no signal; nothing was started.'),
        503: errorResponse('Temporal or PostgreSQL is unavailable; Alertmanager retries.'),
      },
    },
  };
  paths['/healthz'] = { get: { operationId: 'health', summary: 'Liveness (no token)', responses: { 200: { description: 'Up.' } } } };
  paths[OPENAPI_PATH] = { get: { operationId: 'openapi', summary: 'This document (no token)', responses: { 200: { description: 'The OpenAPI document.' } } } };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil HTTP API',
      version: '1',
      description:
        'Prediction and label ingestion for models Vigil did not build, and the Alertmanager webhook receiver. Every route except ' +
        '/healthz and /openapi.json needs a bearer token: the ingestion routes VIGIL_INGEST_TOKEN (or the state folder’s ingest-token ' +
        'file), the Alertmanager route VIGIL_ALERT_TOKEN (or alert-token).',
    },
    paths,
    components: {
      schemas: componentSchemas(opts.ingest, routing, decisions),
      securitySchemes: {
        ...(opts.ingest
          ? { ingestToken: { type: 'http', scheme: 'bearer', description: 'VIGIL_INGEST_TOKEN, or the state folder’s ingest-token file.' } }
          : {}),
        alertToken: { type: 'http', scheme: 'bearer', description: 'VIGIL_ALERT_TOKEN, or the state folder’s alert-token file.' },
        ...(decisions
          ? { personToken: { type: 'http', scheme: 'bearer', description: 'A person’s token: `vigil token create --user <id>`, or an OIDC JWT (auth.oidc).' } }
          : {}),
      },
    },
  };
}
