/** Typos in the config file are errors naming the path and, when a known key is close, the key meant. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { closestKey, parseConfig, runbooksFor, signalForAlertname, VigilConfig } from '../../domain/config.js';
import { FAILURE_MODES } from '../../domain/incident.js';
import { RUNBOOKS_WITHOUT_FALLBACK } from '../../runbooks/defaultRunbooks.js';
import { configError } from '../support/configError.js';

const MODEL = { id: 'fraud-scorer', displayName: 'Fraud scorer', tier: 'critical', approvers: ['alice'] } as const;
const KSERVE = { kind: 'kserve', kserve: { namespace: 'ml', name: 'fraud' } } as const;

describe('closestKey', () => {
  const known = ['psiThreshold', 'window', 'every', 'minLabelled'];

  it('suggests the key within an edit distance of 2', () => {
    assert.equal(closestKey('psiTreshold', known), 'psiThreshold', 'one letter missing');
    assert.equal(closestKey('windw', known), 'window');
    assert.equal(closestKey('evry', known), 'every');
    assert.equal(closestKey('minLabeled', known), 'minLabelled');
    assert.equal(closestKey('psi_threshhold', known), undefined, 'three edits: too far');
  });

  it('suggests a key equal but for case, however long', () => {
    assert.equal(closestKey('PSITHRESHOLD', known), 'psiThreshold');
    assert.equal(closestKey('MinLabelled', known), 'minLabelled');
  });

  it('prefers the nearest key, and has nothing for an unrelated one or no known keys', () => {
    assert.equal(closestKey('abcd', ['abxy', 'abcx']), 'abcx');
    assert.equal(closestKey('gremlins', known), undefined);
    assert.equal(closestKey('window', []), undefined);
  });
});

describe('config: unknown keys', () => {
  it('an unknown top-level key is refused at the root', () => {
    const e = configError({ models: [MODEL], taskQueues: 'vigil' });
    assert.deepEqual(e.issues, [{ path: '', message: 'unknown key "taskQueues" (did you mean "taskQueue"?)' }]);
    assert.match(e.message, /invalid config test\.json:\n {2}- \(root\): unknown key "taskQueues" \(did you mean "taskQueue"\?\)/);
  });

  it('a misspelt nested key names its full path and the key meant', () => {
    const e = configError({ models: [{ ...MODEL, monitor: { psiTreshold: 0.3 } }] });
    assert.deepEqual(e.issues, [{ path: 'models.0.monitor', message: 'unknown key "psiTreshold" (did you mean "psiThreshold"?)' }]);
    assert.match(e.message, /- models\.0\.monitor: unknown key "psiTreshold" \(did you mean "psiThreshold"\?\)/);
  });

  it('deeper levels are strict too: one issue per unknown key', () => {
    const e = configError({
      models: [
        MODEL,
        {
          ...MODEL,
          id: 'other',
          monitor: { labels: { maxPositiveRateshift: 0.1 }, dataQuality: { maxMissingShare: 0.1 } },
          training: {
            backend: 'kubernetes',
            kubernetes: { namespace: 'ml', image: 'trainer:1', gpu: 1, volume: { claimName: 'state', mountPath: '/s', readOnly: true } },
          },
          deployment: { kind: 'builtin', Kind: 'kserve' },
          registry: { kind: 'mlflow', mlflow: { trackingUri: 'http://mlflow:5000', timout: '5s' } },
          slack: { channel: '#ml', chanel: '#ml' },
          inputSchema: { columns: { age: { type: 'numeric', mix: 18 } }, allowExtraColumn: true },
        },
      ],
      slack: { teamid: 'T0123ABCD' },
      example: { requestPerSecond: 10 },
    });
    assert.deepEqual(
      e.issues.map((i) => `${i.path}: ${i.message}`).sort(),
      [
        'example: unknown key "requestPerSecond" (did you mean "requestsPerSecond"?)',
        'models.1.deployment: unknown key "Kind" (did you mean "kind"?)',
        'models.1.inputSchema.columns.age: unknown key "mix" (did you mean "min"?)',
        'models.1.inputSchema: unknown key "allowExtraColumn" (did you mean "allowExtraColumns"?)',
        'models.1.monitor.dataQuality: unknown key "maxMissingShare"',
        'models.1.monitor.labels: unknown key "maxPositiveRateshift" (did you mean "maxPositiveRateShift"?)',
        'models.1.registry.mlflow: unknown key "timout" (did you mean "timeout"?)',
        'models.1.slack: unknown key "chanel" (did you mean "channel"?)',
        'models.1.training.kubernetes.volume: unknown key "readOnly"',
        'models.1.training.kubernetes: unknown key "gpu" (did you mean "gpus"?)',
        'slack: unknown key "teamid" (did you mean "teamId"?)',
      ].sort(),
      e.message,
    );
  });

  it('an unknown key in a runbook override names models.<i>.runbooks.<mode>.<path> and the key meant', () => {
    const e = configError({ models: [{ ...MODEL, runbooks: { data_drift: { retrain: { canary: { precent: 25 }, maxAucDorp: 0.01 } } } }] });
    assert.deepEqual(
      e.issues.map((i) => `${i.path}: ${i.message}`).sort(),
      [
        'models.0.runbooks.data_drift.retrain.canary: unknown key "precent" (did you mean "percent"?)',
        'models.0.runbooks.data_drift.retrain: unknown key "maxAucDorp" (did you mean "maxAucDrop"?)',
      ],
      e.message,
    );
    const slice = configError({
      models: [{ ...MODEL, runbooks: { concept_drift: { retrain: { protectedSlices: [{ name: 'young', feature: 'age', max: 24, minRow: 10 }] } } } }],
    });
    assert.deepEqual(slice.issues, [
      { path: 'models.0.runbooks.concept_drift.retrain.protectedSlices.0', message: 'unknown key "minRow" (did you mean "minRows"?)' },
    ]);
    const top = configError({ models: [{ ...MODEL, runbooks: { upstream: { approvl: { timeout: '5m' }, degrade: { whileAwaitingApprovals: true } } } }] });
    assert.deepEqual(
      top.issues.map((i) => `${i.path}: ${i.message}`).sort(),
      [
        'models.0.runbooks.upstream.degrade: unknown key "whileAwaitingApprovals" (did you mean "whileAwaitingApproval"?)',
        'models.0.runbooks.upstream: unknown key "approvl" (did you mean "approval"?)',
      ],
      top.message,
    );
  });

  it('a monitor window is bounded, and minLabelled fits in the rows a run reads', () => {
    assert.match(configError({ models: [{ ...MODEL, monitor: { window: 20_000_000 } }] }).message, /models\.0\.monitor\.window/);
    const e = configError({ models: [{ ...MODEL, monitor: { window: 50_000, maxRows: 1000, minLabelled: 2000 } }] });
    assert.match(e.message, /models\.0\.monitor\.minLabelled: must be at most maxRows \(1000\)/);
    const ok = parseConfig({ models: [{ ...MODEL, monitor: { window: 2_000_000 } }] }, 'test.json');
    assert.equal(ok.models[0]!.monitor.maxRows, 100_000, 'a long window is read as a sample of 100,000 rows by default');
  });

  it('a key with no close match gets no suggestion', () => {
    const e = configError({ models: [{ ...MODEL, monitor: { gremlins: true } }] });
    assert.deepEqual(e.issues, [{ path: 'models.0.monitor', message: 'unknown key "gremlins"' }]);
  });

  it('health keeps its own message for an unknown metric', () => {
    const e = configError({ models: [{ ...MODEL, health: { latency_p50_ms: { query: 'x', above: 1 } } }] });
    assert.equal(e.issues.length, 1, e.message);
    assert.equal(e.issues[0]!.path, 'models.0.health');
    assert.match(e.issues[0]!.message, /^unknown health metric "latency_p50_ms" \(known: latency_p99_ms,/);
    const check = configError({ models: [{ ...MODEL, health: { error_rate: { query: 'x', above: 0.01, fro: '5m' } } }] });
    assert.deepEqual(check.issues, [{ path: 'models.0.health.error_rate', message: 'unknown key "fro" (did you mean "for"?)' }]);
  });

  it('an escalation PagerDuty target is strict too, whether the rest of it is valid or not', () => {
    const extra = configError({ models: [{ ...MODEL, escalation: ['leads', { pagerduty: { routingKeyEnv: 'PD_KEY', severty: 'critical' } }] }] });
    assert.deepEqual(extra.issues, [{ path: 'models.0.escalation.1.pagerduty', message: 'unknown key "severty"' }]);
    const misspelt = configError({ models: [{ ...MODEL, escalation: [{ pagerdutty: { routingKeyEnv: 'PD_KEY' } }] }] });
    assert.deepEqual(misspelt.issues, [
      {
        path: 'models.0.escalation.0',
        message: 'unknown key "pagerdutty" (did you mean "pagerduty"?); pagerduty: is required: { "routingKeyEnv": "VIGIL_PD_ROUTING_KEY_…" }',
      },
    ]);
    assert.match(misspelt.message, /- models\.0\.escalation\.0: unknown key "pagerdutty" \(did you mean "pagerduty"\?\)/);
  });

  it('"$schema" is allowed at the root', () => {
    const c = parseConfig({ $schema: './vigil.schema.json', models: [MODEL] });
    assert.equal(c.$schema, './vigil.schema.json');
    assert.equal(c.models[0]!.id, 'fraud-scorer');
  });

  it('the JSON Schema says so: no additional properties on any object with declared properties', () => {
    // As `vigil config schema` prints it.
    const root = z.toJSONSchema(VigilConfig, { io: 'input', unrepresentable: 'any' }) as {
      additionalProperties?: unknown;
      properties: Record<string, unknown>;
    };
    assert.equal(root.additionalProperties, false);
    assert.ok('$schema' in root.properties, 'the root declares $schema');
    const loose: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties && o.additionalProperties !== false) loose.push(at);
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(root, '#');
    assert.deepEqual(loose, [], 'objects that let unknown keys through');
  });
});

describe('config: fallback on a KServe model', () => {
  it('refuses every runbook field that could choose the fallback, naming it and why', () => {
    const e = configError({
      models: [
        MODEL,
        {
          ...MODEL,
          id: 'kserved',
          deployment: KSERVE,
          runbooks: { ...RUNBOOKS_WITHOUT_FALLBACK, upstream: { ...RUNBOOKS_WITHOUT_FALLBACK.upstream, degrade: { whileAwaitingApproval: true } } },
        },
      ],
    });
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['models.1.runbooks.upstream.degrade.whileAwaitingApproval'],
    );
    assert.match(e.issues[0]!.message, /fallback while awaiting approval needs a deployment target that serves a fallback; deployment\.kind "kserve" has none/);

    const shipped = configError({ models: [{ ...MODEL, deployment: KSERVE }] });
    const paths = shipped.issues.map((i) => i.path);
    for (const mode of FAILURE_MODES) assert.ok(paths.includes(`models.0.runbooks.${mode}.actions`), `${mode}.actions refused: ${paths}`);
    for (const mode of ['data_drift', 'concept_drift', 'data_quality', 'infrastructure']) {
      assert.ok(paths.includes(`models.0.runbooks.${mode}.safeDefault`), `${mode}.safeDefault refused: ${paths}`);
    }
    assert.equal(paths.length, FAILURE_MODES.length + 4, shipped.message);
    assert.match(
      shipped.message,
      /- models\.0\.runbooks\.data_drift\.actions: "fallback" needs a deployment target that serves a fallback; deployment\.kind "kserve" has none: remove it/,
    );
    assert.match(shipped.message, /- models\.0\.runbooks\.data_drift\.safeDefault: "fallback" needs a deployment target that serves a fallback;/);
  });

  it('reports the shadow canary and the fallback together', () => {
    const e = configError({
      models: [
        {
          ...MODEL,
          deployment: KSERVE,
          runbooks: { ...RUNBOOKS_WITHOUT_FALLBACK, concept_drift: { actions: ['retrain', 'fallback'], retrain: { canary: { mode: 'shadow' } } } },
        },
      ],
    });
    assert.deepEqual(e.issues.map((i) => i.path).sort(), [
      'models.0.runbooks.concept_drift.actions',
      'models.0.runbooks.concept_drift.retrain.canary.mode',
      'models.0.runbooks.concept_drift.safeDefault',
    ]);
  });

  it('accepts a KServe model whose runbooks avoid the fallback', () => {
    const c = parseConfig({ models: [{ ...MODEL, deployment: KSERVE, runbooks: RUNBOOKS_WITHOUT_FALLBACK }] });
    const runbooks = runbooksFor(c.models[0]!);
    for (const mode of FAILURE_MODES) {
      assert.ok(!runbooks[mode].actions.includes('fallback'), mode);
      assert.notEqual(runbooks[mode].safeDefault, 'fallback', mode);
      assert.equal(runbooks[mode].degrade.whileAwaitingApproval, false, mode);
    }
  });

  it('the built-in target may still choose the fallback', () => {
    const c = parseConfig({ models: [{ ...MODEL, runbooks: { data_drift: { degrade: { whileAwaitingApproval: true } } } }] });
    assert.equal(runbooksFor(c.models[0]!).data_drift.safeDefault, 'fallback');
  });
});

describe('config: "__proto__" keys', () => {
  it('are refused wherever they are, naming the path, instead of being dropped or becoming a prototype', () => {
    // As JSON.parse reads a file: "__proto__" is an own key there.
    const raw = JSON.parse(
      JSON.stringify({ models: [{ ...MODEL, alerts: { ModelLatencyHigh: 'latency' }, runbooks: { data_drift: { approval: { timeout: '20m' } } } }] })
        .replace('"ModelLatencyHigh"', '"__proto__": "latency", "ModelLatencyHigh"')
        .replace('"timeout"', '"__proto__": {"escalationTimeout": "1s"}, "timeout"'),
    ) as unknown;
    const e = configError(raw);
    assert.deepEqual(e.issues, [
      { path: 'models.0.runbooks.data_drift.approval.__proto__', message: 'is not allowed as a key' },
      { path: 'models.0.alerts.__proto__', message: 'is not allowed as a key' },
    ]);
  });

  it('"constructor" and "toString" are ordinary alert names', () => {
    const c = parseConfig({ models: [{ ...MODEL, alerts: { constructor: 'latency' } }] });
    assert.equal(signalForAlertname(c.models[0]!, 'constructor'), 'latency');
    assert.equal(signalForAlertname(c.models[0]!, 'toString'), undefined, 'not Object.prototype.toString');
    assert.equal(signalForAlertname(c.models[0]!, '__proto__'), undefined);
  });
});
