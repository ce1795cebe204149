/**
 * Models Vigil did not build: registered from reference data (Vigil computes the profile and the
 * holdout metrics by task type), shown by the CLI, and monitored against the stored profile.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createIncidentActivities } from '../../activities/incidentActivities.js';
import { createMonitorActivities } from '../../activities/monitorActivities.js';
import { createValidationActivities } from '../../activities/validationActivities.js';
import { incidentMessage, MESSAGE_BLOCKS } from '../../adapters/slack/incidentMessage.js';
import { readCsvTable } from '../../adapters/files/csvTable.js';
import { createModelService, type ModelService } from '../../client/modelService.js';
import { findModel, modelRef, parseConfig, runbooksFor } from '../../domain/config.js';
import type { Evidence, IncidentState } from '../../domain/incident.js';
import { computeModelSignals, signalsAsEvidence } from '../../monitoring/computeModelSignals.js';
import { createVigilTestEnv, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';

const VIGIL = fileURLToPath(new URL('../../bin/vigil', import.meta.url));

/** A deterministic stream of numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const MERCHANTS = ['grocery', 'travel', 'electronics', 'fuel'];

describe('registering models Vigil did not build', () => {
  let env: VigilTestEnv;
  let models: ModelService;
  let dir: string;
  let configFile: string;

  const runCli = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(
        VIGIL,
        ['--config', configFile, ...args],
        { env: { ...process.env, DATABASE_URL: env.databaseUrl, VIGIL_STATE_DIR: env.stateDir }, encoding: 'utf8' },
        (error, out, err) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: out.trim(), err: err.trim() }),
      );
    });

  /** Writes a CSV file of `rows` (objects with the same keys). */
  const csv = (name: string, rows: Record<string, string | number>[]) => {
    const file = path.join(dir, name);
    const header = Object.keys(rows[0]!);
    fs.writeFileSync(file, [header.join(','), ...rows.map((r) => header.map((h) => r[h]).join(','))].join('\n') + '\n');
    return file;
  };

  /** Fraud rows: amount ~ 20–220 (shifted by `shift`), a merchant category, a score and its label. */
  const fraudRows = (n: number, seed: number, shift = 0) => {
    const r = rng(seed);
    return Array.from({ length: n }, () => {
      const amount = 20 + r() * 200 + shift;
      const score = Math.min(0.99, amount / 400 + r() * 0.2);
      const fraud = r() < score;
      return {
        amount: Number(amount.toFixed(2)),
        merchant_category: MERCHANTS[Math.floor(r() * MERCHANTS.length)]!,
        prediction: Number(score.toFixed(4)),
        label: fraud ? 'fraud' : 'legit',
      };
    });
  };

  before(async () => {
    env = await createVigilTestEnv({
      // Only the example gets the example's v1; the other models are registered by the test.
      bootstrapExample: (m) => m.example,
      config: (q) => {
        const base = testConfig({}, q);
        const common = { tier: 'medium', approvers: ['alice'], monitor: { window: 500, minLabelled: 50 } } as const;
        return parseConfig({
          ...base,
          models: [
            ...base.models,
            {
              ...common,
              id: 'fraud-gbm',
              displayName: 'Fraud (gradient boosting)',
              task: { type: 'binary', threshold: 0.3, positiveClass: 'fraud', negativeClass: 'legit' },
              inputSchema: { columns: { amount: { type: 'numeric', min: 0 }, merchant_category: { type: 'categorical' } } },
            },
            { ...common, id: 'churn-ranker', displayName: 'Churn', task: { type: 'multiclass', classes: ['stay', 'churn', 'downgrade'] } },
            { ...common, id: 'demand', displayName: 'Demand forecast', task: { type: 'regression' } },
          ],
        });
      },
    });
    models = createModelService({ config: env.config, registry: env.services.registry });
    dir = fs.mkdtempSync(path.join(env.stateDir, 'models-'));
    configFile = path.join(dir, 'vigil.config.json');
    fs.writeFileSync(configFile, JSON.stringify(env.config));
  });
  after(async () => env?.close());

  it('registers a binary model from the CLI: profile of numeric and categorical features, holdout metrics, alias', async () => {
    const reference = csv('fraud-reference.csv', fraudRows(2000, 1));
    const holdout = csv('fraud-holdout.csv', fraudRows(500, 2));
    const r = await runCli([
      'model',
      'register',
      'fraud-gbm',
      '--artifact',
      's3://models/fraud/v1',
      '--reference',
      reference,
      '--holdout',
      holdout,
      '--metric',
      'recall_at_1pct=0.41',
      '--alias',
      'champion',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.version, 1);
    assert.equal(out.created, true);
    assert.ok(out.metrics.auc > 0.5 && out.metrics.auc <= 1, `auc ${out.metrics.auc}`);
    for (const m of ['accuracy', 'logLoss', 'calibrationError']) assert.equal(typeof out.metrics[m], 'number', m);
    assert.equal(out.metrics.recall_at_1pct, 0.41, 'a metric given by hand is kept');

    const again = await runCli([
      'model',
      'register',
      'fraud-gbm',
      '--artifact',
      's3://models/fraud/v1',
      '--reference',
      reference,
      '--holdout',
      holdout,
      '--metric',
      'recall_at_1pct=0.41',
      '--json',
    ]);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual([JSON.parse(again.out).version, JSON.parse(again.out).created], [1, false], 'the same registration twice makes one version');

    const shown = JSON.parse((await runCli(['model', 'show', 'fraud-gbm', '--json'])).out);
    assert.equal(shown.task.type, 'binary');
    assert.deepEqual(shown.aliases, { champion: 1 });
    const profile = shown.versions[0].profile;
    assert.equal(profile.rows, 2000);
    assert.equal(profile.features.amount.type, 'numeric');
    assert.equal(profile.features.amount.edges.length, 9, 'decile edges');
    assert.equal(profile.features.merchant_category.type, 'categorical');
    assert.deepEqual(Object.keys(profile.features.merchant_category.shares).sort(), [...MERCHANTS].sort());
    assert.equal(profile.label.type, 'categorical');
    assert.ok(Math.abs(profile.label.shares.fraud + profile.label.shares.legit - 1) < 1e-9, 'label distribution');
    assert.equal(profile.prediction.type, 'numeric');
    assert.match((await runCli(['model', 'show', 'fraud-gbm'])).out, /merchant_category: categorical, 4 categories/);
    assert.match((await runCli(['model', 'list'])).out, /fraud-gbm +binary +1 +champion=v1/);
  });

  it('computes multiclass and regression metrics from their holdouts', async () => {
    const r = rng(3);
    const classes = ['stay', 'churn', 'downgrade'];
    const churnRows = Array.from({ length: 300 }, (_, i) => {
      const label = classes[i % 3]!;
      return { tenure: Math.round(r() * 60), plan: ['basic', 'pro'][i % 2]!, prediction: r() < 0.7 ? label : classes[(i + 1) % 3]!, label };
    });
    const churn = await models.register({
      modelId: 'churn-ranker',
      artifactUri: 'gs://models/churn/7',
      reference: readCsvTable(csv('churn-ref.csv', churnRows)),
      holdout: readCsvTable(csv('churn-holdout.csv', churnRows)),
      alias: 'champion',
    });
    assert.ok(churn.version.metrics.accuracy! > 0.6 && churn.version.metrics.accuracy! < 0.8, `accuracy ${churn.version.metrics.accuracy}`);
    assert.equal(typeof churn.version.metrics.macroF1, 'number');
    assert.equal(churn.version.profile?.prediction?.type, 'categorical');

    const demandRows = Array.from({ length: 200 }, () => {
      const temp = 10 + r() * 20;
      return { temperature: Number(temp.toFixed(2)), prediction: Number((temp * 3).toFixed(2)), label: Number((temp * 3 + 2).toFixed(2)) };
    });
    const demand = await models.register({
      modelId: 'demand',
      artifactUri: '/models/demand.onnx',
      reference: readCsvTable(csv('demand-ref.csv', demandRows)),
      holdout: readCsvTable(csv('demand-holdout.csv', demandRows)),
    });
    assert.ok(Math.abs(demand.version.metrics.mae! - 2) < 1e-6, `mae ${demand.version.metrics.mae}`);
    assert.ok(Math.abs(demand.version.metrics.rmse! - 2) < 1e-6, `rmse ${demand.version.metrics.rmse}`);
    assert.equal(demand.version.profile?.label?.type, 'numeric');
  });

  it('monitors multiclass and regression models by their own metrics, fed through the ingestion path', async () => {
    const r = rng(11);
    const classes = ['stay', 'churn', 'downgrade'] as const;
    const ts = new Date();
    // Churn: the model is now mostly wrong (it says "stay" for everyone).
    const churnRows = Array.from({ length: 200 }, (_, i) => ({
      requestId: `churn-${i}`,
      ts,
      modelVersion: 1,
      servedBy: 'model' as const,
      features: { tenure: Math.round(r() * 60), plan: ['basic', 'pro'][i % 2]! },
      score: null,
      predicted: null,
      prediction: { label: 'stay' },
    }));
    await env.services.predictions.ingestPredictions('churn-ranker', churnRows);
    await env.services.predictions.ingestLabels(
      'churn-ranker',
      churnRows.map((row, i) => ({ requestId: row.requestId, label: null, labelValue: classes[i % 3]!, labeledAt: ts })),
      { graceMs: 60_000 },
    );
    // Demand: the forecasts are now 5 units off instead of 2.
    const demandRows = Array.from({ length: 200 }, (_, i) => {
      const temperature = 10 + r() * 20;
      return {
        requestId: `demand-${i}`,
        ts,
        modelVersion: 1,
        servedBy: 'model' as const,
        features: { temperature },
        score: null,
        predicted: null,
        prediction: { value: temperature * 3 },
      };
    });
    await env.services.predictions.ingestPredictions('demand', demandRows);
    await env.services.predictions.ingestLabels(
      'demand',
      demandRows.map((row) => ({ requestId: row.requestId, label: null, labelValue: (row.prediction.value as number) + 5, labeledAt: ts })),
      { graceMs: 60_000 },
    );
    await models.register({
      modelId: 'demand',
      artifactUri: '/models/demand.onnx',
      reference: readCsvTable(path.join(dir, 'demand-ref.csv')),
      holdout: readCsvTable(path.join(dir, 'demand-holdout.csv')),
      alias: 'champion',
    });

    const runMonitor = createMonitorActivities(env.services).runMonitor;
    const churn = await runMonitor({ modelId: 'churn-ranker' });
    assert.ok(churn.breaches.includes('accuracy_drop'), JSON.stringify(churn));
    assert.match(churn.reasons.join('; '), /accuracy 0\.3\d\d is 0\.\d+ below the baseline/);
    assert.match(churn.reasons.join('; '), /macro-F1 0\.\d+ is 0\.\d+ below the holdout's 0\.\d+ \(≥ 0\.05\) on 200 labelled predictions/);

    const demand = await runMonitor({ modelId: 'demand' });
    assert.deepEqual(demand.breaches, ['accuracy_drop'], JSON.stringify(demand));
    assert.match(demand.reasons[0]!, /MAE 5 is 150\.0% above the holdout's 2 \(≥ 20%\) on 200 labelled predictions/);
    assert.equal(demand.incidents[0]?.signal, 'accuracy_drop', 'an incident opened for the loss');
  });

  it('speaks the task type from there on: classification, triage, the Slack message and validation by MAE/RMSE and macro-F1', async () => {
    const demand = findModel(env.config, 'demand')!;
    const model = modelRef(demand, 'alice');
    const signals = await computeModelSignals(env.services, demand);
    const evidence: Evidence[] = [{ source: 'monitor', signal: 'accuracy_drop', observedAt: new Date().toISOString(), values: signalsAsEvidence(signals) }];
    const incident = createIncidentActivities(env.services);
    const classification = await incident.classifyIncident({ model, signal: 'accuracy_drop', evidence });
    assert.equal(classification.failureMode, 'concept_drift');
    assert.match(
      classification.reasons[0]!,
      /^MAE rose from 2 to 5 \(\+150%\) and RMSE rose from 2 to 5 \(\+150%\) while inputs are stable/,
      classification.reasons[0],
    );
    assert.match(classification.reasons.at(-1)!, /^high impact \(MAE rise \+150%, RMSE rise \+150%, max PSI [\d.]+\) on a medium-tier model → SEV3$/);

    const policy = runbooksFor(demand).concept_drift;
    const triage = await incident.triageIncident({
      incidentId: 'incident-demand-test',
      model,
      classification,
      policy: { ...policy, evidence: ['performance', 'label_quality'] },
    });
    // Regression labels are values: counted, not read as 0/1 outcomes with a positive rate.
    const labels = triage.evidence.labelQuality as { rows: number; reasons: string[] };
    assert.equal(labels.rows, 200);
    assert.doesNotMatch(labels.reasons.join('; '), /all labels are|positive rate/, labels.reasons.join('; '));
    const performance = triage.evidence.performance as { task: string; metrics: Record<string, number>; findings: { metric: string; breached: boolean }[] };
    assert.equal(performance.task, 'regression');
    assert.deepEqual(
      performance.findings.map((f) => [f.metric, f.breached]),
      [
        ['mae', true],
        ['rmse', true],
      ],
    );
    assert.equal(performance.metrics.mae, 5);

    const state: IncidentState = {
      contractVersion: 1,
      id: 'incident-demand-test',
      model,
      signal: 'accuracy_drop',
      phase: 'awaiting_approval',
      status: 'open',
      openedAt: new Date().toISOString(),
      classification,
      recommendation: triage.recommendation,
      triageEvidence: triage.evidence,
      evidence,
      timeline: [],
      runbookVersion: 'concept_drift/v1',
    };
    const slack = incidentMessage(state, { temporalUiUrl: 'http://localhost:8233', namespace: 'default' });
    const shown = slack.blocks.find((b) => b.block_id === MESSAGE_BLOCKS.evidence);
    const text = shown?.type === 'section' ? (shown.text?.text ?? '') : '';
    assert.match(text, /\*Performance \(regression\):\* MAE 5 vs holdout 2 \(\+150%\) · RMSE 5 vs holdout 2 \(\+150%\)/, text);
    assert.match(text, /MAE rose from 2 to 5/, text);

    // Validation after a remediation judges MAE and RMSE: still broken, too few labels to tell, recovered.
    const validation = createValidationActivities(env.services);
    const check = (since?: Date) =>
      validation.checkRecovery({
        incidentId: 'incident-demand-test',
        modelId: 'demand',
        failureMode: 'concept_drift',
        action: 'retrain',
        ...(since ? { since: since.toISOString() } : {}),
        policy: { ...policy, validation: { ...policy.validation, minSamples: 50 } },
      });
    const broken = await check();
    assert.equal(broken.recovered, false, JSON.stringify(broken));
    assert.match(broken.reasons.join('; '), /MAE 5 is 150\.0% above the holdout's 2 \(≥ 20%\) on 200 labelled predictions/);
    assert.equal(broken.metrics.mae, 5);
    assert.equal(broken.metrics.maeBaseline, 2);
    assert.ok(!('accuracy' in broken.metrics), 'no accuracy for a regression model');

    const since = new Date();
    const fixed = Array.from({ length: 200 }, (_, i) => {
      const temperature = 10 + (20 * (i + 0.5)) / 200;
      return {
        requestId: `demand-fixed-${i}`,
        ts: since,
        modelVersion: 1,
        servedBy: 'model' as const,
        features: { temperature },
        score: null,
        predicted: null,
        prediction: { value: temperature * 3 },
      };
    });
    await env.services.predictions.ingestPredictions('demand', fixed);
    const unlabelled = await check(since);
    assert.equal(unlabelled.recovered, null, JSON.stringify(unlabelled));
    assert.match(unlabelled.reasons.at(-1)!, /^only 0 labelled predictions \(need 50\) to judge MAE and RMSE$/);

    await env.services.predictions.ingestLabels(
      'demand',
      fixed.map((row) => ({ requestId: row.requestId, label: null, labelValue: row.prediction.value + 2, labeledAt: new Date() })),
      { graceMs: 60_000 },
    );
    const recovered = await check(since);
    assert.equal(recovered.recovered, true, JSON.stringify(recovered));
    assert.match(recovered.reasons.join('; '), /MAE 2 is 0\.0% above the holdout's 2 \(< 20%\) on 200 labelled predictions/);

    // A multiclass model is judged by accuracy and macro-F1 against its holdout.
    const churn = await validation.checkRecovery({
      incidentId: 'incident-churn-test',
      modelId: 'churn-ranker',
      failureMode: 'concept_drift',
      action: 'retrain',
      policy: { ...policy, validation: { ...policy.validation, minSamples: 50 } },
    });
    assert.equal(churn.recovered, false, JSON.stringify(churn));
    assert.match(churn.reasons.join('; '), /macro-F1 0\.\d+ is 0\.\d+ below the holdout's 0\.\d+ \(≥ 0\.05\) on 200 labelled predictions/);
    assert.equal(typeof churn.metrics.macroF1, 'number');
  });

  it('refuses bad input with the file, column or item named, and registers nothing', async () => {
    const before = (await env.services.registry.listVersions('fraud-gbm')).length;
    const noCategory = csv(
      'no-category.csv',
      fraudRows(50, 4).map(({ merchant_category: _m, ...rest }) => rest),
    );
    const missing = await runCli(['model', 'register', 'fraud-gbm', '--artifact', 's3://x', '--reference', noCategory]);
    assert.equal(missing.code, 2, missing.err);
    assert.match(missing.err, /declared input column\(s\) missing: merchant_category/);

    const badMetric = await runCli(['model', 'register', 'fraud-gbm', '--artifact', 's3://x', '--reference', noCategory, '--metric', 'auc=high']);
    assert.equal(badMetric.code, 2);
    assert.match(badMetric.err, /--metric: "auc=high" must be name=number/);

    const badLabels = csv(
      'bad-labels.csv',
      fraudRows(20, 5).map((row, i) => ({ ...row, label: i === 3 ? 'maybe' : row.label })),
    );
    const ref = csv('ok-ref.csv', fraudRows(50, 6));
    const wrongLabel = await runCli(['model', 'register', 'fraud-gbm', '--artifact', 's3://x', '--reference', ref, '--holdout', badLabels]);
    assert.equal(wrongLabel.code, 2);
    assert.match(wrongLabel.err, /row 4: label "maybe" is neither the positive class "fraud" nor the negative class "legit"/);

    const unknown = await runCli(['model', 'register', 'no-such-model', '--artifact', 's3://x', '--reference', ref]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown model "no-such-model"/);
    assert.equal((await env.services.registry.listVersions('fraud-gbm')).length, before, 'nothing registered');
  });

  it('monitors the registered model against the profile Vigil stored, not an artifact it cannot read', async () => {
    const insert = async (rows: ReturnType<typeof fraudRows>, from: number) => {
      for (const [i, row] of rows.entries()) {
        await env.services.pool.query(
          `INSERT INTO predictions (model_id, model_version, served_by, ts, features, score, predicted, request_id)
           VALUES ('fraud-gbm', 1, 'model', now(), $1, $2, $3, $4)`,
          [JSON.stringify({ amount: row.amount, merchant_category: row.merchant_category }), row.prediction, row.prediction >= 0.3 ? 1 : 0, `req-${from + i}`],
        );
      }
    };
    const runMonitor = createMonitorActivities(env.services).runMonitor;
    await insert(fraudRows(300, 7), 0);
    const calm = await runMonitor({ modelId: 'fraud-gbm' });
    assert.deepEqual(calm.breaches, [], JSON.stringify(calm));

    await insert(fraudRows(500, 8, 150), 1000);
    const drifted = await runMonitor({ modelId: 'fraud-gbm' });
    assert.ok(drifted.breaches.includes('data_drift'), JSON.stringify(drifted));
    assert.match(drifted.reasons.join('; '), /max PSI \d\.\d+ ≥ 0\.2 on amount/);

    // Amounts as in training, but every purchase in one merchant category: drift on a categorical feature.
    await insert(
      fraudRows(500, 9).map((row) => ({ ...row, merchant_category: 'travel' })),
      2000,
    );
    const categorical = await runMonitor({ modelId: 'fraud-gbm' });
    assert.ok(categorical.breaches.includes('data_drift'), JSON.stringify(categorical));
    assert.match(categorical.reasons.join('; '), /≥ 0\.2 on merchant_category \(/);
  });
});
