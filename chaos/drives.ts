/**
 * The incidents the chaos run drives, one per path through Vigil: a rollback of a bad deploy, a retrain
 * with a canary, the fallback kept on, and a team's runbook (upstream schema break). Each drive feeds its
 * model traffic through the ingestion API, opens the incident, answers it as a person would (the
 * decision API with a per-person token, a runbook signal) and waits until it is closed with a review,
 * retrying every call a fault can refuse. The model configs they need are here too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncidentDetails } from '../client/incidentService.js';
import { TRAINER_SCRIPT } from '../examples/credit-risk/trainer.js';
import { servingFromDeployment } from '../examples/credit-risk/exampleModel.js';
import { createHttpPredictionSink, type PredictionSink } from '../examples/credit-risk/predictionSink.js';
import { TrafficSimulator } from '../examples/credit-risk/simulator.js';
import { SLACK_CHANNEL, type ChaosStack } from './chaosStack.js';

export const DRIVES = ['rollback', 'retrain', 'fallback', 'runbook'] as const;
export type Drive = (typeof DRIVES)[number];

export const RUNBOOKS_DIR = fileURLToPath(new URL('../examples/runbooks/', import.meta.url));

/** What a drive needs of its fault: the extra model settings (registry, health, trainer). */
export interface ModelTweaks {
  registry?: Record<string, unknown>;
  health?: Record<string, unknown>;
  trainerPrefix?: string;
}

const runbook = (extra: Record<string, unknown> = {}) => ({
  approval: { timeout: '15m', escalationTimeout: '0s' },
  validation: { window: '5s', maxExtraWindows: 3, minSamples: 100 },
  retrain: { minLabelledRows: 200, stepTimeout: '10s', canary: { enabled: false } },
  ...extra,
});

/** The model a drive runs on: the credit-risk example under another id, its runbooks short enough for a run. */
export function modelConfig(id: string, drive: Drive, ctx: { pipelineUrl: string }, tweaks: ModelTweaks = {}): Record<string, unknown> {
  const trainer = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT];
  const command = tweaks.trainerPrefix ? ['bash', '-c', `${tweaks.trainerPrefix}; exec "$@"`, 'trainer', ...trainer] : trainer;
  const base = runbook();
  const runbooks: Record<string, unknown> = { data_drift: base, concept_drift: base, data_quality: base, infrastructure: base };
  if (drive === 'retrain') {
    runbooks.data_drift = runbook({
      retrain: { minLabelledRows: 200, stepTimeout: '10s', canary: { enabled: true, percent: 50, window: '10s', checkEvery: '2s', minLabelled: 60 } },
    });
  }
  if (drive === 'fallback') runbooks.data_drift = runbook({ degrade: { whileAwaitingApproval: true }, actions: ['fallback', 'monitor'] });
  if (drive === 'runbook') {
    runbooks.data_quality = {
      use: 'upstream-schema-break',
      params: { pipelineUrl: ctx.pipelineUrl, owner: 'payments-data', waitAtMost: '15m', callTimeout: '5s' },
    };
  }
  return {
    id,
    displayName: `Credit risk (chaos ${id})`,
    tier: 'high',
    approvers: ['alice'],
    escalation: ['ml-leads'],
    example: true,
    monitor: { window: 500, minLabelled: 100 },
    slack: { channel: SLACK_CHANNEL },
    training: { command },
    runbooks,
    ...(tweaks.registry ? { registry: tweaks.registry } : {}),
    ...(tweaks.health ? { health: tweaks.health } : {}),
  };
}

/** The serving layer's traffic for one model: a batch a second through the ingestion API; what Vigil acknowledged is remembered. */
export class TrafficFeed {
  readonly acknowledged = new Set<string>();
  readonly acknowledgedLabels = new Set<string>();
  refused = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly simulator: TrafficSimulator;

