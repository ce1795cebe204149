/**
 * What a fault did, read from the systems themselves once its incidents are over: workflows that ended
 * Failed (or timed out, or were terminated), side effects made twice in the registry, the deployment,
 * the trainer, Slack and the feature pipeline, phases the workflow went through without their audit row,
 * and predictions or labels Vigil acknowledged but does not have.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SLACK_CHANNEL, type ChaosStack } from './chaosStack.js';
import type { DriveResult, TrafficFeed } from './drives.js';

export interface FaultFigures {
  incidents: number;
  finished: number;
  failedWorkflows: number;
  duplicateSideEffects: number;
  lostAuditRows: number;
  lostIngestedRows: number;
  /** Why a count is not zero, one line each. */
  notes: string[];
}

export async function measure(stack: ChaosStack, results: DriveResult[], since: Date, extraFeeds: TrafficFeed[] = []): Promise<FaultFigures> {
  const notes: string[] = [];
  const { pool } = stack.services;
  const figures: FaultFigures = {
    incidents: results.length,
    finished: results.filter((r) => r.closed && r.reviewed).length,
    failedWorkflows: 0,
    duplicateSideEffects: 0,
    lostAuditRows: 0,
    lostIngestedRows: 0,
    notes,
  };
  for (const r of results) if (!(r.closed && r.reviewed)) notes.push(`${r.incidentId ?? r.modelId}: not finished with a review (${r.error ?? 'no review'})`);

  // Workflows of this fault's incidents (and their children) that ended badly.
  const ids = results.flatMap((r) => (r.incidentId ? [r.incidentId] : []));
  const bad = stack.services.temporal.workflow.list({
    query: `(ExecutionStatus = "Failed" OR ExecutionStatus = "TimedOut" OR ExecutionStatus = "Terminated") AND StartTime >= "${since.toISOString()}"`,
  });
  for await (const wf of bad) {
    if (!ids.some((id) => wf.workflowId.startsWith(id))) continue;
    figures.failedWorkflows++;
    notes.push(`${wf.workflowId}: ${wf.status.name}`);
  }

  for (const r of results) {
    if (!r.incidentId) continue;
    const id = r.incidentId;
    const dup = (n: number, what: string) => {
      if (n <= 0) return;
      figures.duplicateSideEffects += n;
      notes.push(`${id}: ${what}`);
    };

    // Registry: each alias moved once per incident, the serving mode switched each way once; a write
    // that changes nothing (the fallback kept on by the remediation that chose it) is no second change.
    // The chaos run's own deploys are left out.
    const moves = await pool.query<{ what: string; n: number }>(
      `SELECT CASE WHEN kind = 'alias_set' THEN 'alias ' || alias
                   ELSE 'serving mode ' || coalesce(detail->>'from', '?') || ' → ' || coalesce(detail->>'to', '?') END AS what, count(*)::int AS n
         FROM registry_events
        WHERE model_id = $1 AND created_at >= $2 AND coalesce(idempotency_key, '') NOT LIKE 'chaos:%'
          AND CASE WHEN kind = 'alias_set' THEN from_version IS DISTINCT FROM to_version ELSE detail->>'from' IS DISTINCT FROM detail->>'to' END
        GROUP BY 1`,
      [r.modelId, since],
    );
    for (const m of moves.rows) dup(m.n - 1, `${m.what} changed ${m.n} times`);
    // MLflow itself: from the incident on, the champion alias pointed at one version only.
    if (stack.mlflow && r.drive === 'rollback') {
      const targets = new Set(
        stack.mlflow.proxy.forwarded
          .filter((f) => f.at >= r.openedAt! && f.method === 'POST' && f.path.includes('/registered-models/alias') && f.status < 300)
          .map((f) => JSON.parse(f.body) as { name?: string; alias?: string; version?: string })
          .filter((b) => b.name === r.modelId && b.alias === 'champion')
          .map((b) => b.version),
      );
      dup(targets.size - 1, `MLflow champion set to ${targets.size} versions (${[...targets].join(', ')})`);
    }
    // Deployment changes (canary start, rollout, rollback of a canary, fallback on and off): each once.
    const ops = await pool.query<{ op: string; n: number }>(
      `SELECT op || ' → ' || after::text AS op, count(*)::int AS n FROM deployment_changes
        WHERE starts_with(idempotency_key, $1) AND before IS DISTINCT FROM after GROUP BY 1`,
      [id],
    );
    for (const o of ops.rows) dup(o.n - 1, `deployment ${o.op} ${o.n} times`);
    // The trainer ran once per job.
    const stdout = path.join(stack.dir, 'state', 'jobs', `${id}-train`, 'stdout.jsonl');
    if (fs.existsSync(stdout)) {
      const starts = fs
        .readFileSync(stdout, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"started"')).length;
      dup(starts - 1, `trainer started ${starts} times`);
    }
    // Slack: one incident message, one reply per audited event.
    const messages = stack.slack.messages(SLACK_CHANNEL);
    const roots = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts).filter((m) => m.metadata?.event_payload?.incident_id === id);
    dup(roots.length - 1, `${roots.length} Slack incident messages`);
    const replyKeys = new Map<string, number>();
    for (const m of messages) {
      const key = m.metadata?.event_payload?.reply_key;
      if (typeof key === 'string' && m.metadata?.event_payload?.incident_id === id) replyKeys.set(key, (replyKeys.get(key) ?? 0) + 1);
    }
    for (const [key, n] of replyKeys) dup(n - 1, `Slack reply ${key} posted ${n} times`);
    // The feature pipeline: each action applied once (a retry carries the same Idempotency-Key).
    for (const [k, keys] of stack.pipeline.applied)
      if (k.startsWith(`${id} `)) dup(keys.size - 1, `pipeline ${k.slice(id.length + 1)} applied ${keys.size} times`);

    // Audit: every phase the workflow went through has its row.
    const details = await stack.services.incidents.show(id).catch(() => undefined);
    if (details) {
      const audited = await pool.query<{ kind: string }>('SELECT DISTINCT kind FROM audit_events WHERE incident_id = $1', [id]);
      const kinds = new Set(audited.rows.map((a) => a.kind));
      const phases = new Set(details.state.timeline.filter((t) => t.event.startsWith('phase:')).map((t) => t.event));
      for (const p of phases) {
        if (kinds.has(p)) continue;
        figures.lostAuditRows++;
        notes.push(`${id}: no audit row for ${p}`);
      }
    }
  }

  // Ingestion: every row Vigil acknowledged is in the log, every acknowledged label on its prediction or waiting for it.
  for (const r of [...results.map((d) => d.feed), ...extraFeeds]) {
    const acked = [...r.acknowledged];
    const stored = await pool.query<{ n: number }>(
      'SELECT count(DISTINCT request_id)::int AS n FROM predictions WHERE model_id = $1 AND request_id = ANY($2)',
      [r.modelId, acked],
    );
    const lost = acked.length - stored.rows[0]!.n;
    if (lost > 0) notes.push(`${r.modelId}: ${lost} of ${acked.length} acknowledged predictions missing`);
    figures.lostIngestedRows += lost;
    const labels = [...r.acknowledgedLabels];
    const labelled = await pool.query<{ n: number }>(
      `SELECT (SELECT count(DISTINCT request_id) FROM predictions WHERE model_id = $1 AND request_id = ANY($2) AND (label IS NOT NULL OR label_value IS NOT NULL))::int
            + (SELECT count(*) FROM pending_labels WHERE model_id = $1 AND request_id = ANY($2))::int AS n`,
      [r.modelId, labels],
    );
    const lostLabels = labels.length - labelled.rows[0]!.n;
    if (lostLabels > 0) notes.push(`${r.modelId}: ${lostLabels} of ${labels.length} acknowledged labels missing`);
    figures.lostIngestedRows += Math.max(0, lostLabels);
  }
  return figures;
}
