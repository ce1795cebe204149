/**
 * PagerDuty paging (`models[].escalation[]: { "pagerduty": { "routingKeyEnv": "…" } }`), against a local
 * recorder of the Events API v2 wire format: the exact events sent on escalation and on close, the dedup
 * key that makes one incident one PagerDuty alert, PagerDuty's answers (202, 400, 429, 5xx, no answer),
 * and the routing key kept out of the config, the workflow input, log lines and error messages.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  createPagerDutyNotifier,
  hasPagerDutyTargets,
  PAGERDUTY_SUMMARY_MAX,
  PagerDutyConfigError,
  PagerDutyError,
  pagerDutyRoutesFromEnv,
  pagerDutySeverity,
} from '../../adapters/pagerduty/pagerDutyNotifier.js';
import { modelRef, PAGERDUTY_EVENTS_URL, parseConfig, type VigilConfig } from '../../domain/config.js';
import type { IncidentState } from '../../domain/incident.js';
import type { Notifier } from '../../ports/notifier.js';
import { configError } from '../support/configError.js';
import { startPagerDutyRecorder, type PagerDutyRecorder } from '../support/pagerDutyRecorder.js';

/** Shaped like a real integration key (32 characters) and unique enough to search every message for. */
const ROUTING_KEY = 'R0utingKeyS3cretCreditRisk0000aa';
const OTHER_KEY = 'R0utingKeyS3cretPlatformTeam00bb';
const ENV = { VIGIL_PD_ROUTING_KEY_CREDIT: ROUTING_KEY, VIGIL_PD_ROUTING_KEY_PLATFORM: OTHER_KEY };
const NOW = '2026-03-01T10:20:00.000Z';
const INCIDENT = 'incident-credit-risk-data-drift-20260301100000';
const DEDUP_KEY = `vigil-${INCIDENT}`;
const REASON = 'no decision after 20m: escalated to S0PLATFORM';

const MODEL = { id: 'credit-risk', displayName: 'Credit risk scorer', tier: 'high', approvers: ['alice'] } as const;

