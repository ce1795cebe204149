/**
 * A team's runbook (examples/runbooks/upstreamSchemaBreak.ts), loaded from its folder the way
 * `runbooks.path` loads it and bundled into the worker, runs data-quality incidents on real Temporal and
 * PostgreSQL: it pauses the feature pipeline (a local service standing in for it, recording each call),
 * serves the fallback, pages, waits for `upstream_fixed` — sent in time by `vigil incident signal`'s
 * service call, or never (the wait times out: escalated, the pipeline stays paused) — resumes the
 * pipeline, lifts the fallback and validates. Every step is in the timeline, the audit log and the review.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../adapters/net/freePort.js';
import { checkRunbooks } from '../../adapters/runbooks/runbookCheck.js';
import { loadConfiguredRunbooks, loadRunbookFolder } from '../../adapters/runbooks/runbookFolder.js';
import { dryRunRunbook, formatPlan } from '../../workers/runbookDryRun.js';
import { startEphemeralTemporal } from '../../stack/ephemeralServices.js';
import { customRunbooksFor, parseConfig, runbooksFor } from '../../domain/config.js';
import type { IncidentState } from '../../domain/incident.js';
import type { Runbook } from '../../workflows/runbook/defineRunbook.js';
import { standardRunbook } from '../../workflows/runbook/standardRunbook.js';
import { auditKinds } from '../support/auditKinds.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { spawnWorkerProcess } from '../support/spawnWorkerProcess.js';
import { untilIncident } from '../support/driftIncident.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const RUNBOOKS_DIR = fileURLToPath(new URL('../../examples/runbooks/', import.meta.url));
const IMPATIENT_MODEL = 'credit-risk-impatient';
const TOKEN_ENV = 'VIGIL_TEST_PIPELINE_TOKEN';

interface PipelineCall {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** Healthy traffic served while `until` runs (the validation window counts what the model answers after it starts). */
async function whileServing<T>(env: VigilTestEnv, until: () => Promise<T>): Promise<T> {
  let stop = false;
  const feeding = (async () => {
    while (!stop) {
      await env.simulator.writeBatch({ n: 100, drift: 0 });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    return await until();
  } finally {
    stop = true;
    await feeding;
  }
}

/** The feature pipeline's control API: records every call, answers 200 with what it did. */
async function startPipeline() {
  const calls: PipelineCall[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        authorization: req.headers.authorization,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ state: req.url?.endsWith('/pause') ? 'paused' : 'running' }));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { calls, url: `http://127.0.0.1:${port}/pipelines/payments`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a team runbook from its folder: upstream schema break', () => {
  let env: VigilTestEnv;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;

  before(async () => {
    process.env[TOKEN_ENV] = 'pipeline-secret-token-123';
    pipeline = await startPipeline();
    const policy = { approval: { timeout: '5m', escalationTimeout: '0s' }, validation: { window: '2s', maxExtraWindows: 15, minSamples: 100 } };
    const choice = (waitAtMost: string) => ({
      ...policy,
      use: 'upstream-schema-break',
      params: { pipelineUrl: pipeline.url, owner: 'payments-data', tokenEnv: TOKEN_ENV, waitAtMost },
    });
    const config = (q: string) => {
      const base = testConfig({}, q);
      const model = base.models[0]!;
      return parseConfig({
        ...base,
        runbooks: { path: RUNBOOKS_DIR },
        models: [
          { ...model, runbooks: { ...model.runbooks, data_quality: choice('5m') } },
          { ...model, id: IMPATIENT_MODEL, runbooks: { ...model.runbooks, data_quality: choice('2s') } },
        ],
      });
    };
    const loaded = await loadConfiguredRunbooks(config('check'));
    assert.deepEqual(
      loaded?.runbooks.map((r) => r.runbook.name),
      ['upstream-schema-break'],
    );
    env = await createVigilTestEnv({ config, runbookFiles: loaded!.files });
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
    await pipeline?.stop();
    delete process.env[TOKEN_ENV];
  });

  const servingMode = (model: string) => env.services.deploymentFor(model).servingMode(model);

  it('pauses, falls back, pages, waits for upstream_fixed, resumes, lifts the fallback, validates', async () => {
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'schema_break', source: 'test', evidence: { missing_columns: 'income' } });
    const waiting = await untilIncident(
      env,
      id,
      (s) => s.state.runbook?.waitingFor !== undefined || s.status === 'closed',
      'the runbook to wait for its signal',
    );
    assert.equal(waiting.failureMode, 'data_quality');
    assert.equal(waiting.phase, 'remediating', 'the runbook is acting');
    assert.equal(waiting.state.runbook?.name, 'upstream-schema-break');
    assert.equal(waiting.state.runbook?.waitingFor?.name, 'upstream_fixed');
    assert.equal(waiting.state.runbook?.waitingFor?.button, 'Upstream fixed');
    assert.deepEqual(
      pipeline.calls.map((c) => [c.method, c.path, c.idempotencyKey, c.authorization]),
      [['POST', '/pipelines/payments/pause', `${id}/pause-pipeline`, 'pipeline-secret-token-123']],
      'paused once, with the step’s idempotency key and the secret from the worker’s environment',
    );
    assert.equal(pipeline.calls[0]!.body.incident, id);
    assert.equal(await servingMode(TEST_MODEL), 'fallback', 'the fallback serves while the inputs are broken');
    assert.ok(
      !JSON.stringify(await env.services.temporal.workflow.getHandle(id).fetchHistory()).includes('pipeline-secret-token-123'),
      'no secret in the history',
    );

    // The owners fix it and say so; traffic comes back for validation.
    await env.services.incidents.signal(id, { name: 'upstream_fixed', by: 'dana', data: { change: 'PR-4411' } });
    await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating');
    const closed = await whileServing(env, () => untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000));
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
    assert.deepEqual(
      pipeline.calls.map((c) => [c.path, c.idempotencyKey]),
      [
        ['/pipelines/payments/pause', `${id}/pause-pipeline`],
        ['/pipelines/payments/resume', `${id}/resume-pipeline`],
      ],
    );
    assert.deepEqual([pipeline.calls[1]!.body.fixedBy, pipeline.calls[1]!.body.change], ['dana', 'PR-4411']);
    assert.equal(await servingMode(TEST_MODEL), 'model', 'the fallback is lifted');
    assert.deepEqual(
      closed.state.runbook?.steps.map((s) => [s.kind, s.step]),
      [
        ['webhook', 'pause-pipeline'],
        ['page', 'escalate'],
        ['signal', 'upstream_fixed'],
        ['webhook', 'resume-pipeline'],
        ['validate', 'validate'],
      ],
    );
    const kinds = await auditKinds(env, id);
    for (const k of [
      'phase:remediating',
      'step:pause-pipeline',
      'degraded',
      'escalated',
      'runbook_signal',
      'step:upstream_fixed',
      'step:resume-pipeline',
      'degradation_lifted',
    ]) {
      assert.ok(kinds.includes(k), `audit has ${k}: ${kinds.join(',')}`);
    }
    const review = await env.services.incidents.review(id);
    assert.match(review, /## Runbook: upstream-schema-break/);
    assert.match(review, /webhook: pause-pipeline \| POST 127\.0\.0\.1:\d+\/pipelines\/payments\/pause → 200/);
    assert.match(review, /signal: upstream_fixed \| received from dana<br>\{"change":"PR-4411"\}/);
    await saveHistoryIfRecording(env, id, 'team-runbook-upstream-fixed');
  });

  it('escalates when upstream_fixed does not come in time; the pipeline stays paused', async () => {
    const before = pipeline.calls.length;
    const { id } = await env.services.incidents.open({
      modelId: IMPATIENT_MODEL,
      signal: 'schema_break',
      source: 'test',
      evidence: { missing_columns: 'income' },
    });
    const closed = await untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000);
    assert.equal(closed.outcome, 'escalated_upstream');
    assert.deepEqual(
      pipeline.calls.slice(before).map((c) => c.path),
      ['/pipelines/payments/pause'],
      'paused, never resumed',
    );
    assert.equal(await servingMode(IMPATIENT_MODEL), 'fallback', 'still on the fallback');
    const steps = closed.state.runbook!.steps;
    assert.equal(steps.find((s) => s.step === 'upstream_fixed')?.detail, 'not received within 2s');
    assert.match(steps.at(-1)!.detail, /payments-data did not fix the upstream schema within 2s/);
    const kinds = await auditKinds(env, id);
    assert.equal(kinds.filter((k) => k === 'escalated').length, 2, 'paged, then escalated on the timeout');
    await saveHistoryIfRecording(env, id, 'team-runbook-timeout');
  });

  it('refuses a signal for an unknown or closed incident', async () => {
    await assert.rejects(env.services.incidents.signal('incident-nope', { name: 'upstream_fixed', by: 'dana' }), /unknown incident/);
    const [closed] = await env.services.incidents.list({ modelId: IMPATIENT_MODEL });
    await assert.rejects(env.services.incidents.signal(closed!.id, { name: 'upstream_fixed', by: 'dana' }), /is closed/);
    await assert.rejects(env.services.incidents.signal(closed!.id, { name: 'bad name!', by: 'dana' }), /must be letters/);
  });
  it('runbook check: the runbooks as they are replay every incident; a step inserted without patched() is named', async () => {
    const ok = await checkRunbooks({
      runbookFiles: [path.join(RUNBOOKS_DIR, 'upstreamSchemaBreak.ts')],
      temporal: { client: env.services.temporal, taskQueue: env.taskQueue },
    });
    assert.deepEqual(ok.failures, []);
    assert.ok(ok.replayed.filter((r) => r.runbook === 'upstream-schema-break').length >= 2, JSON.stringify(ok.replayed));

    // A branch adds a note before pausing the pipeline, unversioned: the incidents that ran the old code would break.
    const branch = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-runbooks-branch-'));
    const source = fs.readFileSync(path.join(RUNBOOKS_DIR, 'upstreamSchemaBreak.ts'), 'utf8');
    const changed = source.replace(
      "    await incident.callWebhook('pause-pipeline'",
      "    await incident.note('checking the pipeline first');\n    await incident.callWebhook('pause-pipeline'",
    );
    assert.notEqual(changed, source);
    fs.writeFileSync(path.join(branch, 'upstreamSchemaBreak.ts'), changed);
    const folder = await loadRunbookFolder(branch);
    const broken = await checkRunbooks({ runbookFiles: folder.files, temporal: { client: env.services.temporal, taskQueue: env.taskQueue } });
    const failed = broken.failures.map((f) => [f.runbook, f.workflowId]);
    assert.ok(failed.length >= 2, JSON.stringify(broken.replayed));
    for (const f of broken.failures) {
      assert.equal(f.runbook, 'upstream-schema-break');
      assert.match(f.error!.step ?? '', /^event \d+: Runbook step pause-pipeline: POST 127\.0\.0\.1:\d+\/pipelines\/payments\/pause$/, f.error!.message);
    }
    assert.ok(
      broken.replayed.some((r) => r.runbook === 'standard' && !r.error) || broken.replayed.every((r) => r.runbook !== 'standard'),
      'standard incidents unaffected',
    );
  });

  it('runbook dry-run: the plan of a past incident, run as a workflow with time skipped, nothing called', async () => {
    const [past] = await env.services.incidents.list({ modelId: TEST_MODEL });
    const { state } = await env.services.incidents.show(past!.id);
    const before = pipeline.calls.length;
    const folder = await loadRunbookFolder(RUNBOOKS_DIR);
    const model = env.config.models[0]!;
    const choice = customRunbooksFor(model).data_quality!;
    const servers: string[] = [];
    const run = (signals: string[], params: Record<string, unknown> = choice.params) =>
      dryRunRunbook({
        runbook: folder.runbooks[0]!.runbook,
        runbookFiles: folder.files,
        state: state as IncidentState,
        runbooks: runbooksFor(model),
        params,
        signals,
        startServer: async () => {
          const server = await startEphemeralTemporal({ log: () => undefined });
          servers.push(server.address);
          return server;
        },
      });
    const fixed = await run(['upstream_fixed']);
    assert.equal(fixed.error, undefined, formatPlan(fixed));
    assert.deepEqual(
      fixed.plan.map((p) => p.step),
      ['pause-pipeline', 'degrade', 'escalate', 'upstream_fixed', 'resume-pipeline', 'lift-degradation', 'wait', 'validate', 'review'],
      formatPlan(fixed),
    );
    assert.deepEqual(fixed.plan[3]!.wait, { timeout: '5m', assumed: 'received (--signal)' });
    // The validation window passed in skipped time, not in real time.
    assert.deepEqual(fixed.plan[6]!.wait, { timeout: runbooksFor(model).data_quality.validation.window.replace(/ /g, ''), assumed: 'elapsed' });
    assert.equal(fixed.plan[7]!.at, `+${runbooksFor(model).data_quality.validation.window.replace(/ /g, '')}`);
    assert.deepEqual((fixed.plan[0]!.args as { secretHeaders: unknown }).secretHeaders, { authorization: `$${TOKEN_ENV}` }, 'secrets by name only');
    assert.equal(fixed.outcome, 'resolved');
    const text = formatPlan(fixed);
    assert.match(
      text,
      /1\. \+0s +pause-pipeline: POST http:\/\/127\.0\.0\.1:\d+\/pipelines\/payments\/pause with Idempotency-Key .*\/pause-pipeline \(not called: dry run\)/,
    );
    assert.ok(!text.includes('pipeline-secret-token-123'));

    const silent = await run([]);
    assert.deepEqual(
      silent.plan.map((p) => p.step),
      ['pause-pipeline', 'degrade', 'escalate', 'upstream_fixed', 'escalate', 'review'],
      formatPlan(silent),
    );
    assert.deepEqual(silent.plan[3]!.wait, { timeout: '5m', assumed: 'timed out' });
    assert.equal(silent.plan[4]!.at, '+5m', 'the escalation comes when the wait times out, in skipped time');
    assert.equal(silent.outcome, 'escalated_upstream');

    // A runbook that fails in the dry run says where and why (the step library names the bad duration).
    const failing = await run(['upstream_fixed'], { ...choice.params, waitAtMost: 'soon' });
    assert.match(failing.error ?? '', /waitForSignal upstream_fixed: timeout "soon" is not a duration/, formatPlan(failing));
    assert.deepEqual(
      failing.plan.map((p) => p.step),
      ['pause-pipeline', 'degrade', 'escalate', 'runbook-failed', 'escalate', 'review'],
      'a live incident would escalate the failed runbook and still write the review',
    );
    assert.match(JSON.stringify(failing.plan[4]!.args), /still serving its fallback/, 'the escalation says the model was left on its fallback');
    assert.equal(pipeline.calls.length, before, 'nothing was called');
    assert.equal(new Set(servers).size, servers.length, 'each dry run had its own throw-away server');

    // Vigil's standard runbook dry-runs the same way: the approval answered by the model's approvers,
    // a retrain's child workflow run with its waits skipped, its gates and canary assumed healthy.
    const retrainState = {
      ...(state as IncidentState),
      classification: { ...(state as IncidentState).classification!, failureMode: 'concept_drift' as const },
      recommendation: { action: 'retrain' as const, reasons: ['(test)'], considered: [] },
    };
    const standard = (decision: 'approve' | 'reject') =>
      dryRunRunbook({
        runbook: standardRunbook as unknown as Runbook,
        runbookFiles: [],
        state: retrainState,
        runbooks: runbooksFor(model),
        params: {},
        decision,
        startServer: async () => {
          const server = await startEphemeralTemporal({ log: () => undefined });
          servers.push(server.address);
          return server;
        },
      });
    const approved = await standard('approve');
    assert.equal(approved.error, undefined, formatPlan(approved));
    const steps = approved.plan.map((p) => p.step);
    assert.deepEqual(steps.slice(0, 3), ['gather-evidence', 'request-approval', 'approval'], formatPlan(approved));
    for (const step of ['snapshot-training-data', 'train', 'evaluate', 'register', 'promote', 'validate', 'review'])
      assert.ok(steps.includes(step), `${step} in ${formatPlan(approved)}`);
    assert.equal(approved.outcome, 'resolved');
    const rejected = await standard('reject');
    assert.deepEqual(
      rejected.plan.map((p) => p.step),
      ['gather-evidence', 'request-approval', 'approval', 'review'],
      formatPlan(rejected),
    );
    assert.equal(rejected.outcome, 'rejected');
    assert.equal(pipeline.calls.length, before, 'nothing was called');

    const refused = await run([], {});
    assert.match(refused.error ?? '', /params refused by the runbook's schema: pipelineUrl: /);
    assert.equal(servers.length, 5, 'refused params start nothing');
  });
});

