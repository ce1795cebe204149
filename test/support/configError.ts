import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../domain/config.js';

/** The ConfigError `parseConfig` throws for `raw`; fails the test when it accepts it. */
export function configError(raw: unknown): ConfigError {
  try {
    parseConfig(raw, 'test.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
    return err;
  }
  assert.fail('parseConfig accepted an invalid config');
}
