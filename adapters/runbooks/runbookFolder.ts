/**
 * A team's runbooks folder (`runbooks.path`): every `*.ts` file in it (not `*.test.ts`, not `*.d.ts`, not
 * in subfolders) is a module whose exports include runbooks made with `defineRunbook` from
 * `@vigil/runbook`. Loaded in Node at start — compiled and bundled with esbuild, then imported — so a
 * file that does not compile, exports no runbook, or reuses a name stops `vigil up` / `vigil worker`
 * before anything starts, naming the file (and line). The worker's workflow bundle includes the same
 * files (workers/workflowBundle.ts).
 */
import * as esbuild from 'esbuild';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { customRunbooksFor, formatZodIssues, type VigilConfig } from '../../domain/config.js';
import { UserInputError } from '../../domain/errors.js';
import { isRunbook, type Runbook } from '../../workflows/runbook/defineRunbook.js';
import { STANDARD_RUNBOOK } from '../../workflows/runbook/standardRunbook.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a runbook file imports the step library as. */
export const RUNBOOK_MODULE = '@vigil/runbook';
export const RUNBOOK_MODULE_PATH = path.join(PROJECT_ROOT, 'workflows', 'runbook', 'index.ts');
/** Where bare imports of a team's files (zod, ms) resolve when the folder has no node_modules of its own. */
export const VIGIL_NODE_MODULES = path.join(PROJECT_ROOT, 'node_modules');

export class RunbookFolderError extends Error {}

export interface LoadedRunbook {
  file: string;
  runbook: Runbook;
}

export interface RunbookFolder {
  dir: string;
  files: string[];
  runbooks: LoadedRunbook[];
}

/** The folder's runbook files, sorted. */
export function runbookFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new RunbookFolderError(`runbooks.path ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message}`);
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(dir, e.name))
    .sort();
}

export async function loadRunbookFolder(dir: string): Promise<RunbookFolder> {
  const files = runbookFiles(dir);
  if (files.length === 0) throw new RunbookFolderError(`runbooks.path ${dir}: no runbook files (*.ts) in it`);
  const outDir = path.join(VIGIL_NODE_MODULES, '.cache', 'vigil-runbooks', crypto.createHash('sha256').update(dir).digest('hex').slice(0, 16));
  fs.mkdirSync(outDir, { recursive: true });
  const runbooks: LoadedRunbook[] = [];
  const byName = new Map<string, string>();
  for (const file of files) {
    const out = path.join(outDir, `${path.basename(file, '.ts')}-${crypto.randomBytes(4).toString('hex')}.mjs`);
    try {
      await esbuild.build({
        entryPoints: [file],
        outfile: out,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        alias: { [RUNBOOK_MODULE]: RUNBOOK_MODULE_PATH },
        // Vigil's own packages, shared with the worker (one zod: the schema is checked by the same library).
        packages: 'external',
        nodePaths: [VIGIL_NODE_MODULES],
        logLevel: 'silent',
      });
    } catch (err) {
      const errors = (err as { errors?: esbuild.Message[] }).errors ?? [];
      const where = errors.map((e) => `${e.location ? `${path.resolve(e.location.file)}:${e.location.line}:${e.location.column + 1}: ` : ''}${e.text}`);
      throw new RunbookFolderError(`runbook file ${file} does not compile:\n  ${where.join('\n  ') || (err as Error).message}`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(out).href)) as Record<string, unknown>;
    } catch (err) {
      throw new RunbookFolderError(`runbook file ${file} fails when loaded: ${(err as Error).message}`);
    } finally {
      fs.rmSync(out, { force: true });
    }
    const found = [...new Set(Object.values(mod).filter(isRunbook))];
    if (found.length === 0)
      throw new RunbookFolderError(`runbook file ${file} exports no runbook: export one made with defineRunbook() from "${RUNBOOK_MODULE}"`);
    for (const runbook of found) {
      const other = byName.get(runbook.name);
      if (other || runbook.name === STANDARD_RUNBOOK) {
        throw new RunbookFolderError(`runbook "${runbook.name}" in ${file} is already defined ${other ? `in ${other}` : 'by Vigil'}: names must be unique`);
      }
      byName.set(runbook.name, file);
      runbooks.push({ file, runbook });
    }
  }
  return { dir, files, runbooks };
}

/**
 * Each model's choice of a team runbook against what was loaded: the name must exist (with a runbooks
 * folder configured) and the params must pass the runbook's own schema. Issues name the config field.
 */
export function runbookChoiceIssues(config: VigilConfig, folder: RunbookFolder | undefined): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const known = new Map((folder?.runbooks ?? []).map((r) => [r.runbook.name, r]));
  config.models.forEach((model, i) => {
    for (const [mode, choice] of Object.entries(customRunbooksFor(model))) {
      const at = `models.${i}.runbooks.${mode}`;
      const loaded = known.get(choice.name);
      if (!loaded) {
        issues.push({
          path: `${at}.use`,
          message: !folder
            ? `runbook "${choice.name}" needs a runbooks folder: set runbooks.path in the config`
            : `unknown runbook "${choice.name}" (${folder.dir} has ${[...known.keys()].map((n) => `"${n}"`).join(', ') || 'none'})`,
        });
        continue;
      }
      const parsed = loaded.runbook.params.safeParse(choice.params);
      if (!parsed.success) {
        for (const issue of formatZodIssues(parsed.error)) {
          issues.push({ path: `${at}.params${issue.path ? `.${issue.path}` : ''}`, message: `${issue.message} (runbook "${choice.name}", ${loaded.file})` });
        }
      }
    }
  });
  return issues;
}

/**
 * At start (`vigil up`, `vigil worker`): the configured runbooks folder loaded and every model's choice
 * checked. Anything wrong is a UserInputError (exit 2) naming the file or the config field.
 */
export async function loadConfiguredRunbooks(config: VigilConfig): Promise<RunbookFolder | undefined> {
  let folder: RunbookFolder | undefined;
  try {
    folder = config.runbooks.path ? await loadRunbookFolder(config.runbooks.path) : undefined;
  } catch (err) {
    if (err instanceof RunbookFolderError) throw new UserInputError(err.message);
    throw err;
  }
  const issues = runbookChoiceIssues(config, folder);
  if (issues.length) throw new UserInputError(`invalid runbook choice:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
  return folder;
}
