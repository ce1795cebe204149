import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, LOCAL_USER_PLACEHOLDER, ModelConfig, modelRef, parseConfig, runbooksFor } from '../../domain/config.js';
import { FAILURE_MODES, SEVERITIES } from '../../domain/incident.js';
import { Duration, durationMs, RunbookPolicy, SAFE_ACTIONS, type RunbookPolicyInput } from '../../domain/runbook.js';
import { EXAMPLE_CONFIG } from '../../examples/credit-risk/exampleConfig.js';
import { DEFAULT_RUNBOOKS, RUNBOOKS_WITHOUT_FALLBACK } from '../../runbooks/defaultRunbooks.js';
import { configError } from '../support/configError.js';

const MINIMAL: RunbookPolicyInput = {
  version: 'test/v1',
  evidence: ['performance'],
  actions: ['retrain', 'fallback'],
  approval: { timeout: '30m' },
  safeDefault: 'fallback',
};

const issuePaths = (r: ReturnType<typeof RunbookPolicy.safeParse>) => (r.success ? [] : r.error.issues.map((i) => i.path.join('.')));

const MODEL = { id: 'fraud-scorer', displayName: 'Fraud scorer', tier: 'critical', approvers: ['alice', 'bob'] } as const;

describe('shipped runbooks', () => {
  it('there is one for every failure mode and each one parses', () => {
    assert.deepEqual(Object.keys(DEFAULT_RUNBOOKS).sort(), [...FAILURE_MODES].sort());
    for (const mode of FAILURE_MODES) {
      const r = RunbookPolicy.safeParse(DEFAULT_RUNBOOKS[mode]);
      assert.ok(r.success, `${mode}: ${r.success ? '' : r.error.message}`);
      assert.ok(r.data.version.startsWith(`${mode}/`), `${mode} version ${r.data.version}`);
    }
  });

  it('every shipped safe default is one that needs no human', () => {
    for (const mode of FAILURE_MODES) {
      assert.ok((SAFE_ACTIONS as readonly string[]).includes(DEFAULT_RUNBOOKS[mode].safeDefault), mode);
    }
  });

  it('feedback_loop never considers retraining', () => {
    assert.ok(!DEFAULT_RUNBOOKS.feedback_loop.actions.includes('retrain'), `feedback_loop actions: ${DEFAULT_RUNBOOKS.feedback_loop.actions}`);
  });

  it('defaults are filled in', () => {
    const p = RunbookPolicy.parse(MINIMAL);
    assert.equal(p.approval.escalationTimeout, '0s');
    assert.deepEqual(p.approval.quorum, { SEV1: 2 });
    assert.deepEqual(p.allowUnattended, []);
    assert.deepEqual(p.retrain, {
      minLabelledRows: 200,
      waitForFreshRows: { rows: 0, atMost: '10m', checkEvery: '15s' },
      maxAucDrop: 0,
      maxCalibrationIncrease: 0.02,
      minCalibrationRows: 100,
      maxSliceDrop: 0.05,
      maxAccuracyDrop: 0.02,
      maxMacroF1Drop: 0.02,
      maxMaeIncrease: 0.05,
      maxRmseIncrease: 0.05,
      protectedSlices: [],
      stepTimeout: '2m',
      canary: {
        enabled: true,
        mode: 'split',
        percent: 10,
        window: '10m',
        checkEvery: '1m',
        minLabelled: 100,
        maxAccuracyDrop: 0.02,
        onInsufficientLabels: 'promote',
        onUnknownHealth: 'rollback',
        maxUnknownHealthShare: 0,
      },
    });
    assert.deepEqual(p.rollback, { recentDeployWindow: '24h', minImprovement: 0.02 });
    assert.deepEqual(p.validation, { window: '2m', maxExtraWindows: 2, minSamples: 100, compensateOnFailure: true });
  });
});

describe('RunbookPolicy: safe default', () => {
  for (const action of ['retrain', 'rollback'] as const) {
    it(`a safeDefault of ${action} is refused at path safeDefault unless in allowUnattended`, () => {
      const refused = RunbookPolicy.safeParse({ ...MINIMAL, safeDefault: action });
      assert.equal(refused.success, false);
      assert.deepEqual(issuePaths(refused), ['safeDefault']);
      assert.match(refused.error!.issues[0]!.message, new RegExp(`"${action}" changes the model without a human`));

      const otherListed = RunbookPolicy.safeParse({ ...MINIMAL, safeDefault: action, allowUnattended: [action === 'retrain' ? 'rollback' : 'retrain'] });
      assert.deepEqual(issuePaths(otherListed), ['safeDefault']);

      const allowed = RunbookPolicy.safeParse({ ...MINIMAL, safeDefault: action, allowUnattended: [action] });
      assert.ok(allowed.success, allowed.error?.message);
      assert.equal(allowed.data.safeDefault, action);
    });
  }

  for (const action of SAFE_ACTIONS) {
    it(`a safeDefault of ${action} needs no allowUnattended`, () => {
      const r = RunbookPolicy.safeParse({ ...MINIMAL, safeDefault: action });
      assert.ok(r.success, r.error?.message);
    });
  }
});

