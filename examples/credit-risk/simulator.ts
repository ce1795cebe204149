/**
 * The example's production traffic, fed to Vigil as a team's serving layer would: applicants arrive,
 * the serving path scores them (the champion model, a canary's share, or the fallback rules while the
 * model is in fallback), and each prediction is posted with its features to the ingestion API
 * (`POST /v1/models/{model}/predictions`, through a PredictionSink: HTTP under `vigil up`). A canary in
 * shadow scores a copy of its share of the requests; those answers go as `"servedBy": "shadow"` rows and
 * are never served. The true outcome (label) becomes known `labelDelaySeconds` after the prediction: the
 * simulator keeps the labels it owes and posts each on the first tick after it is due (`/labels`, with
 * the time it became known as its ts). Labels still owed when the simulator stops are never sent, as
 * when a serving layer goes away. After `driftAfterSeconds` of healthy traffic the world drifts: data
 * and concept drift ramp from 0 to 1 over `driftRampSeconds` (see dataset.ts).
 */
import { createRng, sampleApplicant, type Rng } from './dataset.js';
import { fallbackScore } from './fallbackRules.js';
import { scoreProbability, type ModelArtifact } from './logisticRegression.js';
import { PredictionSinkError, type LabelRow, type PredictionRow, type PredictionSink } from './predictionSink.js';

export type Serving =
  | {
      mode: 'model';
      version: number;
      artifact: ModelArtifact;
      /**
       * A candidate under canary: it answers `percent` of the requests, chosen at random; in shadow it
       * scores a copy of them instead, posted as shadow rows and never answered.
       */
      canary?: { version: number; percent: number; artifact: ModelArtifact; shadow?: boolean };
    }
  | { mode: 'fallback' };

export interface TrafficSimulatorOptions {
  /** Where predictions and labels go: Vigil's ingestion API. */
  sink: PredictionSink;
  modelId: string;
  /** How the model is served right now (champion version and artifact, or fallback). */
  resolveServing: () => Promise<Serving>;
  driftAfterSeconds: number;
  /** When the simulated world began (default: the first start()); drift is timed from here, so a restarted simulator continues the same world. */
  worldStartedAt?: Date;
  requestsPerSecond: number;
  /** Seconds from a prediction to its label; 0: the label is posted right after the prediction. */
  labelDelaySeconds: number;
  seed: number;
  now?: () => Date;
  /** Seconds over which drift ramps from 0 to 1 once it starts (default 20). */
  driftRampSeconds?: number;
  /** How long a resolveServing() answer is reused (default 2000 ms; 0 = always ask). */
  servingCacheMs?: number;
  /** Loop period (default 1000 ms). */
  tickMs?: number;
  /** Labels kept while they are owed (default 1,000,000); beyond it the oldest are dropped. */
  maxOwedLabels?: number;
  /** Where loop errors go (default console.error). */
  log?: (message: string) => void;
}

export interface WriteBatchOptions {
  n: number;
  /** 0..1, see dataset.ts. */
  drift: number;
  /** Timestamp of every prediction in the batch (default now()). */
  at?: Date;
  /** Whether labels follow (known labelDelaySeconds after `at`); default true. */
  labelled?: boolean;
}

