import type { ModelConfig, VigilConfig } from '../domain/config.js';
import { findModel } from '../domain/config.js';
import { ModelNotConfiguredError } from '../domain/errors.js';
import type { PrometheusClient } from '../adapters/prometheus/prometheusClient.js';
import type { DeploymentTarget } from '../ports/deploymentTarget.js';
import type { IncidentOpener } from '../ports/incidentOpener.js';
import type { IncidentStore } from '../ports/incidentStore.js';
import type { ModelScorer } from '../ports/modelScorer.js';
import type { ModelEvaluation } from '../ports/modelEvaluation.js';
import type { ModelRegistry } from '../ports/modelRegistry.js';
import type { Notifier } from '../ports/notifier.js';
import type { PredictionLog } from '../ports/predictionLog.js';
import type { RemediationLedger } from '../ports/remediationLedger.js';
import type { TrainingBackend } from '../ports/trainingBackend.js';
import type { WorkflowHistory } from '../ports/workflowHistory.js';

/** The ports activities are built from: real adapters in production, the same ones over test servers in tests. */
export interface ActivityDeps {
  config: VigilConfig;
  stateDir: string;
  registry: ModelRegistry;
  /** The model's configured training backend (`models[].training.backend`: local, ray, kubernetes). */
  trainingFor(modelId: string): TrainingBackend;
  /** Where the model serves (`models[].deployment.kind`): the built-in routing over the registry, or KServe. */
  deploymentFor(modelId: string): DeploymentTarget;
  /** Reference profiles, holdout metrics and scores of registered artifacts. */
  models: ModelEvaluation;
  /** Predictions of any model by its trainer's `score` (trainer protocol v2); models on protocol 1 are scored by `models`. */
  scorer?: ModelScorer;
  predictions: PredictionLog;
  incidentStore: IncidentStore;
  /** Plans of model-changing remediations and which incident may change a model now. */
  ledger: RemediationLedger;
  /** Monitors open incidents (or feed the open one) through this. */
  incidentOpener: IncidentOpener;
  history: WorkflowHistory;
  notifier: Notifier;
  /** The trainer command for models without `training.command` (the example's, at the composition root). */
  defaultTrainerCommand?: string[];
  /** Set when `prometheus.url` or PROMETHEUS_URL is configured; health checks report an error without it. */
  prometheus?: PrometheusClient;
}

export function modelConfig(deps: Pick<ActivityDeps, 'config'>, modelId: string): ModelConfig {
  const model = findModel(deps.config, modelId);
  if (!model) throw new ModelNotConfiguredError(modelId);
  return model;
}