describe('RunbookPolicy: durations', () => {
  it('accepts the usual notations', () => {
    for (const d of ['30s', '15m', '2h', '0s', '1d', '1500ms']) assert.ok(Duration.safeParse(d).success, d);
    assert.equal(durationMs('15m'), 15 * 60_000);
    assert.equal(durationMs('2h'), 2 * 3_600_000);
  });

  it('refuses bad durations without throwing', () => {
    for (const d of ['soon', '-5m', '', ' ', '5 fortnights', '10' /* bare number: would mean ms */]) {
      const r = Duration.safeParse(d);
      assert.equal(r.success, false, JSON.stringify(d));
      assert.match(r.error!.issues[0]!.message, /must be a duration/);
    }
  });

  const fields: [string, RunbookPolicyInput][] = [
    ['approval.timeout', { ...MINIMAL, approval: { timeout: 'half an hour' } }],
    ['approval.escalationTimeout', { ...MINIMAL, approval: { timeout: '30m', escalationTimeout: '-1m' } }],
    ['rollback.recentDeployWindow', { ...MINIMAL, rollback: { recentDeployWindow: 'yesterday' } }],
    ['validation.window', { ...MINIMAL, validation: { window: '' } }],
  ];
  for (const [field, input] of fields) {
    it(`a bad ${field} is refused naming the field`, () => {
      const r = RunbookPolicy.safeParse(input);
      assert.deepEqual(issuePaths(r), [field]);
    });
  }

  // Each of these paces a loop or bounds a wait: "0s" would judge a canary in a tight loop, validate on nothing, or time out at once.
  const zeroes: [string, RunbookPolicyInput][] = [
    ['retrain.canary.checkEvery', { ...MINIMAL, retrain: { canary: { checkEvery: '0s' } } }],
    ['retrain.canary.window', { ...MINIMAL, retrain: { canary: { window: '0s', checkEvery: '0s' } } }],
    ['retrain.waitForFreshRows.checkEvery', { ...MINIMAL, retrain: { waitForFreshRows: { rows: 100, checkEvery: '500ms' } } }],
    ['retrain.stepTimeout', { ...MINIMAL, retrain: { stepTimeout: '0s' } }],
    ['validation.window', { ...MINIMAL, validation: { window: '0s' } }],
    ['approval.timeout', { ...MINIMAL, approval: { timeout: '0s' } }],
    ['approval.remindEvery', { ...MINIMAL, approval: { timeout: '30m', remindEvery: '0ms' } }],
  ];
  for (const [field, input] of zeroes) {
    it(`a ${field} under 1s is refused naming the field`, () => {
      const r = RunbookPolicy.safeParse(input);
      assert.ok(issuePaths(r).includes(field), `${field} in ${JSON.stringify(issuePaths(r))}`);
      assert.ok(r.error!.issues.some((i) => i.message === 'must be at least 1s'));
    });
  }

  it("a canary's checkEvery longer than its window is refused", () => {
    const r = RunbookPolicy.safeParse({ ...MINIMAL, retrain: { canary: { window: '5m', checkEvery: '10m' } } });
    assert.deepEqual(issuePaths(r), ['retrain.canary.checkEvery']);
    assert.match(r.error!.issues[0]!.message, /"10m" is longer than the canary's window "5m"/);
  });

  it('other bad fields are named too', () => {
    assert.deepEqual(issuePaths(RunbookPolicy.safeParse({ ...MINIMAL, actions: [] })), ['actions']);
    assert.deepEqual(issuePaths(RunbookPolicy.safeParse({ ...MINIMAL, actions: ['reboot'] })), ['actions.0']);
    assert.deepEqual(issuePaths(RunbookPolicy.safeParse({ ...MINIMAL, approval: { timeout: '1m', quorum: { SEV1: 0 } } })), ['approval.quorum.SEV1']);
    assert.deepEqual(issuePaths(RunbookPolicy.safeParse({ ...MINIMAL, retrain: { minLabelledRows: 0 } })), ['retrain.minLabelledRows']);
  });
});

describe('approval.quorum', () => {
  it('SEV1 needs two approvers by default; the others are unset (the workflow needs one)', () => {
    const p = RunbookPolicy.parse(DEFAULT_RUNBOOKS.data_drift);
    assert.equal(p.approval.quorum.SEV1, 2);
    for (const sev of SEVERITIES.filter((s) => s !== 'SEV1')) assert.equal(p.approval.quorum[sev], undefined, sev);
  });

  it('follows an explicit quorum, which replaces the default', () => {
    const p = RunbookPolicy.parse({ ...MINIMAL, approval: { timeout: '1m', quorum: { SEV1: 3, SEV2: 2 } } });
    assert.equal(p.approval.quorum.SEV3, undefined);
    assert.deepEqual(p.approval.quorum, { SEV1: 3, SEV2: 2 });
    const sev2Only = RunbookPolicy.parse({ ...MINIMAL, approval: { timeout: '1m', quorum: { SEV2: 3 } } });
    assert.deepEqual(sev2Only.approval.quorum, { SEV2: 3 }, 'an explicit quorum without SEV1: SEV1 needs one');
  });
});

describe('runbooksFor: per-model overrides', () => {
  it('without overrides, every mode is the shipped runbook', () => {
    const rb = runbooksFor(ModelConfig.parse(MODEL));
    for (const mode of FAILURE_MODES) assert.deepEqual(rb[mode], RunbookPolicy.parse(DEFAULT_RUNBOOKS[mode]), mode);
  });

  it('overriding only approval.timeout keeps escalationTimeout and the quorum default', () => {
    const rb = runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { data_drift: { approval: { timeout: '5m' } } } }));
    assert.equal(rb.data_drift.approval.timeout, '5m');
    assert.equal(rb.data_drift.approval.escalationTimeout, '15m');
    assert.deepEqual(rb.data_drift.approval.quorum, { SEV1: 2 });
    // The rest of the runbook is untouched.
    assert.deepEqual(rb.data_drift.actions, ['rollback', 'retrain', 'fallback', 'monitor']);
    assert.equal(rb.data_drift.version, 'data_drift/v1');
    // Other modes are untouched.
    assert.equal(rb.concept_drift.approval.timeout, '30m');
  });

  it('overriding one nested field keeps its siblings', () => {
    const rb = runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { concept_drift: { retrain: { maxAucDrop: 0.01 }, validation: { minSamples: 500 } } } }));
    assert.deepEqual({ ...rb.concept_drift.retrain, canary: undefined }, { ...RunbookPolicy.parse(MINIMAL).retrain, maxAucDrop: 0.01, canary: undefined });
    const canary = runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { concept_drift: { retrain: { canary: { percent: 25 } } } } })).concept_drift.retrain
      .canary;
    assert.deepEqual(canary, { ...RunbookPolicy.parse(MINIMAL).retrain.canary, percent: 25 }, 'one canary field overridden, the rest kept');
    assert.deepEqual(rb.concept_drift.validation, { window: '2m', maxExtraWindows: 2, minSamples: 500, compensateOnFailure: true });
  });

  it('arrays are replaced, not merged', () => {
    const rb = runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { data_drift: { actions: ['fallback'] } } }));
    assert.deepEqual(rb.data_drift.actions, ['fallback']);
  });

  it('an override may allow an unattended retrain as the safe default', () => {
    const rb = runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { data_drift: { safeDefault: 'retrain', allowUnattended: ['retrain'] } } }));
    assert.equal(rb.data_drift.safeDefault, 'retrain');
  });

  it('does not change the shipped runbooks', () => {
    const before = JSON.stringify(DEFAULT_RUNBOOKS);
    runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { data_drift: { approval: { timeout: '1m', quorum: { SEV2: 3 } }, actions: ['monitor'] } } }));
    assert.equal(JSON.stringify(DEFAULT_RUNBOOKS), before);
  });

  it('a bad override throws a ConfigError naming mode and field', () => {
    assert.throws(
      () => runbooksFor(ModelConfig.parse({ ...MODEL, runbooks: { upstream: { approval: { timeout: 'never' } } } })),
      (err: unknown) => err instanceof ConfigError && err.issues.length === 1 && err.issues[0]!.path === 'upstream.approval.timeout',
    );
  });
});

