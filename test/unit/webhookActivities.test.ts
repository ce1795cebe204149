/**
 * The runbook webhook step's activity against a real local HTTP server: the idempotency key, secret
 * headers from the environment (never anywhere else), what is retried and what ends the step, the
 * per-attempt timeout, the bounded answer.
 */
import { ApplicationFailure } from '@temporalio/activity';
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WEBHOOK_BODY_LIMIT } from '../../contracts/activities.js';
import { createWebhookActivities } from '../../activities/webhookActivities.js';
import { freePort } from '../../adapters/net/freePort.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('callWebhook', () => {
  const seen: Seen[] = [];
  let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '{"ok":true}' };
  let server: http.Server;
  let base: string;
  const { callWebhook } = createWebhookActivities({ env: { PIPELINE_TOKEN: 'Bearer s3cret' } });
  const call = (over: Partial<Parameters<typeof callWebhook>[0]> = {}) =>
    callWebhook({ incidentId: 'incident-m-upstream-1', step: 'pause', url: `${base}/pause?x=1`, method: 'POST', timeoutMs: 2000, ...over });
  const failure = async (p: Promise<unknown>): Promise<ApplicationFailure> => {
    const err = await p.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, String(err));
    return err;
  };

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        setTimeout(() => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body), answer.delayMs ?? 0);
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the JSON body with Idempotency-Key <incident>/<step> and the secret header from the environment', async () => {
    const r = await call({ body: { a: 1 }, headers: { 'x-team': 'payments' }, secretHeaders: { authorization: 'PIPELINE_TOKEN' } });
    assert.deepEqual([r.status, r.body, r.truncated, r.idempotencyKey], [200, '{"ok":true}', false, 'incident-m-upstream-1/pause']);
    const s = seen.at(-1)!;
    assert.deepEqual([s.method, s.url, s.body], ['POST', '/pause?x=1', '{"a":1}']);
    assert.equal(s.headers['idempotency-key'], 'incident-m-upstream-1/pause');
    assert.equal(s.headers.authorization, 'Bearer s3cret');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['x-team'], 'payments');
    assert.ok(!JSON.stringify(r).includes('s3cret'), 'the secret is not in the result (the history)');
  });

  it('retries 408, 429 and 5xx; ends the step on another 4xx with the status and answer', async () => {
    for (const status of [408, 429, 500, 503]) {
      answer = { status, body: 'busy' };
      const f = await failure(call());
      assert.equal(f.nonRetryable, false, `${status} is retried`);
      assert.match(f.message, new RegExp(`answered ${status}: busy`));
    }
    answer = { status: 422, body: '{"error":"pipeline payments is not running"}' };
    const refused = await failure(call());
    assert.equal(refused.nonRetryable, true);
    assert.equal(refused.type, 'WebhookRefused');
    assert.match(refused.message, /webhook step pause: POST 127\.0\.0\.1:\d+\/pause answered 422: \{"error":"pipeline payments is not running"\}/);
    assert.ok(!refused.message.includes('x=1'), 'no query string (it may hold a token) in the message');
    answer = { status: 200, body: '{"ok":true}' };
  });

  it('a missing secret, a bad URL or a header name is refused before any request', async () => {
    const before = seen.length;
    assert.match((await failure(call({ secretHeaders: { authorization: 'NOT_SET' } }))).message, /environment variable NOT_SET is not set on the worker/);
    assert.match((await failure(call({ secretHeaders: { authorization: 'not a name' } }))).message, /is not an environment variable name/);
    assert.match((await failure(call({ url: 'ftp://x/y' }))).message, /url must be http or https/);
    assert.match((await failure(call({ url: 'nope' }))).message, /is not a URL/);
    assert.equal(seen.length, before);
  });

  it('an answer slower than the timeout is retried; a long answer is cut to the limit', async () => {
    answer = { status: 200, body: '{}', delayMs: 500 };
    const slow = await failure(call({ timeoutMs: 100 }));
    assert.equal(slow.nonRetryable, false);
    assert.match(slow.message, /no answer within 100 ms/);
    answer = { status: 200, body: 'x'.repeat(WEBHOOK_BODY_LIMIT + 10) };
    const long = await call();
    assert.deepEqual([long.body.length, long.truncated], [WEBHOOK_BODY_LIMIT, true]);
    answer = { status: 200, body: '{"ok":true}' };
  });
});
