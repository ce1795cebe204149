/**
 * The ModelRegistry over an MLflow Model Registry (REST API 2.0). What lives where:
 *
 * - MLflow: the registered model (one per Vigil model; name = `registry.mlflow.registeredModelName`,
 *   default the model id), its versions (MLflow's version numbers; `source` = the artifact URI),
 *   aliases (`champion`…), and tags for what MLflow has no field for: on a version `vigil.status`
 *   (registered | healthy | bad), `vigil.metrics` (JSON), `vigil.source` (e.g. `retrain:<incident>`)
 *   and `vigil.idempotency_key`; on the registered model `vigil.serving_mode` (model | fallback),
 *   `vigil.model_id`, `vigil.tier`, `vigil.display_name`.
 * - Vigil's PostgreSQL: the `models` catalogue row and `registry_events`, the same history table the
 *   built-in registry writes: every alias move and serving-mode change with its reason and idempotency
 *   key. MLflow keeps no alias history, and a table gives exactly-once under retry.
 *
 * Exactly once across the two systems: a change is first written as an intent (a registry_events row
 * whose key is `mlflow-intent:<key>`), then applied in MLflow, then completed (the row takes its real
 * key). Changes to one model are serialised by a PostgreSQL advisory lock, and whoever takes the lock
 * first re-applies intents a crash left behind, in order, so the recorded `from` is always what MLflow
 * really had. A version's idempotency key is a tag set in the same create request, so a retried
 * registration finds the version instead of creating a second one.
 *
 * Artifacts: MLflow only registers local files from inside a run's artifact folder, so a local artifact
 * is logged to a run of the experiment `vigil/<registered name>` (copied into a local or shared
 * artifact root, or uploaded through the server's artifact proxy for `mlflow-artifacts:` roots) with
 * the metrics, and the version's source points there. Remote URIs (s3://, gs://…) are registered as
 * they are.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { DatasetProfile } from '../../domain/datasetProfile.js';
import type { ModelVersion, VersionStatus } from '../../ports/modelRegistry.js';
import type { ServingMode } from '../../ports/deploymentTarget.js';
import type { RegistryWithServingMode } from './servingModeStore.js';
import { artifactUploadUrl, createMlflowRestClient, isAlreadyExists, isNotFound, MlflowApiError, type MlflowRestClient } from './mlflowRestClient.js';

export const MLFLOW_TAGS = {
  status: 'vigil.status',
  metrics: 'vigil.metrics',
  /** The reference profile, as JSON split over `vigil.profile.0…` (see profileTags). */
  profile: 'vigil.profile',
  source: 'vigil.source',
  idempotencyKey: 'vigil.idempotency_key',
  servingMode: 'vigil.serving_mode',
  modelId: 'vigil.model_id',
  tier: 'vigil.tier',
  displayName: 'vigil.display_name',
} as const;

/** registry_events keys of changes written but not yet known to be applied in MLflow. */
export const MLFLOW_INTENT_PREFIX = 'mlflow-intent:';

interface Tag {
  key: string;
  value?: string;
}
interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  source?: string;
  run_id?: string;
  status?: string;
  status_message?: string;
  tags?: Tag[];
}
interface MlflowRegisteredModel {
  name: string;
  tags?: Tag[];
  aliases?: { alias: string; version: string }[];
}
interface MlflowRun {
  info: { run_id: string; artifact_uri: string };
}
interface EventRow {
  id: string;
  kind: 'alias_set' | 'serving_mode';
  alias: string | null;
  from_version: number | null;
  to_version: number | null;
  detail: { reason?: string; from?: ServingMode; to?: ServingMode };
  idempotency_key: string;
}

const STATUSES: readonly VersionStatus[] = ['registered', 'healthy', 'bad'];
// MLflow's metric-name rule; other names stay in the vigil.metrics tag only.
const MLFLOW_METRIC_KEY = /^[\w\-. /]{1,250}$/;

