/** `vigil monitor enable|run|list|disable`: the per-model monitor schedules. */
import type { Command } from 'commander';
import type { MonitorOutcome } from '../contracts/monitorWorkflow.js';
import { createMonitorService, validateEvery, type MonitorScheduleInfo, type MonitorService } from '../client/monitorService.js';
import type { CliContext } from './cliContext.js';
import { formatTable } from './formatTable.js';

export interface MonitorCommandDeps {
  withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T>;
  print(json: boolean | undefined, value: unknown, human: () => string): void;
}

export function registerMonitorCommands(program: Command, deps: MonitorCommandDeps): void {
  const withMonitors = <T>(fn: (monitors: MonitorService) => Promise<T>) =>
    deps.withContext((ctx) => fn(createMonitorService({ temporal: ctx.services.temporal, config: ctx.config })));

  const monitor = program.command('monitor').description('scheduled model monitors (one Temporal Schedule per model)');

  monitor
    .command('enable')
    .description("create or resume the model's monitor schedule")
    .argument('<model>', 'model id from the config')
    .option('--every <duration>', "interval, e.g. 30s or 5m (default: the model's monitor.every; kept when omitted)")
    .option('--json', 'machine-readable output')
    .action(async (modelId: string, opts: { every?: string; json?: boolean }) => {
      // Checked before connecting: bad input starts nothing.
      if (opts.every !== undefined) validateEvery(opts.every);
      await withMonitors(async (monitors) => {
        const r = await monitors.enable(modelId, opts.every);
        deps.print(
          opts.json,
          r,
          () => `monitor for ${modelId} enabled: every ${r.every}, next run ${relative(r.nextRunAt)} (schedule ${r.scheduleId}${r.created ? ' created' : ''})`,
        );
      });
    });

  monitor
    .command('run')
    .description("run the model's monitor once now and print what it found")
    .argument('<model>', 'model id from the config')
    .option('--json', 'machine-readable output (every field of the outcome)')
    .action(async (modelId: string, opts: { json?: boolean }) => {
      await withMonitors(async (monitors) => {
        const outcome = await monitors.run(modelId);
        deps.print(opts.json, outcome, () => formatOutcome(outcome));
      });
    });

  monitor
    .command('list')
    .description("every configured model's monitor: state, interval, next and last run")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withMonitors(async (monitors) => {
        const list = await monitors.list();
        deps.print(opts.json, list, () => formatMonitorList(list));
      });
    });

  monitor
    .command('disable')
    .description("pause the model's monitor schedule (`vigil monitor enable` resumes it)")
    .argument('<model>', 'model id from the config')
    .option('--json', 'machine-readable output')
    .action(async (modelId: string, opts: { json?: boolean }) => {
      await withMonitors(async (monitors) => {
        const r = await monitors.disable(modelId);
        deps.print(opts.json, r, () => `monitor for ${modelId} disabled (schedule ${r.scheduleId} paused; \`vigil monitor enable ${modelId}\` resumes it)`);
      });
    });
}

export function formatOutcome(o: MonitorOutcome): string {
  const lines = [`${o.modelId}: ${o.samples} samples, ${o.breaches.length ? `breaches: ${o.breaches.join(', ')}` : 'no breaches'}`];
  // Older runs (recorded before reasons existed) lack the newer fields.
  for (const r of o.reasons ?? []) lines.push(`  why: ${r}`);
  for (const i of o.incidents) lines.push(`  ${i.created ? 'opened' : 'fed   '} ${i.id} (${i.signal})`);
  for (const n of o.healthNotes ?? []) lines.push(`  health: ${n}`);
  return lines.join('\n');
}

export function formatMonitorList(list: MonitorScheduleInfo[], now = Date.now()): string {
  const rows = list.map((m) => [
    m.modelId,
    m.state,
    m.every ?? '-',
    m.state === 'enabled' ? relative(m.nextRunAt, now) : '-',
    m.lastRun ? relative(m.lastRun.startedAt, now) : '-',
    m.lastRun?.status ?? '-',
    m.lastRun?.outcome ? m.lastRun.outcome.breaches.join(', ') || 'none' : '-',
    String(m.runningActions),
  ]);
  return formatTable(['MODEL', 'STATE', 'EVERY', 'NEXT RUN', 'LAST RUN', 'LAST STATUS', 'LAST BREACHES', 'RUNNING'], rows);
}

/** "in 12s" / "3m ago": monitor intervals are short, so relative times read best. */
function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const delta = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(delta);
  const text = abs < 120 ? `${abs}s` : abs < 7200 ? `${Math.round(abs / 60)}m` : abs < 172_800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86_400)}d`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}