  constructor(
    stack: ChaosStack,
    readonly modelId: string,
    public drift: number,
  ) {
    const http = createHttpPredictionSink({ baseUrl: stack.http.baseUrl, modelId, token: stack.http.ingestToken });
    const sink: PredictionSink = {
      postPredictions: async (rows) => {
        const r = await http.postPredictions(rows);
        for (const row of rows) if (row.servedBy !== 'shadow') this.acknowledged.add(row.requestId);
        return r;
      },
      postLabels: async (labels) => {
        const r = await http.postLabels(labels);
        for (const l of labels) this.acknowledgedLabels.add(l.requestId);
        return r;
      },
    };
    this.simulator = new TrafficSimulator({
      sink,
      modelId,
      resolveServing: servingFromDeployment(stack.services, modelId),
      driftAfterSeconds: 0,
      requestsPerSecond: 1,
      labelDelaySeconds: 0,
      seed: [...modelId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7),
      servingCacheMs: 0,
      log: () => undefined,
    });
  }

  /** Writes `n` rows now (refusals counted: the rows were never acknowledged, the sender knows). */
  async write(n: number): Promise<void> {
    await this.simulator.writeBatch({ n, drift: this.drift }).catch(() => void this.refused++);
  }

  start(rowsPerSecond = 40): void {
    const tick = () => {
      this.running = this.write(rowsPerSecond).finally(() => {
        if (this.timer) this.timer = setTimeout(tick, 1000);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
    // Labels still owed after a refusal are sent now, while Vigil is up.
    for (let i = 0; i < 5; i++) {
      const ok = await this.simulator.postDueLabels().then(
        () => true,
        () => false,
      );
      if (ok) break;
      await sleep(2000);
    }
  }
}

export interface DriveResult {
  drive: Drive;
  modelId: string;
  incidentId?: string;
  /** When the incident was opened (ms since the epoch). */
  openedAt?: number;
  closed: boolean;
  reviewed: boolean;
  outcome?: string;
  error?: string;
  feed: TrafficFeed;
  seconds: number;
}

export interface DriveHooks {
  /** Called once the incident is at this point of its drive (faults inject here). */
  at?: (point: 'opened' | 'decided' | 'remediating' | 'canary', ctx: { drive: Drive; incidentId: string; modelId: string }) => Promise<void> | void;
  timeoutMs: number;
}

export async function runDrive(stack: ChaosStack, drive: Drive, modelId: string, hooks: DriveHooks): Promise<DriveResult> {
  const feed = new TrafficFeed(stack, modelId, drive === 'retrain' || drive === 'fallback' ? 1 : 0);
  const started = Date.now();
  const result: DriveResult = { drive, modelId, closed: false, reviewed: false, feed, seconds: 0 };
  const deadline = Date.now() + hooks.timeoutMs;
  const at = async (point: Parameters<NonNullable<DriveHooks['at']>>[0]) => hooks.at?.(point, { drive, incidentId: result.incidentId!, modelId });
  try {
    if (drive === 'rollback') await deployBadVersion(stack, modelId);
    // Enough traffic in the log to classify and triage on, then the same rate all along.
    await feed.write(drive === 'rollback' || drive === 'runbook' ? 300 : 600);
    feed.start();
    result.openedAt = Date.now();
    const id = await retry(deadline, 'open the incident', () => openIncident(stack, drive, modelId));
    result.incidentId = id;
    await at('opened');
    if (drive === 'runbook') {
      await until(stack, id, deadline, (s) => s.state.runbook?.waitingFor?.name === 'upstream_fixed' || s.status === 'closed', 'waiting for upstream_fixed');
      await retry(deadline, 'signal upstream_fixed', () =>
        stack.services.incidents.signal(id, { name: 'upstream_fixed', by: 'dana', data: { change: 'PR-1' } }),
      );
      await at('decided');
    } else {
      await until(stack, id, deadline, (s) => s.phase === 'awaiting_approval' || s.status === 'closed', 'awaiting approval');
      await retry(deadline, 'approve through the decision API', () => decide(stack, id));
      await at('decided');
      if (drive === 'retrain') {
        await until(stack, id, deadline, (s) => s.phase === 'remediating' || s.status === 'closed', 'remediating');
        await at('remediating');
        await waitForCanary(stack, modelId, deadline);
        await at('canary');
      } else if (drive === 'rollback') {
        await until(stack, id, deadline, (s) => s.phase === 'remediating' || s.phase === 'validating' || s.status === 'closed', 'remediating');
        await at('remediating');
      }
    }
    const closed = await until(stack, id, deadline, (s) => s.status === 'closed', 'closed');
    result.closed = true;
    result.outcome = closed.outcome ?? undefined;
    result.reviewed = await retry(deadline, 'read the review', async () => {
      const r = await stack.services.pool.query('SELECT 1 FROM reviews WHERE incident_id = $1', [id]);
      if (r.rowCount === 0) throw new Error('no review yet');
      return true;
    }).catch(() => false);
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    result.seconds = (Date.now() - started) / 1000;
    await feed.stop();
  }
  return result;
}

/** A good version then a bad one deployed over it (the baseline with its weights negated), as a team's CD would. */
async function deployBadVersion(stack: ChaosStack, modelId: string): Promise<void> {
  const { registry } = stack.services;
  const baseline = (await registry.getVersion(modelId, 1))!;
  const artifact = JSON.parse(fs.readFileSync(baseline.artifactUri.replace(/^file:\/\//, ''), 'utf8')) as { weights: number[]; bias: number };
  const bad = path.join(stack.dir, 'deploys', modelId, 'model.json');
  fs.mkdirSync(path.dirname(bad), { recursive: true });
  fs.writeFileSync(bad, JSON.stringify({ ...artifact, weights: artifact.weights.map((w) => -w), bias: -artifact.bias }));
  for (const [name, uri, status] of [
    ['good', baseline.artifactUri, 'healthy'],
    ['bad', bad, 'registered'],
  ] as const) {
    const v = await registry.registerVersion({
      modelId,
      artifactUri: uri,
      metrics: baseline.metrics,
      source: 'deploy',
      status,
      idempotencyKey: `chaos:${modelId}:${name}`,
    });
    await registry.setAlias({ modelId, alias: 'champion', version: v.version, reason: 'deploy', idempotencyKey: `chaos:${modelId}:${name}:champion` });
  }
}

async function openIncident(stack: ChaosStack, drive: Drive, modelId: string): Promise<string> {
  const open = (signal: string, evidence: Record<string, string | number>) => stack.services.incidents.open({ modelId, signal, source: 'test', evidence });
  const r =
    drive === 'rollback'
      ? await open('accuracy_drop', { accuracy: 0.7, accuracy_baseline: 0.8, psi_max: 0.03 })
      : drive === 'runbook'
        ? await open('schema_break', { missing_columns: 'income' })
        : await open('data_drift', { psi_max: 0.6 });
  return r.id;
}

/** Alice approves through the decision API; a 409 means an earlier try already reached the incident. */
async function decide(stack: ChaosStack, id: string): Promise<void> {
  const res = await fetch(`${stack.http.baseUrl}/v1/incidents/${encodeURIComponent(id)}/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.http.deciderToken}` },
    body: JSON.stringify({ verdict: 'approve', reason: 'chaos run' }),
    signal: AbortSignal.timeout(20_000),
  });
  if (res.ok || res.status === 409) return;
  throw new Error(`decision API: ${res.status} ${await res.text()}`);
}

async function waitForCanary(stack: ChaosStack, modelId: string, deadline: number): Promise<void> {
  await retry(deadline, 'a canary route', async () => {
    const t = await stack.services.deploymentFor(modelId).currentTraffic(modelId);
    if (!t.routes.some((r) => r.role === 'canary')) throw new Error('no canary yet');
  });
}

async function until(stack: ChaosStack, id: string, deadline: number, done: (s: IncidentDetails) => boolean, what: string): Promise<IncidentDetails> {
  let last: IncidentDetails | undefined;
  return retry(deadline, `${id}: ${what}`, async () => {
    last = await stack.services.incidents.show(id);
    if (!done(last)) throw new Error(`still ${last.status}/${last.phase}`);
    return last;
  });
}

/** Tries `fn` every second until it succeeds or the deadline passes (then fails with the last error). */
export async function retry<T>(deadline: number, what: string, fn: () => Promise<T>): Promise<T> {
  let lastError: Error | undefined;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      lastError = err as Error;
      await sleep(1000);
    }
  }
  throw new Error(`gave up waiting: ${what}: ${lastError?.message ?? 'no try'}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