export function createMlflowRegistry(opts: {
  pool: pg.Pool;
  trackingUri: string;
  /** Vigil model id → registered model name; a model not listed uses its id. */
  registeredModelNames?: Record<string, string>;
  timeoutMs?: number;
  /** Where MLFLOW_TRACKING_* credentials are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}): RegistryWithServingMode {
  const { pool } = opts;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const api: MlflowRestClient = createMlflowRestClient({ trackingUri: opts.trackingUri, timeoutMs, env: opts.env });
  const nameOf = (modelId: string) => opts.registeredModelNames?.[modelId] ?? modelId;
  const describe = (modelId: string) => `model "${modelId}" (MLflow registered model "${nameOf(modelId)}" at ${api.trackingUri})`;

  function toVersion(modelId: string, mv: MlflowModelVersion): ModelVersion {
    const tags = tagMap(mv.tags);
    const status = tags[MLFLOW_TAGS.status] as VersionStatus | undefined;
    return {
      modelId,
      version: Number(mv.version),
      artifactUri: mv.source ?? '',
      metrics: parseMetrics(tags[MLFLOW_TAGS.metrics]),
      ...profileFromTags(tags),
      status: status && STATUSES.includes(status) ? status : 'registered',
      // A version registered outside Vigil has no vigil.source.
      source: tags[MLFLOW_TAGS.source] ?? 'mlflow',
      createdAt: new Date(Number(mv.creation_timestamp ?? 0)).toISOString(),
    };
  }

  async function registeredModel(modelId: string): Promise<MlflowRegisteredModel | undefined> {
    try {
      const r = await api.get<{ registered_model: MlflowRegisteredModel }>('registered-models/get', { name: nameOf(modelId) });
      return r.registered_model;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function requireRegisteredModel(modelId: string): Promise<MlflowRegisteredModel> {
    const rm = await registeredModel(modelId);
    if (!rm) throw new Error(`${describe(modelId)} is not in the registry`);
    return rm;
  }

  async function mlflowVersion(modelId: string, version: number): Promise<MlflowModelVersion | undefined> {
    if (!Number.isInteger(version) || version < 1) return undefined;
    try {
      const r = await api.get<{ model_version: MlflowModelVersion }>('model-versions/get', { name: nameOf(modelId), version: String(version) });
      return r.model_version;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function searchVersions(filter: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const r = await api.get<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>('model-versions/search', {
        filter,
        max_results: 1000,
        page_token: pageToken,
      });
      out.push(...(r.model_versions ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /** Serialises changes to one model across workers; session lock on a client of its own. */
  async function withModelLock<T>(modelId: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    const lockKey = `vigil.registry:${modelId}`;
    let broken: Error | undefined;
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
      try {
        return await fn(c);
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((err: Error) => (broken = err));
      }
    } finally {
      // A client whose unlock failed is discarded, which ends its session and so its lock.
      c.release(broken);
    }
  }

  async function completedEvent(c: pg.PoolClient | pg.Pool, key: string): Promise<EventRow | undefined> {
    const r = await c.query<EventRow>('SELECT * FROM registry_events WHERE idempotency_key = $1', [key]);
    return r.rows[0];
  }

  /** Applies an intent in MLflow and completes it; a change MLflow refuses is dropped (it did not happen). */
  async function applyIntent(c: pg.PoolClient, modelId: string, intent: EventRow): Promise<void> {
    try {
      if (intent.kind === 'alias_set') {
        await api.post('registered-models/alias', { name: nameOf(modelId), alias: intent.alias, version: String(intent.to_version) });
      } else {
        await api.post('registered-models/set-tag', { name: nameOf(modelId), key: MLFLOW_TAGS.servingMode, value: intent.detail.to });
      }
    } catch (err) {
      if (err instanceof MlflowApiError && err.status >= 400 && err.status < 500) {
        await c.query('DELETE FROM registry_events WHERE id = $1', [intent.id]);
      }
      throw err;
    }
    await c.query('UPDATE registry_events SET idempotency_key = $2, created_at = now() WHERE id = $1', [
      intent.id,
      intent.idempotency_key.slice(MLFLOW_INTENT_PREFIX.length),
    ]);
  }

  /** Re-applies, in order, the intents a crash left between writing and completing them. */
  async function rollForward(c: pg.PoolClient, modelId: string): Promise<void> {
    const pending = await c.query<EventRow>('SELECT * FROM registry_events WHERE model_id = $1 AND starts_with(idempotency_key, $2) ORDER BY id', [
      modelId,
      MLFLOW_INTENT_PREFIX,
    ]);
    for (const intent of pending.rows) {
      try {
        await applyIntent(c, modelId, intent);
      } catch (err) {
        // A refused leftover was dropped above and must not block this change; anything else might
        // have applied, so stop here and let the caller retry.
        if (!(err instanceof MlflowApiError && err.status >= 400 && err.status < 500)) throw err;
      }
    }
  }

  async function writeIntent(
    c: pg.PoolClient,
    row: { modelId: string; kind: EventRow['kind']; alias?: string; from?: number; to?: number; detail: EventRow['detail']; key: string },
  ): Promise<EventRow> {
    const r = await c.query<EventRow>(
      `INSERT INTO registry_events (model_id, kind, alias, from_version, to_version, detail, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [row.modelId, row.kind, row.alias ?? null, row.from ?? null, row.to ?? null, JSON.stringify(row.detail), MLFLOW_INTENT_PREFIX + row.key],
    );
    return r.rows[0]!; // INSERT … RETURNING: exactly one row
  }

  async function ensureExperiment(name: string): Promise<string> {
    const get = async () => {
      try {
        const r = await api.get<{ experiment: { experiment_id: string; lifecycle_stage?: string } }>('experiments/get-by-name', { experiment_name: name });
        if (r.experiment.lifecycle_stage === 'deleted') {
          throw new Error(
            `MLflow experiment "${name}" at ${api.trackingUri} is deleted, so Vigil cannot log model artifacts to it: restore it ("mlflow experiments restore") or purge it ("mlflow gc")`,
          );
        }
        return r.experiment.experiment_id;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    const found = await get();
    if (found) return found;
    try {
      return (await api.post<{ experiment_id: string }>('experiments/create', { name })).experiment_id;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const raced = await get();
      if (!raced) throw err;
      return raced;
    }
  }

  /** Logs a local artifact (file or folder) to a run, once per idempotency key; returns the version's source. */
  async function logArtifactToRun(args: {
    registeredName: string;
    localPath: string;
    metrics: Record<string, number>;
    source: string;
    key: string;
  }): Promise<{ source: string; runId: string }> {
    const stat = await fs.stat(args.localPath).catch(() => undefined);
    if (!stat) throw new Error(`artifact ${args.localPath} does not exist, so it cannot be registered in MLflow`);
    const experimentId = await ensureExperiment(`vigil/${args.registeredName}`);
    const found = await api.post<{ runs?: MlflowRun[] }>('runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.\`${MLFLOW_TAGS.idempotencyKey}\` = ${quote(args.key)}`,
      max_results: 1,
    });
    let run = found.runs?.[0];
    if (!run) {
      const now = Date.now();
      run = (
        await api.post<{ run: MlflowRun }>('runs/create', {
          experiment_id: experimentId,
          run_name: args.source,
          start_time: now,
          tags: [
            { key: MLFLOW_TAGS.idempotencyKey, value: args.key },
            { key: MLFLOW_TAGS.source, value: args.source },
          ],
        })
      ).run;
      const metrics = Object.entries(args.metrics)
        .filter(([k, v]) => MLFLOW_METRIC_KEY.test(k) && Number.isFinite(v))
        .map(([key, value]) => ({ key, value, timestamp: now, step: 0 }));
      if (metrics.length) await api.post('runs/log-batch', { run_id: run.info.run_id, metrics });
    }
    const root = run.info.artifact_uri.replace(/\/+$/, '');
    const base = path.basename(args.localPath);
    const files = stat.isDirectory() ? await listFiles(args.localPath) : [''];
    for (const rel of files) {
      const from = rel ? path.join(args.localPath, rel) : args.localPath;
      const to = ['model', base, rel].filter(Boolean).join('/');
      const url = artifactUploadUrl(api.trackingUri, root, to);
      if (url) {
        await api.putArtifact(url, await fs.readFile(from));
      } else if (isLocalUri(root)) {
        // A local artifact root: the tracking server's disk, reachable here (same host or shared mount).
        const dest = path.join(localPathOf(root), to);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.copyFile(from, dest);
      } else {
        throw new Error(
          `cannot store the local artifact ${args.localPath} in MLflow: the run's artifact location ${root} is neither local nor the ` +
            `tracking server's artifact proxy (mlflow-artifacts:); run mlflow server with --serve-artifacts, or have the trainer write to remote storage`,
        );
      }
    }
    await api.post('runs/update', { run_id: run.info.run_id, status: 'FINISHED', end_time: Date.now() });
    return { source: `${root}/model/${base}`, runId: run.info.run_id };
  }

  async function waitUntilReady(modelId: string, mv: MlflowModelVersion): Promise<MlflowModelVersion> {
    const deadline = Date.now() + timeoutMs;
    let current = mv;
    while (current.status === 'PENDING_REGISTRATION' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      current = (await mlflowVersion(modelId, Number(mv.version))) ?? current;
    }
    if (current.status === 'FAILED_REGISTRATION') {
      throw new Error(`MLflow failed to register version ${current.version} of ${describe(modelId)}: ${current.status_message ?? 'no reason given'}`);
    }
    return current;
  }

  const registry: RegistryWithServingMode = {
    async ensureModel({ id, displayName, tier }) {
      const name = nameOf(id);
      const wanted: Record<string, string> = { [MLFLOW_TAGS.modelId]: id, [MLFLOW_TAGS.tier]: tier, [MLFLOW_TAGS.displayName]: displayName };
      let rm = await registeredModel(id);
      if (!rm) {
        try {
          await api.post('registered-models/create', {
            name,
            description: displayName,
            tags: Object.entries(wanted).map(([key, value]) => ({ key, value })),
          });
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          rm = await requireRegisteredModel(id);
        }
      }
      if (rm) {
        const tags = tagMap(rm.tags);
        const owner = tags[MLFLOW_TAGS.modelId];
        if (owner && owner !== id) {
          throw new Error(
            `MLflow registered model "${name}" at ${api.trackingUri} belongs to Vigil model "${owner}", not "${id}": give this model its own registry.mlflow.registeredModelName`,
          );
        }
        for (const [key, value] of Object.entries(wanted)) {
          if (tags[key] !== value) await api.post('registered-models/set-tag', { name, key, value });
        }
      }
      // Vigil's catalogue row (registry_events refers to it), once MLflow has the model.
      await pool.query(
        `INSERT INTO models (id, display_name, tier) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, tier = EXCLUDED.tier`,
        [id, displayName, tier],
      );
    },

    async registerVersion({ modelId, artifactUri, metrics, profile, source, status = 'registered', idempotencyKey }) {
      const name = nameOf(modelId);
      return withModelLock(modelId, async () => {
        const [existing] = await searchVersions(`name = ${quote(name)} and tags.\`${MLFLOW_TAGS.idempotencyKey}\` = ${quote(idempotencyKey)}`);
        if (existing) return toVersion(modelId, existing);
        await requireRegisteredModel(modelId);
        const stored = isLocalUri(artifactUri)
          ? await logArtifactToRun({ registeredName: name, localPath: localPathOf(artifactUri), metrics, source, key: idempotencyKey })
          : { source: artifactUri, runId: undefined };
        const created = await api.post<{ model_version: MlflowModelVersion }>('model-versions/create', {
          name,
          source: stored.source,
          ...(stored.runId ? { run_id: stored.runId } : {}),
          description: `Registered by Vigil (${source})`,
          tags: [
            { key: MLFLOW_TAGS.idempotencyKey, value: idempotencyKey },
            { key: MLFLOW_TAGS.status, value: status },
            { key: MLFLOW_TAGS.metrics, value: JSON.stringify(metrics) },
            { key: MLFLOW_TAGS.source, value: source },
            ...(profile ? profileTags(profile) : []),
          ],
        });
        return toVersion(modelId, await waitUntilReady(modelId, created.model_version));
      });
    },

    async getVersion(modelId, version) {
      const mv = await mlflowVersion(modelId, version);
      return mv && toVersion(modelId, mv);
    },

    async listVersions(modelId) {
      const versions = await searchVersions(`name = ${quote(nameOf(modelId))}`);
      return versions.map((v) => toVersion(modelId, v)).sort((a, b) => a.version - b.version);
    },

    async getAlias(modelId, alias) {
      const rm = await registeredModel(modelId);
      const target = rm?.aliases?.find((a) => a.alias === alias);
      return target ? registry.getVersion(modelId, Number(target.version)) : undefined;
    },

    async setAlias({ modelId, alias, version, reason, idempotencyKey }) {
      return withModelLock(modelId, async (c) => {
        const done = async () => {
          const e = await completedEvent(c, idempotencyKey);
          return e && { from: e.from_version ?? undefined, to: e.to_version! };
        };
        const prior = await done();
        if (prior) return prior;
        // This key's own intent, if a crash left it, completes here with the `from` it recorded.
        await rollForward(c, modelId);
        const completed = await done();
        if (completed) return completed;

        const rm = await requireRegisteredModel(modelId);
        if (!(await mlflowVersion(modelId, version))) throw new Error(`version ${version} of ${describe(modelId)} does not exist`);
        const current = rm.aliases?.find((a) => a.alias === alias);
        const from = current ? Number(current.version) : undefined;
        const intent = await writeIntent(c, { modelId, kind: 'alias_set', alias, from, to: version, detail: { reason }, key: idempotencyKey });
        await applyIntent(c, modelId, intent);
        return { from, to: version };
      });
    },

    async priorChange(idempotencyKey) {
      // Intents are not changes yet: a retry with the key completes them through setAlias / setServingMode.
      const e = await completedEvent(pool, idempotencyKey);
      return e && { from: e.from_version ?? undefined, to: e.to_version ?? undefined };
    },

    async aliasHistory(modelId, alias, since) {
      const r = await pool.query<EventRow & { created_at: Date }>(
        `SELECT * FROM registry_events
         WHERE model_id = $1 AND kind = 'alias_set' AND alias = $2 AND created_at >= $3
           AND NOT starts_with(coalesce(idempotency_key, ''), $4)
         ORDER BY created_at, id`,
        [modelId, alias, since, MLFLOW_INTENT_PREFIX],
      );
      return r.rows.map((row) => ({
        alias,
        fromVersion: row.from_version ?? undefined,
        toVersion: row.to_version!,
        at: row.created_at.toISOString(),
        reason: row.detail?.reason,
      }));
    },

    async markVersion(modelId, version, status) {
      try {
        await api.post('model-versions/set-tag', { name: nameOf(modelId), version: String(version), key: MLFLOW_TAGS.status, value: status });
      } catch (err) {
        if (isNotFound(err)) throw new Error(`version ${version} of ${describe(modelId)} does not exist`);
        throw err;
      }
    },

    async lastGoodVersionBefore(modelId, version) {
      // As the built-in registry: the newest healthy version first, else the newest one not marked bad.
      const candidates = (await registry.listVersions(modelId)).filter((v) => v.version < version && v.status !== 'bad');
      candidates.sort((a, b) => Number(b.status === 'healthy') - Number(a.status === 'healthy') || b.version - a.version);
      return candidates[0];
    },

    async getServingMode(modelId) {
      return servingModeOf(modelId, await requireRegisteredModel(modelId));
    },

    async setServingMode({ modelId, mode, reason, idempotencyKey }) {
      return withModelLock(modelId, async (c) => {
        const done = async () => {
          const e = await completedEvent(c, idempotencyKey);
          return e && { from: e.detail.from!, to: e.detail.to! };
        };
        const prior = await done();
        if (prior) return prior;
        await rollForward(c, modelId);
        const completed = await done();
        if (completed) return completed;

        const from = servingModeOf(modelId, await requireRegisteredModel(modelId));
        const intent = await writeIntent(c, { modelId, kind: 'serving_mode', detail: { from, to: mode, reason }, key: idempotencyKey });
        await applyIntent(c, modelId, intent);
        return { from, to: mode };
      });
    },
  };

  function servingModeOf(modelId: string, rm: MlflowRegisteredModel): ServingMode {
    const value = tagMap(rm.tags)[MLFLOW_TAGS.servingMode];
    if (value === undefined || value === 'model' || value === 'fallback') return value ?? 'model';
    throw new Error(`${describe(modelId)} has tag ${MLFLOW_TAGS.servingMode}="${value}"; expected "model" or "fallback"`);
  }

  return registry;
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value ?? '']));
}

