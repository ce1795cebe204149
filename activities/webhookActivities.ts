/**
 * A runbook's webhook step: one HTTP call per attempt with `Idempotency-Key: <incident>/<step>` (the
 * receiver acts once per key however often Vigil retries or restarts), secret headers read from the
 * worker's environment by name, a per-attempt timeout, and a bounded answer kept for the review.
 * 408, 429, 5xx and network errors are retried by Temporal; any other non-2xx answer ends the step.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WEBHOOK_BODY_LIMIT, type RunbookActivities, type WebhookCall, type WebhookResult } from '../contracts/activities.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function createWebhookActivities(opts: { env?: NodeJS.ProcessEnv; fetch?: typeof fetch } = {}): RunbookActivities {
  const env = opts.env ?? process.env;
  const doFetch = opts.fetch ?? fetch;
  return {
    async callWebhook(args: WebhookCall): Promise<WebhookResult> {
      const refuse = (message: string) => ApplicationFailure.nonRetryable(`webhook step ${args.step}: ${message}`, 'WebhookRefused');
      let url: URL;
      try {
        url = new URL(args.url);
      } catch {
        throw refuse(`url "${args.url}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`url must be http or https, got ${url.protocol}`);
      const idempotencyKey = `${args.incidentId}/${args.step}`;
      const headers: Record<string, string> = { ...(args.headers ?? {}) };
      for (const [header, name] of Object.entries(args.secretHeaders ?? {})) {
        if (!HEADER_NAME.test(header)) throw refuse(`secretHeaders: "${header}" is not a header name`);
        if (!ENV_NAME.test(name)) throw refuse(`secretHeaders.${header}: "${name}" is not an environment variable name`);
        const value = env[name];
        if (!value) throw refuse(`secretHeaders.${header}: environment variable ${name} is not set on the worker`);
        headers[header] = value;
      }
      headers['idempotency-key'] = idempotencyKey;
      if (args.body !== undefined) headers['content-type'] ??= 'application/json';
      const started = Date.now();
      let res: Response;
      try {
        res = await doFetch(url, {
          method: args.method,
          headers,
          ...(args.body !== undefined && args.method !== 'GET' ? { body: JSON.stringify(args.body) } : {}),
          signal: AbortSignal.timeout(args.timeoutMs),
          redirect: 'manual',
        });
      } catch (err) {
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${args.timeoutMs} ms` : (err as Error).message;
        throw ApplicationFailure.retryable(`webhook step ${args.step}: ${args.method} ${url.host}${url.pathname}: ${why}`, 'WebhookUnreachable');
      }
      const text = await res.text().catch(() => '');
      const body = text.slice(0, WEBHOOK_BODY_LIMIT);
      const result = { status: res.status, body, truncated: text.length > WEBHOOK_BODY_LIMIT, idempotencyKey, durationMs: Date.now() - started };
      if (res.status >= 200 && res.status < 300) return result;
      const what = `${args.method} ${url.host}${url.pathname} answered ${res.status}${body ? `: ${body.slice(0, 300)}` : ''}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500)
        throw ApplicationFailure.retryable(`webhook step ${args.step}: ${what}`, 'WebhookRetry');
      throw ApplicationFailure.create({ message: `webhook step ${args.step}: ${what}`, type: 'WebhookRefused', nonRetryable: true, details: [result] });
    },
  };
}
