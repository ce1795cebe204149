/**
 * The example's production traffic: applicants arrive, the serving path scores them (the champion
 * model, or the fallback rules while the model is in fallback), and each prediction is logged to the
 * `predictions` table with its features; the true outcome (label) arrives `labelDelaySeconds` later
 * (stored up front with `labeled_at` in the future: readers only count a label once `labeled_at` has
 * passed). After `driftAfterSeconds` of healthy traffic the world drifts: data and concept drift
 * ramp from 0 to 1 over `driftRampSeconds` (see dataset.ts).
 */
import type pg from 'pg';
import { createRng, sampleApplicant, type Rng } from './dataset.js';
import { FALLBACK_THRESHOLD, fallbackScore } from './fallbackRules.js';
import { predictLabel, scoreProbability, type ModelArtifact } from './logisticRegression.js';

export type Serving =
  | {
      mode: 'model';
      version: number;
      artifact: ModelArtifact;
      /**
       * A candidate under canary: it answers `percent` of the requests, chosen at random; in shadow it
       * scores a copy of them instead, logged to shadow_predictions and never answered.
       */
      canary?: { version: number; percent: number; artifact: ModelArtifact; shadow?: boolean };
    }
  | { mode: 'fallback' };

export interface TrafficSimulatorOptions {
  pool: pg.Pool;
  modelId: string;
  /** How the model is served right now (champion version and artifact, or fallback). */
  resolveServing: () => Promise<Serving>;
  driftAfterSeconds: number;
  /** When the simulated world began (default: the first start()); drift is timed from here, so a restarted simulator continues the same world. */
  worldStartedAt?: Date;
  requestsPerSecond: number;
  labelDelaySeconds: number;
  seed: number;
  now?: () => Date;
  /** Seconds over which drift ramps from 0 to 1 once it starts (default 20). */
  driftRampSeconds?: number;
  /** How long a resolveServing() answer is reused (default 2000 ms; 0 = always ask). */
  servingCacheMs?: number;
  /** Loop period (default 1000 ms). */
  tickMs?: number;
  /** Where loop errors go (default console.error). */
  log?: (message: string) => void;
}

export interface WriteBatchOptions {
  n: number;
  /** 0..1, see dataset.ts. */
  drift: number;
  /** Timestamp of every prediction in the batch (default now()). */
  at?: Date;
  /** Whether labels are written (arriving labelDelaySeconds after `at`); default true. */
  labelled?: boolean;
}

/** Rows per INSERT statement: at most 10 parameters a row, under PostgreSQL's 65535-parameter limit. */
const MAX_ROWS_PER_INSERT = 5000;

export class TrafficSimulator {
  private readonly rng: Rng;
  /** Its own generator, so a canary split never changes which applicants the world produces. */
  private readonly routeRng: Rng;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private startedAt: number | undefined;
  private lastTickAt: number | undefined;
  private carry = 0;
  private serving: { value: Serving; at: number } | undefined;
  /** Predictions written since construction. */
  written = 0;
  /** Tells request ids of simulators started in the same millisecond apart. */
  private readonly instance = Math.random().toString(36).slice(2, 8);

  constructor(private readonly opts: TrafficSimulatorOptions) {
    if (!(opts.requestsPerSecond > 0)) throw new RangeError('requestsPerSecond must be positive');
    if (!(opts.labelDelaySeconds >= 0)) throw new RangeError('labelDelaySeconds must be ≥ 0');
    if (!(opts.driftAfterSeconds >= 0)) throw new RangeError('driftAfterSeconds must be ≥ 0');
    this.rng = createRng(opts.seed);
    this.routeRng = createRng(opts.seed ^ 0x2545f491);
    this.now = opts.now ?? (() => new Date());
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Drift at `at` given the start time: 0 before driftAfterSeconds, then a linear ramp to 1. */
  driftAt(at: Date = this.now()): number {
    if (this.startedAt === undefined) return 0;
    const elapsed = (at.getTime() - this.startedAt) / 1000 - this.opts.driftAfterSeconds;
    if (elapsed <= 0) return 0;
    const ramp = this.opts.driftRampSeconds ?? 20;
    return ramp <= 0 ? 1 : Math.min(1, elapsed / ramp);
  }

  /** Starts the loop: every tick writes the requests that arrived since the last one. Idempotent. */
  start(): void {
    if (this.timer) return;
    const t = this.now().getTime();
    this.startedAt ??= this.opts.worldStartedAt?.getTime() ?? t;
    this.lastTickAt = t;
    this.carry = 0;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 1000);
  }

