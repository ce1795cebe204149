/**
 * The incident lifecycle end to end on a real Temporal dev server and a real PostgreSQL:
 * approve → retrain, approve → rollback, reject, unauthorised approver, approval timeout → safe default.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DecisionRefusedError } from '../../domain/errors.js';
import { createVigilTestEnv, TEST_MODEL, testConfig, type VigilTestEnv } from '../support/vigilTestEnv.js';
import { auditKinds } from '../support/auditKinds.js';
import { waitFor } from '../support/waitFor.js';
import { saveHistoryIfRecording } from '../support/histories.js';
import { openDriftIncident } from '../support/driftIncident.js';

async function phaseOf(env: VigilTestEnv, id: string) {
  return env.services.incidents.show(id);
}

describe('incident lifecycle', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv();
    await env.startWorker();
  });
  after(async () => env?.close());

  it('approve → retrain: trains once, promotes the candidate, validates and writes the review', async () => {
    const id = await openDriftIncident(env);
    assert.match(id, /^incident-credit-risk-data-drift-\d{14}$/);
    const awaiting = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(awaiting.failureMode, 'data_drift');
    assert.equal(awaiting.recommendedAction, 'retrain');
    // The report gave only a PSI; the model measured before classifying also lost accuracy on the
    // drifted traffic: high impact on a high-tier model.
    assert.equal(awaiting.severity, 'SEV2', JSON.stringify(awaiting.state.classification));
    assert.match(awaiting.state.classification!.reasons.join(' '), /inputs drifted \(max PSI 0\.41 on [^)]*\).*high impact \(accuracy drop 0\.\d+/);
    const measured = awaiting.state.evidence.find((e) => e.values.samples !== undefined);
    assert.ok(measured && measured.values.psi_max === undefined, 'the measurement adds what the report left out, and keeps the reported PSI');

    // A repeated signal attaches as evidence instead of opening a second incident.
    const again = await env.services.incidents.open({ modelId: TEST_MODEL, signal: 'data_drift', source: 'test', evidence: { psi_max: 0.5 } });
    assert.deepEqual(again, { id, created: false });

    const result = await env.services.incidents.decide(id, { verdict: 'approve', by: 'alice', reason: 'drift confirmed' });
    assert.equal(result.outcome, 'approved');

    const validating = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'validating' || s.status === 'closed',
      'validating',
      120_000,
    );
    assert.equal(validating.phase, 'validating', `timeline: ${JSON.stringify(validating.state.timeline.slice(-4))}`);
    await env.simulator.writeBatch({ n: 300, drift: 1 });
    const closed = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
      60_000,
    );
    assert.equal(closed.outcome, 'resolved');
    assert.equal(closed.state.evidence.length, 3, 'the report, the measurement before classifying, the repeated signal');

    const champion = await env.services.registry.getAlias(TEST_MODEL, 'champion');
    assert.equal(champion?.version, 2);
    assert.equal(champion?.source, `retrain:${id}`);
    const jobs = fs.readdirSync(path.join(env.stateDir, 'jobs'));
    assert.deepEqual(jobs, [`${id}-train`]);

    const review = await env.services.incidents.review(id);
    assert.match(review, /# Post-incident review/);
    assert.match(review, /alice/);
    assert.match(review, /drift confirmed/);
    assert.match(review, /Time to detect/);
    assert.ok(fs.existsSync(path.join(env.stateDir, 'reviews', `${id}.md`)));

    // Every phase change is audited exactly once.
    const audit = await env.services.pool.query(`SELECT kind, count(*)::int AS n FROM audit_events WHERE incident_id = $1 GROUP BY kind`, [id]);
    const counts = Object.fromEntries(audit.rows.map((r) => [r.kind, r.n]));
    for (const phase of ['detected', 'classified', 'triaged', 'awaiting_approval', 'remediating', 'validating', 'reviewing', 'closed']) {
      assert.equal(counts[`phase:${phase}`], 1, `phase:${phase} audited once`);
    }
    assert.equal(counts['vote:approve'], 1);
    await saveHistoryIfRecording(env, id, 'approve-retrain');
    await saveHistoryIfRecording(env, `${id}-retrain`, 'retrain-child');
  });

  /** The baseline artifact with its weights negated: it ranks backwards (a label-encoding bug), its holdout metrics copied. */
  const flippedArtifact = (name: string, from: string) => {
    const artifact = JSON.parse(fs.readFileSync(from, 'utf8'));
    artifact.weights = artifact.weights.map((w: number) => -w);
    artifact.bias = -artifact.bias;
    const file = path.join(env.stateDir, 'deploys', name, 'model.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(artifact));
    return file;
  };

  it('approve → rollback: restores the last good version exactly once and marks the bad one', async () => {
    // A known-good version (the baseline artifact) is serving, then a bad one is deployed over it.
    const baseline = await env.services.registry.getVersion(TEST_MODEL, 1);
    const bad = flippedArtifact('bad', baseline!.artifactUri);
    const deploy = async (name: string, status: 'healthy' | 'registered', artifactUri = baseline!.artifactUri) => {
      const v = await env.services.registry.registerVersion({
        modelId: TEST_MODEL,
        artifactUri,
        metrics: baseline!.metrics,
        source: 'deploy',
        status,
        idempotencyKey: `test:deploy-${name}`,
      });
      await env.services.registry.setAlias({
        modelId: TEST_MODEL,
        alias: 'champion',
        version: v.version,
        reason: 'deploy',
        idempotencyKey: `test:deploy-${name}:champion`,
      });
      return v;
    };
    const good = await deploy('good', 'healthy');
    const deployed = await deploy('bad', 'registered', bad);
    assert.equal((await env.services.registry.lastGoodVersionBefore(TEST_MODEL, deployed.version))?.version, good.version);

    // Inputs look normal but accuracy fell right after a deploy: concept-drift runbook, rollback first —
    // because the earlier version, scored on the same recent labelled traffic, does better.
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    const { id } = await env.services.incidents.open({
      modelId: TEST_MODEL,
      signal: 'accuracy_drop',
      source: 'test',
      evidence: { accuracy: 0.7, accuracy_baseline: 0.8, psi_max: 0.03 },
    });
    const awaiting = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.equal(awaiting.failureMode, 'concept_drift');
    assert.equal(awaiting.recommendedAction, 'rollback');
    assert.match(
      awaiting.state.recommendation!.reasons.join('; '),
      new RegExp(
        `roll back to v${good.version}: on the last \\d+ labelled predictions v${good.version} scores accuracy 0\\.\\d+ against v${deployed.version}'s 0\\.\\d+`,
      ),
    );
    await env.services.incidents.decide(id, { verdict: 'approve', by: 'bob' });

    await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'validating',
      'validating',
    );
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    const closed = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
    );
    assert.equal(closed.outcome, 'resolved', JSON.stringify(closed.state.validation));
    const champion = await env.services.registry.getAlias(TEST_MODEL, 'champion');
    assert.equal(champion?.version, good.version);
    assert.equal((await env.services.registry.getVersion(TEST_MODEL, deployed.version))?.status, 'bad');
    const moves = await env.services.pool.query(`SELECT count(*)::int AS n FROM registry_events WHERE idempotency_key LIKE $1 AND kind = 'alias_set'`, [
      `${id}:%`,
    ]);
    assert.equal(moves.rows[0].n, 1);
    await saveHistoryIfRecording(env, id, 'approve-rollback');
  });

  it('does not recommend rolling back to a version that scores worse on recent traffic, whatever its holdout says', async () => {
    // The previous version looks healthy on paper (its holdout metrics) but ranks backwards on today's traffic.
    const baseline = await env.services.registry.getVersion(TEST_MODEL, 1);
    const register = async (name: string, artifactUri: string) => {
      const v = await env.services.registry.registerVersion({
        modelId: TEST_MODEL,
        artifactUri,
        metrics: baseline!.metrics,
        source: 'deploy',
        status: 'healthy',
        idempotencyKey: `test:worse-${name}`,
      });
      await env.services.registry.setAlias({
        modelId: TEST_MODEL,
        alias: 'champion',
        version: v.version,
        reason: 'deploy',
        idempotencyKey: `test:worse-${name}:champion`,
      });
      return v;
    };
    const previous = await register('previous', flippedArtifact('previous', baseline!.artifactUri));
    const current = await register('current', baseline!.artifactUri);
    await env.simulator.writeBatch({ n: 300, drift: 0 });
    const { id } = await env.services.incidents.open({
      modelId: TEST_MODEL,
      signal: 'accuracy_drop',
      source: 'test',
      evidence: { accuracy: 0.7, accuracy_baseline: 0.8, psi_max: 0.03 },
    });
    const awaiting = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    assert.notEqual(awaiting.recommendedAction, 'rollback', JSON.stringify(awaiting.state.recommendation));
    const rollback = awaiting.state.recommendation!.considered.find((c) => c.action === 'rollback');
    assert.match(
      rollback!.reason,
      new RegExp(`v${previous.version} scores accuracy 0\\.\\d+ against v${current.version}'s 0\\.\\d+: rolling back to v${previous.version} would not help`),
    );
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'bob', reason: 'test' });
    await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
    );
  });

  it('reject: needs a reason, then closes without touching the model', async () => {
    const before = await env.services.registry.getAlias(TEST_MODEL, 'champion');
    const id = await openDriftIncident(env);
    await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );

    await assert.rejects(env.services.incidents.decide(id, { verdict: 'reject', by: 'bob' }), (err: Error) => {
      assert.ok(err instanceof DecisionRefusedError);
      assert.match(err.message, /needs a reason/);
      return true;
    });
    const r = await env.services.incidents.decide(id, { verdict: 'reject', by: 'bob', reason: 'seasonal shift, expected' });
    assert.equal(r.outcome, 'rejected');
    const closed = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
    );
    assert.equal(closed.outcome, 'rejected');
    assert.equal(closed.decision?.reason, 'seasonal shift, expected');
    assert.deepEqual(await env.services.registry.getAlias(TEST_MODEL, 'champion'), before);
    assert.match(await env.services.incidents.review(id), /seasonal shift, expected/);
    await saveHistoryIfRecording(env, id, 'reject');
  });

  it('refuses and audits a decision from someone who is not an approver', async () => {
    const id = await openDriftIncident(env);
    await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'awaiting_approval',
      'awaiting_approval',
    );
    await assert.rejects(env.services.incidents.decide(id, { verdict: 'approve', by: 'mallory' }), /mallory is not an approver for model credit-risk/);
    const audit = await env.services.pool.query(`SELECT actor, detail FROM audit_events WHERE incident_id = $1 AND kind = 'decision_refused'`, [id]);
    assert.equal(audit.rows.length, 1);
    assert.equal(audit.rows[0].actor, 'mallory');
    const still = await phaseOf(env, id);
    assert.equal(still.phase, 'awaiting_approval');
    assert.equal(still.state.approval?.votes.length, 0);
    // Close it so later tests start clean.
    await env.services.incidents.decide(id, { verdict: 'reject', by: 'alice', reason: 'test cleanup' });
    await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
    );
  });

  it('rejects unknown models and signals before starting anything', async () => {
    await assert.rejects(env.services.incidents.open({ modelId: 'nope', signal: 'data_drift', source: 'test' }), /unknown model "nope"/);
    await assert.rejects(env.services.incidents.open({ modelId: TEST_MODEL, signal: 'vibes', source: 'test' }), /unknown signal "vibes"/);
    await assert.rejects(env.services.incidents.decide('incident-nope', { verdict: 'approve', by: 'alice' }), /unknown incident/);
  });
});