describe('a team runbook choice that cannot run is refused at start, naming the field', () => {
  const base = testConfig({}, 'q');
  const model = base.models[0]!;
  const withChoice = (entry: Record<string, unknown>, runbooksPath: string | null = RUNBOOKS_DIR) =>
    parseConfig({ ...base, ...(runbooksPath ? { runbooks: { path: runbooksPath } } : {}), models: [{ ...model, runbooks: { data_quality: entry } }] });

  it('an unknown runbook name', async () => {
    await assert.rejects(
      loadConfiguredRunbooks(withChoice({ use: 'no-such-runbook' })),
      /models\.0\.runbooks\.data_quality\.use: unknown runbook "no-such-runbook" \(.* has "upstream-schema-break"\)/,
    );
  });
  it('params the runbook’s schema refuses', async () => {
    await assert.rejects(
      loadConfiguredRunbooks(withChoice({ use: 'upstream-schema-break', params: { pipelineUrl: 'not a url' } })),
      (err: Error) =>
        /models\.0\.runbooks\.data_quality\.params\.pipelineUrl: /.test(err.message) && /models\.0\.runbooks\.data_quality\.params\.owner: /.test(err.message),
    );
  });
  it('a choice without a runbooks folder', async () => {
    await assert.rejects(loadConfiguredRunbooks(withChoice({ use: 'upstream-schema-break' }, null)), /needs a runbooks folder: set runbooks\.path/);
  });
  it('a folder that does not exist, a file that does not compile, a file without a runbook', async () => {
    await assert.rejects(loadConfiguredRunbooks(withChoice({}, path.join(RUNBOOKS_DIR, 'nope'))), /runbooks\.path .*nope: no such folder/);
    const dir = (files: Record<string, string>) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-runbooks-'));
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
      return d;
    };
    const broken = dir({ 'syntaxError.ts': "import { defineRunbook } from '@vigil/runbook';\nexport default defineRunbook({ name: 'x', run( });\n" });
    await assert.rejects(loadConfiguredRunbooks(withChoice({}, broken)), /runbook file .*syntaxError\.ts does not compile:\n {2}.*syntaxError\.ts:2:\d+: /);
    const empty = dir({ 'helpers.ts': 'export const answer = 42;\n' });
    await assert.rejects(loadConfiguredRunbooks(withChoice({}, empty)), /helpers\.ts exports no runbook: export one made with defineRunbook\(\)/);
    const twice = dir({
      'a.ts': "import { defineRunbook, z } from '@vigil/runbook';\nexport default defineRunbook({ name: 'same', params: z.object({}), async run() {} });\n",
      'b.ts': "import { defineRunbook, z } from '@vigil/runbook';\nexport default defineRunbook({ name: 'same', params: z.object({}), async run() {} });\n",
    });
    await assert.rejects(loadConfiguredRunbooks(withChoice({}, twice)), /runbook "same" in .*b\.ts is already defined in .*a\.ts/);
  });
  it('use and params of the wrong shape, in the config itself', () => {
    assert.throws(() => withChoice({ use: 'Bad Name', params: [] }), /models\.0\.runbooks\.data_quality\.use: must be a runbook name/);
    assert.throws(() => withChoice({ params: { a: 1 } }), /models\.0\.runbooks\.data_quality\.params: params need `use`/);
  });
});

