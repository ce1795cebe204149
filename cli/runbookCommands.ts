/** `vigil runbook list|show|check|dry-run`: the runbooks this config runs, checked before they ship. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { checkRunbooks } from '../adapters/runbooks/runbookCheck.js';
import { loadRunbookFolder, RunbookFolderError, type RunbookFolder } from '../adapters/runbooks/runbookFolder.js';
import { customRunbooksFor, findModel, runbooksFor, type VigilConfig } from '../domain/config.js';
import { NotFoundError, UserInputError } from '../domain/errors.js';
import { FAILURE_MODES, type IncidentState } from '../domain/incident.js';
import type { Runbook } from '../workflows/runbook/defineRunbook.js';
import { standardRunbook } from '../workflows/runbook/standardRunbook.js';
import { dryRunRunbook, formatPlan } from '../workers/runbookDryRun.js';
import { startEphemeralTemporal } from '../stack/ephemeralServices.js';
import type { CliContext } from './cliContext.js';
import { formatTable } from './formatTable.js';
import { loadConfig } from './loadConfig.js';

const COMMITTED_HISTORIES = fileURLToPath(new URL('../test/histories/', import.meta.url));

export interface RunbookCommandDeps {
  withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T>;
  print(json: boolean | undefined, value: unknown, human: () => string): void;
  globals(): { config?: string };
}

async function folderOf(config: VigilConfig, explicit?: string): Promise<RunbookFolder | undefined> {
  const dir = explicit ? path.resolve(explicit) : config.runbooks.path;
  if (!dir) return undefined;
  try {
    return await loadRunbookFolder(dir);
  } catch (err) {
    if (err instanceof RunbookFolderError) throw new UserInputError(err.message);
    throw err;
  }
}

function known(folder: RunbookFolder | undefined): { runbook: Runbook; file: string }[] {
  return [{ runbook: standardRunbook as unknown as Runbook, file: '(Vigil)' }, ...(folder?.runbooks ?? [])];
}

/** Which model and failure mode runs which runbook, with the policy version and params. */
function uses(config: VigilConfig) {
  return config.models.flatMap((model) => {
    const custom = customRunbooksFor(model);
    const policies = runbooksFor(model);
    return FAILURE_MODES.map((mode) => ({
      model: model.id,
      failureMode: mode,
      runbook: custom[mode]?.name ?? standardRunbook.name,
      policy: policies[mode].version,
      ...(custom[mode] ? { params: custom[mode]!.params } : {}),
    }));
  });
}

/** The config, its runbooks folder and the runbook called `name` in it (or Vigil's); unknown: exit 2 with the names known. */
async function findRunbookNamed(deps: RunbookCommandDeps, name: string, explicitFolder?: string) {
  const { config } = loadConfig(deps.globals().config);
  const folder = await folderOf(config, explicitFolder);
  const found = known(folder).find((k) => k.runbook.name === name);
  if (!found)
    throw new NotFoundError(
      `unknown runbook "${name}" (known: ${known(folder)
        .map((k) => k.runbook.name)
        .join(', ')})`,
    );
  return { config, folder, found };
}

