/**
 * A model's signals from its prediction log: per-feature PSI of recent traffic against the champion's
 * training reference, data quality against the declared input schema, accuracy on labelled feedback
 * against the champion's holdout baseline, and feedback-loop checks on the labels. Used by monitors,
 * triage and post-remediation validation.
 */
import type { ModelConfig } from '../domain/config.js';
import { taskLabel, type TaskConfig } from '../domain/task.js';
import { evaluateScores } from '../domain/metrics.js';
import { comparePerformance, taskMetrics } from '../domain/taskMetrics.js';
import { assessDataQuality, dataQualityAsEvidence, schemaFromFeatures } from '../domain/dataQuality.js';
import { psiByFeature } from '../domain/drift/psi.js';
import { assessFeedbackLoop, assessLabelEcho } from '../domain/labelQuality.js';
import type { ModelSignals } from '../domain/modelSignals.js';
import type { DeploymentTarget } from '../ports/deploymentTarget.js';
import type { ModelEvaluation } from '../ports/modelEvaluation.js';
import type { ModelRegistry, ModelVersion } from '../ports/modelRegistry.js';
import { columnPsi, psiByProfiledFeature, psiReference, schemaFromProfile, type DatasetProfile } from '../domain/datasetProfile.js';
import type { ModelProfile } from '../ports/modelEvaluation.js';
import type { PredictionLog, TrafficRow } from '../ports/predictionLog.js';

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

  // A window longer than maxRows is measured on an evenly spaced sample: memory stays bounded.
  const window = { limit: cfg.window, since: opts.since, sample: cfg.maxRows };
  // Both reads at once: PostgreSQL runs the labelled one while the first window is parsed.
  const labelledRead = deps.predictions.recent(modelId, { ...window, labelledOnly: true, withoutFeatures: true });
  labelledRead.catch(() => undefined); // awaited below; a failure of the first read must not leave it unhandled
  let recent = await deps.predictions.recent(modelId, window);
  if (recent.length >= cfg.maxRows && cfg.window > cfg.maxRows) out.sampledFrom = cfg.window;
  if (opts.servedBy) recent = recent.filter((r) => r.servedBy === opts.servedBy);
  out.samples = recent.length;
  if (recent[0]) out.windowStart = recent[0].ts.toISOString();
  if (recent.length > 0) {
    const rows = recent.map((r) => r.features as Record<string, unknown>);
    const schema = model.inputSchema ?? (champion.profile ? schemaFromProfile(champion.profile) : schemaFromFeatures(artifact.features));
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

  // Performance only over predictions made by the model itself (not the fallback) with labels in.
  let labelled = await labelledRead;
  labelled = labelled.filter((r) => r.servedBy === 'model');
  const feedbackRows = labelled;
  const task = model.task;
  out.task = task.type;
  out.baselineAccuracy = artifact.metrics.accuracy;
  if (task.type === 'binary') {
    labelled = labelled.filter((r) => r.label !== null);
    out.labelled = labelled.length;
    if (labelled.length > 0) {
      const correct = labelled.filter((r) => r.predicted === r.label).length;
      out.accuracy = correct / labelled.length;
      out.positiveRate = labelled.filter((r) => r.label === 1).length / labelled.length;
      const e = evaluateScores(
        Float64Array.from(labelled, (r) => r.score),
        Float64Array.from(labelled, (r) => r.label ?? Number.NaN),
        task.threshold,
      );
      out.metrics = { accuracy: out.accuracy, auc: e.auc, logLoss: e.logLoss, calibrationError: e.calibrationError };
    }
  } else {
    const pairs = labelled.flatMap((r) => {
      const predicted = r.prediction && ('value' in r.prediction ? r.prediction.value : r.prediction.label);
      return predicted !== undefined && r.labelValue !== undefined ? [{ predicted, label: r.labelValue }] : [];
    });
    out.labelled = pairs.length;
    if (pairs.length > 0) {
      out.metrics = taskMetrics(
        task,
        pairs.map((p) => p.predicted),
        pairs.map((p) => p.label),
      );
      if (out.metrics.accuracy !== undefined) out.accuracy = out.metrics.accuracy;
    }
  }
  if (out.accuracy !== undefined && out.baselineAccuracy !== undefined) out.accuracyDrop = out.baselineAccuracy - out.accuracy;
  if (out.metrics) {
    out.performance = comparePerformance(
      task.type,
      out.metrics,
      artifact.metrics,
      { accuracyDrop: cfg.accuracyDropThreshold, ...cfg.performance },
      out.labelled,
    );
  }

  // The predictions' and labels' distributions against the reference's, when Vigil profiled them.
  const reference = champion.profile;
  if (reference?.prediction && recent.length > 0) {
    out.predictionPsi = columnPsi(
      reference.prediction,
      recent.filter((r) => r.servedBy === 'model').map((r) => predictionOf(task, r)),
    );
  }
  if (reference?.label && labelled.length > 0) {
    out.labelPsi = columnPsi(
      reference.label,
      labelled.map((r) => taskLabel(task, r)),
    );
  }

  const baselinePositiveRate = champion.metrics.positiveRate;
  if (typeof baselinePositiveRate === 'number') out.baselinePositiveRate = baselinePositiveRate;
  if (task.type === 'binary') {
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
  } else {
    out.feedback = assessLabelEcho(
      {
        echoes: feedbackRows.flatMap((r) => {
          const p = predictionOf(task, r);
          if (p === undefined || r.labelValue === undefined) return [];
          if (task.type === 'multiclass') return [String(p) === String(r.labelValue)];
          const l = Number(r.labelValue);
          return [Math.abs(Number(p) - l) <= 1e-6 * Math.max(1, Math.abs(l))];
        }),
        ...(out.baselineAccuracy !== undefined ? { baselineAccuracy: out.baselineAccuracy } : {}),
        minRows: cfg.minLabelled,
        kind: task.type === 'multiclass' ? 'class' : 'value',
      },
      cfg.labels,
    );
  }
  return out;
}

/** Flattens signals into incident evidence values (numbers rounded for reading). */
export function signalsAsEvidence(s: ModelSignals): Record<string, string | number> {
  const r = (v: number) => Math.round(v * 10000) / 10000;
  const values: Record<string, string | number> = { samples: s.samples, psi_max: r(s.psiMax) };
  if (s.sampledFrom !== undefined) values.window_sample = `${s.samples} evenly spaced of the latest ${s.sampledFrom} predictions`;
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
  if (s.task !== undefined) values.task = s.task;
  // The task type's own figures (e.g. macro_f1, mae and their holdout baselines), for regression and multiclass above all.
  for (const f of s.performance ?? []) {
    const key = snake(f.metric);
    if (key === 'accuracy') continue;
    values[key] = r(f.current);
    values[`${key}_baseline`] = r(f.baseline);
  }
  if (s.predictionPsi !== undefined && Number.isFinite(s.predictionPsi)) values.prediction_psi = r(s.predictionPsi);
  if (s.labelPsi !== undefined && Number.isFinite(s.labelPsi)) values.label_psi = r(s.labelPsi);
  return values;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** What the row predicted, as the reference's prediction column holds it (a score, a class, a value). */
function predictionOf(task: TaskConfig, r: TrafficRow): unknown {
  if (task.type === 'binary') return r.score;
  if (!r.prediction) return undefined;
  return 'value' in r.prediction ? r.prediction.value : r.prediction.label;
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