describe('parseConfig', () => {
  it('accepts the built-in example and fills defaults', () => {
    const c = parseConfig(EXAMPLE_CONFIG);
    assert.equal(c.models[0]!.id, 'credit-risk');
    assert.equal(c.taskQueue, 'vigil');
    assert.equal(c.models[0]!.monitor.psiThreshold, 0.2);
    assert.equal(c.models[0]!.training.timeout, '30m');
  });

  it('no approvers: names models.0.approvers', () => {
    const e = configError({ models: [{ ...MODEL, approvers: [] }] });
    assert.deepEqual(e.issues, [{ path: 'models.0.approvers', message: 'at least one approver is required' }]);
    assert.match(e.message, /invalid config test\.json:\n {2}- models\.0\.approvers: at least one approver is required/);
  });

  it('duplicate model ids: names the second one', () => {
    const e = configError({ models: [MODEL, { ...MODEL, displayName: 'again' }] });
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['models.1.id'],
    );
    assert.match(e.issues[0]!.message, /duplicate model id "fraud-scorer"/);
  });

  for (const id of ['Fraud', 'fraud_scorer', '-fraud', '', 'a'.repeat(64)]) {
    it(`bad model id ${JSON.stringify(id.length > 10 ? id.slice(0, 8) + '…' : id)}: names models.0.id`, () => {
      const e = configError({ models: [{ ...MODEL, id }] });
      assert.deepEqual(
        e.issues.map((i) => i.path),
        ['models.0.id'],
      );
    });
  }

  it('a 63-character model id is fine', () => {
    assert.equal(parseConfig({ models: [{ ...MODEL, id: 'a'.repeat(63) }] }).models[0]!.id.length, 63);
  });

  it('a bad runbook override: names models.<i>.runbooks.<mode>.<field>', () => {
    const e = configError({ models: [{ ...MODEL, runbooks: { data_drift: { approval: { timeout: 'soon' } } } }] });
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['models.0.runbooks.data_drift.approval.timeout'],
    );
    const e2 = configError({ models: [MODEL, { ...MODEL, id: 'other', runbooks: { concept_drift: { safeDefault: 'rollback' } } }] });
    assert.deepEqual(
      e2.issues.map((i) => i.path),
      ['models.1.runbooks.concept_drift.safeDefault'],
    );
  });

  it('an empty duration in an override is a ConfigError, not a crash', () => {
    const e = configError({ models: [{ ...MODEL, runbooks: { data_drift: { approval: { timeout: '' } } } }] });
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['models.0.runbooks.data_drift.approval.timeout'],
    );
    const e2 = configError({ models: [{ ...MODEL, monitor: { every: '' } }] });
    assert.deepEqual(
      e2.issues.map((i) => i.path),
      ['models.0.monitor.every'],
    );
  });

  it('an unknown failure mode under runbooks is refused', () => {
    const e = configError({ models: [{ ...MODEL, runbooks: { gremlins: {} } }] });
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['models.0.runbooks'],
    );
  });

  it('several problems are all reported', () => {
    const e = configError({ models: [{ ...MODEL, tier: 'huge', monitor: { every: 'x' } }] });
    assert.deepEqual(e.issues.map((i) => i.path).sort(), ['models.0.monitor.every', 'models.0.tier']);
  });

  it('no models: names models', () => {
    assert.deepEqual(
      configError({ models: [] }).issues.map((i) => i.path),
      ['models'],
    );
    assert.deepEqual(
      configError({}).issues.map((i) => i.path),
      ['models'],
    );
  });
});

