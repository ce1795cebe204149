import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeTemporalSettings, loadTemporalSettings } from '../../adapters/temporal/connection.js';

const NO_FILE = { TEMPORAL_CONFIG_FILE: path.join(os.tmpdir(), 'vigil-no-such-temporal.toml') };

test('with nothing configured: the local dev server, not external', () => {
  const s = loadTemporalSettings({ ...NO_FILE });
  assert.equal(s.address, '127.0.0.1:7233');
  assert.equal(s.namespace, 'default');
  assert.equal(s.external, false);
  assert.deepEqual(s.connectionOptions, { address: '127.0.0.1:7233' });
});

test('TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY: external, TLS on, key never described', () => {
  const s = loadTemporalSettings({ ...NO_FILE, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'sekret-key' });
  assert.equal(s.external, true);
  assert.equal(s.address, 'ns.acct.tmprl.cloud:7233');
  assert.equal(s.namespace, 'ns.acct');
  assert.equal(s.connectionOptions.apiKey, 'sekret-key');
  assert.equal(s.connectionOptions.tls, true);
  const described = describeTemporalSettings(s);
  assert.equal(described, 'ns.acct.tmprl.cloud:7233 namespace ns.acct (TLS, API key)');
  assert.ok(!described.includes('sekret'));
});

test('a TOML profile chosen by TEMPORAL_PROFILE', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-envconfig-'));
  try {
    const file = path.join(dir, 'temporal.toml');
    fs.writeFileSync(
      file,
      ['[profile.default]', 'address = "localhost:7233"', '', '[profile.prod]', 'address = "temporal.prod:7233"', 'namespace = "vigil-prod"', ''].join('\n'),
    );
    const prod = loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.equal(prod.address, 'temporal.prod:7233');
    assert.equal(prod.namespace, 'vigil-prod');
    assert.equal(prod.external, true);
    // Environment variables override the profile.
    const overridden = loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' });
    assert.equal(overridden.namespace, 'other');
    assert.throws(
      () => loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }),
      /invalid Temporal client configuration.*TEMPORAL_PROFILE=nope.*'nope' not found/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
