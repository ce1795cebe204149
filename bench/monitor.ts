/**
 * `npm run bench:monitor [-- --windows 10000,100000,1000000 --features 20 --reps 5 --reps-large 3]`:
 * the monitor target of PRODUCT.md — one monitor run over a 100,000-prediction window in under 2 s on
 * the 2-core machine, with memory bounded at every window size — measured on an embedded PostgreSQL.
 *
 * Setup (in this process): a binary model Vigil did not build, registered through
 * `createModelService(...).register` with an in-memory reference table of F numeric features (plus
 * its prediction and label columns) and a holdout, aliased champion; then, per window size W, the
 * `predictions` table bulk-loaded to W labelled rows by one `INSERT … SELECT … FROM generate_series`
 * (features as jsonb with F keys, drawn from the reference's distributions, so no breach is expected)
 * and `VACUUM ANALYZE`d.
 *
 * Measurement (in a child process per window, so every size starts from a fresh heap and a run that
 * runs away can be stopped): the real `runMonitor` activity (activities/monitorActivities.ts) over
 * services from `createVigilServices` with `monitor.window = W` — that is `computeModelSignals` (two
 * window queries: recent and recent labelled) + `computeHealthSignals` (no Prometheus configured) +
 * `detectBreaches`. No Temporal server runs: the client is a lazy connection that is never used, and
 * incidents would go to a recording stub (a breach would be counted, not opened). One warm-up run with
 * a 1,000-row window first, then R timed runs. RSS is sampled every 50 ms by this process from
 * /proc/<pid>/status (so long synchronous stretches in the child cannot hide a peak) and by the child
 * itself with process.memoryUsage(), which also gives the heap (the heap peak is a lower bound: the
 * child's sampler cannot run while its main thread is busy). A run over --timeout-s (default 120) or
 * --max-rss-gib (default 6) is stopped and reported as such. After the timed runs, one more pass
 * times the run's phases separately (queries, parsing, each computation) for the second table.
 *
 * Exits 0 whether or not the targets are met; non-zero only when the setup fails.
 */
import { benchArgs, UsageError } from './benchArgs.js';
import { Client, Connection } from '@temporalio/client';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type pg from 'pg';
import { createMonitorActivities } from '../activities/monitorActivities.js';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/postgres/embeddedPostgres.js';
import { createModelService } from '../client/modelService.js';
import type { DataTable } from '../domain/referenceProfile.js';
import { parseConfig, type VigilConfig } from '../domain/config.js';
import { assessDataQuality } from '../domain/dataQuality.js';
import { columnPsi, psiByProfiledFeature, psiReference, schemaFromProfile } from '../domain/datasetProfile.js';
import { psiByFeature } from '../domain/drift/psi.js';
import { assessFeedbackLoop } from '../domain/labelQuality.js';
import { evaluateScores } from '../domain/metrics.js';
import type { Notifier } from '../ports/notifier.js';
import type { IncidentOpener } from '../ports/incidentOpener.js';
import { createVigilServices } from '../workers/vigilServices.js';

const MODEL_ID = 'bench-monitor';
const TARGET_WINDOW = 100_000;
const TARGET_MS = 2000;
const REFERENCE_ROWS = 10_000;
const HOLDOUT_ROWS = 5_000;
const WARMUP_WINDOW = 1_000;
/** Rows per INSERT … SELECT statement while loading (progress lines between them). */
const LOAD_CHUNK = 250_000;

const progress = (m: string) => console.error(`[bench] ${m}`);
const GIB = 1024 ** 3;
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const fmtMs = (v: number) => (Number.isFinite(v) ? (v < 100 ? v.toFixed(1) : v.toFixed(0)) : '—');
const int = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------- args

