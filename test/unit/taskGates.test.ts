/** Candidate gates from predictions, by task type: the runbook's margins per metric, slices, and bad predictions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScoredPrediction } from '../../domain/ingest.js';
import { TaskConfig } from '../../domain/task.js';
import { taskCandidateGates, type GateRow } from '../../domain/taskGates.js';

const regression = TaskConfig.parse({ type: 'regression' });
const multiclass = TaskConfig.parse({ type: 'multiclass', classes: ['cat', 'dog', 'bird'] });
const binary = TaskConfig.parse({ type: 'binary', threshold: 0.5, positiveClass: 'fraud', negativeClass: 'legit' });
const margins = { maxAucDrop: 0, maxSliceDrop: 0.05 };

const gateOf = (r: ReturnType<typeof taskCandidateGates>, name: string) => {
  const g = r.gates.find((x) => x.name === name);
  assert.ok(g, `no gate ${name} in ${r.gates.map((x) => x.name).join(', ')}`);
  return g;
};

describe('task candidate gates: regression', () => {
  const holdout: GateRow[] = Array.from({ length: 40 }, (_, i) => ({ features: { region: i < 20 ? 'north' : 'south', x: i }, label: i }));
  const values = (err: (i: number) => number): ScoredPrediction[] => holdout.map((_, i) => ({ value: i + err(i) }));

  it('passes a candidate whose MAE and RMSE are within 5% of the champion’s, fails one beyond', () => {
    const champion = values(() => 2);
    const ok = taskCandidateGates(
      regression,
      holdout,
      values(() => 2.08),
      champion,
      margins,
    );
    assert.equal(ok.passed, true, JSON.stringify(ok.gates));
    assert.deepEqual(
      ok.gates.map((g) => g.name),
      ['mae', 'rmse'],
    );
    assert.equal(gateOf(ok, 'mae').rule, 'candidate ≤ champion × (1 + 0.05)');
    const worse = taskCandidateGates(
      regression,
      holdout,
      values(() => 2.2),
      champion,
      margins,
    );
    assert.equal(worse.passed, false);
    assert.equal(gateOf(worse, 'mae').passed, false);
    assert.ok(Math.abs(gateOf(worse, 'mae').candidate - 2.2) < 1e-9 && gateOf(worse, 'mae').champion === 2);
    const looser = taskCandidateGates(
      regression,
      holdout,
      values(() => 2.2),
      champion,
      { ...margins, maxMaeIncrease: 0.15, maxRmseIncrease: 0.15 },
    );
    assert.equal(looser.passed, true, 'the runbook’s margin applies');
  });

  it('judges a protected slice by MAE: worse on the south half only fails it', () => {
    const champion = values(() => 1);
    const candidate = values((i) => (i < 20 ? 0.5 : 1.5)); // same MAE overall, worse on south
    const r = taskCandidateGates(regression, holdout, candidate, champion, {
      ...margins,
      protectedSlices: [{ name: 'south', feature: 'region', equals: 'south', minRows: 10 }],
    });
    assert.equal(gateOf(r, 'mae').passed, true);
    assert.equal(gateOf(r, 'slice:south').passed, false);
    assert.match(gateOf(r, 'slice:south').rule, /on 20 rows/);
  });

  it('rejects predictions of the wrong shape or count with the reason, never throws', () => {
    const shape = taskCandidateGates(
      regression,
      holdout,
      holdout.map(() => ({ score: 0.5 })),
      undefined,
      margins,
    );
    assert.equal(shape.passed, false);
    assert.deepEqual(
      shape.gates.map((g) => [g.name, g.passed]),
      [['scoring', false]],
    );
    assert.match(shape.gates[0]!.rule, /row 1: the prediction has no value/);
    const short = taskCandidateGates(
      regression,
      holdout,
      values(() => 0).slice(1),
      values(() => 0),
      margins,
    );
    assert.match(short.gates[0]!.rule, /candidate: 39 predictions for 40 holdout rows/);
  });

  it('without a champion reports the candidate’s figures and passes', () => {
    const r = taskCandidateGates(
      regression,
      holdout,
      values(() => 3),
      undefined,
      margins,
    );
    assert.equal(r.passed, true);
    assert.equal(gateOf(r, 'mae').rule, 'no champion to compare with');
  });
});

describe('task candidate gates: multiclass and binary', () => {
  const classes = ['cat', 'dog', 'bird'];
  const holdout: GateRow[] = Array.from({ length: 30 }, (_, i) => ({ features: {}, label: classes[i % 3]! }));
  const predict = (wrongEvery: number): ScoredPrediction[] => holdout.map((r, i) => ({ label: i % wrongEvery === 0 ? 'cat' : String(r.label) }));

  it('gates on accuracy and macro-F1 with absolute margins', () => {
    const r = taskCandidateGates(multiclass, holdout, predict(2), predict(5), margins);
    assert.equal(r.passed, false);
    assert.deepEqual(
      r.gates.map((g) => [g.name, g.passed]),
      [
        ['accuracy', false],
        ['macro_f1', false],
      ],
    );
    assert.equal(taskCandidateGates(multiclass, holdout, predict(5), predict(5), margins).passed, true);
  });

  it('binary: AUC, calibration and accuracy at the threshold from scores, labels by class name', () => {
    const rows: GateRow[] = Array.from({ length: 100 }, (_, i) => ({ features: {}, label: i % 2 ? 'fraud' : 'legit' }));
    const good: ScoredPrediction[] = rows.map((r, i) => ({ score: r.label === 'fraud' ? 0.6 + (i % 7) / 20 : 0.4 - (i % 7) / 20 }));
    const flipped: ScoredPrediction[] = good.map((p) => ({ score: 1 - (p as { score: number }).score }));
    const r = taskCandidateGates(binary, rows, flipped, good, margins);
    assert.deepEqual(
      r.gates.map((g) => [g.name, g.passed]),
      [
        ['auc', false],
        ['calibration_error', false],
        ['accuracy', false],
      ],
    );
    assert.equal(gateOf(r, 'accuracy').champion, 1);
    assert.equal(taskCandidateGates(binary, rows, good, good, margins).passed, true);
  });
});
