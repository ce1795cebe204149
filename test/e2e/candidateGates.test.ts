/**
 * The evaluate step's gates from the runbook, on the example's holdout against the registered
 * champion: AUC, calibration and protected slices (judged only with enough rows in the slice).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTrainingActivities } from '../../activities/trainingActivities.js';
import { generateApplicants, writeDatasetCsv } from '../../examples/credit-risk/dataset.js';
import { loadArtifact, saveArtifact } from '../../examples/credit-risk/logisticRegression.js';
import { parseConfig, runbooksFor } from '../../domain/config.js';
import { createVigilTestEnv, TEST_MODEL, type VigilTestEnv } from '../support/vigilTestEnv.js';

describe('candidate gates', () => {
  let env: VigilTestEnv;
  let holdoutCsv: string;
  let sameAsChampion: string;
  let harshOnSeniors: string;
  const evaluate = (
    artifactPath: string,
    gates: Partial<{ maxAucDrop: number; maxCalibrationIncrease: number; maxSliceDrop: number }> & { protectedSlices?: unknown[] },
  ) => {
    const model = parseConfig({ models: [{ id: 'm', displayName: 'm', tier: 'low', approvers: ['a'], runbooks: { data_drift: { retrain: gates } } }] })
      .models[0];
    const retrain = runbooksFor(model!).data_drift.retrain;
    return createTrainingActivities(env.services).evaluateCandidate({ modelId: TEST_MODEL, artifactPath, holdoutCsv, ...retrain });
  };

  before(async () => {
    env = await createVigilTestEnv();
    holdoutCsv = path.join(env.stateDir, 'gates-holdout.csv');
    await writeDatasetCsv(holdoutCsv, generateApplicants(3000, { seed: 11, drift: 0 }));
    const champion = await loadArtifact((await env.services.registry.getAlias(TEST_MODEL, 'champion'))!.artifactUri);
    sameAsChampion = path.join(env.stateDir, 'same', 'model.json');
    await saveArtifact(sameAsChampion, champion);
    // A candidate that leans hard on age: applicants of 60 and over are all scored as defaulting.
    const age = champion.features.indexOf('age');
    harshOnSeniors = path.join(env.stateDir, 'harsh', 'model.json');
    await saveArtifact(harshOnSeniors, { ...champion, weights: champion.weights.map((w, j) => (j === age ? w + 3 : w)) });
  });
  after(async () => env?.close());

  it('pass a candidate no worse than the champion, slices included', async () => {
    const r = await evaluate(sameAsChampion, { protectedSlices: [{ name: 'seniors', feature: 'age', min: 60 }] });
    assert.equal(r.passed, true, JSON.stringify(r.gates));
    assert.deepEqual(
      r.gates.map((g) => g.name),
      ['auc', 'calibration_error', 'slice:seniors'],
      'every gate reported',
    );
    assert.equal(r.championVersion, 1, 'against the champion');
  });

  it('stop a candidate that is worse on a protected slice, naming the slice and its figures', async () => {
    const r = await evaluate(harshOnSeniors, {
      maxAucDrop: 1,
      maxCalibrationIncrease: 1,
      protectedSlices: [
        { name: 'seniors', feature: 'age', min: 60 },
        { name: 'under 30', feature: 'age', max: 29 },
      ],
    });
    assert.equal(r.passed, false, 'the slice gate fails the candidate');
    const seniors = r.gates.find((g) => g.name === 'slice:seniors')!;
    assert.equal(seniors.passed, false, JSON.stringify(seniors));
    assert.ok(seniors.candidate < seniors.champion - 0.05, `slice accuracy ${seniors.candidate} vs ${seniors.champion}`);
    assert.match(seniors.rule, /^accuracy ≥ champion − 0\.05 on \d+ rows$/, 'the rule and the slice size');
    assert.equal(r.gates.find((g) => g.name === 'auc')?.passed, true, 'the overall AUC gate alone would have let it through');
  });

  it('report a slice too small to judge without failing on it', async () => {
    const r = await evaluate(harshOnSeniors, {
      maxAucDrop: 1,
      maxCalibrationIncrease: 1,
      protectedSlices: [{ name: 'nine delinquencies', feature: 'recent_delinquencies', equals: 9, minRows: 30 }],
    });
    const gate = r.gates.find((g) => g.name === 'slice:nine delinquencies')!;
    assert.equal(gate.judged, false, 'not judged');
    assert.equal(gate.passed, true, 'a gate that cannot judge does not fail');
    assert.match(gate.rule, /only \d+ holdout rows in the slice \(need 30\): not judged/);
  });

  it('honour the runbook margins: a wider slice margin lets the same candidate through', async () => {
    const r = await evaluate(harshOnSeniors, {
      maxAucDrop: 1,
      maxCalibrationIncrease: 1,
      maxSliceDrop: 1,
      protectedSlices: [{ name: 'seniors', feature: 'age', min: 60 }],
    });
    assert.equal(r.passed, true, JSON.stringify(r.gates));
  });

  it('reject a protected slice with no bound, naming the field', () => {
    assert.throws(
      () =>
        parseConfig({
          models: [
            {
              id: 'm',
              displayName: 'm',
              tier: 'low',
              approvers: ['a'],
              runbooks: { data_drift: { retrain: { protectedSlices: [{ name: 'x', feature: 'age' }] } } },
            },
          ],
        }),
      /protectedSlices.*a protected slice needs min, max or equals/s,
    );
  });
});
