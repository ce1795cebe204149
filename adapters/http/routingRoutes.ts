/**
 * What a team's model server should serve, for serving Vigil does not run:
 *
 *   GET /v1/models/{model}/routing   → {model, mode, fallback, champion, canary}   ETag; If-None-Match → 304
 *
 * The answer is the built-in deployment target's state (the registry's `champion`, the canary or shadow
 * under way with its share, the fallback flag), so a model server that polls it follows every move
 * Vigil makes during an incident: start a canary, promote, roll back, fall back. Polling is cheap: the
 * ETag is the answer's hash, and a server that sends it back gets 304 with no body until something
 * changes. Same bearer token as ingestion (the serving layer holds it already). A model served by
 * KServe routes itself (409).
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { findModel, type VigilConfig } from '../../domain/config.js';
import type { DeploymentTarget, TrafficState } from '../../ports/deploymentTarget.js';
import { bearerAuth } from './bearerToken.js';

export const ROUTING_PATH = '/v1/models/:model/routing';

const ServedVersion = z.strictObject({
  version: z.number().int().describe('The registry version.'),
  artifactUri: z.string().optional().describe('Where its artifact is (opaque to Vigil: what was registered).'),
});

export const RoutingAnswer = z
  .strictObject({
    model: z.string(),
    mode: z.enum(['model', 'fallback']).describe('"fallback": answer with the fallback (rules or human review) instead of any model version.'),
    champion: ServedVersion.extend({
      percent: z.number().int().describe('The share of requests the champion answers (100 minus a split canary’s).'),
    })
      .nullable()
      .describe('The stable version; null before any version is registered as champion.'),
    canary: ServedVersion.extend({
      percent: z.number().int().describe('split: the share of requests it answers; shadow: the share mirrored to it, its answers logged, never returned.'),
      split: z.enum(['split', 'shadow']),
    })
      .nullable()
      .describe('The candidate under test, or null. Post its answers to /predictions with its modelVersion (servedBy "shadow" in shadow mode).'),
  })
  .describe('What to serve now. Poll it with If-None-Match: 304 until something changes.');
export type RoutingAnswer = z.output<typeof RoutingAnswer>;

export interface RoutingOptions {
  config: VigilConfig;
  deploymentFor(modelId: string): DeploymentTarget;
  token: string;
  log: (message: string) => void;
}

/** The routing answer for a model's traffic state. */
export function routingAnswer(state: TrafficState): RoutingAnswer {
  const stable = state.routes.find((r) => r.role === 'stable');
  const candidate = state.routes.find((r) => r.role !== 'stable');
  const served = (r: { version?: number; artifactUri?: string }) => ({
    version: r.version ?? 0,
    ...(r.artifactUri !== undefined ? { artifactUri: r.artifactUri } : {}),
  });
  return {
    model: state.modelId,
    mode: state.mode,
    champion: stable?.version !== undefined ? { ...served(stable), percent: stable.percent } : null,
    canary:
      candidate?.version !== undefined ? { ...served(candidate), percent: candidate.percent, split: candidate.role === 'shadow' ? 'shadow' : 'split' } : null,
  };
}

/** A strong ETag over the answer's bytes. */
export function routingEtag(body: string): string {
  return `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Whether an If-None-Match header matches the current ETag (a list, weak forms and `*` included). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

export function registerRoutingRoutes(app: FastifyInstance, opts: RoutingOptions): void {
  const authenticate = bearerAuth({ token: opts.token, what: 'routing API', log: opts.log });
  app.get<{ Params: { model: string } }>(ROUTING_PATH, { onRequest: authenticate }, async (req, reply) => {
    const model = findModel(opts.config, req.params.model);
    if (!model) return reply.code(404).send({ error: `unknown model "${req.params.model}": not in Vigil's config` });
    const target = opts.deploymentFor(model.id);
    if (target.kind !== 'builtin') {
      return reply.code(409).send({ error: `model "${model.id}" is served by ${target.kind === 'kserve' ? 'KServe' : target.kind}, which routes it itself` });
    }
    const body = JSON.stringify(routingAnswer(await target.currentTraffic(model.id)));
    const etag = routingEtag(body);
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