describe('approval timeout', () => {
  let env: VigilTestEnv;
  before(async () => {
    env = await createVigilTestEnv({ config: (q) => testConfig({ approvalTimeout: '3500ms', escalationTimeout: '1s', remindEvery: '1s' }, q) });
    await env.startWorker();
  });
  after(async () => env?.close());

  it('reminds the approvers, escalates, then applies the runbook safe default (fallback), never retraining on its own', async () => {
    const id = await openDriftIncident(env);
    const closed = await waitFor(
      () => phaseOf(env, id),
      (s) => s.phase === 'closed',
      'closed',
      60_000,
    );
    assert.equal(closed.state.decision?.verdict, 'timeout');
    assert.equal(closed.state.decision?.action, 'fallback');
    assert.equal(closed.state.approval?.escalated, true);
    assert.equal(closed.outcome, 'resolved');
    assert.equal(await env.services.registry.getServingMode(TEST_MODEL), 'fallback');
    assert.equal((await env.services.registry.getAlias(TEST_MODEL, 'champion'))?.version, 1);
    assert.equal(fs.existsSync(path.join(env.stateDir, 'jobs')), false);
    const kinds = await auditKinds(env, id);
    assert.ok(kinds.includes('escalated'));
    assert.ok(kinds.includes('safe_default_applied'));
    const reminders = kinds.filter((k) => k === 'approval_reminder').length;
    assert.ok(reminders >= 2 && reminders <= 3, `reminded every second until the deadline: ${kinds.join(',')}`);
    assert.ok(kinds.lastIndexOf('approval_reminder') < kinds.indexOf('escalated'), 'reminders before the escalation');
    const reminder = closed.state.timeline.find((t) => t.event === 'approval_reminder');
    assert.match(reminder?.detail ?? '', /^still waiting: 0 of 1 approval\(s\) for retrain from alice, bob; decide by /);
    await saveHistoryIfRecording(env, id, 'timeout-safe-default');
  });
});
