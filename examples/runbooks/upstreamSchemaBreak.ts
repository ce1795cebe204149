/**
 * A team's runbook for an upstream schema break (the feature pipeline started sending columns the model
 * does not know, or stopped sending ones it needs): stop the bad data at its source, get the owners on
 * it, wait for their fix, then resume and check the model.
 *
 *   pause the feature pipeline (webhook) → serve the fallback → page the pipeline's owners →
 *   wait for `upstream_fixed` (at most `waitAtMost`; on timeout escalate and stay paused) →
 *   resume the pipeline (webhook) → lift the fallback → validate the model
 *
 * Configure it for a model's data-quality incidents (what a schema break is classified as):
 *
 *   "runbooks": { "path": "./runbooks" },
 *   "models": [{ "id": "fraud", …, "runbooks": { "data_quality": { "use": "upstream-schema-break",
 *     "params": { "pipelineUrl": "https://features.internal/pipelines/payments", "owner": "payments-data" } } } }]
 *
 * The pipeline service is told who asks with a bearer token read on the worker from the environment
 * variable `tokenEnv` names; it receives `Idempotency-Key: <incident>/<step>` on every call.
 */
import { defineRunbook, z } from '@vigil/runbook';

export const upstreamSchemaBreak = defineRunbook({
  name: 'upstream-schema-break',
  description: 'pause the feature pipeline, page its owners, wait for upstream_fixed, resume, validate',
  params: z.strictObject({
    /** The pipeline's control API: POST <pipelineUrl>/pause and /resume. */
    pipelineUrl: z.url(),
    /** The team that owns the pipeline, named in the page. */
    owner: z.string().min(1),
    /** The environment variable with the pipeline API's token (on the worker); none: no Authorization header. */
    tokenEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    waitAtMost: z.string().default('4h'),
    /** Serve the model's fallback while the inputs are broken. */
    fallbackMeanwhile: z.boolean().default(true),
    /** How long one call to the pipeline API may take (each is retried on 5xx, 429, timeouts). */
    callTimeout: z.string().default('10s'),
  }),
  async run(incident, params) {
    const auth = params.tokenEnv ? { secretHeaders: { authorization: params.tokenEnv } } : {};
    const body = { incident: incident.id, model: incident.model.id, reason: incident.classification.reasons.join('; ') };

    await incident.callWebhook('pause-pipeline', { url: `${params.pipelineUrl}/pause`, body, timeout: params.callTimeout, ...auth });
    if (params.fallbackMeanwhile) await incident.degrade('the upstream schema is broken');
    await incident.page(`schema break upstream of ${incident.model.id}: ${params.owner}, the pipeline is paused until you send upstream_fixed`);

    const fixed = await incident.waitForSignal('upstream_fixed', { timeout: params.waitAtMost, button: 'Upstream fixed' });
    if (!fixed) {
      // Nobody fixed it in time: the pipeline stays paused and the model on its fallback; people take over.
      await incident.escalate(`${params.owner} did not fix the upstream schema within ${params.waitAtMost}; the pipeline stays paused`);
      incident.finish('escalated_upstream');
      return;
    }

    await incident.callWebhook('resume-pipeline', {
      url: `${params.pipelineUrl}/resume`,
      body: { ...body, fixedBy: fixed.by, ...fixed.data },
      timeout: params.callTimeout,
      ...auth,
    });
    await incident.liftDegradation();
    await incident.validate();
  },
});
