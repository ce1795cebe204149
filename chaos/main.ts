/**
 * `npm run chaos`: faults injected, one at a time, into a real local stack while incidents go through
 * rollback, retrain with a canary, the fallback and a team runbook; then the systems are read back.
 * Prints a table — fault, incidents finished with a review, Failed workflows, duplicate external side
 * effects, lost audit rows, lost ingested rows — and exits 1 unless every incident finished with its
 * review and every other count is 0 (the reasons are printed under the table).
 *
 *   npm run chaos                      every fault (about 18 minutes on 2 cores)
 *   npm run chaos -- --fast            the subset CI runs
 *   npm run chaos -- --only slack-429,postgres-kill
 *   --keep                             keep the run's folder (logs, databases); kept anyway on failure
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { formatTable } from '../cli/formatTable.js';
import { startChaosStack } from './chaosStack.js';
import { modelConfig, RUNBOOKS_DIR, runDrive, type Drive } from './drives.js';
import { FAULTS, type Fault } from './faults.js';
import { measure, type FaultFigures } from './measure.js';

const { values } = parseArgs({
  options: { fast: { type: 'boolean', default: false }, only: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const fast = values.fast!;
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !FAULTS.some((f) => f.id === id)) ?? [];
if (unknown.length) {
  console.error(`--only: unknown fault ${unknown.join(', ')} (faults: ${FAULTS.map((f) => f.id).join(', ')})`);
  process.exit(2);
}
const faults = FAULTS.filter((f) => (only ? only.includes(f.id) : !fast || f.fast));

Runtime.install({ logger: new DefaultLogger('ERROR') });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-chaos-'));
// Entered by the postgres OS user when the run is root (embedded PostgreSQL runs as it then).
fs.chmodSync(dir, 0o711);
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s`;
const logFile = path.join(dir, 'chaos.log');
const log = (m: string) => {
  fs.appendFileSync(logFile, `${new Date().toISOString()} ${m}\n`);
  if (!m.startsWith('[http]') && !m.startsWith('[decisions]')) console.log(`[chaos ${clock()}] ${m}`);
};
const modelId = (f: Fault, d: Drive) => `${f.id}-${d}`;

log(`${faults.length} fault(s): ${faults.map((f) => f.id).join(', ')}; folder ${dir}`);
const stack = await startChaosStack({
  dir,
  log,
  mlflow: faults.some((f) => f.needs?.mlflow),
  prometheus: faults.some((f) => f.needs?.prometheus),
  config: (ctx) => ({
    taskQueue: 'vigil-chaos',
    stateDir: ctx.stateDir,
    runbooks: { path: RUNBOOKS_DIR },
    ...(ctx.prometheusUrl ? { prometheus: { url: ctx.prometheusUrl, timeout: '3s' } } : {}),
    models: faults.flatMap((f) => f.drives.map((d) => modelConfig(modelId(f, d), d, ctx, f.tweaks?.(d, ctx)))),
  }),
});
log(`stack up in ${clock().trim()}`);

const rows: { fault: Fault; figures: FaultFigures; seconds: number }[] = [];
let failed = false;
try {
  for (const fault of faults) {
    const since = new Date(Date.now() - 1000);
    const started = Date.now();
    log(`── ${fault.name}`);
    await stack.worker.restartWith(fault.workerEnv?.(stack, fast) ?? {});
    const deathsBefore = stack.worker.deaths;
    const end = fault.during?.(stack);
    const at = fault.at?.(stack);
    const results = await Promise.all(fault.drives.map((d) => runDrive(stack, d, modelId(fault, d), { timeoutMs: 12 * 60_000, ...(at ? { at } : {}) })));
    const extraFeeds = (await end?.()) ?? [];
    for (const r of results)
      log(`${r.drive}: ${r.incidentId ?? '(not opened)'} ${r.closed ? `closed ${r.outcome}` : `NOT closed: ${r.error}`} after ${r.seconds.toFixed(0)} s`);
    if (fault.workerEnv) log(`worker killed ${stack.worker.deaths - deathsBefore} time(s)`);
    const feeds = [...results.map((r) => r.feed), ...extraFeeds];
    const rowsAcknowledged = feeds.reduce((n, f) => n + f.acknowledged.size, 0);
    log(
      `ingestion: ${rowsAcknowledged} predictions acknowledged, ${feeds.reduce((n, f) => n + f.refused, 0)} batches refused (429/503/no answer: the sender was told)`,
    );
    const figures = await measure(stack, results, since, extraFeeds);
    const seconds = (Date.now() - started) / 1000;
    rows.push({ fault, figures, seconds });
    const ok = isClean(figures);
    failed ||= !ok;
    log(`${ok ? 'ok' : 'FAILED'}: ${describe(figures)} in ${seconds.toFixed(0)} s${figures.notes.length ? `\n    ${figures.notes.join('\n    ')}` : ''}`);
    const gaveUp = stack.gaveUp();
    if (gaveUp) throw gaveUp;
  }
} catch (err) {
  failed = true;
  log(`run stopped: ${(err as Error).message}`);
} finally {
  await stack.close();
}

console.log('');
console.log(
  formatTable(
    ['fault', 'incidents finished', 'Failed workflows', 'duplicate side effects', 'lost audit rows', 'lost ingested rows', 'time'],
    rows.map(({ fault, figures: f, seconds }) => [
      fault.name,
      `${f.finished}/${f.incidents}`,
      String(f.failedWorkflows),
      String(f.duplicateSideEffects),
      String(f.lostAuditRows),
      String(f.lostIngestedRows),
      `${seconds.toFixed(0)} s`,
    ]),
  ),
);
for (const { fault, figures } of rows) for (const note of figures.notes) console.log(`${fault.id}: ${note}`);
if (rows.length < faults.length) console.log(`only ${rows.length} of ${faults.length} faults ran`);
if (failed || rows.length < faults.length) {
  console.log(`FAILED — logs and data kept in ${dir}`);
  process.exit(1);
}
console.log(`all ${rows.length} faults: every incident finished with a review, nothing failed, repeated or lost (${clock().trim()})`);
if (values.keep) console.log(`kept ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);

function isClean(f: FaultFigures): boolean {
  return f.finished === f.incidents && f.failedWorkflows === 0 && f.duplicateSideEffects === 0 && f.lostAuditRows === 0 && f.lostIngestedRows === 0;
}

function describe(f: FaultFigures): string {
  return `${f.finished}/${f.incidents} finished, ${f.failedWorkflows} failed, ${f.duplicateSideEffects} duplicated, ${f.lostAuditRows} audit lost, ${f.lostIngestedRows} ingested lost`;
}