interface Options {
  windows: number[];
  features: number;
  reps: number;
  repsLarge: number;
  timeoutS: number;
  maxRssGib: number;
  breakdown: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = benchArgs(argv, {
    usage:
      'usage: npm run bench:monitor -- [--windows 10000,100000,1000000] [--features 20] [--reps 5 (windows < 1M)] [--reps-large 3 (windows ≥ 1M)] [--timeout-s 120] [--max-rss-gib 6] [--no-breakdown]',
    values: ['windows', 'features', 'reps', 'reps-large', 'timeout-s', 'max-rss-gib'],
    flags: ['no-breakdown'],
  });
  const num = args.number;
  const windows = (args.string('windows') ?? '10000,100000,1000000').split(',').map((w) => Number(w.replaceAll('_', '')));
  // monitor.window: an integer ≥ 50 (domain/config.ts), no maximum.
  if (windows.some((w) => !Number.isInteger(w) || w < 50 || w > 20_000_000)) throw new UsageError('--windows: comma-separated integers from 50 to 20,000,000');
  return {
    windows: [...new Set(windows)].sort((a, b) => a - b),
    features: num('features', 20, 1, 200),
    reps: num('reps', 5, 1, 100),
    repsLarge: num('reps-large', 3, 1, 20),
    timeoutS: num('timeout-s', 120, 5, 3600),
    maxRssGib: num('max-rss-gib', 6, 0.5, 64, false),
    breakdown: !args.flag('no-breakdown'),
  };
}

// ------------------------------------------------------------------------------------------ the data

const featureName = (k: number) => `f${String(k).padStart(2, '0')}`;

/** Feature k: even k uniform on [0, 10 + k), odd k exponential with mean 1 + k; 4 decimals (same in SQL below). */
function drawFeature(k: number): number {
  const v = k % 2 === 0 ? Math.random() * (10 + k) : -Math.log(1 - Math.random()) * (1 + k);
  return Math.round(v * 1e4) / 1e4;
}

function featureSql(k: number): string {
  const v = k % 2 === 0 ? `random() * ${10 + k}` : `-ln(1 - random()) * ${1 + k}`;
  return `'${featureName(k)}', round((${v})::numeric, 4)`;
}

/** Score uniform on [0, 1), predicted = score ≥ 0.5, label 1 with probability score: accuracy ≈ 0.75, AUC ≈ 0.83. */
function modelTable(file: string, rows: number, features: number): DataTable {
  const columns = [...Array.from({ length: features }, (_, k) => featureName(k)), 'prediction', 'label'];
  const cells = new Map(columns.map((c) => [c, new Array<string>(rows)]));
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < features; k++) cells.get(featureName(k))![i] = String(drawFeature(k));
    const score = Math.random();
    cells.get('prediction')![i] = score.toFixed(4);
    cells.get('label')![i] = Math.random() < score ? '1' : '0';
  }
  return { file, columns, cells, rows };
}

function benchConfig(window: number): VigilConfig {
  return parseConfig(
    {
      models: [{ id: MODEL_ID, displayName: 'Monitor benchmark (binary, registered)', tier: 'low', approvers: ['alice'], monitor: { window } }],
    },
    '(benchmark)',
  );
}

/** Appends rows [from, to) of the stream: ts 1 ms apart from `base`, all served by the model, all labelled. */
async function loadPredictions(pool: pg.Pool, features: number, base: Date, from: number, to: number): Promise<void> {
  const json = `jsonb_build_object(${Array.from({ length: features }, (_, k) => featureSql(k)).join(', ')})`;
  for (let start = from; start < to; start += LOAD_CHUNK) {
    const end = Math.min(to, start + LOAD_CHUNK);
    await pool.query(
      `INSERT INTO predictions (model_id, request_id, model_version, served_by, ts, features, score, predicted, label, labeled_at)
       SELECT $1, 'req-' || g, 1, 'model', $2::timestamptz + g * interval '1 millisecond', ${json},
              score, (score >= 0.5)::int::int2, (random() < score)::int::int2, $2::timestamptz + g * interval '1 millisecond' + interval '1 second'
         FROM (SELECT g, random() AS score FROM generate_series($3::int, $4::int) AS g) AS s`,
      [MODEL_ID, base, start, end - 1],
    );
    if (to - from > LOAD_CHUNK) progress(`  ${int(end)} rows`);
  }
}