/** A label the world owes: posted once `dueAt` (ms) has passed. */
interface OwedLabel {
  dueAt: number;
  row: LabelRow;
}

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
  /** Labels not posted yet, in the order their predictions were made. */
  private owed: OwedLabel[] = [];
  private labelsInFlight: Promise<void> | undefined;
  /** Requests numbered so far: every request id of this simulator is different. */
  private issued = 0;
  /** Predictions written (accepted by the sink) since construction. */
  written = 0;
  /** Labels posted since construction. */
  labelsPosted = 0;
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

  /** Labels owed and not posted yet. */
  get owedLabels(): number {
    return this.owed.length;
  }

  /** Starts the loop: every tick writes the requests that arrived since the last one, and the labels now due. Idempotent. */
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
    // Catch up at most 10 s of traffic after a stall, so a long outage does not flood the log.
    this.carry += Math.min(elapsed, 10) * this.opts.requestsPerSecond;
    const n = Math.floor(this.carry);
    this.carry -= Math.max(n, 0);
    const drift = this.driftAt(new Date(nowMs));
    const log = this.opts.log ?? ((m: string) => console.error(m));
    const failed = (what: string) => (err: unknown) =>
      log(`traffic simulator (${this.opts.modelId}): ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    this.inFlight = (async () => {
      if (n > 0) await this.writePredictions({ n, drift, at: new Date(nowMs) }).catch(failed(`batch of ${n}`));
      // Labels due go even when no request arrived this tick, and even when the batch failed.
      const due = this.owed.length;
      await this.postDueLabels().catch(failed(`labels (${due} owed)`));
    })().finally(() => {
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

  /**
   * Writes `n` scored predictions (with labels unless `labelled: false`), then posts the labels now
   * due — with labelDelaySeconds 0, this batch's; returns the predictions written.
   */
  async writeBatch(opts: WriteBatchOptions): Promise<number> {
    const n = await this.writePredictions(opts);
    await this.postDueLabels();
    return n;
  }

  /**
   * Posts the labels whose time has come (all of them when labelDelaySeconds is 0), oldest first. Labels
   * a retryable failure (no answer, 429, 5xx) kept from Vigil stay owed for the next tick; refused ones
   * are dropped (sending them again would be refused again).
   */
  async postDueLabels(): Promise<number> {
    // One post at a time, so a label is never sent twice at once nor lost between two callers.
    while (this.labelsInFlight) await this.labelsInFlight;
    const nowMs = this.now().getTime();
    const immediate = this.opts.labelDelaySeconds === 0;
    const due = immediate ? this.owed : this.owed.filter((l) => l.dueAt <= nowMs);
    if (due.length === 0) return 0;
    this.owed = immediate ? [] : this.owed.filter((l) => l.dueAt > nowMs);
    const posting = this.opts.sink.postLabels(due.map((l) => l.row));
    this.labelsInFlight = posting.then(
      () => undefined,
      () => undefined,
    );
    try {
      await posting;
      this.labelsPosted += due.length;
      return due.length;
    } catch (err) {
      if (!(err instanceof PredictionSinkError) || err.retryable) this.owe(due, true);
      throw err;
    } finally {
      this.labelsInFlight = undefined;
    }
  }

  private owe(labels: OwedLabel[], first = false): void {
    this.owed = first ? [...labels, ...this.owed] : this.owed.concat(labels);
    const max = this.opts.maxOwedLabels ?? 1_000_000;
    if (this.owed.length > max) this.owed.splice(0, this.owed.length - max);
  }

  /** Scores and posts `n` requests; their labels become owed once the predictions are stored. */
  private async writePredictions({ n, drift, at, labelled = true }: WriteBatchOptions): Promise<number> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    if (n === 0) return 0;
    const serving = await this.currentServing();
    const ts = at ?? this.now();
    const iso = ts.toISOString();
    // The label is known labelDelaySeconds after the prediction: that is its ts (labeled_at in Vigil).
    const dueAt = ts.getTime() + this.opts.labelDelaySeconds * 1000;
    const labelTs = new Date(dueAt).toISOString();
    const first = this.issued;
    this.issued += n;
    const rows: PredictionRow[] = [];
    const labels: OwedLabel[] = [];
    for (let i = 0; i < n; i++) {
      const applicant = sampleApplicant(this.rng, drift);
      const requestId = `${this.opts.modelId}-${ts.getTime()}-${first + i}-${this.instance}`;
      const features = applicant.features;
      if (serving.mode === 'model') {
        const toCanary = serving.canary !== undefined && this.routeRng.next() * 100 < serving.canary.percent;
        const route = toCanary && !serving.canary!.shadow ? serving.canary! : serving;
        const score = scoreProbability(route.artifact, applicant.features);
        rows.push({ requestId, ts: iso, modelVersion: route.version, servedBy: 'model', features, prediction: { score } });
        if (toCanary && serving.canary!.shadow) {
          const shadow = serving.canary!;
          const shadowScore = scoreProbability(shadow.artifact, applicant.features);
          rows.push({ requestId, ts: iso, modelVersion: shadow.version, servedBy: 'shadow', features, prediction: { score: shadowScore } });
        }
      } else {
        rows.push({ requestId, ts: iso, servedBy: 'fallback', features, prediction: { score: fallbackScore(applicant.features) } });
      }
      if (labelled) labels.push({ dueAt, row: { requestId, label: applicant.label, ts: labelTs } });
    }
    await this.opts.sink.postPredictions(rows);
    this.written += n;
    this.owe(labels);
    return n;
  }
}