describe('modelRef', () => {
  it('keeps $USER in approvers for the worker to resolve, replaces it in escalation (a mention), without duplicates', () => {
    const model = ModelConfig.parse({
      ...MODEL,
      approvers: [LOCAL_USER_PLACEHOLDER, 'ml-oncall', 'carol', 'carol'],
      escalation: ['leads', LOCAL_USER_PLACEHOLDER],
    });
    assert.deepEqual(modelRef(model, 'carol'), {
      id: 'fraud-scorer',
      displayName: 'Fraud scorer',
      tier: 'critical',
      approvers: [LOCAL_USER_PLACEHOLDER, 'ml-oncall', 'carol'],
      escalation: ['leads', 'carol'],
    });
  });

  it('whoever opens an incident is not made an approver by $USER (the example config)', () => {
    const model = parseConfig(EXAMPLE_CONFIG).models[0];
    const ref = modelRef(model!, 'mallory');
    assert.deepEqual(ref.approvers, [LOCAL_USER_PLACEHOLDER, 'ml-oncall']);
    assert.ok(!ref.approvers.includes('mallory'), `approvers: ${ref.approvers}`);
  });

  it('leaves names that only contain $USER alone', () => {
    const model = ModelConfig.parse({ ...MODEL, approvers: ['team-$USER'] });
    assert.deepEqual(modelRef(model, 'erin').approvers, ['team-$USER']);
  });
});

