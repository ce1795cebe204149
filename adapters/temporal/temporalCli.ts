/**
 * Finds the `temporal` CLI binary that runs the local dev server, building it with Go when none exists.
 * v1.5.1 is pinned because later tags carry a `replace` directive that `go install` refuses.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Where built tools live: `VIGIL_TOOLS_DIR`, else `<projectRoot>/.tools`. */
export function defaultToolsDir(projectRoot: string): string {
  return process.env.VIGIL_TOOLS_DIR ?? path.join(projectRoot, '.tools');
}

/**
 * In order: `TEMPORAL_CLI` (must exist), `temporal` on PATH, `<toolsDir>/bin/temporal`, else build it
 * there with `go install`. Returns an absolute path to an executable.
 */
export async function resolveTemporalCli(opts: { toolsDir: string; log: (msg: string) => void }): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    const resolved = path.resolve(fromEnv);
    if (!(await isExecutableFile(resolved))) {
      throw new Error(`TEMPORAL_CLI is set to ${fromEnv}, but no executable file exists there (unset it to use PATH or build one)`);
    }
    return resolved;
  }

  const onPath = await findOnPath('temporal');
  if (onPath) return onPath;

  const toolsDir = path.resolve(opts.toolsDir);
  const built = path.join(toolsDir, 'bin', 'temporal');
  if (await isExecutableFile(built)) return built;

  await buildWithGo(toolsDir, opts.log);
  if (!(await isExecutableFile(built))) {
    throw new Error(`go install reported success but ${built} does not exist`);
  }
  return built;
}

async function buildWithGo(toolsDir: string, log: (msg: string) => void): Promise<void> {
  const go = await findOnPath('go');
  if (!go) {
    throw new Error(
      'the Temporal CLI was not found (no TEMPORAL_CLI, no `temporal` on PATH, none in ' +
        `${path.join(toolsDir, 'bin')}) and Go is not installed to build it: install Go, or put a temporal ` +
        'binary on PATH, or set TEMPORAL_CLI=/path/to/temporal',
    );
  }
  const binDir = path.join(toolsDir, 'bin');
  await fs.mkdir(binDir, { recursive: true });
  log(`Building the Temporal CLI with Go into ${binDir} (first run only, takes a few minutes)`);
  const started = Date.now();
  // Go's own output is noise on success; keep only its tail for the error message.
  let output = '';
  const heartbeat = setInterval(() => {
    log(`  still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 60_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
        env: { ...process.env, CGO_ENABLED: '0', GOBIN: binDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-8_000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new Error(`building the Temporal CLI failed: \`go install ${TEMPORAL_CLI_MODULE}\` exited with ${code}:\n${tail(output, 30)}`);
    }
  } finally {
    clearInterval(heartbeat);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