describe('a team runbook’s webhook steps under worker crashes', () => {
  let env: VigilTestEnv;
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  let files: readonly string[];

  before(async () => {
    pipeline = await startPipeline();
    const loaded = await loadConfiguredRunbooks(parseConfig({ ...testConfig({}, 'q'), runbooks: { path: RUNBOOKS_DIR } }));
    files = loaded!.files;
    env = await createVigilTestEnv({
      runbookFiles: files,
      config: (q) => {
        const base = testConfig({}, q);
        const model = base.models[0]!;
        const data_quality = {
          validation: { window: '2s', maxExtraWindows: 15, minSamples: 100 },
          use: 'upstream-schema-break',
          params: { pipelineUrl: pipeline.url, owner: 'payments-data', waitAtMost: '5m', callTimeout: '2s' },
        };
        return parseConfig({ ...base, runbooks: { path: RUNBOOKS_DIR }, models: [{ ...model, runbooks: { ...model.runbooks, data_quality } }] });
      },
    });
  });
  after(async () => {
    await env?.close();
    await pipeline?.stop();
  });

  /** A worker process that SIGKILLs itself right after its first attempt of a webhook call has been answered. */
  async function crashingWorker() {
    const w = spawnWorkerProcess(env, { VIGIL_TEST_CRASH_AFTER: 'callWebhook', VIGIL_TEST_RUNBOOK_FILES: JSON.stringify(files) });
    await w.ready;
    return w;
  }

  it('the worker SIGKILLed after each call: the retry carries the same key, one key per step, each step recorded once', async () => {
    const first = await crashingWorker();
    const { id } = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'schema_break', source: 'test', evidence: { missing_columns: 'income' } });
    assert.match(await first.exited, /^SIGKILL: .*crashing after callWebhook/s, 'killed right after pausing');

    // The next worker retries the pause (the pipeline sees the same key again) and goes on to wait.
    const second = await crashingWorker();
    await untilIncident(env, id, (s) => s.state.runbook?.waitingFor !== undefined, 'the wait for upstream_fixed', 60_000);
    await env.services.incidents.signal(id, { name: 'upstream_fixed', by: 'dana' });
    assert.match(await second.exited, /^SIGKILL: .*crashing after callWebhook/s, 'killed right after resuming');

    await env.startWorker();
    await untilIncident(env, id, (s) => s.phase === 'validating' || s.status === 'closed', 'validating', 60_000);
    const closed = await whileServing(env, () => untilIncident(env, id, (s) => s.status === 'closed', 'closed', 60_000));
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));

    const keys = pipeline.calls.map((c) => `${c.path} ${c.idempotencyKey}`);
    assert.deepEqual(
      [...new Set(keys)],
      [`/pipelines/payments/pause ${id}/pause-pipeline`, `/pipelines/payments/resume ${id}/resume-pipeline`],
      'one key per step',
    );
    assert.ok(keys.length >= 3, `a call was retried with its key after a crash: ${keys.join(', ')}`);
    assert.deepEqual(
      closed.state.runbook?.steps.filter((s) => s.kind === 'webhook').map((s) => s.step),
      ['pause-pipeline', 'resume-pipeline'],
      'each step recorded once',
    );
  });
});
