/** A rollback is recommended only when the target scores better than the champion on recent labelled traffic. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeRollback } from '../../domain/rollbackJudgement.js';
import { RunbookPolicy } from '../../domain/runbook.js';
import { TaskConfig } from '../../domain/task.js';
import { recommendAction } from '../../domain/triage.js';

const binary = TaskConfig.parse({ type: 'binary', threshold: 0.5 });
const regression = TaskConfig.parse({ type: 'regression' });
const labels = Array.from({ length: 200 }, (_, i) => i % 2);
/** Scores right on the first `right` rows, wrong after. */
const scores = (right: number) => labels.map((l, i) => ({ score: (i < right ? l : 1 - l) ? 0.9 : 0.1 }));
const policy = RunbookPolicy.parse({
  version: 't/v1',
  evidence: ['performance'],
  actions: ['rollback', 'retrain'],
  approval: { timeout: '10m' },
  safeDefault: 'monitor',
});
const DEPLOY = { fromVersion: 1, toVersion: 2, at: '2025-03-01T09:00:00.000Z' };

describe('judgeRollback', () => {
  it('prefers the target only when it beats the champion by the margin; both figures in the sentence', () => {
    const j = judgeRollback({
      task: binary,
      labels,
      champion: { version: 2, predictions: scores(120) },
      target: { version: 1, predictions: scores(180) },
      minRows: 100,
      minImprovement: 0.02,
    });
    assert.deepEqual([j.enough, j.better, j.champion, j.target], [true, true, 0.6, 0.9]);
    assert.equal(j.summary, "on the last 200 labelled predictions v1 scores accuracy 0.900 against v2's 0.600");
    const r = recommendAction(policy, { recentDeploy: DEPLOY, rollbackTarget: { version: 1, reason: 'healthy', judgement: j }, labelledRows: 200 });
    assert.equal(r.action, 'rollback');
    assert.match(r.reasons[0]!, /roll back to v1: on the last 200 labelled predictions v1 scores accuracy 0\.900 against v2's 0\.600/);

    const close = judgeRollback({
      task: binary,
      labels,
      champion: { version: 2, predictions: scores(180) },
      target: { version: 1, predictions: scores(182) },
      minRows: 100,
      minImprovement: 0.02,
    });
    assert.equal(close.better, false, '0.01 better is within the margin');
    const worse = recommendAction(policy, { recentDeploy: DEPLOY, rollbackTarget: { version: 1, reason: 'healthy', judgement: close }, labelledRows: 200 });
    assert.equal(worse.action, 'retrain');
    assert.match(worse.considered[0]!.reason, /rolling back to v1 would not help \(it must do better by 0\.02\)/);
  });

  it('without enough labelled rows says so and does not prefer rollback', () => {
    const j = judgeRollback({
      task: binary,
      labels: labels.slice(0, 40),
      champion: { version: 2, predictions: [] },
      target: { version: 1, predictions: [] },
      minRows: 100,
      minImprovement: 0.02,
    });
    assert.deepEqual([j.enough, j.better], [false, false]);
    const r = recommendAction(policy, { recentDeploy: DEPLOY, rollbackTarget: { version: 1, reason: 'healthy', judgement: j }, labelledRows: 40 });
    assert.notEqual(r.action, 'rollback');
    assert.match(r.considered[0]!.reason, /only 40 labelled recent predictions \(need 100\) to compare v1 with v2: not enough to say a rollback would help/);
  });

  it('regression: MAE, lower by a relative margin', () => {
    const truth = Array.from({ length: 120 }, (_, i) => i);
    const off = (d: number) => truth.map((v) => ({ value: v + d }));
    const j = judgeRollback({
      task: regression,
      labels: truth,
      champion: { version: 5, predictions: off(4) },
      target: { version: 4, predictions: off(3) },
      minRows: 100,
      minImprovement: 0.02,
    });
    assert.deepEqual([j.metric, j.better, j.target, j.champion], ['mae', true, 3, 4]);
    const slight = judgeRollback({
      task: regression,
      labels: truth,
      champion: { version: 5, predictions: off(4) },
      target: { version: 4, predictions: off(3.95) },
      minRows: 100,
      minImprovement: 0.02,
    });
    assert.equal(slight.better, false, '1.25% lower is within the 2% margin');
  });
});
