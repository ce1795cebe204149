/**
 * The built-in registry: models, versions with metrics and aliases in PostgreSQL. Alias moves and
 * serving-mode changes are recorded in registry_events under their idempotency key in the same
 * transaction as the change, which is what makes them happen once.
 */
import type pg from 'pg';
import { inTransaction as inPoolTransaction } from '../postgres/database.js';
import type { AliasChange, ModelVersion, VersionStatus } from '../../ports/modelRegistry.js';
import type { DatasetProfile } from '../../domain/datasetProfile.js';
import type { ServingMode } from '../../ports/deploymentTarget.js';
import type { RegistryWithServingMode } from './servingModeStore.js';

interface VersionRow {
  model_id: string;
  version: number;
  artifact_uri: string;
  metrics: Record<string, number>;
  profile: DatasetProfile | null;
  status: VersionStatus;
  source: string;
  created_at: Date;
}

const toVersion = (r: VersionRow): ModelVersion => ({
  modelId: r.model_id,
  version: r.version,
  artifactUri: r.artifact_uri,
  metrics: r.metrics,
  ...(r.profile ? { profile: r.profile } : {}),
  status: r.status,
  source: r.source,
  createdAt: r.created_at.toISOString(),
});

export function createBuiltinRegistry(pool: pg.Pool): RegistryWithServingMode {
  const inTransaction = <T>(fn: (c: pg.PoolClient) => Promise<T>) => inPoolTransaction(pool, fn);

  async function priorEvent(c: pg.PoolClient | pg.Pool, key: string) {
    const r = await c.query('SELECT from_version, to_version, detail FROM registry_events WHERE idempotency_key = $1', [key]);
    return r.rows[0] as { from_version: number | null; to_version: number | null; detail: Record<string, unknown> } | undefined;
  }

  const registry: RegistryWithServingMode = {
    async ensureModel({ id, displayName, tier }) {
      await pool.query(
        `INSERT INTO models (id, display_name, tier) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, tier = EXCLUDED.tier`,
        [id, displayName, tier],
      );
    },

    async registerVersion({ modelId, artifactUri, metrics, profile, source, status = 'registered', idempotencyKey }) {
      return inTransaction(async (c) => {
        const existing = await c.query<VersionRow>('SELECT * FROM model_versions WHERE idempotency_key = $1', [idempotencyKey]);
        if (existing.rows[0]) return toVersion(existing.rows[0]);
        // Serialise version numbering per model.
        await c.query('SELECT id FROM models WHERE id = $1 FOR UPDATE', [modelId]);
        const r = await c.query<VersionRow>(
          `INSERT INTO model_versions (model_id, version, artifact_uri, metrics, profile, status, source, idempotency_key)
           VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = $1), $2, $3, $4, $5, $6, $7)
           RETURNING *`,
          [modelId, artifactUri, JSON.stringify(metrics), profile ? JSON.stringify(profile) : null, status, source, idempotencyKey],
        );
        return toVersion(r.rows[0]!); // INSERT … RETURNING: exactly one row
      });
    },

    async getVersion(modelId, version) {
      const r = await pool.query<VersionRow>('SELECT * FROM model_versions WHERE model_id = $1 AND version = $2', [modelId, version]);
      return r.rows[0] && toVersion(r.rows[0]);
    },

    async listVersions(modelId) {
      const r = await pool.query<VersionRow>('SELECT * FROM model_versions WHERE model_id = $1 ORDER BY version', [modelId]);
      return r.rows.map(toVersion);
    },

    async getAlias(modelId, alias) {
      const r = await pool.query<VersionRow>(
        `SELECT v.* FROM model_aliases a JOIN model_versions v USING (model_id, version)
         WHERE a.model_id = $1 AND a.alias = $2`,
        [modelId, alias],
      );
      return r.rows[0] && toVersion(r.rows[0]);
    },

    async setAlias({ modelId, alias, version, reason, idempotencyKey }) {
      return inTransaction(async (c) => {
        const prior = await priorEvent(c, idempotencyKey);
        if (prior) return { from: prior.from_version ?? undefined, to: prior.to_version! };
        const current = await c.query<{ version: number }>('SELECT version FROM model_aliases WHERE model_id = $1 AND alias = $2 FOR UPDATE', [modelId, alias]);
        const from = current.rows[0]?.version;
        await c.query(
          `INSERT INTO model_aliases (model_id, alias, version) VALUES ($1, $2, $3)
           ON CONFLICT (model_id, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
          [modelId, alias, version],
        );
        await c.query(
          `INSERT INTO registry_events (model_id, kind, alias, from_version, to_version, detail, idempotency_key)
           VALUES ($1, 'alias_set', $2, $3, $4, $5, $6)`,
          [modelId, alias, from ?? null, version, JSON.stringify({ reason }), idempotencyKey],
        );
        return { from, to: version };
      });
    },

    async priorChange(idempotencyKey) {
      const prior = await priorEvent(pool, idempotencyKey);
      return prior && { from: prior.from_version ?? undefined, to: prior.to_version ?? undefined };
    },

    async aliasHistory(modelId, alias, since) {
      const r = await pool.query(
        `SELECT from_version, to_version, created_at, detail FROM registry_events
         WHERE model_id = $1 AND kind = 'alias_set' AND alias = $2 AND created_at >= $3 ORDER BY id`,
        [modelId, alias, since],
      );
      return r.rows.map((row): AliasChange => ({
        alias,
        fromVersion: row.from_version ?? undefined,
        toVersion: row.to_version,
        at: (row.created_at as Date).toISOString(),
        reason: row.detail?.reason,
      }));
    },

    async markVersion(modelId, version, status) {
      await pool.query('UPDATE model_versions SET status = $3 WHERE model_id = $1 AND version = $2', [modelId, version, status]);
    },

    async lastGoodVersionBefore(modelId, version) {
      const r = await pool.query<VersionRow>(
        `SELECT * FROM model_versions WHERE model_id = $1 AND version < $2 AND status <> 'bad'
         ORDER BY (status = 'healthy') DESC, version DESC LIMIT 1`,
        [modelId, version],
      );
      return r.rows[0] && toVersion(r.rows[0]);
    },

    async getServingMode(modelId) {
      const r = await pool.query<{ serving_mode: ServingMode }>('SELECT serving_mode FROM models WHERE id = $1', [modelId]);
      if (!r.rows[0]) throw new Error(`model "${modelId}" is not in the registry`);
      return r.rows[0].serving_mode;
    },

    async setServingMode({ modelId, mode, reason, idempotencyKey }) {
      return inTransaction(async (c) => {
        const prior = await priorEvent(c, idempotencyKey);
        if (prior) return prior.detail as unknown as { from: ServingMode; to: ServingMode };
        const r = await c.query<{ serving_mode: ServingMode }>('SELECT serving_mode FROM models WHERE id = $1 FOR UPDATE', [modelId]);
        if (!r.rows[0]) throw new Error(`model "${modelId}" is not in the registry`);
        const from = r.rows[0].serving_mode;
        await c.query('UPDATE models SET serving_mode = $2 WHERE id = $1', [modelId, mode]);
        await c.query(`INSERT INTO registry_events (model_id, kind, detail, idempotency_key) VALUES ($1, 'serving_mode', $2, $3)`, [
          modelId,
          JSON.stringify({ from, to: mode, reason }),
          idempotencyKey,
        ]);
        return { from, to: mode };
      });
    },
  };
  return registry;
}
