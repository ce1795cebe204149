/**
 * The decision API, how people decide incidents in production outside Slack:
 *
 *   POST /v1/incidents/{id}/decisions   {"verdict": "approve" | "reject", "reason"?: "…"}   → the vote's result
 *   POST /v1/incidents/{id}/signals     {"name": "upstream_fixed", "data"?: {"k": "v"}}     → 202, sent to the runbook
 *
 * `Authorization: Bearer <token>`: a Vigil API token (`vigil token create --user <id>`), or, with config
 * `auth.oidc`, a JWT from the organisation's identity provider. The gateway, not the caller, says who
 * decides: `by` and `person` are the token's person and `via` is `api`; a body's own `by`, `via` or
 * `person` is ignored. In order: 401 (no, malformed, unknown, revoked or expired token; before the body
 * is read), 400 (the body, naming the field), 404 (unknown incident), then the incident's own answer:
 * 403 (not an approver), 409 (no pending approval, or this person has voted already), 400 (e.g. a
 * rejection without a reason). Refusals are audited by the IncidentService.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import type { IncidentService } from '../../client/incidentService.js';
import { formatZodIssues, type VigilConfig } from '../../domain/config.js';
import { DECISION_REFUSAL, DecisionRefusedError, NotFoundError, UserInputError, type DecisionRefusal } from '../../domain/errors.js';
import { Verdict } from '../../domain/incident.js';
import { INCIDENT_LIMITS, SIGNAL_NAME } from '../../domain/incidentBounds.js';
import { personOf } from '../../domain/people.js';
import type { ApiTokenStore } from '../../ports/apiTokens.js';
import { API_TOKEN_PREFIX, createApiTokenStore } from '../postgres/apiTokenStore.js';
import { parseJson } from './jsonBody.js';
import { createOidcVerifier, type OidcVerifier } from './oidcVerifier.js';

export const DECISIONS_PATH = '/v1/incidents/:id/decisions';
export const SIGNALS_PATH = '/v1/incidents/:id/signals';
const MAX_BODY_BYTES = 16 * 1024;

/** What a caller may say. Not strict: `by`, `via` and `person` in a body are the gateway's to set, and ignored. */
export const DecisionBody = z
  .object({
    verdict: Verdict.describe('approve or reject the recommended action'),
    reason: z.string().max(INCIDENT_LIMITS.reasonChars).optional().describe('why; required to reject'),
  })
  .describe('A decision; who decides is the bearer token’s person.');

/** A runbook signal; who sends it is the bearer token's person (a body's `by` is ignored). */
export const SignalBody = z
  .object({
    name: z.string().regex(SIGNAL_NAME, 'must be letters, digits, _ or - (at most 63), such as upstream_fixed').describe('the signal the runbook waits for'),
    data: z
      .record(z.string().max(100), z.string().max(INCIDENT_LIMITS.signalValueChars))
      .refine((d) => Object.keys(d).length <= INCIDENT_LIMITS.signalDataKeys, `at most ${INCIDENT_LIMITS.signalDataKeys} values`)
      .refine((d) => !Object.hasOwn(d, '__proto__'), '"__proto__" is not allowed as a key')
      .optional()
      .describe('values that travel with the signal'),
  })
  .describe('A runbook signal; who sends it is the bearer token’s person.');

export interface DecisionIdentity {
  /** The person (config `people` id, or the token's user when it is no one's in `people`). */
  person: string;
  /** How they proved it, for the log: a token's id, or "oidc". */
  credential: string;
}

export type Authentication = { ok: true; identity: DecisionIdentity } | { ok: false; status: 401 | 503; error: string };

/** Who an `Authorization` header speaks for: a Vigil API token, else (with `auth.oidc`) a JWT. */
export function createDecisionAuthenticator(opts: {
  tokens: ApiTokenStore;
  config: Pick<VigilConfig, 'people'>;
  oidc?: OidcVerifier;
}): (authorization: string | undefined) => Promise<Authentication> {
  return async (authorization) => {
    const match = authorization ? /^Bearer +(\S+) *$/i.exec(authorization) : null;
    if (!authorization) return { ok: false, status: 401, error: 'missing Authorization header: expected "Authorization: Bearer <token>"' };
    if (!match) return { ok: false, status: 401, error: 'malformed Authorization header: expected "Authorization: Bearer <token>"' };
    const bearer = match[1]!;
    if (bearer.startsWith(API_TOKEN_PREFIX)) {
      const token = await opts.tokens.verify(bearer);
      if (!token) return { ok: false, status: 401, error: 'invalid bearer token (unknown or revoked)' };
      return { ok: true, identity: { person: personOf(opts.config.people, token.user), credential: token.id } };
    }
    if (opts.oidc) {
      const r = await opts.oidc.verify(bearer);
      if (!r.ok) return r;
      return { ok: true, identity: { person: personOf(opts.config.people, r.user), credential: 'oidc' } };
    }
    return { ok: false, status: 401, error: 'invalid bearer token' };
  };
}

export interface DecisionRouteOptions {
  incidents: Pick<IncidentService, 'decide' | 'signal'>;
  authenticate: (authorization: string | undefined) => Promise<Authentication>;
  log: (message: string) => void;
}

