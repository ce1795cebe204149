/**
 * The behaviour every ModelRegistry implementation owes Vigil, as one test suite run against each
 * (built-in PostgreSQL, MLflow…). Every test works on a model of its own, so implementations can share
 * one database and one server for the whole suite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RegistryWithServingMode } from '../../adapters/registry/servingModeStore.js';

export interface RegistryUnderTest {
  registry: RegistryWithServingMode;
  close?(): Promise<void>;
}

let models = 0;

export function modelRegistryContract(name: string, setup: () => Promise<RegistryUnderTest>): void {
  describe(`ModelRegistry contract: ${name}`, () => {
    let sut: RegistryUnderTest;
    let registry: RegistryWithServingMode;
    let dir: string;
    before(async () => {
      sut = await setup();
      registry = sut.registry;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-registry-contract-'));
    });
    after(async () => {
      await sut?.close?.();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh model in the registry, and a helper that registers versions of it with real artifact files. */
    async function freshModel() {
      const id = `contract-${process.pid}-${++models}`;
      await registry.ensureModel({ id, displayName: `Contract ${models}`, tier: 'high' });
      let n = 0;
      const register = async (opts: { metrics?: Record<string, number>; status?: 'registered' | 'healthy' | 'bad'; source?: string; key?: string } = {}) => {
        const i = ++n;
        const file = path.join(dir, id, `v${i}`, 'model.json');
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ kind: 'test-model', id, i }));
        return registry.registerVersion({
          modelId: id,
          artifactUri: file,
          metrics: opts.metrics ?? { auc: 0.8 + i / 100 },
          source: opts.source ?? `test:${i}`,
          status: opts.status,
          idempotencyKey: opts.key ?? `${id}:register:${i}`,
        });
      };
      const champion = (version: number, key: string, reason = 'test') =>
        registry.setAlias({ modelId: id, alias: 'champion', version, reason, idempotencyKey: `${id}:${key}` });
      return { id, register, champion };
    }

    it('registers versions with metrics, numbered from 1, and reads them back', async () => {
      const { id, register } = await freshModel();
      const v1 = await register({ metrics: { auc: 0.81, accuracy: 0.75 }, status: 'healthy', source: 'bootstrap' });
      const v2 = await register({ metrics: { auc: 0.83 }, source: 'retrain:incident-1' });
      assert.equal(v1.version, 1, 'first version is 1');
      assert.equal(v2.version, 2, 'second version is 2');
      assert.equal(v1.modelId, id, 'version carries its model id');
      assert.deepEqual(v1.metrics, { auc: 0.81, accuracy: 0.75 }, 'metrics round-trip');
      assert.equal(v1.status, 'healthy', 'status as registered');
      assert.equal(v2.status, 'registered', 'default status is registered');
      assert.equal(v1.source, 'bootstrap', 'source round-trips');
      assert.equal(v2.source, 'retrain:incident-1', 'source round-trips');
      assert.ok(!Number.isNaN(Date.parse(v1.createdAt)), `createdAt is a timestamp: ${v1.createdAt}`);
      assert.deepEqual(JSON.parse(fs.readFileSync(v2.artifactUri, 'utf8')), { kind: 'test-model', id, i: 2 }, 'the artifact URI leads to the artifact');

      assert.deepEqual(await registry.getVersion(id, 2), v2, 'getVersion returns what registerVersion did');
      assert.equal(await registry.getVersion(id, 99), undefined, 'an unknown version is undefined');
      assert.deepEqual(await registry.listVersions(id), [v1, v2], 'listVersions in version order');
    });

    it('registers once per idempotency key', async () => {
      const { id, register } = await freshModel();
      const first = await register({ key: `${id}:candidate` });
      const again = await register({ key: `${id}:candidate`, metrics: { auc: 0.1 } });
      assert.deepEqual(again, first, 'the repeated key returns the first registration');
      assert.equal((await registry.listVersions(id)).length, 1, 'one version exists');
    });

    it('sets an alias and reads it back; a move returns where it was and where it went', async () => {
      const { id, register, champion } = await freshModel();
      const v1 = await register();
      const v2 = await register();
      assert.equal(await registry.getAlias(id, 'champion'), undefined, 'no champion yet');
      assert.deepEqual(await champion(1, 'deploy-1'), { from: undefined, to: 1 }, 'first set has no from');
      assert.deepEqual(await registry.getAlias(id, 'champion'), v1, 'champion reads back as v1');
      assert.deepEqual(await champion(2, 'promote-2'), { from: 1, to: 2 }, 'move returns from and to');
      assert.deepEqual(await registry.getAlias(id, 'champion'), v2, 'champion reads back as v2');
      assert.equal(await registry.getAlias(id, 'challenger'), undefined, 'another alias is unaffected');
    });

    it('changes an alias once per idempotency key', async () => {
      const { id, register, champion } = await freshModel();
      await register();
      await register();
      await champion(1, 'deploy-1');
      const first = await champion(2, 'decision');
      const repeated = await champion(1, 'decision');
      assert.deepEqual(first, { from: 1, to: 2 }, 'the change');
      assert.deepEqual(repeated, first, 'the repeated key returns the first result');
      assert.equal((await registry.getAlias(id, 'champion'))?.version, 2, 'and changes nothing');
      assert.deepEqual(await registry.priorChange(`${id}:decision`), { from: 1, to: 2 }, 'priorChange finds the change by key');
      assert.equal(await registry.priorChange(`${id}:never-used`), undefined, 'an unused key has no change');
      const history = await registry.aliasHistory(id, 'champion', new Date(0));
      assert.equal(history.length, 2, `two moves recorded: ${JSON.stringify(history)}`);
    });

    it('marks versions; lastGoodVersionBefore prefers the newest healthy one and skips bad ones', async () => {
      const { id, register, champion } = await freshModel();
      await register({ status: 'healthy' });
      await register();
      await register();
      await register();
      await champion(4, 'deploy-4');
      await registry.markVersion(id, 3, 'bad');
      assert.equal((await registry.getVersion(id, 3))?.status, 'bad', 'v3 is marked bad');
      assert.equal((await registry.lastGoodVersionBefore(id, 4))?.version, 1, 'the healthy v1 wins over the unproven v2');
      await registry.markVersion(id, 1, 'bad');
      assert.equal((await registry.lastGoodVersionBefore(id, 4))?.version, 2, 'without a healthy one, the newest not bad');
      await registry.markVersion(id, 2, 'bad');
      assert.equal(await registry.lastGoodVersionBefore(id, 4), undefined, 'nothing good before v4');
      await registry.markVersion(id, 2, 'healthy');
      assert.equal((await registry.lastGoodVersionBefore(id, 4))?.version, 2, 'marking healthy again counts');
      assert.equal(await registry.lastGoodVersionBefore(id, 2), undefined, 'only versions before the given one');
    });

    it('switches the serving mode and back, once per key', async () => {
      const { id } = await freshModel();
      assert.equal(await registry.getServingMode(id), 'model', 'a new model serves the model');
      // Only from/to are the contract (the built-in registry's repeat also returns the reason).
      const set = async (mode: 'model' | 'fallback', key: string) => {
        const { from, to } = await registry.setServingMode({ modelId: id, mode, reason: 'test', idempotencyKey: `${id}:${key}` });
        return { from, to };
      };
      assert.deepEqual(await set('fallback', 'degrade'), { from: 'model', to: 'fallback' }, 'into fallback');
      assert.equal(await registry.getServingMode(id), 'fallback', 'reads back fallback');
      assert.deepEqual(await set('model', 'degrade'), { from: 'model', to: 'fallback' }, 'the repeated key returns the first result');
      assert.equal(await registry.getServingMode(id), 'fallback', 'and changes nothing');
      assert.ok(await registry.priorChange(`${id}:degrade`), 'priorChange finds the serving-mode change');
      assert.deepEqual(await set('model', 'restore'), { from: 'fallback', to: 'model' }, 'back to the model');
      assert.equal(await registry.getServingMode(id), 'model', 'reads back model');
    });

    it('keeps the alias history: every move since a time, in order, with its reason', async () => {
      const { id, register, champion } = await freshModel();
      await register();
      await register();
      await champion(1, 'deploy', 'deploy');
      await champion(2, 'promote', 'canary passed');
      await champion(1, 'rollback', 'accuracy dropped');
      await registry.setAlias({ modelId: id, alias: 'challenger', version: 2, reason: 'canary', idempotencyKey: `${id}:challenger` });
      const history = await registry.aliasHistory(id, 'champion', new Date(0));
      assert.deepEqual(
        history.map(({ fromVersion, toVersion, reason, alias }) => ({ alias, fromVersion, toVersion, reason })),
        [
          { alias: 'champion', fromVersion: undefined, toVersion: 1, reason: 'deploy' },
          { alias: 'champion', fromVersion: 1, toVersion: 2, reason: 'canary passed' },
          { alias: 'champion', fromVersion: 2, toVersion: 1, reason: 'accuracy dropped' },
        ],
        'three champion moves in order',
      );
      for (const h of history) assert.ok(!Number.isNaN(Date.parse(h.at)), `each move has a time: ${h.at}`);
      assert.deepEqual(await registry.aliasHistory(id, 'champion', new Date(Date.now() + 60_000)), [], 'nothing after now');
      assert.equal((await registry.aliasHistory(id, 'challenger', new Date(0))).length, 1, 'challenger has its own history');
    });

    it('refuses the serving mode of a model it does not have, naming it', async () => {
      await assert.rejects(registry.getServingMode('contract-no-such-model'), /contract-no-such-model.*not in the registry/, 'names the model');
    });
  });
}
