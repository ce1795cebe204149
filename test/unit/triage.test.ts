import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RemediationAction } from '../../domain/incident.js';
import { RunbookPolicy } from '../../domain/runbook.js';
import { lastDeploy, recommendAction, type TriageFacts } from '../../domain/triage.js';
import { DEFAULT_RUNBOOKS } from '../../runbooks/defaultRunbooks.js';

function policy(actions: RemediationAction[], safeDefault: RemediationAction = 'monitor', minLabelledRows = 200): RunbookPolicy {
  return RunbookPolicy.parse({
    version: 'test/v1',
    evidence: ['performance'],
    actions,
    approval: { timeout: '10m' },
    safeDefault,
    retrain: { minLabelledRows },
  });
}

const DEPLOY = { fromVersion: 3, toVersion: 4, at: '2025-03-01T09:00:00.000Z' };
const TARGET = { version: 3, reason: 'champion before the deploy' };
const GOOD_LABELS = { ok: true, reasons: ['500 rows, positive rate 0.210'] };
const ALL_FACTS: TriageFacts = { recentDeploy: DEPLOY, rollbackTarget: TARGET, labelledRows: 500, labelQuality: GOOD_LABELS, servingMode: 'model' };

const byAction = (considered: { action: RemediationAction; applicable: boolean; reason: string }[], action: RemediationAction) => {
  const c = considered.find((x) => x.action === action);
  assert.ok(c, `${action} was not considered`);
  return c;
};

describe('recommendAction: runbook order', () => {
  it('recommends the first candidate that applies, in runbook order', () => {
    const r = recommendAction(policy(['rollback', 'retrain', 'fallback']), ALL_FACTS);
    assert.equal(r.action, 'rollback');
    const r2 = recommendAction(policy(['retrain', 'rollback', 'fallback']), ALL_FACTS);
    assert.equal(r2.action, 'retrain');
    const r3 = recommendAction(policy(['fallback', 'rollback', 'retrain']), ALL_FACTS);
    assert.equal(r3.action, 'fallback');
  });

  it('skips inapplicable candidates and takes the next one', () => {
    const r = recommendAction(policy(['rollback', 'retrain', 'fallback']), { ...ALL_FACTS, recentDeploy: undefined });
    assert.equal(r.action, 'retrain');
    assert.deepEqual(
      r.considered.map((c) => [c.action, c.applicable]),
      [
        ['rollback', false],
        ['retrain', true],
        ['fallback', true],
      ],
    );
  });

  it('the shipped data_drift runbook: no deploy, too few labels → fallback', () => {
    const r = recommendAction(RunbookPolicy.parse(DEFAULT_RUNBOOKS.data_drift), { labelledRows: 50, servingMode: 'model' });
    assert.equal(r.action, 'fallback');
  });

  it('the reason for the recommendation is the chosen candidate’s reason', () => {
    const r = recommendAction(policy(['escalate_upstream', 'monitor']), {});
    assert.equal(r.action, 'escalate_upstream');
    assert.deepEqual(r.reasons, [byAction(r.considered, 'escalate_upstream').reason]);
    assert.match(r.reasons[0]!, /upstream team/);
  });
});

describe('recommendAction: rollback', () => {
  it('needs a recent deploy', () => {
    const r = recommendAction(policy(['rollback']), { rollbackTarget: TARGET });
    assert.equal(byAction(r.considered, 'rollback').applicable, false);
    assert.match(byAction(r.considered, 'rollback').reason, /no champion change in the recent-deploy window/);
    assert.equal(r.action, 'monitor');
  });

  it('needs a rollback target', () => {
    const r = recommendAction(policy(['rollback']), { recentDeploy: DEPLOY });
    const c = byAction(r.considered, 'rollback');
    assert.equal(c.applicable, false);
    assert.match(c.reason, /v4 was deployed recently but no earlier healthy version exists/);
    assert.equal(r.action, 'monitor');
  });

  it('with both, applies and names the versions and when', () => {
    const r = recommendAction(policy(['rollback']), { recentDeploy: DEPLOY, rollbackTarget: TARGET });
    assert.equal(r.action, 'rollback');
    assert.equal(r.reasons[0], 'champion changed to v4 at 2025-03-01T09:00:00.000Z; roll back to v3 (champion before the deploy)');
  });
});