function parseMetrics(text: string | undefined): Record<string, number> {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {};
  }
}

/** A string literal in MLflow's search filter syntax. */
function quote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new Error(`MLflow search filters cannot express ${JSON.stringify(value)} (it contains both kinds of quote)`);
}

/** A plain path or a file: URI (MLflow's own rule for local URIs). */
function isLocalUri(uri: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
  return !scheme || scheme.toLowerCase() === 'file';
}

function localPathOf(uri: string): string {
  return uri.toLowerCase().startsWith('file:') ? fileURLToPath(uri) : path.resolve(uri);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** MLflow caps a tag's value at a few thousand characters: the profile's JSON is split over numbered tags. */
const PROFILE_TAG_CHUNK = 4000;

/** The profile as `vigil.profile.parts` = N and `vigil.profile.0` … `vigil.profile.N-1`. */
export function profileTags(profile: DatasetProfile): { key: string; value: string }[] {
  const json = JSON.stringify(profile);
  const parts: { key: string; value: string }[] = [];
  for (let i = 0; i * PROFILE_TAG_CHUNK < json.length; i++) {
    parts.push({ key: `${MLFLOW_TAGS.profile}.${i}`, value: json.slice(i * PROFILE_TAG_CHUNK, (i + 1) * PROFILE_TAG_CHUNK) });
  }
  return [{ key: `${MLFLOW_TAGS.profile}.parts`, value: String(parts.length) }, ...parts];
}

/** The profile put back together from its tags; nothing when it is absent or incomplete. */
export function profileFromTags(tags: Record<string, string>): { profile?: DatasetProfile } {
  const n = Number(tags[`${MLFLOW_TAGS.profile}.parts`]);
  if (!Number.isInteger(n) || n < 1) return {};
  let json = '';
  for (let i = 0; i < n; i++) {
    const part = tags[`${MLFLOW_TAGS.profile}.${i}`];
    if (part === undefined) return {};
    json += part;
  }
  try {
    return { profile: JSON.parse(json) as DatasetProfile };
  } catch {
    return {};
  }
}