  /** Stops the loop and waits for a batch under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Forgets the cached serving mode, so the next batch asks resolveServing() again. */
  refreshServing(): void {
    this.serving = undefined;
  }

  private tick(): void {
    if (this.inFlight) return; // never overlap batches; the next tick catches up
    const nowMs = this.now().getTime();
    const elapsed = (nowMs - (this.lastTickAt ?? nowMs)) / 1000;
    this.lastTickAt = nowMs;
    // Catch up at most 10 s of traffic after a stall, so a long outage does not flood the table.
    this.carry += Math.min(elapsed, 10) * this.opts.requestsPerSecond;
    const n = Math.floor(this.carry);
    if (n <= 0) return;
    this.carry -= n;
    const drift = this.driftAt(new Date(nowMs));
    this.inFlight = this.writeBatch({ n, drift, at: new Date(nowMs) })
      .then(() => undefined)
      .catch((err: unknown) => {
        (this.opts.log ?? ((m: string) => console.error(m)))(
          `traffic simulator (${this.opts.modelId}): batch of ${n} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  private async currentServing(): Promise<Serving> {
    const ttl = this.opts.servingCacheMs ?? 2000;
    const t = Date.now();
    if (this.serving && t - this.serving.at < ttl) return this.serving.value;
    const value = await this.opts.resolveServing();
    this.serving = { value, at: t };
    return value;
  }

  /** Writes `n` scored predictions (with labels unless `labelled: false`); returns rows written. */
  async writeBatch({ n, drift, at, labelled = true }: WriteBatchOptions): Promise<number> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    if (n === 0) return 0;
    const serving = await this.currentServing();
    const ts = at ?? this.now();
    const labeledAt = labelled ? new Date(ts.getTime() + this.opts.labelDelaySeconds * 1000) : null;
    const rows: unknown[][] = [];
    const shadows: unknown[][] = [];
    for (let i = 0; i < n; i++) {
      const applicant = sampleApplicant(this.rng, drift);
      let score: number;
      let predicted: 0 | 1;
      let version: number | null = null;
      const requestId = `${this.opts.modelId}-${ts.getTime()}-${this.written + i}-${this.instance}`;
      if (serving.mode === 'model') {
        const toCanary = serving.canary !== undefined && this.routeRng.next() * 100 < serving.canary.percent;
        const route = toCanary && !serving.canary!.shadow ? serving.canary! : serving;
        score = scoreProbability(route.artifact, applicant.features);
        predicted = predictLabel(route.artifact, score);
        version = route.version;
        if (toCanary && serving.canary!.shadow) {
          const shadowScore = scoreProbability(serving.canary!.artifact, applicant.features);
          shadows.push([this.opts.modelId, serving.canary!.version, requestId, ts, shadowScore, predictLabel(serving.canary!.artifact, shadowScore)]);
        }
      } else {
        score = fallbackScore(applicant.features);
        predicted = score >= FALLBACK_THRESHOLD ? 1 : 0;
      }
      rows.push([
        this.opts.modelId,
        requestId,
        version,
        serving.mode,
        ts,
        JSON.stringify(applicant.features),
        score,
        predicted,
        labelled ? applicant.label : null,
        labeledAt,
      ]);
    }
    await this.insertRows('predictions (model_id, request_id, model_version, served_by, ts, features, score, predicted, label, labeled_at)', rows);
    await this.insertRows('shadow_predictions (model_id, model_version, request_id, ts, score, predicted)', shadows);
    this.written += n;
    return n;
  }

  /** Multi-row INSERTs, chunked under PostgreSQL's 65535-parameter limit. */
  private async insertRows(into: string, rows: unknown[][]): Promise<void> {
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_INSERT) {
      const chunk = rows.slice(start, start + MAX_ROWS_PER_INSERT);
      const params: unknown[] = [];
      const tuples = chunk.map((r) => {
        const base = params.length;
        params.push(...r);
        return `(${r.map((_, j) => `$${base + j + 1}`).join(', ')})`;
      });
      await this.opts.pool.query(`INSERT INTO ${into} VALUES ${tuples.join(', ')}`, params);
    }
  }
}