describe('recommendAction: retrain', () => {
  it('needs at least minLabelledRows', () => {
    const short = recommendAction(policy(['retrain'], 'monitor', 300), { labelledRows: 299, labelQuality: GOOD_LABELS });
    assert.equal(short.action, 'monitor');
    assert.equal(byAction(short.considered, 'retrain').reason, 'only 299 labelled rows (need 300)');
    const enough = recommendAction(policy(['retrain'], 'monitor', 300), { labelledRows: 300, labelQuality: GOOD_LABELS });
    assert.equal(enough.action, 'retrain');
    assert.match(enough.reasons[0]!, /300 labelled rows of good quality \(≥ 300\)/);
  });

  it('counts unknown labelled rows as zero', () => {
    const r = recommendAction(policy(['retrain']), {});
    assert.equal(byAction(r.considered, 'retrain').reason, 'only 0 labelled rows (need 200)');
  });

  it('needs label quality that is OK, and says why not', () => {
    const r = recommendAction(policy(['retrain']), {
      labelledRows: 1000,
      labelQuality: { ok: false, reasons: ['all labels are 1', 'positive rate 1.000 is 0.800 away from the training baseline 0.200'] },
    });
    assert.equal(r.action, 'monitor');
    assert.equal(
      byAction(r.considered, 'retrain').reason,
      'labels unfit: all labels are 1; positive rate 1.000 is 0.800 away from the training baseline 0.200',
    );
  });

  it('applies when label quality was not assessed but rows suffice', () => {
    assert.equal(recommendAction(policy(['retrain']), { labelledRows: 250 }).action, 'retrain');
  });
});

describe('recommendAction: fallback', () => {
  it('is not applicable when already serving the fallback', () => {
    const r = recommendAction(policy(['fallback', 'escalate_upstream']), { servingMode: 'fallback' });
    assert.equal(byAction(r.considered, 'fallback').applicable, false);
    assert.equal(byAction(r.considered, 'fallback').reason, 'already serving the fallback');
    assert.equal(r.action, 'escalate_upstream');
  });

  it('applies when serving the model or when the serving mode is unknown', () => {
    assert.equal(recommendAction(policy(['fallback']), { servingMode: 'model' }).action, 'fallback');
    assert.equal(recommendAction(policy(['fallback']), {}).action, 'fallback');
  });
});

describe('recommendAction: safe default', () => {
  it('falls back to the runbook safeDefault when nothing applies', () => {
    const r = recommendAction(policy(['rollback', 'retrain', 'fallback'], 'escalate_upstream'), { labelledRows: 10, servingMode: 'fallback' });
    assert.equal(r.action, 'escalate_upstream');
    assert.deepEqual(r.reasons, ['no candidate applies; runbook safe default escalate_upstream']);
    assert.deepEqual(
      r.considered.map((c) => c.applicable),
      [false, false, false],
    );
  });

  it('uses the safe default even when it is not among the candidates', () => {
    const r = recommendAction(policy(['rollback'], 'fallback'), {});
    assert.equal(r.action, 'fallback');
    assert.deepEqual(
      r.considered.map((c) => c.action),
      ['rollback'],
    );
  });
});

describe('recommendAction: considered explains every candidate', () => {
  it('lists each candidate in runbook order with a non-empty reason, including those after the chosen one', () => {
    const actions: RemediationAction[] = ['rollback', 'retrain', 'fallback', 'escalate_upstream', 'monitor'];
    const r = recommendAction(policy(actions), { labelledRows: 5, servingMode: 'model' });
    assert.equal(r.action, 'fallback');
    assert.deepEqual(
      r.considered.map((c) => c.action),
      actions,
    );
    assert.deepEqual(
      r.considered.map((c) => c.applicable),
      [false, false, true, true, true],
    );
    assert.deepEqual(
      r.considered.map((c) => c.reason),
      [
        'no champion change in the recent-deploy window',
        'only 5 labelled rows (need 200)',
        'degrade to the rules-based fallback until the model is trusted again',
        'page the owning upstream team; no model action',
        'keep watching; no change',
      ],
    );
  });
});

describe('lastDeploy', () => {
  const at = '2026-12-01T00:00:00Z';
  it('is the latest move to a newer version; a rollback or undo after it is not a deploy', () => {
    const deployed = { fromVersion: 2, toVersion: 3, at };
    const rolledBack = { fromVersion: 3, toVersion: 2, at };
    assert.equal(lastDeploy([deployed, rolledBack]), deployed, 'the rollback is not the suspect: v3 is');
    assert.equal(lastDeploy([rolledBack]), undefined, 'only a rollback in the window: no recent deploy');
  });
  it('a first champion (no previous version) counts as a deploy', () => {
    const first = { toVersion: 1, at };
    assert.equal(lastDeploy([first]), first);
  });
});
