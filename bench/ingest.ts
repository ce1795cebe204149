/**
 * `npm run bench:ingest [-- --batches N --rows R --concurrency C --features F]`: the ingestion target of
 * PRODUCT.md on the local machine — predictions per second sustained through Vigil's real HTTP server
 * (bearer token, JSON batches of R rows, C clients at once) into an embedded PostgreSQL, the p50 / p99
 * batch latency, and the server's RSS. Prints Markdown. Exits 0 whether or not the target is met.
 */
import { benchArgs, UsageError } from './benchArgs.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAlertReceiver } from '../adapters/alertmanager/alertReceiver.js';
import { createPool, migrate } from '../adapters/postgres/database.js';
import { startEmbeddedPostgres } from '../adapters/postgres/embeddedPostgres.js';
import { createPredictionLog } from '../adapters/postgres/predictionLog.js';
import type { IncidentService } from '../client/incidentService.js';
import { parseConfig } from '../domain/config.js';

const TARGET_PER_SECOND = 20_000;
const TARGET_P99_MS = 250;
const TOKEN = 'bench-ingest-token-0123456789';

async function main(): Promise<void> {
  const args = benchArgs(process.argv.slice(2), {
    usage: 'usage: npm run bench:ingest -- [--batches 200] [--rows 1000] [--concurrency 4] [--features 10]',
    values: ['batches', 'rows', 'concurrency', 'features'],
  });
  const batches = args.number('batches', 200, 1, 1_000_000);
  const rows = args.number('rows', 1000, 1, 100_000);
  const concurrency = args.number('concurrency', 4, 1, 256);
  const features = args.number('features', 10, 1, 1000);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-ingest-'));
  fs.chmodSync(runDir, 0o755);
  const pgServer = await startEmbeddedPostgres({ dataDir: path.join(runDir, 'postgres'), port: 0, log: () => undefined });
  try {
    await migrate(pgServer.url);
    const config = parseConfig({ models: [{ id: 'bench', displayName: 'Bench', tier: 'low', approvers: ['alice'] }], ingest: { maxInFlight: concurrency } });
    const pool = createPool(pgServer.url, { max: concurrency });
    // The alert route is not exercised: no incident service is needed behind it.
    const server = await startAlertReceiver({
      incidents: {} as IncidentService,
      config,
      token: 'bench-alert-token-0123456789',
      log: (m) => console.error(`[bench] ${m}`),
      ingest: { predictions: createPredictionLog(pool), token: TOKEN },
      host: '127.0.0.1',
      port: 0,
    });
    const url = `${server.baseUrl}/v1/models/bench/predictions`;
    const body = (b: number) =>
      JSON.stringify({
        predictions: Array.from({ length: rows }, (_, i) => ({
          requestId: `b${b}-${i}`,
          ts: new Date().toISOString(),
          modelVersion: 1,
          features: Object.fromEntries(Array.from({ length: features }, (_, f) => [`f${f}`, f % 3 === 0 ? `c${(i + f) % 7}` : Math.random() * 100])),
          prediction: { score: Math.random() },
        })),
      });
    const bodies = Array.from({ length: Math.min(batches, 50) }, (_, b) => body(b));
    const latencies: number[] = [];
    let next = 0;
    let refused = 0;
    let peakRss = 0;
    const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let b = next++; b < batches; b = next++) {
          // Distinct request ids per batch: reuse a prepared body with its ids renamed.
          const payload = bodies[b % bodies.length]!.replaceAll(`"b${b % bodies.length}-`, `"b${b}-`);
          for (;;) {
            const t = performance.now();
            const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: payload });
            const answer = (await res.json()) as { accepted?: number };
            if (res.status === 429) {
              refused++;
              continue;
            }
            if (res.status !== 200 || answer.accepted !== rows) throw new Error(`batch ${b}: ${res.status} ${JSON.stringify(answer)}`);
            latencies.push(performance.now() - t);
            break;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(rss);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const perSecond = (batches * rows) / seconds;
    console.log(`## Prediction ingestion (${os.cpus().length} cores, ${batches} batches × ${rows} rows, ${features} features, ${concurrency} clients)\n`);
    console.log('| measure | value | target |');
    console.log('|---|---|---|');
    console.log(`| predictions/s | ${Math.round(perSecond)} | ≥ ${TARGET_PER_SECOND} ${perSecond >= TARGET_PER_SECOND ? '✓' : '✗'} |`);
    console.log(`| batch latency p50 | ${q(0.5).toFixed(1)} ms | |`);
    console.log(`| batch latency p99 | ${q(0.99).toFixed(1)} ms | < ${TARGET_P99_MS} ms ${q(0.99) < TARGET_P99_MS ? '✓' : '✗'} |`);
    console.log(`| 429 answers | ${refused} | |`);
    console.log(`| peak RSS (client + server) | ${Math.round(peakRss / 2 ** 20)} MiB | bounded |`);
    await server.stop();
    await pool.end();
  } finally {
    await pgServer.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  // Bad arguments: the message and exit 2; anything else: the stack and exit 1.
  console.error(`[bench] ${err instanceof UsageError ? err.message : ((err as Error).stack ?? err)}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