describe('RunbookPolicy: gates and canary', () => {
  const refusal = (retrain: unknown) => {
    const r = RunbookPolicy.safeParse({ ...MINIMAL, retrain });
    assert.equal(r.success, false, `expected ${JSON.stringify(retrain)} to be refused`);
    return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it('refuses a canary share outside 1–100 or not whole, naming the field', () => {
    assert.match(refusal({ canary: { percent: 0 } }), /^retrain\.canary\.percent: /);
    assert.match(refusal({ canary: { percent: 101 } }), /^retrain\.canary\.percent: /);
    assert.match(refusal({ canary: { percent: 12.5 } }), /^retrain\.canary\.percent: /);
  });

  it('refuses a canary window that is not a duration', () => {
    assert.match(refusal({ canary: { window: '10' } }), /^retrain\.canary\.window: must be a duration/);
    assert.match(refusal({ canary: { onInsufficientLabels: 'wait' } }), /^retrain\.canary\.onInsufficientLabels: /);
  });

  it('refuses an unknown-health policy that is not rollback or promote, or a tolerated share of 1 or more', () => {
    assert.match(refusal({ canary: { onUnknownHealth: 'ignore' } }), /^retrain\.canary\.onUnknownHealth: /);
    assert.match(refusal({ canary: { maxUnknownHealthShare: -0.1 } }), /^retrain\.canary\.maxUnknownHealthShare: /);
    assert.match(
      refusal({ canary: { maxUnknownHealthShare: 1 } }),
      /^retrain\.canary\.maxUnknownHealthShare: must be below 1 \(to promote without health, set onUnknownHealth: promote\)/,
    );
  });

  it('refuses a protected slice without a bound, or with min above max', () => {
    assert.match(refusal({ protectedSlices: [{ name: 'young', feature: 'age' }] }), /^retrain\.protectedSlices\.0: a protected slice needs min, max or equals/);
    assert.match(refusal({ protectedSlices: [{ name: 'x', feature: 'age', min: 60, max: 30 }] }), /^retrain\.protectedSlices\.0\.min: min must not exceed max/);
  });

  it('accepts slices by range or value, with a default minimum size', () => {
    const p = RunbookPolicy.parse({
      ...MINIMAL,
      retrain: {
        protectedSlices: [
          { name: 'young', feature: 'age', max: 24 },
          { name: 'region', feature: 'region', equals: 'north' },
        ],
      },
    });
    assert.deepEqual(
      p.retrain.protectedSlices.map((x) => x.minRows),
      [30, 30],
    );
  });
});

describe('config: canary modes per deployment target', () => {
  const model = (deployment: unknown, mode: string) => ({
    models: [{ id: 'm', displayName: 'm', tier: 'low', approvers: ['a'], deployment, runbooks: { concept_drift: { retrain: { canary: { mode } } } } }],
  });

  it('refuses a shadow canary on KServe, naming the runbook field', () => {
    assert.throws(
      () => parseConfig(model({ kind: 'kserve', kserve: { namespace: 'ml', name: 'm' } }, 'shadow')),
      (err: Error) => /models\.0\.runbooks\.concept_drift\.retrain\.canary\.mode: a KServe InferenceService canary .* has no shadow mode/.test(err.message),
    );
  });

  it('accepts a shadow canary on the built-in target, and a split one on KServe', () => {
    assert.equal(runbooksFor(parseConfig(model({ kind: 'builtin' }, 'shadow')).models[0]!).concept_drift.retrain.canary.mode, 'shadow');
    // A KServe model also overrides the shipped runbooks' fallback, which KServe cannot serve.
    const kserve = model({ kind: 'kserve', kserve: { namespace: 'ml', name: 'm' } }, 'split');
    const runbooks = {
      ...RUNBOOKS_WITHOUT_FALLBACK,
      concept_drift: { ...RUNBOOKS_WITHOUT_FALLBACK.concept_drift, ...kserve.models[0]!.runbooks.concept_drift },
    };
    const config = parseConfig({ models: [{ ...kserve.models[0], runbooks }] });
    assert.equal(runbooksFor(config.models[0]!).concept_drift.retrain.canary.mode, 'split');
  });
});