function configWith(url: string, extraTargets: unknown[] = []): VigilConfig {
  return parseConfig({
    models: [
      { ...MODEL, escalation: ['S0PLATFORM', { pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_CREDIT', url } }, ...extraTargets] },
      { ...MODEL, id: 'demand', displayName: 'Demand forecast', escalation: ['ml-leads'] },
    ],
  });
}

function state(over: Partial<IncidentState> = {}): IncidentState {
  return {
    contractVersion: 1,
    id: INCIDENT,
    model: { id: 'credit-risk', displayName: 'Credit risk scorer', tier: 'high', approvers: ['alice'], escalation: ['S0PLATFORM'] },
    signal: 'data_drift',
    phase: 'awaiting_approval',
    status: 'open',
    openedAt: '2026-03-01T10:00:00.000Z',
    classification: { failureMode: 'data_drift', severity: 'SEV2', reasons: ['inputs drifted'] },
    recommendation: { action: 'retrain', reasons: ['enough labelled rows (1200)'], considered: [] },
    evidence: [],
    timeline: [{ at: '2026-03-01T10:00:00.000Z', event: 'phase:detected' }],
    runbookVersion: 'data_drift/v1',
    ...over,
  };
}

/** The trigger Vigil sends for `state()` escalated with REASON. */
function expectedTrigger(routingKey = ROUTING_KEY): Record<string, unknown> {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: DEDUP_KEY,
    payload: {
      summary: `SEV2 data_drift on credit-risk: ${REASON}`,
      source: 'vigil',
      severity: 'error',
      timestamp: NOW,
      component: 'credit-risk',
      group: 'data_drift',
      class: 'data_drift',
      custom_details: {
        incident: INCIDENT,
        model: 'credit-risk',
        phase: 'awaiting_approval',
        severity: 'SEV2',
        failureMode: 'data_drift',
        reason: REASON,
        recommendation: 'retrain: enough labelled rows (1200)',
      },
    },
    client: 'Vigil',
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('PagerDuty notifier: the Events API v2 wire format', () => {
  let pd: PagerDutyRecorder;
  let lines: string[];
  let notifier: Notifier;

  before(async () => {
    pd = await startPagerDutyRecorder();
  });
  after(async () => {
    await pd.stop();
  });
  beforeEach(() => {
    pd.clear();
    lines = [];
    notifier = createPagerDutyNotifier({ config: configWith(pd.url), env: ENV, log: (l) => lines.push(l), now: () => new Date(NOW) });
  });

  it('an escalation POSTs one trigger, as JSON, with the incident dedup key and its severity, and PagerDuty accepts it', async () => {
    await notifier.escalated(state(), REASON);
    assert.equal(pd.requests.length, 1);
    const [r] = pd.requests;
    assert.equal(r!.method, 'POST');
    assert.equal(r!.path, '/v2/enqueue');
    assert.match(String(r!.headers['content-type']), /^application\/json/);
    assert.deepEqual(r!.body, expectedTrigger());
    assert.equal(r!.status, 202);
    assert.deepEqual(lines, [`[vigil] PagerDuty: paged 1 service(s) for ${INCIDENT} (error, dedup key ${DEDUP_KEY})`]);
  });

  it('maps SEV1 to critical, SEV2 to error, SEV3 to warning, and SEV4 or unclassified to info', async () => {
    assert.equal(pagerDutySeverity('SEV1'), 'critical');
    assert.equal(pagerDutySeverity('SEV2'), 'error');
    assert.equal(pagerDutySeverity('SEV3'), 'warning');
    assert.equal(pagerDutySeverity('SEV4'), 'info');
    assert.equal(pagerDutySeverity(undefined), 'info');

    await notifier.escalated(state({ classification: { failureMode: 'infrastructure', severity: 'SEV1', reasons: [] }, signal: 'latency' }), 'p99 5 s');
    const sev1 = pd.events()[0]!.payload as Record<string, unknown>;
    assert.equal(sev1.severity, 'critical');
    assert.equal(sev1.summary, 'SEV1 infrastructure on credit-risk: p99 5 s');
    assert.equal(sev1.group, 'infrastructure');
    assert.equal(sev1.class, 'latency');

    // Not classified yet: the signal heads the summary, and no group or severity is claimed.
    await notifier.escalated(state({ classification: undefined, recommendation: undefined }), 'declared by hand');
    assert.deepEqual(pd.events()[1]!.payload, {
      summary: 'data_drift on credit-risk: declared by hand',
      source: 'vigil',
      severity: 'info',
      timestamp: NOW,
      component: 'credit-risk',
      class: 'data_drift',
      custom_details: { incident: INCIDENT, model: 'credit-risk', phase: 'awaiting_approval', reason: 'declared by hand' },
    });
  });

  it('the same incident always pages with the same dedup key (repeated escalations and retries are one alert)', async () => {
    await notifier.escalated(state(), REASON);
    await notifier.escalated(state({ phase: 'remediating' }), 'escalated again after re-classification');
    await notifier.escalated(state(), REASON); // a retried attempt
    assert.deepEqual(
      pd.events().map((e) => [e.event_action, e.dedup_key]),
      [
        ['trigger', DEDUP_KEY],
        ['trigger', DEDUP_KEY],
        ['trigger', DEDUP_KEY],
      ],
    );
    await notifier.escalated(state({ id: 'incident-credit-risk-data-drift-20260302080000' }), REASON);
    assert.equal(pd.events()[3]!.dedup_key, 'vigil-incident-credit-risk-data-drift-20260302080000', 'another incident, another alert');
  });

  it('closing the incident resolves the alert with the same dedup key; other events send nothing', async () => {
    for (const event of ['phase:detected', 'phase:awaiting_approval', 'approval_escalated', 'vote', 'phase:remediating', 'phase:reviewing']) {
      await notifier.phaseChanged(state(), event, 'detail');
    }
    await notifier.approvalRequested(state());
    await notifier.reviewWritten(state(), '/tmp/review.md');
    assert.equal(pd.requests.length, 0, 'only the close is told to PagerDuty');

    await notifier.phaseChanged(state({ phase: 'closed', status: 'closed' }), 'phase:closed', 'Closed: remediated');
    assert.deepEqual(pd.events(), [{ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: DEDUP_KEY }]);
    assert.equal(pd.requests[0]!.status, 202);
    assert.deepEqual(lines, [`[vigil] PagerDuty: resolved ${DEDUP_KEY} (${INCIDENT} closed)`]);
  });

  it('sends nothing for a model without a PagerDuty target, or one this worker does not know', async () => {
    const demand = state({
      id: 'incident-demand-data-drift-20260301100000',
      model: { id: 'demand', displayName: 'Demand forecast', tier: 'high', approvers: ['alice'], escalation: ['ml-leads'] },
    });
    await notifier.escalated(demand, REASON);
    await notifier.phaseChanged(demand, 'phase:closed', 'Closed');
    await notifier.escalated(state({ model: { ...state().model, id: 'retired-model' } }), REASON);
    assert.equal(pd.requests.length, 0);
    assert.deepEqual(lines, []);
  });

  it('pages every PagerDuty target of the model, a service listed twice once', async () => {
    const config = configWith(pd.url, [
      { pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_PLATFORM', url: pd.url } },
      { pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_CREDIT', url: pd.url } },
    ]);
    const two = createPagerDutyNotifier({ config, env: ENV, log: () => {}, now: () => new Date(NOW) });
    await two.escalated(state(), REASON);
    assert.deepEqual(
      pd.events().sort((a, b) => String(a.routing_key).localeCompare(String(b.routing_key))),
      [expectedTrigger(ROUTING_KEY), expectedTrigger(OTHER_KEY)].sort((a, b) => String(a.routing_key).localeCompare(String(b.routing_key))),
    );
  });

  it('cuts the summary at PagerDuty limit of 1024 characters', async () => {
    const long = 'x'.repeat(2000);
    await notifier.escalated(state(), long);
    const payload = pd.events()[0]!.payload as { summary: string; custom_details: { reason: string } };
    assert.equal(Array.from(payload.summary).length, PAGERDUTY_SUMMARY_MAX);
    assert.ok(payload.summary.startsWith('SEV2 data_drift on credit-risk: xxx'));
    assert.ok(payload.summary.endsWith('…'));
    assert.equal(payload.custom_details.reason, long, 'the whole reason stays in the details');
  });

  it('throttling (429) and PagerDuty errors (5xx) throw retryable errors; the retry is accepted', async () => {
    pd.answerNext({ status: 429 });
    const throttled = await rejection(notifier.escalated(state(), REASON));
    assert.ok(throttled instanceof PagerDutyError);
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.status, 429);
    assert.match(
      throttled.message,
      /PagerDuty trigger for incident-credit-risk-data-drift-20260301100000 \(models\.0\.escalation\.1\.pagerduty\): throttled by PagerDuty \(HTTP 429\)/,
    );

    for (const status of [500, 502, 503]) {
      pd.answerNext({ status, body: { status: 'error', message: 'Internal error' } });
      const failed = await rejection(notifier.phaseChanged(state(), 'phase:closed', 'Closed'));
      assert.ok(failed instanceof PagerDutyError);
      assert.equal(failed.retryable, true, `HTTP ${status} is retried`);
      assert.match(failed.message, new RegExp(`PagerDuty resolve for ${INCIDENT} .*: PagerDuty answered HTTP ${status}: Internal error \\(error\\)`));
    }

    // The activity's retry sends the same event again, and PagerDuty takes it.
    await notifier.escalated(state(), REASON);
    assert.deepEqual(
      pd.requests.map((r) => [r.body?.event_action, r.status]),
      [
        ['trigger', 429],
        ['resolve', 500],
        ['resolve', 502],
        ['resolve', 503],
        ['trigger', 202],
      ],
    );
    assert.deepEqual(pd.requests[0]!.body, pd.requests[4]!.body, 'the retry is the same event');
  });

  it('no answer (a dropped connection, a timeout) throws a retryable error', async () => {
    pd.answerNext({ drop: true });
    const dropped = await rejection(notifier.escalated(state(), REASON));
    assert.ok(dropped instanceof PagerDutyError);
    assert.equal(dropped.retryable, true);
    assert.match(dropped.message, /^PagerDuty trigger for .* failed: /);

    // A server that never answers: cut at the timeout.
    const never: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject((init.signal as AbortSignal).reason)));
    const slow = createPagerDutyNotifier({ config: configWith(pd.url), env: ENV, fetch: never, timeoutMs: 50, log: () => {} });
    const timedOut = await rejection(slow.escalated(state(), REASON));
    assert.ok(timedOut instanceof PagerDutyError && timedOut.retryable);
    assert.match(timedOut.message, /failed: no answer within 0\.05 s$/);
  });

  it("a refused event (400) throws with PagerDuty's message and errors, not retryable", async () => {
    pd.answerNext({
      status: 400,
      body: { status: 'invalid event', message: 'Event object is invalid', errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"] },
    });
    const refused = await rejection(notifier.escalated(state(), REASON));
    assert.ok(refused instanceof PagerDutyError);
    assert.equal(refused.retryable, false);
    assert.equal(refused.status, 400);
    assert.equal(
      refused.message,
      `PagerDuty trigger for ${INCIDENT} (models.0.escalation.1.pagerduty) refused (HTTP 400): Event object is invalid (invalid event): Length of 'routing_key' is incorrect (should be 32 characters)`,
    );
  });

  it('the routing key never appears in an error message or a log line, even when PagerDuty repeats it', async () => {
    const messages: string[] = [];
    pd.answerNext({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: [`unknown routing_key ${ROUTING_KEY}`] } });
    messages.push((await rejection(notifier.escalated(state(), REASON))).message);
    pd.answerNext({ status: 429, body: { message: `slow down, ${ROUTING_KEY}` } });
    messages.push((await rejection(notifier.phaseChanged(state(), 'phase:closed', 'Closed'))).message);
    pd.answerNext({ status: 503, body: `<html>upstream for ${ROUTING_KEY} down</html>` });
    messages.push((await rejection(notifier.escalated(state(), REASON))).message);
    const leaky: typeof fetch = () => Promise.reject(new Error(`connect failed while sending ${ROUTING_KEY}`));
    messages.push(
      (await rejection(createPagerDutyNotifier({ config: configWith(pd.url), env: ENV, fetch: leaky, log: () => {} }).escalated(state(), REASON))).message,
    );
    await notifier.escalated(state(), REASON);
    await notifier.phaseChanged(state(), 'phase:closed', 'Closed');

    assert.equal(messages.length, 4);
    for (const text of [...messages, ...lines]) {
      assert.ok(!text.includes(ROUTING_KEY), `the routing key leaked into: ${text}`);
    }
    assert.match(messages[0]!, /unknown routing_key \[routing key\]/, "PagerDuty's words are kept, the key replaced");
    assert.equal(lines.length, 2);
  });
});

describe('PagerDuty targets in the config', () => {
  const PD = { pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_CREDIT' } };
  const issuesOf = (escalation: unknown[]) => configError({ models: [{ ...MODEL, escalation }] }).issues.map((i) => `${i.path}: ${i.message}`);

  it('takes Slack mentions and PagerDuty targets side by side; the URL defaults to PagerDuty', () => {
    const config = parseConfig({ models: [{ ...MODEL, escalation: ['S0PLATFORM', PD] }] });
    assert.deepEqual(config.models[0]!.escalation, ['S0PLATFORM', { pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_CREDIT', url: PAGERDUTY_EVENTS_URL } }]);
    assert.equal(PAGERDUTY_EVENTS_URL, 'https://events.pagerduty.com/v2/enqueue');
    assert.equal(hasPagerDutyTargets(config), true);
    assert.equal(hasPagerDutyTargets(parseConfig({ models: [{ ...MODEL, escalation: ['S0PLATFORM'] }] })), false);
  });

  it('the workflow input carries only the Slack mentions, never a PagerDuty target or its key', () => {
    const withPd = parseConfig({ models: [{ ...MODEL, escalation: ['S0PLATFORM', PD, 'U0CAROL'] }] }).models[0]!;
    const without = parseConfig({ models: [{ ...MODEL, escalation: ['S0PLATFORM', 'U0CAROL'] }] }).models[0]!;
    assert.deepEqual(modelRef(withPd, 'carol'), modelRef(without, 'carol'));
    assert.deepEqual(modelRef(without, 'carol'), {
      id: 'credit-risk',
      displayName: 'Credit risk scorer',
      tier: 'high',
      approvers: ['alice'],
      escalation: ['S0PLATFORM', 'U0CAROL'],
    });
    assert.ok(!JSON.stringify(modelRef(withPd)).includes('VIGIL_PD'));
  });

  it('refuses a routingKeyEnv that is not an environment variable name, or is a routing key, without repeating it', () => {
    assert.deepEqual(issuesOf([{ pagerduty: { routingKeyEnv: '1PD-KEY' } }]), [
      'models.0.escalation.0.pagerduty.routingKeyEnv: must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "VIGIL_PD_ROUTING_KEY_FRAUD")',
    ]);
    const pasted = configError({ models: [{ ...MODEL, escalation: ['S0PLATFORM', { pagerduty: { routingKeyEnv: ROUTING_KEY } }] }] });
    assert.deepEqual(pasted.issues, [
      {
        path: 'models.0.escalation.1.pagerduty.routingKeyEnv',
        message:
          'looks like a routing key: give the NAME of the environment variable holding it (such as "VIGIL_PD_ROUTING_KEY_FRAUD"); the key never goes in the config',
      },
    ]);
    assert.ok(!pasted.message.includes(ROUTING_KEY), 'the key is not repeated');
  });

  it('names what is wrong inside a PagerDuty target: a missing routingKeyEnv, a misspelt key, a bad URL, a wrong type', () => {
    assert.deepEqual(issuesOf([{ pagerduty: {} }]), [
      'models.0.escalation.0: pagerduty.routingKeyEnv: is required: the name of the environment variable holding the PagerDuty routing key, such as "VIGIL_PD_ROUTING_KEY_FRAUD" (the key is a secret, never in the config)',
    ]);
    assert.deepEqual(issuesOf([{ pagerDuty: { routingKeyEnv: 'X' } }]), [
      'models.0.escalation.0: unknown key "pagerDuty" (did you mean "pagerduty"?); pagerduty: is required: { "routingKeyEnv": "VIGIL_PD_ROUTING_KEY_…" }',
    ]);
    assert.deepEqual(issuesOf([{ pagerduty: { routingKeyENV: 'X' } }]), [
      'models.0.escalation.0: pagerduty: unknown key "routingKeyENV" (did you mean "routingKeyEnv"?); pagerduty.routingKeyEnv: is required: the name of the environment variable holding the PagerDuty routing key, such as "VIGIL_PD_ROUTING_KEY_FRAUD" (the key is a secret, never in the config)',
    ]);
    assert.deepEqual(issuesOf([{ pagerduty: { routingKeyEnv: 'X', ulr: 'https://events.eu.pagerduty.com/v2/enqueue' } }]), [
      'models.0.escalation.0.pagerduty: unknown key "ulr" (did you mean "url"?)',
    ]);
    assert.deepEqual(issuesOf([{ pagerduty: { routingKeyEnv: 'X', url: 'events.pagerduty.com' } }]), [
      'models.0.escalation.0.pagerduty.url: must be the http(s) URL of the Events API v2 endpoint, such as "https://events.pagerduty.com/v2/enqueue"',
    ]);
    assert.deepEqual(issuesOf([42]), [
      'models.0.escalation.0: must be a Slack mention or name (a string), or { "pagerduty": { "routingKeyEnv": "VIGIL_PD_ROUTING_KEY_…" } }',
    ]);
  });

  it('an unset or empty routing key variable stops the notifier (and so startup), naming the field and never a value', () => {
    const config = parseConfig({
      models: [
        { ...MODEL, escalation: ['S0PLATFORM', PD] },
        { ...MODEL, id: 'fraud', escalation: [{ pagerduty: { routingKeyEnv: 'VIGIL_PD_ROUTING_KEY_FRAUD' } }] },
      ],
    });
    let thrown: unknown;
    try {
      createPagerDutyNotifier({ config, env: { VIGIL_PD_ROUTING_KEY_FRAUD: '  ' } });
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof PagerDutyConfigError, 'a UserInputError: `vigil up` and `vigil worker` exit 2');
    const what = "it must hold the routing key (Integration Key) of the PagerDuty service's Events API v2 integration";
    assert.deepEqual(thrown.issues, [
      { path: 'models.0.escalation.1.pagerduty.routingKeyEnv', message: `environment variable VIGIL_PD_ROUTING_KEY_CREDIT is not set: ${what}` },
      { path: 'models.1.escalation.0.pagerduty.routingKeyEnv', message: `environment variable VIGIL_PD_ROUTING_KEY_FRAUD is empty: ${what}` },
    ]);
    assert.match(
      thrown.message,
      /^invalid config \(PagerDuty routing keys from the environment\):\n {2}- models\.0\.escalation\.1\.pagerduty\.routingKeyEnv: /,
    );

    assert.throws(
      () => pagerDutyRoutesFromEnv(config, { VIGIL_PD_ROUTING_KEY_CREDIT: 'abc def', VIGIL_PD_ROUTING_KEY_FRAUD: ROUTING_KEY }),
      (err: unknown) =>
        err instanceof PagerDutyConfigError &&
        err.message.includes('models.0.escalation.1.pagerduty.routingKeyEnv: environment variable VIGIL_PD_ROUTING_KEY_CREDIT contains spaces') &&
        !err.message.includes('abc def'),
    );

    const routes = pagerDutyRoutesFromEnv(config, { VIGIL_PD_ROUTING_KEY_CREDIT: ` ${OTHER_KEY}\n`, VIGIL_PD_ROUTING_KEY_FRAUD: ROUTING_KEY });
    assert.deepEqual(Object.fromEntries(routes), {
      'credit-risk': [{ url: PAGERDUTY_EVENTS_URL, routingKey: OTHER_KEY, field: 'models.0.escalation.1.pagerduty' }],
      fraud: [{ url: PAGERDUTY_EVENTS_URL, routingKey: ROUTING_KEY, field: 'models.1.escalation.0.pagerduty' }],
    });
  });
});
