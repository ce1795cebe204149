/** `vigil model register|list|show`: the versions of models Vigil did not build, with the profiles Vigil computed. */
import type { Command } from 'commander';
import { readCsvTable, CsvError, type CsvTable } from '../adapters/files/csvTable.js';
import { createModelService, type ModelService } from '../client/modelService.js';
import { summarizeProfile } from '../domain/datasetProfile.js';
import { UserInputError } from '../domain/errors.js';
import type { CliContext } from './cliContext.js';
import { formatTable } from './formatTable.js';

export interface ModelCommandDeps {
  withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T>;
  print(json: boolean | undefined, value: unknown, human: () => string): void;
}

export function registerModelCommands(program: Command, deps: ModelCommandDeps): void {
  const withModels = <T>(fn: (models: ModelService) => Promise<T>) =>
    deps.withContext((ctx) => fn(createModelService({ config: ctx.config, registry: ctx.services.registry })));

  const model = program.command('model').description('register, list and show model versions');

  model
    .command('register')
    .description('register a version: Vigil profiles the reference data and measures the holdout (the artifact stays opaque)')
    .argument('<model>', 'model id from the config')
    .requiredOption('--artifact <uri>', 'where the model is (any URI; Vigil does not read it)')
    .requiredOption('--reference <csv>', "reference data: the training rows' feature columns, and prediction / label columns when present")
    .option('--holdout <csv>', 'holdout rows with "prediction" and "label" columns: Vigil computes the metrics by task type')
    .option('--metric <name=value...>', 'a metric given by hand (repeatable); wins over the computed one of the same name')
    .option('--alias <alias>', 'point this alias at the new version, e.g. champion')
    .option('--json', 'machine-readable output')
    .action(async (modelId: string, opts: { artifact: string; reference: string; holdout?: string; metric?: string[]; alias?: string; json?: boolean }) => {
      // Files and arguments are checked before connecting: bad input starts nothing.
      const reference = readTable(opts.reference, '--reference');
      const holdout = opts.holdout ? readTable(opts.holdout, '--holdout') : undefined;
      const metrics = parseMetrics(opts.metric ?? []);
      if (opts.alias !== undefined && !/^[a-z][a-z0-9_-]{0,62}$/.test(opts.alias)) throw new UserInputError(`--alias: "${opts.alias}" is not an alias name`);
      await withModels(async (models) => {
        const r = await models.register({
          modelId,
          artifactUri: opts.artifact,
          reference,
          ...(holdout ? { holdout } : {}),
          metrics,
          ...(opts.alias ? { alias: opts.alias } : {}),
        });
        deps.print(opts.json, { version: r.version.version, created: r.created, alias: r.alias, metrics: r.version.metrics, model: modelId }, () =>
          [
            `${modelId} v${r.version.version} ${r.created ? 'registered' : 'was already registered'}${r.alias ? `, now ${r.alias}` : ''}`,
            `  metrics: ${formatMetrics(r.version.metrics)}`,
            ...(r.version.profile ? summarizeProfile(r.version.profile).map((l) => `  ${l}`) : []),
          ].join('\n'),
        );
      });
    });

  model
    .command('list')
    .description('configured models with their task type, versions and aliases')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withModels(async (models) => {
        const list = await models.list();
        deps.print(opts.json, list, () =>
          formatTable(
            ['model', 'task', 'versions', 'aliases'],
            list.map((m) => [
              m.id,
              m.task,
              String(m.versions),
              Object.entries(m.aliases)
                .map(([a, v]) => `${a}=v${v}`)
                .join(' ') || '-',
            ]),
          ),
        );
      });
    });

  model
    .command('show')
    .description("a model's task, versions (metrics, status), aliases and the champion's reference profile")
    .argument('<model>', 'model id from the config')
    .option('--json', 'machine-readable output')
    .action(async (modelId: string, opts: { json?: boolean }) => {
      await withModels(async (models) => {
        const d = await models.show(modelId);
        const champion = d.versions.find((v) => v.version === d.aliases.champion);
        deps.print(opts.json, { id: d.model.id, task: d.model.task, aliases: d.aliases, versions: d.versions }, () =>
          [
            `${d.model.id} (${d.model.displayName}): ${d.model.task.type}`,
            `aliases: ${
              Object.entries(d.aliases)
                .map(([a, v]) => `${a}=v${v}`)
                .join(' ') || 'none'
            }`,
            formatTable(
              ['version', 'status', 'source', 'metrics', 'artifact'],
              d.versions.map((v) => [`v${v.version}`, v.status, v.source, formatMetrics(v.metrics), v.artifactUri]),
            ),
            ...(champion?.profile ? ['champion reference profile:', ...summarizeProfile(champion.profile)] : []),
          ].join('\n'),
        );
      });
    });
}

function readTable(file: string, option: string): CsvTable {
  try {
    return readCsvTable(file);
  } catch (err) {
    if (err instanceof CsvError) throw new UserInputError(`${option}: ${err.message}`);
    throw err;
  }
}

/** `name=value` pairs with finite numbers; anything else names the bad item. */
export function parseMetrics(pairs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.+)$/.exec(pair);
    const value = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isFinite(value)) throw new UserInputError(`--metric: "${pair}" must be name=number, e.g. auc=0.87`);
    out[m[1]!] = value;
  }
  return out;
}

function formatMetrics(metrics: Record<string, number>): string {
  const shown = Object.entries(metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
  return shown.join(', ') || '-';
}
