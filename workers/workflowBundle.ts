/**
 * Bundles the workflow code once per process and runbooks folder: every worker in this process (tests
 * start several) reuses the same bundle instead of paying webpack's few seconds again. With a team's
 * runbooks folder, the bundle's entry also imports its files and registers their runbooks before any
 * workflow runs; without one, the bundle is Vigil's workflows alone.
 */
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNBOOK_MODULE, RUNBOOK_MODULE_PATH, VIGIL_NODE_MODULES } from '../adapters/runbooks/runbookFolder.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const REGISTRY_PATH = fileURLToPath(new URL('../workflows/runbook/runbookRegistry.ts', import.meta.url));
const DEFINE_PATH = fileURLToPath(new URL('../workflows/runbook/defineRunbook.ts', import.meta.url));
const DRY_RUN_PATH = fileURLToPath(new URL('../workflows/runbookDryRun.ts', import.meta.url));
const DRY_RUN_INTERCEPTORS_PATH = fileURLToPath(new URL('../workflows/dryRun/dryRunInterceptors.ts', import.meta.url));

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * `runbookFiles`: a team's runbook files (adapters/runbooks/runbookFolder.ts), already checked to load.
 * `dryRun`: the bundle of `vigil runbook dry-run`'s own worker — the dry-run workflow and its clock
 * (never in a worker that performs activities for real).
 */
export function workflowBundle(runbookFiles: readonly string[] = [], opts: { dryRun?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  const key = `${opts.dryRun ? 'dry-run\n' : ''}${runbookFiles.join('\n')}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath: runbookFiles.length || opts.dryRun ? writeEntry(runbookFiles, opts.dryRun ?? false) : WORKFLOWS_PATH,
      ...(opts.dryRun ? { workflowInterceptorModules: [DRY_RUN_INTERCEPTORS_PATH] } : {}),
      webpackConfigHook: (config) => {
        config.resolve = {
          ...config.resolve,
          // Workflow imports use NodeNext-style `.js` specifiers for TypeScript sources.
          extensionAlias: { '.js': ['.ts', '.js'] },
          // A team's files import the step library by name, and Vigil's packages (zod) from Vigil's node_modules.
          alias: { ...(config.resolve?.alias as Record<string, string> | undefined), [RUNBOOK_MODULE]: RUNBOOK_MODULE_PATH },
          modules: ['node_modules', VIGIL_NODE_MODULES],
        };
        return config;
      },
      logger: new DefaultLogger('WARN'),
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

/** The bundle's entry: Vigil's workflows (or the dry run's), then each runbook file's runbooks registered. */
function writeEntry(files: readonly string[], dryRun: boolean): string {
  const lines = [
    dryRun
      ? `export { runbookDryRun } from ${JSON.stringify(DRY_RUN_PATH)};\nexport { retrainModel } from ${JSON.stringify(WORKFLOWS_PATH)};`
      : `export * from ${JSON.stringify(WORKFLOWS_PATH)};`,
    `import { registerRunbooks } from ${JSON.stringify(REGISTRY_PATH)};`,
    `import { isRunbook } from ${JSON.stringify(DEFINE_PATH)};`,
    ...files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
    'registerRunbooks([',
    ...files.map((f, i) => `  ...[...new Set(Object.values(m${i}).filter(isRunbook))].map((runbook) => ({ file: ${JSON.stringify(f)}, runbook })),`),
    ']);',
  ];
  const text = lines.join('\n') + '\n';
  const dir = path.join(VIGIL_NODE_MODULES, '.cache', 'vigil-runbooks');
  fs.mkdirSync(dir, { recursive: true });
  const entry = path.join(dir, `workflows-${crypto.createHash('sha256').update(text).digest('hex').slice(0, 16)}.ts`);
  fs.writeFileSync(entry, text);
  return entry;
}