// ------------------------------------------------------------------------------- child ⇄ parent

interface ChildJob {
  url: string;
  stateDir: string;
  window: number;
  reps: number;
  breakdown: boolean;
}

interface RunResult {
  ms: number;
  samples: number;
  breaches: string[];
  incidents: number;
  heapBefore: number;
  heapPeak: number;
  rssBefore: number;
  rssPeakSelf: number;
  heapAfterGc: number;
}

type ChildMessage =
  | { type: 'ready'; rss: number; heapUsed: number; heapLimit: number }
  | { type: 'start'; what: 'warmup' | 'run' | 'breakdown'; rep: number }
  | { type: 'done'; what: 'warmup' | 'run'; rep: number; result: RunResult }
  | { type: 'breakdown'; phases: [string, number][]; heapHeld: number; heapHeldBoth: number }
  | { type: 'error'; message: string };

/** Records what the monitor would open: no Temporal server in this benchmark. */
function recordingOpener(): IncidentOpener & { opened: number } {
  return {
    opened: 0,
    async open() {
      this.opened++;
      return { id: `bench-incident-${this.opened}`, created: true };
    },
    async list() {
      return [];
    },
  };
}

const silentNotifier: Notifier = {
  async approvalRequested() {},
  async escalated() {},
  async phaseChanged() {},
  async reviewWritten() {},
};