export function registerRunbookCommands(program: Command, deps: RunbookCommandDeps): void {
  const runbook = program.command('runbook').description("the runbooks incidents run: Vigil's standard one and a team's (config runbooks.path)");

  runbook
    .command('list')
    .description('runbooks known, and which model and failure mode runs which')
    .option('--folder <dir>', 'a runbooks folder instead of the config’s runbooks.path')
    .option('--json', 'machine-readable output')
    .action(async (opts: { folder?: string; json?: boolean }) => {
      const { config } = loadConfig(deps.globals().config);
      const folder = await folderOf(config, opts.folder);
      const list = known(folder).map((k) => ({ name: k.runbook.name, file: k.file, description: k.runbook.description ?? '' }));
      const table = uses(config);
      deps.print(opts.json, { runbooks: list, uses: table }, () =>
        [
          formatTable(
            ['runbook', 'file', 'description'],
            list.map((r) => [r.name, r.file, r.description]),
          ),
          '',
          formatTable(
            ['model', 'failure mode', 'runbook', 'policy'],
            table.map((u) => [u.model, u.failureMode, u.runbook, u.policy]),
          ),
        ].join('\n'),
      );
    });

  runbook
    .command('show')
    .description("a runbook: description, file, its params' JSON Schema, who uses it with which params")
    .argument('<name>', 'runbook name')
    .option('--folder <dir>', 'a runbooks folder instead of the config’s runbooks.path')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { folder?: string; json?: boolean }) => {
      const { config, found } = await findRunbookNamed(deps, name, opts.folder);
      const schema = z.toJSONSchema(found.runbook.params, { io: 'input', unrepresentable: 'any' });
      const usedBy = uses(config).filter((u) => u.runbook === name);
      const value = { name, file: found.file, description: found.runbook.description ?? '', params: schema, usedBy };
      deps.print(opts.json, value, () =>
        [
          `${name} — ${value.description || '(no description)'}`,
          `file: ${found.file}`,
          `params (JSON Schema): ${JSON.stringify(schema, null, 2)}`,
          usedBy.length
            ? `used by:\n${usedBy.map((u) => `  ${u.model} ${u.failureMode}${u.params ? ` ${JSON.stringify(u.params)}` : ` (policy ${u.policy})`}`).join('\n')}`
            : 'used by: no model',
        ].join('\n'),
      );
    });

  runbook
    .command('check')
    .description('compile and bundle the runbooks, then replay recent incidents (Temporal) and the committed histories against them')
    .option('--folder <dir>', 'a runbooks folder instead of the config’s runbooks.path (e.g. your branch’s copy)')
    .option('--committed-only', 'replay only the histories committed under test/histories (no Temporal needed)')
    .option('--limit <n>', 'recent incidents to replay from Temporal', '100')
    .option('--json', 'machine-readable output')
    .action(async (opts: { folder?: string; committedOnly?: boolean; limit: string; json?: boolean }) => {
      const { config } = loadConfig(deps.globals().config);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UserInputError(`--limit: "${opts.limit}" is not a positive whole number`);
      const folder = await folderOf(config, opts.folder);
      // The replaying worker's lifecycle chatter would drown the report.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      const run = (temporal?: Parameters<typeof checkRunbooks>[0]['temporal']) =>
        checkRunbooks({
          runbookFiles: folder?.files ?? [],
          runbookNames: (folder?.runbooks ?? []).map((r) => r.runbook.name),
          historiesDir: fs.existsSync(COMMITTED_HISTORIES) ? COMMITTED_HISTORIES : undefined,
          ...(temporal ? { temporal } : {}),
        });
      const result = opts.committedOnly
        ? await run()
        : await deps.withContext((ctx) => run({ client: ctx.services.temporal, taskQueue: ctx.config.taskQueue, limit }));
      deps.print(opts.json, result, () => {
        const lines = [
          `replayed ${result.replayed.length} histories against ${known(folder)
            .map((k) => k.runbook.name)
            .join(', ')}`,
        ];
        if (result.skipped.length) {
          const names = [...new Set(result.skipped.map((x) => x.runbook))].join(', ');
          lines.push(`skipped ${result.skipped.length} that ran runbooks not in this folder (${names})`);
        }
        for (const f of result.failures) {
          lines.push(
            `NONDETERMINISM runbook ${f.runbook}, incident ${f.workflowId} (${f.source}), at ${f.error!.step ?? 'an unknown step'}:`,
            `  ${f.error!.message.split('\n')[0]}`,
          );
        }
        lines.push(
          result.failures.length
            ? `${result.failures.length} would break: version the change with patched() (README, "Write a runbook")`
            : 'ok: every incident replays',
        );
        return lines.join('\n');
      });
      if (result.failures.length) process.exitCode = 1;
    });

  runbook
    .command('dry-run')
    .description("run a runbook against a past incident's recorded state: every step printed, nothing called, no time waited")
    .argument('<name>', 'runbook name')
    .requiredOption('--incident <id>', 'the past incident')
    .option('--folder <dir>', 'a runbooks folder instead of the config’s runbooks.path')
    .option('--params <json>', "the runbook's params (default: those the incident's model configures for it)")
    .option('--signal <name...>', 'signals to treat as received when waited for (others time out)', [])
    .option('--reject', 'answer the approval with a rejection (default: approve)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { incident: string; folder?: string; params?: string; signal: string[]; reject?: boolean; json?: boolean }) => {
      const { found, folder } = await findRunbookNamed(deps, name, opts.folder);
      let explicit: Record<string, unknown> | undefined;
      if (opts.params !== undefined) {
        try {
          explicit = JSON.parse(opts.params) as Record<string, unknown>;
        } catch (err) {
          throw new UserInputError(`--params: not JSON: ${(err as Error).message}`);
        }
      }
      const recorded = await deps.withContext(async (ctx) => {
        const { state: shown } = await ctx.services.incidents.show(opts.incident);
        const state = shown as IncidentState;
        if (!state.classification) throw new UserInputError(`incident ${opts.incident} was never classified: nothing to dry-run against`);
        const model = findModel(ctx.config, state.model.id);
        if (!model) throw new UserInputError(`incident ${opts.incident} is for model "${state.model.id}", which is not in the config`);
        const configured = customRunbooksFor(model)[state.classification.failureMode];
        return { state, runbooks: runbooksFor(model), params: explicit ?? (configured?.name === name ? configured.params : {}) };
      });
      // The dry run's worker logs nothing a reader of the plan needs.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      const result = await dryRunRunbook({
        runbook: found.runbook,
        runbookFiles: found.runbook.name === 'standard' ? [] : (folder?.files ?? []),
        ...recorded,
        signals: opts.signal,
        ...(opts.reject ? { decision: 'reject' as const } : {}),
        startServer: () => startEphemeralTemporal({ log: (m) => process.stderr.write(`${m}\n`) }),
      });
      deps.print(opts.json, result, () => formatPlan(result));
      if (result.error) process.exitCode = 2;
    });
}
