#!/usr/bin/env node
/**
 * The `vigil` command. Exit codes: 0 ok, 1 runtime failure (the message names what failed),
 * 2 bad usage or invalid input (unknown model or incident, malformed evidence, refused decision).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { VigilConfig } from '../domain/config.js';
import { UserInputError } from '../domain/errors.js';
import { parseEvidencePairs, SignalKind, type DecideResult } from '../domain/incident.js';
import { openCliContext, type CliContext, type GlobalOptions } from './cliContext.js';
import { formatIncident, formatIncidentList } from './formatIncident.js';
import { registerModelCommands } from './modelCommands.js';
import { registerMonitorCommands } from './monitorCommands.js';
import { registerRunbookCommands } from './runbookCommands.js';
import { registerSlackCommand } from './slackCommand.js';
import { compareCsvFiles, driftSettingsFor, formatDrift, readSchemaFile, type ColumnTypes } from './driftCompare.js';
import { DRIFT_TESTS, type DriftOptions, type DriftTestName } from '../domain/drift/datasetDrift.js';
import { findModel, localUser } from '../domain/config.js';
import { loadConfig } from './loadConfig.js';
import { API_TOKEN_ENV, API_URL_ENV, decideThroughApi, decisionApiFromEnv, signalThroughApi } from './decisionApi.js';
import { registerTokenCommands } from './tokenCommands.js';

/** The examples `vigil up --example` runs (credit-risk by default). */
const EXAMPLES = ['credit-risk', 'fraud'] as const;

const program = new Command('vigil')
  .description('Durable incident response and retraining for production ML, on Temporal.')
  .option('-c, --config <file>', 'config file (default: $VIGIL_CONFIG, ./vigil.config.json, or the built-in example)')
  .option('--state-dir <dir>', "state folder (default: $VIGIL_STATE_DIR or the config's stateDir, .vigil)")
  .exitOverride()
  .showHelpAfterError();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();

async function withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const ctx = await openCliContext(globals());
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

const print = (json: boolean | undefined, value: unknown, human: () => string) => console.log(json ? JSON.stringify(value, null, 2) : human());

program
  .command('up')
  .description('start Vigil locally: Temporal dev server, PostgreSQL, worker and the example model')
  .option('--example <name>', 'the example to run: credit-risk, or fraud (a scikit-learn model behind a Python server)', 'credit-risk')
  .option('--no-example', 'do not run the example traffic simulator')
  .action(async (opts: { example: string | false }) => {
    if (opts.example !== false && !EXAMPLES.includes(opts.example as (typeof EXAMPLES)[number])) {
      throw new UserInputError(`--example: "${opts.example}" is not an example (${EXAMPLES.join(', ')})`);
    }
    const { runLocalStack } = await import('../stack/localStack.js');
    await runLocalStack({ ...globals(), example: opts.example as (typeof EXAMPLES)[number] | false });
  });

program
  .command('worker')
  .description('run a Vigil worker against TEMPORAL_ADDRESS and DATABASE_URL (production)')
  .action(async () => {
    const { runWorker } = await import('../workers/main.js');
    await runWorker(globals());
  });

const incident = program.command('incident').description('open, list and show incidents');

incident
  .command('open')
  .description('open an incident (or attach evidence to the open one for the same model and failure mode)')
  .requiredOption('--model <id>', 'model id from the config')
  .addOption(new Option('--signal <kind>', 'what was observed').choices([...SignalKind.options]).makeOptionMandatory())
  .option('--evidence <key=value...>', 'evidence values, e.g. psi_max=0.4 accuracy=0.81', [])
  .option('--json', 'print {"id": ...}')
  .action(async (opts: { model: string; signal: string; evidence: string[]; json?: boolean }) => {
    let evidence;
    try {
      evidence = parseEvidencePairs(opts.evidence);
    } catch (err) {
      throw new UserInputError((err as Error).message);
    }
    await withContext(async (ctx) => {
      const r = await ctx.services.incidents.open({ modelId: opts.model, signal: opts.signal, evidence, source: 'cli' });
      print(opts.json, { id: r.id, created: r.created }, () => (r.created ? r.id : `${r.id} (already open: evidence attached)`));
    });
  });

incident
  .command('list')
  .description('list incidents, newest first')
  .option('--open', 'only open incidents')
  .option('--model <id>', 'only this model')
  .option('--json', 'machine-readable output')
  .action(async (opts: { open?: boolean; model?: string; json?: boolean }) => {
    await withContext(async (ctx) => {
      const list = await ctx.services.incidents.list({ open: opts.open, modelId: opts.model });
      print(opts.json, list, () => formatIncidentList(list));
    });
  });

incident
  .command('show')
  .description('show one incident')
  .argument('<id>', 'incident id')
  .option('--json', 'machine-readable output')
  .action(async (id: string, opts: { json?: boolean }) => {
    await withContext(async (ctx) => {
      const d = await ctx.services.incidents.show(id);
      print(opts.json, d, () => formatIncident(d));
    });
  });

