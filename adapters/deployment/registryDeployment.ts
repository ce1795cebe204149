/**
 * The built-in deployment target: routing by registry version, for models served from Vigil's own
 * serving path rather than an external platform.
 *
 *   stable    the registry's `champion` alias (all traffic but the canary's share)
 *   canary    the `model_canaries` row: one version and its share, at most one per model; in shadow
 *             mode it answers nothing and scores a copy of its share of the requests
 *   fallback  the registry's serving mode ('fallback' serves the rules-based default)
 *
 * The serving path reads this state directly, so a change holds once its transaction commits: traffic
 * is always `settled`. Every change is recorded in `deployment_changes` under its idempotency key in
 * the same transaction as the change, which is what makes a retried activity change things once; a
 * per-model advisory lock serialises concurrent changes, so two callers asking for the same state
 * make one change between them.
 *
 * Registry calls (alias and serving-mode moves, reads) run outside these transactions: they take
 * their own connection, and holding one while waiting for another could exhaust the pool.
 */
import type pg from 'pg';
import { inTransaction as inPoolTransaction } from '../postgres/database.js';
import type { ModelVersion } from '../../ports/modelRegistry.js';
import type { RegistryWithServingMode } from '../registry/servingModeStore.js';
import type { DeploymentChange, DeploymentTarget, DesiredServing, TrafficRoute, TrafficState } from '../../ports/deploymentTarget.js';

type Op = 'startCanary' | 'promoteCanary' | 'rollbackCanary' | 'rollout' | 'setFallback';

interface CanaryRow {
  version: number;
  artifact_uri: string;
  percent: number;
  mode: 'split' | 'shadow';
}

interface ChangeRow {
  model_id: string;
  op: Op;
  before: DesiredServing;
  after: DesiredServing;
}

/** Advisory-lock class for deployment changes (the two-key form, apart from other advisory locks). */
const LOCK_CLASS = 'vigil.deployment';