/** The child: builds the services, runs the monitor, reports each run over IPC. */
async function child(job: ChildJob): Promise<void> {
  const send = (m: ChildMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const pool = createPool(job.url, { applicationName: 'vigil-bench-monitor', max: 4 });
  // A lazy connection never dials unless a client call is made; runMonitor makes none (incidents go to the stub).
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const monitorFor = (window: number) => {
    const config = benchConfig(window);
    const services = createVigilServices({ config, pool, temporal, stateDir: job.stateDir, notifier: silentNotifier });
    const opener = recordingOpener();
    return { services, config, opener, runMonitor: createMonitorActivities({ ...services, incidentOpener: opener }).runMonitor };
  };

  const measure = async (window: number): Promise<RunResult> => {
    const m = monitorFor(window);
    gc();
    const before = process.memoryUsage();
    let heapPeak = before.heapUsed;
    let rssPeak = before.rss;
    const sample = () => {
      const u = process.memoryUsage();
      if (u.heapUsed > heapPeak) heapPeak = u.heapUsed;
      if (u.rss > rssPeak) rssPeak = u.rss;
    };
    const timer = setInterval(sample, 50);
    const t0 = performance.now();
    const outcome = await m.runMonitor({ modelId: MODEL_ID });
    const ms = performance.now() - t0;
    sample();
    clearInterval(timer);
    gc();
    return {
      ms,
      samples: outcome.samples,
      breaches: outcome.breaches,
      incidents: m.opener.opened,
      heapBefore: before.heapUsed,
      heapPeak,
      rssBefore: before.rss,
      rssPeakSelf: rssPeak,
      heapAfterGc: process.memoryUsage().heapUsed,
    };
  };

  await send({ type: 'ready', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, heapLimit: v8.getHeapStatistics().heap_size_limit });
  await send({ type: 'start', what: 'warmup', rep: 0 });
  await send({ type: 'done', what: 'warmup', rep: 0, result: await measure(Math.min(WARMUP_WINDOW, job.window)) });
  for (let rep = 1; rep <= job.reps; rep++) {
    await send({ type: 'start', what: 'run', rep });
    await send({ type: 'done', what: 'run', rep, result: await measure(job.window) });
  }
  if (job.breakdown) {
    await send({ type: 'start', what: 'breakdown', rep: 0 });
    await send({ type: 'breakdown', ...(await breakdown(pool, monitorFor(job.window).services, job.window, gc)) });
  }
  await pool.end();
}

/** The same SELECT as adapters/postgres/predictionLog.ts loadRecentTraffic (no since / asOf), for the raw and EXPLAIN passes. */
function recentSql(labelledOnly: boolean): string {
  return `SELECT features, score, predicted, prediction,
            CASE WHEN labeled_at IS NOT NULL AND labeled_at <= $2 THEN label END AS label,
            CASE WHEN labeled_at IS NOT NULL AND labeled_at <= $2 THEN label_value END AS label_value,
            model_version, served_by, ts
       FROM predictions
      WHERE model_id = $1${labelledOnly ? ' AND (label IS NOT NULL OR label_value IS NOT NULL) AND labeled_at <= $2' : ''}
      ORDER BY ts DESC, id DESC
      LIMIT $3`;
}

/** One pass of computeModelSignals' work, phase by phase (the same calls, timed one at a time). */
async function breakdown(
  pool: pg.Pool,
  services: ReturnType<typeof createVigilServices>,
  window: number,
  gc: () => void,
): Promise<{ phases: [string, number][]; heapHeld: number; heapHeldBoth: number }> {
  const phases: [string, number][] = [];
  const timed = async <T>(label: string, fn: () => T | Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    phases.push([label, performance.now() - t]);
    return out;
  };
  const model = services.config.models[0]!;
  const champion = await services.registry.getAlias(MODEL_ID, 'champion');
  const profile = champion?.profile;
  if (!profile) throw new Error('the champion has no stored profile');
  const reference = psiReference(profile);
  const params = [MODEL_ID, new Date(), window];

  const explain = await pool.query<{ 'QUERY PLAN': [{ 'Execution Time': number }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${recentSql(false)}`, params);
  phases.push(['window query, server execution only (EXPLAIN ANALYZE)', explain.rows[0]!['QUERY PLAN'][0]['Execution Time']]);
  gc();
  await timed('window query, rows fetched as raw text (no JSON / Date parsing)', async () => {
    const r = await pool.query({ text: recentSql(false), values: params, types: { getTypeParser: () => (v: string) => v } });
    return r.rowCount;
  });
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const recent = await timed('predictions.recent(window): query + jsonb/Date parsing + row mapping', () =>
    services.predictions.recent(MODEL_ID, { limit: window }),
  );
  gc();
  const heapHeld = process.memoryUsage().heapUsed - heap0;
  const labelled = await timed('predictions.recent(window, labelledOnly): the second query', () =>
    services.predictions.recent(MODEL_ID, { limit: window, labelledOnly: true }),
  );
  gc();
  const heapHeldBoth = process.memoryUsage().heapUsed - heap0;
  const rows = recent.map((r) => r.features as Record<string, unknown>);
  const quality = await timed('assessDataQuality (schema from the stored profile)', () =>
    assessDataQuality(schemaFromProfile(profile), rows, model.monitor.dataQuality, reference),
  );
  await timed(`psiByFeature (${Object.keys(reference.features).length} numeric features)`, () => psiByFeature(reference, rows));
  await timed('psiByProfiledFeature (categorical; none here)', () => psiByProfiledFeature(profile, rows));
  const scored = labelled.filter((r) => r.servedBy === 'model' && r.label !== null);
  await timed('evaluateScores (accuracy, log loss, ECE, AUC by sort)', () =>
    evaluateScores(
      Float64Array.from(scored, (r) => r.score),
      Float64Array.from(scored, (r) => r.label ?? Number.NaN),
      0.5,
    ),
  );
  await timed('prediction + label PSI (columnPsi)', () => {
    if (profile.prediction)
      columnPsi(
        profile.prediction,
        recent.filter((r) => r.servedBy === 'model').map((r) => r.score),
      );
    if (profile.label)
      columnPsi(
        profile.label,
        scored.map((r) => (r.label === 1 ? 1 : 0)),
      );
  });
  await timed('assessFeedbackLoop', () =>
    assessFeedbackLoop(
      {
        labels: labelled.map((r) => r.rawLabel),
        predicted: labelled.map((r) => r.predicted),
        inputsDrifted: false,
        minRows: model.monitor.minLabelled,
      },
      model.monitor.labels,
    ),
  );
  if (quality.rows !== recent.length) throw new Error('breakdown: data quality saw a different number of rows');
  return { phases, heapHeld, heapHeldBoth };
}

// ------------------------------------------------------------------------------------------- parent

interface WindowResult {
  window: number;
  rowsInTable: number;
  labelledInWindow: number;
  runs: RunResult[];
  warmup?: RunResult;
  rssBaseline?: number;
  heapLimit?: number;
  /** Peak RSS of the child over each timed run, sampled from /proc by this process. */
  rssPeakByRun: number[];
  stopped?: string;
  breakdown?: { phases: [string, number][]; heapHeld: number; heapHeldBoth: number };
  breakdownStopped?: string;
  loadSeconds: number;
}

/** VmRSS of a process from /proc (Linux), in bytes; undefined elsewhere or once it has exited. */
function procRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one window in a child process; a run that is stopped or crashes is a result, only a child that fails before its first run rejects. */
function measureWindow(opts: Options, job: ChildJob, into: WindowResult): Promise<void> {
  const limitBytes = opts.maxRssGib * GIB;
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const proc: ChildProcess = fork(self, [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      env: { ...process.env, VIGIL_BENCH_MONITOR_CHILD: JSON.stringify(job) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderrTail = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
    });
    let phase: 'setup' | 'warmup' | 'run' | 'breakdown' = 'setup';
    let phaseTimer: NodeJS.Timeout | undefined;
    let runPeak = 0;
    let stopReason: string | undefined;
    const stop = (why: string) => {
      if (stopReason) return;
      stopReason = why;
      proc.kill('SIGKILL');
    };
    const rssTimer = setInterval(() => {
      const rss = procRss(proc.pid!);
      if (rss === undefined) return;
      if (rss > runPeak) runPeak = rss;
      if (rss > limitBytes) stop(`RSS passed ${opts.maxRssGib} GiB (${mib(rss)} MiB)`);
    }, 50);
    const limitFor = (what: string) => (what === 'breakdown' ? opts.timeoutS * 4 : opts.timeoutS) * 1000;
    proc.on('message', (raw) => {
      const m = raw as ChildMessage;
      if (m.type === 'ready') {
        into.rssBaseline = m.rss;
        into.heapLimit = m.heapLimit;
      } else if (m.type === 'start') {
        phase = m.what;
        runPeak = procRss(proc.pid!) ?? 0;
        clearTimeout(phaseTimer);
        const limit = limitFor(m.what);
        phaseTimer = setTimeout(() => stop(`${m.what === 'breakdown' ? 'the phase breakdown' : 'a run'} took over ${limit / 1000} s`), limit);
      } else if (m.type === 'done') {
        clearTimeout(phaseTimer);
        const peak = Math.max(runPeak, m.result.rssPeakSelf);
        if (m.what === 'warmup') into.warmup = m.result;
        else {
          into.runs.push(m.result);
          into.rssPeakByRun.push(peak);
          progress(
            `  window ${int(job.window)} run ${m.rep}/${job.reps}: ${fmtMs(m.result.ms)} ms, ${int(m.result.samples)} samples, peak RSS ${mib(peak)} MiB, heap +${mib(m.result.heapPeak - m.result.heapBefore)} MiB`,
          );
        }
      } else if (m.type === 'breakdown') {
        clearTimeout(phaseTimer);
        into.breakdown = { phases: m.phases, heapHeld: m.heapHeld, heapHeldBoth: m.heapHeldBoth };
      } else if (m.type === 'error') {
        stderrTail += `\n${m.message}`;
      }
    });
    proc.on('exit', (code, signal) => {
      clearInterval(rssTimer);
      clearTimeout(phaseTimer);
      if (stopReason || code !== 0) {
        const why =
          stopReason ??
          (/heap out of memory|Allocation failed/i.test(stderrTail)
            ? 'the process ran out of heap (JavaScript heap out of memory)'
            : `the process exited (${signal ?? `code ${code}`}): ${stderrTail.trim().split('\n').slice(-3).join(' / ')}`);
        if (phase === 'setup' && !stopReason) {
          reject(new Error(`the measuring process failed before its first run: ${stderrTail.trim()}`));
          return;
        }
        if (phase === 'breakdown') into.breakdownStopped = why;
        else into.stopped = `${phase === 'warmup' ? 'during the warm-up: ' : `in run ${into.runs.length + 1}: `}${why}`;
        progress(`  window ${int(job.window)}: stopped — ${why}`);
      }
      resolve();
    });
  });
}

/** Nearest-rank percentile. */
function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

async function parent(opts: Options): Promise<void> {
  const started = performance.now();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-monitor-'));
  // As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter the folder.
  fs.chmodSync(runDir, 0o755);
  let pgServer: EmbeddedPostgres | undefined;
  let pool: pg.Pool | undefined;
  const results: WindowResult[] = [];
  const cleanup = async () => {
    await pool?.end().catch(() => undefined);
    await pgServer?.stop().catch((err: Error) => progress(`stopping PostgreSQL: ${err.message}`));
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping PostgreSQL`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    progress(`starting embedded PostgreSQL in ${runDir}`);
    pgServer = await startEmbeddedPostgres({
      dataDir: path.join(runDir, 'postgres'),
      port: 0,
      log: () => undefined,
      logFile: path.join(runDir, 'postgres.log'),
    });
    await migrate(pgServer.url);
    pool = createPool(pgServer.url, { applicationName: 'vigil-bench-monitor-setup', max: 2 });
    const stateDir = path.join(runDir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });

    // The model: registered from reference data Vigil profiles, with a holdout for its baseline metrics.
    const config = benchConfig(opts.windows[0]!);
    const services = createVigilServices({
      config,
      pool,
      temporal: new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
      stateDir,
      notifier: silentNotifier,
    });
    const registered = await createModelService({ config, registry: services.registry }).register({
      modelId: MODEL_ID,
      artifactUri: 's3://bench/monitor/model-v1',
      reference: modelTable('(in-memory reference)', REFERENCE_ROWS, opts.features),
      holdout: modelTable('(in-memory holdout)', HOLDOUT_ROWS, opts.features),
      alias: 'champion',
      source: 'bench/monitor.ts',
    });
    progress(
      `registered ${MODEL_ID} v${registered.version.version} (champion): ${opts.features} numeric features, ${int(REFERENCE_ROWS)} reference rows, holdout accuracy ${registered.version.metrics.accuracy?.toFixed(3)}`,
    );

    const base = new Date(Date.now() - 24 * 3600_000);
    let loaded = 0;
    for (const window of opts.windows) {
      const t = performance.now();
      progress(`loading predictions ${int(loaded)} → ${int(window)}`);
      await loadPredictions(pool, opts.features, base, loaded, window);
      loaded = window;
      await pool.query('VACUUM ANALYZE predictions');
      const loadSeconds = (performance.now() - t) / 1000;
      const count = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM predictions WHERE model_id = $1`, [MODEL_ID]);
      const labelled = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM predictions WHERE model_id = $1 AND label IS NOT NULL AND labeled_at <= now() ORDER BY ts DESC LIMIT $2) AS w`,
        [MODEL_ID, window],
      );
      const result: WindowResult = {
        window,
        rowsInTable: count.rows[0]!.n, // count(*): always one row
        labelledInWindow: labelled.rows[0]!.n,
        runs: [],
        rssPeakByRun: [],
        loadSeconds,
      };
      results.push(result);
      const reps = window >= 1_000_000 ? opts.repsLarge : opts.reps;
      progress(
        `window ${int(window)}: ${int(result.rowsInTable)} rows loaded in ${loadSeconds.toFixed(1)} s; 1 warm-up (window ${int(Math.min(WARMUP_WINDOW, window))}) + ${reps} runs`,
      );
      await measureWindow(opts, { url: pgServer.url, stateDir, window, reps, breakdown: opts.breakdown }, result);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  await cleanup();
  report(opts, results, (performance.now() - started) / 1000);
}

function report(opts: Options, results: WindowResult[], totalSeconds: number): void {
  const cpus = os.cpus();
  const anyHeapLimit = results.find((r) => r.heapLimit !== undefined)?.heapLimit;
  const lines = [
    '',
    `## Vigil monitor run: runMonitor activity (computeModelSignals + health + detectBreaches; incidents to a recording stub, no Temporal server)`,
    '',
    `- machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / GIB).toFixed(1)} GiB memory, ${os.type()} ${os.release()}, Node ${process.version}` +
      (anyHeapLimit ? `, V8 heap limit ${mib(anyHeapLimit)} MiB` : ''),
    `- model: binary, registered (not built by Vigil), ${opts.features} numeric features, reference profile of ${int(REFERENCE_ROWS)} rows with prediction and label, holdout baseline; traffic drawn from the reference's distributions, every prediction labelled`,
    `- PostgreSQL: embedded, same machine; the table holds exactly the window (loaded with INSERT … SELECT generate_series, then VACUUM ANALYZE)`,
    `- each window in a fresh child process: 1 warm-up run (window ${int(WARMUP_WINDOW)}), then the timed runs; peak RSS sampled every 50 ms from /proc by the parent and by the child; heap Δ = peak heapUsed (child's own 50 ms samples, a lower bound) − heapUsed before the run (after a full GC)`,
    '',
    '| window | rows read (window + labelled) | runs | wall p50 | wall p95 | peak RSS | RSS Δ over the run | heap Δ (peak) | heap retained after GC | breaches | result |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of results) {
    const ms = r.runs.map((x) => x.ms);
    const last = r.runs.at(-1);
    const rssPeak = r.rssPeakByRun.length ? Math.max(...r.rssPeakByRun) : Number.NaN;
    const rssDelta = r.runs.length ? Math.max(...r.runs.map((x, i) => r.rssPeakByRun[i]! - x.rssBefore)) : Number.NaN;
    const heapDelta = r.runs.length ? Math.max(...r.runs.map((x) => x.heapPeak - x.heapBefore)) : Number.NaN;
    const retained = r.runs.length ? Math.max(...r.runs.map((x) => x.heapAfterGc - x.heapBefore)) : Number.NaN;
    const rowsRead = last ? `${int(last.samples)} + ${int(Math.min(r.labelledInWindow, r.window))}` : '—';
    const breaches = last ? (last.breaches.length ? last.breaches.join(', ') : 'none') : '—';
    const m = (v: number) => (Number.isFinite(v) ? `${mib(v)} MiB` : '—');
    const result = r.stopped ? `**stopped** ${r.stopped}` : last && last.samples < r.window ? `read ${int(last.samples)} of ${int(r.window)}` : 'ok';
    lines.push(
      `| ${int(r.window)} | ${rowsRead} | ${r.runs.length} | ${ms.length ? `${fmtMs(percentile(ms, 50))} ms` : '—'} | ${ms.length ? `${fmtMs(percentile(ms, 95))} ms` : '—'} | ${m(rssPeak)} | ${m(rssDelta)} | ${m(heapDelta)} | ${m(retained)} | ${breaches} | ${result} |`,
    );
  }

  const withBreakdown = results.filter((r) => r.breakdown || r.breakdownStopped);
  if (withBreakdown.length) {
    const labels: string[] = [];
    for (const r of withBreakdown) for (const [label] of r.breakdown?.phases ?? []) if (!labels.includes(label)) labels.push(label);
    lines.push(
      '',
      '### Where a run spends its time: one more pass, phase by phase (ms)',
      '',
      `| phase | ${withBreakdown.map((r) => int(r.window)).join(' | ')} |`,
      `|---|${withBreakdown.map(() => '---:').join('|')}|`,
      ...labels.map(
        (label) => `| ${label} | ${withBreakdown.map((r) => fmtMs(r.breakdown?.phases.find(([l]) => l === label)?.[1] ?? Number.NaN)).join(' | ')} |`,
      ),
      `| heap held by the window's rows (recent, after GC) | ${withBreakdown.map((r) => (r.breakdown ? `${mib(r.breakdown.heapHeld)} MiB` : '—')).join(' | ')} |`,
      `| heap held by both result sets (recent + labelled) | ${withBreakdown.map((r) => (r.breakdown ? `${mib(r.breakdown.heapHeldBoth)} MiB` : '—')).join(' | ')} |`,
    );
    for (const r of withBreakdown) if (r.breakdownStopped) lines.push('', `(window ${int(r.window)}: breakdown stopped — ${r.breakdownStopped})`);
  }

  // Targets.
  const target = results.find((r) => r.window === TARGET_WINDOW);
  const targetP95 = target?.runs.length
    ? percentile(
        target.runs.map((x) => x.ms),
        95,
      )
    : Number.NaN;
  const targetP50 = target?.runs.length
    ? percentile(
        target.runs.map((x) => x.ms),
        50,
      )
    : Number.NaN;
  const smallest = results.find((r) => r.rssPeakByRun.length && !r.stopped);
  const largest = results.at(-1);
  const peakOf = (r: WindowResult | undefined) => (r?.rssPeakByRun.length ? Math.max(...r.rssPeakByRun) : Number.NaN);
  const growth = peakOf(largest) / peakOf(smallest);
  const bounded = results.every((r) => !r.stopped) && results.length > 1 && growth <= 2;
  lines.push(
    '',
    'Targets (PRODUCT.md):',
    target
      ? `- one monitor run over a 100,000-row window, p95 < ${TARGET_MS} ms: ${!target.stopped && targetP95 < TARGET_MS ? 'MET' : 'MISSED'} (p50 ${fmtMs(targetP50)} ms, p95 ${fmtMs(targetP95)} ms over ${target.runs.length} runs on ${cpus.length} cores${target.stopped ? `; ${target.stopped}` : ''})`
      : `- one monitor run over a 100,000-row window: NOT MEASURED (add 100000 to --windows)`,
    results.length > 1
      ? `- bounded memory at every size (every window finishes under ${opts.maxRssGib} GiB and peak RSS at the largest window ≤ 2× the smallest's): ${bounded ? 'MET' : 'MISSED'}` +
          ` (peak RSS ${results.map((r) => `${int(r.window)}: ${r.stopped ? 'stopped' : `${mib(peakOf(r))} MiB`}`).join(', ')}` +
          (Number.isFinite(growth) && !largest?.stopped ? `; ×${growth.toFixed(1)} from ${int(smallest!.window)} to ${int(largest!.window)}` : '') +
          ')'
      : `- bounded memory at every size: NOT MEASURED (needs two or more windows)`,
    `- loading: ${results.map((r) => `${int(r.window)} rows in ${r.loadSeconds.toFixed(1)} s`).join(', ')} (cumulative); total run time ${totalSeconds.toFixed(1)} s`,
    '',
  );
  console.log(lines.join('\n'));
}

// ------------------------------------------------------------------------------------------- entry

const childJob = process.env.VIGIL_BENCH_MONITOR_CHILD;
if (childJob !== undefined) {
  child(JSON.parse(childJob) as ChildJob).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`[bench child] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
} else {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`[bench] ${(err as Error).message}`);
    process.exit(2);
  }
  parent(options).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
