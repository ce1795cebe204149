/** Finds and validates the config file: `--config`, else VIGIL_CONFIG, else ./vigil.config.json, else the example. */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig, type VigilConfig } from '../domain/config.js';
import { UserInputError } from '../domain/errors.js';
import { EXAMPLE_CONFIG } from '../examples/credit-risk/exampleConfig.js';

export function loadConfig(explicit?: string): { config: VigilConfig; source: string } {
  const file = explicit ?? process.env.VIGIL_CONFIG ?? (fs.existsSync('vigil.config.json') ? 'vigil.config.json' : undefined);
  if (!file) return { config: parseConfig(EXAMPLE_CONFIG), source: 'built-in example' };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserInputError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  try {
    const config = parseConfig(raw, path.resolve(file));
    // A runbooks folder is where the config file says, wherever Vigil is started from.
    if (config.runbooks.path) config.runbooks.path = path.resolve(path.dirname(path.resolve(file)), config.runbooks.path);
    return { config, source: path.resolve(file) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UserInputError(err.message);
    throw err;
  }
}

export function resolveStateDir(config: VigilConfig, explicit?: string): string {
  return path.resolve(explicit ?? process.env.VIGIL_STATE_DIR ?? config.stateDir);
}
