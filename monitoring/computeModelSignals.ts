/**
 * A model's signals from its prediction log: per-feature PSI of recent traffic against the champion's
 * training reference, data quality against the declared input schema, accuracy on labelled feedback
 * against the champion's holdout baseline, and feedback-loop checks on the labels. Used by monitors,
 * triage and post-remediation validation.
 */
import type { ModelConfig } from '../domain/config.js';
import type { TaskConfig } from '../domain/task.js';
import { assessDataQuality, dataQualityAsEvidence, schemaFromFeatures } from '../domain/dataQuality.js';
import { psiByFeature } from '../domain/drift/psi.js';
import { assessFeedbackLoop } from '../domain/labelQuality.js';
import type { ModelSignals } from '../domain/modelSignals.js';
import type { DeploymentTarget } from '../ports/deploymentTarget.js';
import type { ModelEvaluation } from '../ports/modelEvaluation.js';
import type { ModelRegistry, ModelVersion } from '../ports/modelRegistry.js';
import { psiByProfiledFeature, psiReference, type DatasetProfile } from '../domain/datasetProfile.js';
import type { ModelProfile } from '../ports/modelEvaluation.js';
import type { PredictionLog } from '../ports/predictionLog.js';

export async function computeModelSignals(
  deps: { registry: ModelRegistry; models: ModelEvaluation; predictions: PredictionLog; deploymentFor(modelId: string): DeploymentTarget },
  model: Pick<ModelConfig, 'id' | 'monitor' | 'inputSchema' | 'task'>,
  opts: { since?: Date; servedBy?: 'model' } = {},
): Promise<ModelSignals> {
  const modelId = model.id;
  const cfg = model.monitor;
  const [champion, servingMode] = await Promise.all([deps.registry.getAlias(modelId, 'champion'), deps.deploymentFor(modelId).servingMode(modelId)]);
  const out: ModelSignals = {
    modelId,
    championVersion: champion?.version,
    servingMode,
    samples: 0,
    psi: {},
    psiMax: 0,
    driftedFeatures: [],
    dataQuality: { rows: 0, missingColumns: [], newColumns: [], typeChanges: [], columns: [], issues: [] },
    feedback: { anomalous: false, rows: 0, reasons: [], values: {} },
    labelled: 0,
  };
  if (!champion) return out;
  // The profile Vigil computed at registration; versions registered without reference data (the
  // example's, retrained candidates) are profiled by the model evaluation.
  const artifact = champion.profile ? storedProfile(champion, champion.profile, model.task) : await deps.models.profile(champion.artifactUri);

  let recent = await deps.predictions.recent(modelId, { limit: cfg.window, since: opts.since });
  if (opts.servedBy) recent = recent.filter((r) => r.servedBy === opts.servedBy);
  out.samples = recent.length;
  if (recent.length > 0) {
    const rows = recent.map((r) => r.features as Record<string, unknown>);
    const schema = model.inputSchema ?? schemaFromFeatures(artifact.features);
    out.dataQuality = assessDataQuality(schema, rows, cfg.dataQuality, artifact.reference);
    // Numeric features by deciles; with a stored profile, categorical ones by their category shares too.
    out.psi = { ...psiByFeature(artifact.reference, rows), ...(champion.profile ? psiByProfiledFeature(champion.profile, rows) : {}) };
    // Drift over a column that vanished or changed type is meaningless: the schema break reports it.
    for (const broken of [...out.dataQuality.missingColumns, ...out.dataQuality.typeChanges]) delete out.psi[broken];
    const finite = Object.entries(out.psi).filter(([, v]) => Number.isFinite(v));
    out.psiMax = Math.max(0, ...finite.map(([, v]) => v));
    out.driftedFeatures = finite
      .filter(([, v]) => v >= cfg.psiThreshold)
      .map(([f]) => f)
      .sort();
  }

  // Accuracy only over predictions made by the model itself (not the fallback) with labels in.
  let labelled = await deps.predictions.recent(modelId, { limit: cfg.window, since: opts.since, labelledOnly: true });
  labelled = labelled.filter((r) => r.servedBy === 'model');
  const feedbackRows = labelled;
  labelled = labelled.filter((r) => r.label !== null);
  out.labelled = labelled.length;
  out.baselineAccuracy = artifact.metrics.accuracy;
  if (labelled.length > 0) {
    const correct = labelled.filter((r) => r.predicted === r.label).length;
    out.accuracy = correct / labelled.length;
    if (out.baselineAccuracy !== undefined) out.accuracyDrop = out.baselineAccuracy - out.accuracy;
    out.positiveRate = labelled.filter((r) => r.label === 1).length / labelled.length;
  }
  const baselinePositiveRate = champion.metrics.positiveRate;
  if (typeof baselinePositiveRate === 'number') out.baselinePositiveRate = baselinePositiveRate;
  out.feedback = assessFeedbackLoop(
    {
      labels: feedbackRows.map((r) => r.rawLabel),
      predicted: feedbackRows.map((r) => r.predicted),
      baselineAccuracy: out.baselineAccuracy,
      baselinePositiveRate: out.baselinePositiveRate,
      inputsDrifted: out.psiMax >= cfg.psiThreshold,
      minRows: cfg.minLabelled,
    },
    cfg.labels,
  );
  return out;
}

/** Flattens signals into incident evidence values (numbers rounded for reading). */
export function signalsAsEvidence(s: ModelSignals): Record<string, string | number> {
  const r = (v: number) => Math.round(v * 10000) / 10000;
  const values: Record<string, string | number> = { samples: s.samples, psi_max: r(s.psiMax) };
  if (s.driftedFeatures.length) values.drifted_features = s.driftedFeatures.join(',');
  Object.assign(values, dataQualityAsEvidence(s.dataQuality));
  if (s.accuracy !== undefined) {
    values.accuracy = r(s.accuracy);
    if (s.baselineAccuracy !== undefined) values.accuracy_baseline = r(s.baselineAccuracy);
    if (s.accuracyDrop !== undefined) values.accuracy_drop = r(s.accuracyDrop);
    values.labelled = s.labelled;
  }
  Object.assign(values, s.feedback.values);
  if (s.feedback.anomalous) values.label_anomalies = s.feedback.reasons.join('; ');
  if (s.championVersion !== undefined) values.champion_version = s.championVersion;
  return values;
}

/** A registered version's stored profile in the shape the monitors read (numeric features' PSI reference). */
function storedProfile(version: ModelVersion, profile: DatasetProfile, task: TaskConfig): ModelProfile {
  return {
    features: Object.keys(profile.features),
    reference: psiReference(profile),
    metrics: version.metrics,
    threshold: task.type === 'binary' ? task.threshold : 0.5,
  };
}
