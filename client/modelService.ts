/**
 * Models Vigil did not build: register a version from its reference data (Vigil computes the profile
 * and, from a holdout with predictions and labels, the metrics; the artifact URI stays opaque), list
 * and show them. The CLI reads the files; this service checks them against the model's declared task
 * and inputs. The example's bootstrap registers through the same code path.
 */
import crypto from 'node:crypto';
import type { ModelConfig, VigilConfig } from '../domain/config.js';
import { referenceProfile, type DataTable } from '../domain/referenceProfile.js';
import { NotFoundError, UserInputError } from '../domain/errors.js';
import { MetricsError, taskMetrics } from '../domain/taskMetrics.js';
import type { TaskConfig } from '../domain/task.js';
import type { ModelRegistry, ModelVersion, VersionStatus } from '../ports/modelRegistry.js';

export interface RegisterModelRequest {
  modelId: string;
  artifactUri: string;
  reference: DataTable;
  holdout?: DataTable;
  /** Metrics given by hand (`--metric name=value`); on a clash they win over those computed from the holdout. */
  metrics?: Record<string, number>;
  /** Alias to point at the new version, e.g. `champion`. */
  alias?: string;
  /** Names of the prediction and label columns in the files (default `prediction`, `label`). */
  predictionColumn?: string;
  labelColumn?: string;
  source?: string;
  /** The new version's status; `healthy` for a version known to have served well (default `registered`). */
  status?: VersionStatus;
}

export interface ModelSummary {
  id: string;
  displayName: string;
  task: TaskConfig['type'];
  versions: number;
  aliases: Record<string, number>;
}

export interface ModelDetails {
  model: ModelConfig;
  versions: ModelVersion[];
  aliases: Record<string, number>;
}

/** The aliases Vigil moves and shows. */
const ALIASES = ['champion', 'challenger'] as const;

export interface ModelService {
  register(req: RegisterModelRequest): Promise<{ version: ModelVersion; created: boolean; alias?: string }>;
  list(): Promise<ModelSummary[]>;
  show(modelId: string): Promise<ModelDetails>;
}

export function createModelService(deps: { config: Pick<VigilConfig, 'models'>; registry: ModelRegistry }): ModelService {
  const { config, registry } = deps;

  function modelOf(id: string): ModelConfig {
    const model = config.models.find((m) => m.id === id);
    if (!model) throw new NotFoundError(`unknown model "${id}" (configured: ${config.models.map((m) => m.id).join(', ')})`);
    return model;
  }

  async function aliasesOf(id: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const alias of ALIASES) {
      const v = await registry.getAlias(id, alias);
      if (v) out[alias] = v.version;
    }
    return out;
  }

  return {
    async register(req) {
      const model = modelOf(req.modelId);
      if (!req.artifactUri.trim()) throw new UserInputError('--artifact: must not be empty');
      const profile = referenceProfile(model, req.reference, req.predictionColumn ?? 'prediction', req.labelColumn ?? 'label');
      const computed = req.holdout ? holdoutMetrics(model.task, req.holdout, req.predictionColumn ?? 'prediction', req.labelColumn ?? 'label') : {};
      const metrics = { ...computed, ...(req.metrics ?? {}) };
      // The same registration repeated (a retried script) finds the version it made.
      const key = `register:${model.id}:${sha256(JSON.stringify([req.artifactUri, profile, metrics]))}`;
      await registry.ensureModel({ id: model.id, displayName: model.displayName, tier: model.tier });
      const before = await registry.listVersions(model.id);
      const version = await registry.registerVersion({
        modelId: model.id,
        artifactUri: req.artifactUri,
        metrics,
        profile,
        source: req.source ?? 'vigil model register',
        ...(req.status ? { status: req.status } : {}),
        idempotencyKey: key,
      });
      const created = !before.some((v) => v.version === version.version);
      if (req.alias) {
        await registry.setAlias({
          modelId: model.id,
          alias: req.alias,
          version: version.version,
          reason: 'vigil model register',
          idempotencyKey: `${key}:${req.alias}`,
        });
      }
      return { version, created, ...(req.alias ? { alias: req.alias } : {}) };
    },

    async list() {
      const out: ModelSummary[] = [];
      for (const m of config.models) {
        const versions = await registry.listVersions(m.id).catch(() => [] as ModelVersion[]);
        out.push({ id: m.id, displayName: m.displayName, task: m.task.type, versions: versions.length, aliases: versions.length ? await aliasesOf(m.id) : {} });
      }
      return out;
    },

    async show(modelId) {
      const model = modelOf(modelId);
      const versions = await registry.listVersions(model.id);
      return { model, versions, aliases: await aliasesOf(model.id) };
    },
  };
}

/** Metrics of the holdout's predictions against its labels, by task type. */
export function holdoutMetrics(task: TaskConfig, table: DataTable, predictionColumn: string, labelColumn: string): Record<string, number> {
  for (const c of [predictionColumn, labelColumn]) {
    if (!table.columns.includes(c))
      throw new UserInputError(`${table.file}: a holdout needs a "${c}" column (the model's ${c === labelColumn ? 'outcomes' : 'predictions'})`);
  }
  const predictions = table.cells.get(predictionColumn) ?? [];
  const labels = table.cells.get(labelColumn) ?? [];
  // Rows without a label carry no evidence about performance.
  const keep = labels.flatMap((l, i) => (l === '' ? [] : [i]));
  try {
    return taskMetrics(
      task,
      keep.map((i) => predictions[i]),
      keep.map((i) => labels[i]),
    );
  } catch (err) {
    if (err instanceof MetricsError) throw new UserInputError(`${table.file}: ${err.message}`);
    throw err;
  }
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 32);
}