incident
  .command('signal')
  .description("send a named event to the incident's runbook (e.g. upstream_fixed, which a runbook may wait for)")
  .argument('<id>', 'incident id')
  .argument('<name>', 'the signal the runbook waits for')
  .option('--data <key=value...>', 'values that travel with it', [])
  .option('--as <user>', `who sends it, in local mode (default: the local user name); refused with ${API_URL_ENV}, where the token says who you are`)
  .action(async (id: string, name: string, opts: { data: string[]; as?: string }) => {
    const data: Record<string, string> = {};
    for (const pair of opts.data) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UserInputError(`--data "${pair}": expected key=value`);
      const key = pair.slice(0, at);
      // Assigned, it would be dropped without a word (it is the object's prototype, not a key).
      if (key === '__proto__') throw new UserInputError(`--data "${pair}": "__proto__" is not allowed as a key`);
      data[key] = pair.slice(at + 1);
    }
    const api = decisionApiFromEnv();
    if (api) {
      if (opts.as !== undefined) throw new UserInputError(`--as cannot be used with ${API_URL_ENV}: the API token (${API_TOKEN_ENV}) says who you are`);
      const { by } = await signalThroughApi(api, id, { name, ...(Object.keys(data).length ? { data } : {}) });
      console.log(`${id}: signal ${name} sent as ${by}`);
      return;
    }
    // As with decisions: anyone with Temporal access can name anyone here, so it is for the local stack.
    const by = opts.as ?? localUser();
    console.error(`vigil: signalling directly through Temporal as ${by}: local mode; set ${API_URL_ENV} in production`);
    await withContext(async (ctx) => {
      await ctx.services.incidents.signal(id, { name, by, data });
      console.log(`${id}: signal ${name} sent`);
    });
  });

function decideCommand(verdict: 'approve' | 'reject') {
  const cmd = program
    .command(verdict)
    .description(verdict === 'approve' ? 'approve the recommended action' : 'reject the recommended action (a reason is required)')
    .argument('<id>', 'incident id')
    .option('--as <user>', `who decides, in local mode (default: the local user name); refused with ${API_URL_ENV}, where the token says who you are`)
    .option('--json', 'machine-readable output');
  if (verdict === 'reject') cmd.requiredOption('--reason <text>', 'why');
  else cmd.option('--reason <text>', 'why (optional)');
  cmd.action(async (id: string, opts: { as?: string; reason?: string; json?: boolean }) => {
    const show = (r: DecideResult) =>
      print(opts.json, r, () =>
        r.outcome === 'vote_recorded'
          ? `vote recorded (${r.votes.filter((v) => v.verdict === 'approve').length}/${r.quorum} approvals)`
          : `${id}: ${r.outcome} by ${r.votes.map((v) => v.by).join(', ')}`,
      );
    const api = decisionApiFromEnv();
    if (api) {
      if (opts.as !== undefined) throw new UserInputError(`--as cannot be used with ${API_URL_ENV}: the API token (${API_TOKEN_ENV}) says who you are`);
      show(await decideThroughApi(api, id, { verdict, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) }));
      return;
    }
    // Anyone with Temporal access can name anyone here: fine for the local stack, not for production.
    const by = opts.as ?? localUser();
    console.error(`vigil: deciding directly through Temporal as ${by}: local mode; set ${API_URL_ENV} in production`);
    await withContext(async (ctx) => {
      show(await ctx.services.incidents.decide(id, { verdict, by, reason: opts.reason, via: 'cli' }));
    });
  });
}
decideCommand('approve');
decideCommand('reject');

program
  .command('review')
  .description('post-incident reviews')
  .command('show')
  .argument('<id>', 'incident id')
  .description("print the incident's review (Markdown)")
  .action(async (id: string) => {
    await withContext(async (ctx) => console.log(await ctx.services.incidents.review(id)));
  });

registerMonitorCommands(program, { withContext, print });
registerModelCommands(program, { withContext, print });
registerRunbookCommands(program, { withContext, print, globals });
registerSlackCommand(program, globals);
registerTokenCommands(program, { globals, print });

const drift = program.command('drift').description('drift statistics');
drift
  .command('compare')
  .description('per-feature drift between two CSV files (header row; numeric and categorical columns)')
  .requiredOption('--reference <file>', 'reference (training) data')
  .requiredOption('--current <file>', 'current (production) data')
  .addOption(new Option('--test <name>', 'one test for every column (default: chosen per column)').choices([...DRIFT_TESTS]))
  .option('--threshold <x>', 'threshold for the chosen test', (v) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError('must be a non-negative number');
    return x;
  })
  .option('--model <id>', "use the model's configured drift tests, thresholds and input-schema column types")
  .option('--schema <file>', 'column types from a JSON schema file ({"columns": {"age": {"type": "numeric"}}})')
  .option('--json', 'machine-readable output')
  .action((opts: { reference: string; current: string; test?: DriftTestName; threshold?: number; model?: string; schema?: string; json?: boolean }) => {
    if (opts.threshold !== undefined && !opts.test) throw new UserInputError('--threshold needs --test');
    let settings: { options: DriftOptions; types: ColumnTypes } = { options: {}, types: new Map() };
    if (opts.model) {
      const { config } = loadConfig(globals().config);
      const model = findModel(config, opts.model);
      if (!model) throw new UserInputError(`--model: unknown model "${opts.model}" (configured: ${config.models.map((m) => m.id).join(', ')})`);
      settings = driftSettingsFor(model);
    }
    if (opts.schema) settings.types = new Map([...settings.types, ...readSchemaFile(opts.schema)]);
    const options: DriftOptions = { ...settings.options };
    if (opts.test) {
      options.test = opts.test;
      if (opts.threshold !== undefined) options.thresholds = { ...options.thresholds, [opts.test]: opts.threshold };
    }
    const result = compareCsvFiles(opts.reference, opts.current, options, settings.types);
    print(opts.json, result, () => formatDrift(result));
  });

program
  .command('config')
  .description('configuration')
  .command('schema')
  .description('print the JSON Schema of the config file (for editor completion)')
  .action(() => {
    console.log(JSON.stringify(z.toJSONSchema(VigilConfig, { io: 'input', unrepresentable: 'any' }), null, 2));
  });

async function main(argv: string[]) {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else commander raises is bad usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UserInputError) {
      console.error(`vigil: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`vigil: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 1;
  }
}

await main(process.argv);