/** The route's dependencies as `vigil up` and the test environments build them: tokens in PostgreSQL, OIDC when configured. */
export function decisionApiFromConfig(opts: {
  config: Pick<VigilConfig, 'people' | 'auth'>;
  pool: pg.Pool;
  incidents: Pick<IncidentService, 'decide' | 'signal'>;
  log: (message: string) => void;
}): DecisionRouteOptions {
  const { config } = opts;
  const oidc = config.auth.oidc ? createOidcVerifier(config.auth.oidc) : undefined;
  return {
    incidents: opts.incidents,
    authenticate: createDecisionAuthenticator({ tokens: createApiTokenStore(opts.pool), config, ...(oidc ? { oidc } : {}) }),
    log: opts.log,
  };
}

const REFUSAL_STATUS: Record<DecisionRefusal, number> = {
  [DECISION_REFUSAL.notAnApprover]: 403,
  [DECISION_REFUSAL.noPendingApproval]: 409,
  [DECISION_REFUSAL.alreadyVoted]: 409,
  [DECISION_REFUSAL.invalidDecision]: 400,
};

/** A 400's body for a request body that does not parse: every field named, with why. */
function invalidBody(what: string, error: z.ZodError) {
  const issues = formatZodIssues(error);
  return { error: `invalid ${what}: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`, issues };
}

class BodyError extends Error {
  readonly statusCode = 400;
}

/** Registers the decision route in its own scope (JSON only, a small body, its own error answers). */
export function registerDecisionRoutes(app: FastifyInstance, opts: DecisionRouteOptions): void {
  const { incidents, log } = opts;
  const identities = new WeakMap<FastifyRequest, DecisionIdentity>();

  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    let r: Authentication;
    try {
      r = await opts.authenticate(req.headers.authorization);
    } catch (err) {
      log(`decisions: cannot check a token right now: ${(err as Error).message}`);
      r = { ok: false, status: 503, error: 'Vigil cannot check tokens right now; retry later' };
    }
    if (r.ok) {
      identities.set(req, r.identity);
      return;
    }
    // The reason, never the token.
    log(`decisions: ${r.status} from ${req.ip}: ${r.error}`);
    if (r.status === 401) void reply.header('WWW-Authenticate', 'Bearer realm="vigil"');
    return reply.code(r.status).send({ error: r.error });
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body: string, done) => {
      const parsed = parseJson(body);
      if (parsed.ok) return done(null, parsed.value);
      const { line, column, message } = parsed.error;
      done(new BodyError(`invalid JSON body: line ${line}, column ${column}: ${message}`));
    });
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof BodyError) return reply.code(400).send({ error: err.message });
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        const sent = req.headers['content-type'];
        return reply.code(415).send({ error: `${sent ? `unsupported Content-Type "${sent}"` : 'no Content-Type'}: send application/json` });
      }
      const status = err.statusCode ?? 500;
      if (status < 500) return reply.code(status).send({ error: err.message });
      log(`decisions: ${req.method} ${req.url}: ${err.message}`);
      return reply.code(500).send({ error: 'internal error' });
    });

    scope.post<{ Params: { id: string } }>(DECISIONS_PATH, { onRequest: authenticate, bodyLimit: MAX_BODY_BYTES }, async (req, reply) => {
      const identity = identities.get(req)!;
      const parsed = DecisionBody.safeParse(req.body ?? {});
      if (!parsed.success) return reply.code(400).send(invalidBody('decision', parsed.error));
      const { verdict, reason } = parsed.data;
      try {
        const result = await incidents.decide(req.params.id, {
          verdict,
          ...(reason !== undefined ? { reason } : {}),
          by: identity.person,
          person: identity.person,
          via: 'api',
        });
        log(`decisions: ${identity.person} (${identity.credential}) ${verdict}d ${req.params.id}: ${result.outcome}`);
        return reply.code(200).send(result);
      } catch (err) {
        if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
        if (err instanceof DecisionRefusedError) return reply.code(REFUSAL_STATUS[err.refusal]).send({ error: err.message });
        if (err instanceof UserInputError) return reply.code(400).send({ error: err.message });
        log(`decisions: ${verdict} of ${req.params.id} by ${identity.person} failed: ${(err as Error).message}`);
        return reply.code(503).send({ error: 'Vigil cannot record the decision right now (Temporal or PostgreSQL unavailable); retry later' });
      }
    });

    scope.post<{ Params: { id: string } }>(SIGNALS_PATH, { onRequest: authenticate, bodyLimit: MAX_BODY_BYTES }, async (req, reply) => {
      const identity = identities.get(req)!;
      const parsed = SignalBody.safeParse(req.body ?? {});
      if (!parsed.success) return reply.code(400).send(invalidBody('signal', parsed.error));
      const { name, data } = parsed.data;
      try {
        await incidents.signal(req.params.id, { name, by: identity.person, ...(data ? { data } : {}) });
        log(`decisions: ${identity.person} (${identity.credential}) sent ${name} to ${req.params.id}`);
        return reply.code(202).send({ incident: req.params.id, signal: name, by: identity.person });
      } catch (err) {
        if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
        if (err instanceof UserInputError) return reply.code(409).send({ error: err.message });
        log(`decisions: signal ${name} to ${req.params.id} by ${identity.person} failed: ${(err as Error).message}`);
        return reply.code(503).send({ error: 'Vigil cannot send the signal right now (Temporal or PostgreSQL unavailable); retry later' });
      }
    });
  });
}