export function createRegistryDeployment(opts: { pool: pg.Pool; registry: RegistryWithServingMode }): DeploymentTarget {
  const { pool, registry } = opts;

  /** One transaction holding the model's advisory lock, so changes to one model's routing are serial. */
  function inTransaction<T>(modelId: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inPoolTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [LOCK_CLASS, modelId]);
      return fn(c);
    });
  }

  async function readCanary(c: pg.PoolClient | pg.Pool, modelId: string): Promise<CanaryRow | undefined> {
    const r = await c.query<CanaryRow>('SELECT version, artifact_uri, percent, mode FROM model_canaries WHERE model_id = $1', [modelId]);
    return r.rows[0];
  }

  /** The first change made under `key`, returned again; a key reused for another change is a caller bug. */
  async function repeated(c: pg.PoolClient | pg.Pool, key: string, op: Op, modelId: string): Promise<DeploymentChange | undefined> {
    const r = await c.query<ChangeRow>('SELECT model_id, op, before, after FROM deployment_changes WHERE idempotency_key = $1', [key]);
    const row = r.rows[0];
    if (!row) return undefined;
    if (row.op !== op || row.model_id !== modelId) {
      throw new Error(`${op} for model "${modelId}": idempotency key "${key}" was already used for ${row.op} on model "${row.model_id}"`);
    }
    return { changed: true, repeated: true, idempotencyKey: key, before: row.before, after: row.after };
  }

  async function record(
    c: pg.PoolClient | pg.Pool,
    change: { key: string; modelId: string; op: Op; before: DesiredServing; after: DesiredServing; reason?: string },
  ) {
    await c.query(`INSERT INTO deployment_changes (idempotency_key, model_id, op, before, after, reason) VALUES ($1, $2, $3, $4, $5, $6)`, [
      change.key,
      change.modelId,
      change.op,
      JSON.stringify(change.before),
      JSON.stringify(change.after),
      change.reason ?? null,
    ]);
  }

  const requireKey = (op: Op, modelId: string, key: string) => {
    if (!key) throw new Error(`${op}: an idempotency key is required (model "${modelId}")`);
  };
  const canaryServing = (canary: CanaryRow, champion: ModelVersion | undefined): DesiredServing => ({
    artifactUri: canary.artifact_uri,
    canaryPercent: canary.percent,
    ...(canary.mode === 'shadow' ? { shadow: true } : {}),
    ...(champion ? { stableArtifactUri: champion.artifactUri } : {}),
  });
  /** Moves `champion` to `version` unless it is there already (under `<key>:champion`); true when it moved. */
  async function moveChampion(modelId: string, champion: ModelVersion | undefined, version: number, reason: string, key: string): Promise<boolean> {
    if (champion?.version === version) return false;
    const r = await registry.setAlias({ modelId, alias: 'champion', version, reason, idempotencyKey: `${key}:champion` });
    return r.from !== r.to;
  }
  const unchanged = (key: string, state: DesiredServing): DeploymentChange => ({
    changed: false,
    repeated: false,
    idempotencyKey: key,
    before: state,
    after: state,
  });

  const target: DeploymentTarget = {
    kind: 'builtin',

    async currentTraffic(modelId) {
      const [champion, mode, canary] = await Promise.all([registry.getAlias(modelId, 'champion'), registry.getServingMode(modelId), readCanary(pool, modelId)]);
      const routes: TrafficRoute[] = [];
      // A shadow answers nothing: the champion keeps all the traffic it answers.
      const answered = canary?.mode === 'split' ? canary.percent : 0;
      if (champion) routes.push({ role: 'stable', percent: 100 - answered, version: champion.version, artifactUri: champion.artifactUri });
      if (canary)
        routes.push({
          role: canary.mode === 'shadow' ? 'shadow' : 'canary',
          percent: canary.percent,
          version: canary.version,
          artifactUri: canary.artifact_uri,
        });
      const state: TrafficState = {
        modelId,
        target: `built-in routing for ${modelId}`,
        ready: champion !== undefined,
        settled: true,
        routes,
        mode,
        ...(canary ? { canaryPercent: canary.percent } : {}),
      };
      if (!champion) state.reason = `model "${modelId}" has no champion version in the registry to route traffic to`;
      return state;
    },

    async startCanary({ modelId, artifactUri, percent, idempotencyKey, version, shadow }) {
      const fail = (m: string) => new Error(`startCanary: ${m} (model "${modelId}")`);
      requireKey('startCanary', modelId, idempotencyKey);
      if (!Number.isInteger(percent) || percent < 1 || percent > 100) throw fail(`percent must be an integer from 1 to 100, got ${percent}`);
      if (version === undefined) throw fail('version is required (the built-in target routes by registry version)');
      if (!Number.isInteger(version)) throw fail(`version must be an integer, got ${version}`);
      if (!artifactUri) throw fail('artifactUri is required');

      const prior = await repeated(pool, idempotencyKey, 'startCanary', modelId);
      if (prior) return prior;
      const candidate = await registry.getVersion(modelId, version);
      if (!candidate) throw fail(`version ${version} is not in the registry`);
      // The row routes by version; an artifact that disagrees would make the record say one thing and serve another.
      if (candidate.artifactUri !== artifactUri) throw fail(`artifactUri ${artifactUri} is not version ${version}'s artifact (${candidate.artifactUri})`);
      const [champion, mode] = await Promise.all([registry.getAlias(modelId, 'champion'), registry.getServingMode(modelId)]);
      if (!champion) throw fail('there is no champion to keep the rest of the traffic on; set the champion alias first');
      if (champion.version === version) throw fail(`version ${version} is already the champion`);

      return inTransaction(modelId, async (c) => {
        const again = await repeated(c, idempotencyKey, 'startCanary', modelId);
        if (again) return again;
        const running = await readCanary(c, modelId);
        const canaryMode = shadow ? 'shadow' : 'split';
        if (running && running.version === version && running.percent === percent && running.mode === canaryMode) {
          return unchanged(idempotencyKey, canaryServing(running, champion));
        }
        const before: DesiredServing = running ? canaryServing(running, champion) : { artifactUri: champion.artifactUri, mode };
        const after: DesiredServing = { artifactUri, canaryPercent: percent, ...(shadow ? { shadow: true } : {}), stableArtifactUri: champion.artifactUri };
        await c.query(
          `INSERT INTO model_canaries (model_id, version, artifact_uri, percent, mode) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (model_id) DO UPDATE SET version = EXCLUDED.version, artifact_uri = EXCLUDED.artifact_uri,
             percent = EXCLUDED.percent, mode = EXCLUDED.mode, started_at = now(), reason = NULL`,
          [modelId, version, artifactUri, percent, canaryMode],
        );
        await record(c, { key: idempotencyKey, modelId, op: 'startCanary', before, after });
        return { changed: true, repeated: false, idempotencyKey, before, after };
      });
    },

    async promoteCanary({ modelId, idempotencyKey, reason }) {
      requireKey('promoteCanary', modelId, idempotencyKey);
      const prior = await repeated(pool, idempotencyKey, 'promoteCanary', modelId);
      if (prior) return prior;
      const [canary, champion] = await Promise.all([readCanary(pool, modelId), registry.getAlias(modelId, 'champion')]);
      if (!canary) return unchanged(idempotencyKey, { artifactUri: champion?.artifactUri }); // all traffic is on the champion already

      // Callers normally move champion themselves first; a direct caller must still never end up
      // routing everything to the old champion once the canary row is gone.
      const moved = await moveChampion(modelId, champion, canary.version, reason ?? `promote canary version ${canary.version}`, idempotencyKey);

      return inTransaction(modelId, async (c) => {
        const again = await repeated(c, idempotencyKey, 'promoteCanary', modelId);
        if (again) return again;
        const running = await readCanary(c, modelId);
        // Someone else ended this canary meanwhile: only the champion move (if any) is ours to record.
        const ours = running?.version === canary.version;
        if (!ours && !moved) return unchanged(idempotencyKey, { artifactUri: canary.artifact_uri });
        if (ours) await c.query('DELETE FROM model_canaries WHERE model_id = $1', [modelId]);
        const before = canaryServing(canary, champion);
        const after: DesiredServing = { artifactUri: canary.artifact_uri };
        await record(c, { key: idempotencyKey, modelId, op: 'promoteCanary', before, after, reason });
        return { changed: true, repeated: false, idempotencyKey, before, after };
      });
    },

    /**
     * All traffic to `version`: the champion alias moves there unless it is there already (callers
     * such as the rollback move it first, so usually nothing is sent), and a running canary ends.
     */
    async rollout({ modelId, artifactUri, version, idempotencyKey, reason }) {
      requireKey('rollout', modelId, idempotencyKey);
      if (version === undefined) throw new Error(`rollout for model "${modelId}": version is required (the built-in target routes by registry version)`);
      const prior = await repeated(pool, idempotencyKey, 'rollout', modelId);
      if (prior) return prior;
      const target = await registry.getVersion(modelId, version);
      if (!target) throw new Error(`rollout for model "${modelId}": version ${version} is not in the registry`);
      if (artifactUri && artifactUri !== target.artifactUri) {
        throw new Error(`rollout for model "${modelId}": artifactUri ${artifactUri} is not version ${version}'s (${target.artifactUri})`);
      }
      const champion = await registry.getAlias(modelId, 'champion');
      const moved = await moveChampion(modelId, champion, version, reason ?? `roll out version ${version}`, idempotencyKey);
      return inTransaction(modelId, async (c) => {
        const again = await repeated(c, idempotencyKey, 'rollout', modelId);
        if (again) return again;
        const running = await readCanary(c, modelId);
        const after: DesiredServing = { artifactUri: target.artifactUri };
        if (!running && !moved) return unchanged(idempotencyKey, after);
        if (running) await c.query('DELETE FROM model_canaries WHERE model_id = $1', [modelId]);
        const before: DesiredServing = running ? canaryServing(running, champion) : { artifactUri: champion?.artifactUri };
        await record(c, { key: idempotencyKey, modelId, op: 'rollout', before, after, reason });
        return { changed: true, repeated: false, idempotencyKey, before, after };
      });
    },

    /**
     * Ends a running canary: all traffic back to the champion. With no canary running there is nothing
     * to roll back here (`changed: false`): undoing an already-promoted version moves the champion
     * alias back, which is the registry's rollback (`rollbackModel`), not this target's.
     */
    async rollbackCanary({ modelId, idempotencyKey, reason }) {
      requireKey('rollbackCanary', modelId, idempotencyKey);
      const prior = await repeated(pool, idempotencyKey, 'rollbackCanary', modelId);
      if (prior) return prior;
      const champion = await registry.getAlias(modelId, 'champion');
      return inTransaction(modelId, async (c) => {
        const again = await repeated(c, idempotencyKey, 'rollbackCanary', modelId);
        if (again) return again;
        const running = await readCanary(c, modelId);
        if (!running) return unchanged(idempotencyKey, { artifactUri: champion?.artifactUri });
        await c.query('DELETE FROM model_canaries WHERE model_id = $1', [modelId]);
        const before = canaryServing(running, champion);
        const after: DesiredServing = { artifactUri: running.artifact_uri, canaryPercent: 0, ...(champion ? { stableArtifactUri: champion.artifactUri } : {}) };
        await record(c, { key: idempotencyKey, modelId, op: 'rollbackCanary', before, after, reason });
        return { changed: true, repeated: false, idempotencyKey, before, after };
      });
    },

    canServeFallback: true,

    servingMode: (modelId) => registry.getServingMode(modelId),

    async setFallback({ modelId, on, reason, idempotencyKey }) {
      requireKey('setFallback', modelId, idempotencyKey);
      const prior = await repeated(pool, idempotencyKey, 'setFallback', modelId);
      if (prior) return prior;
      // The registry makes the move once per key; the record here only answers repeats with `repeated`.
      const { from, to } = await registry.setServingMode({ modelId, mode: on ? 'fallback' : 'model', reason, idempotencyKey });
      const before: DesiredServing = { mode: from };
      const after: DesiredServing = { mode: to };
      if (from === to) return { changed: false, repeated: false, idempotencyKey, before, after };
      await pool.query(
        `INSERT INTO deployment_changes (idempotency_key, model_id, op, before, after, reason) VALUES ($1, $2, 'setFallback', $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [idempotencyKey, modelId, JSON.stringify(before), JSON.stringify(after), reason],
      );
      return { changed: true, repeated: false, idempotencyKey, before, after };
    },
  };
  return target;
}
