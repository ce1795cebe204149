import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { DeploymentTarget } from '../adapters/deployment/deploymentTarget.js';
import type { Notifier } from '../adapters/notify/notifier.js';
import type { PrometheusClient } from '../adapters/prometheus/prometheusClient.js';
import type { ModelRegistry } from '../adapters/registry/modelRegistry.js';
import type { TrainingBackend } from '../adapters/training/trainingBackend.js';
import type { IncidentService } from '../client/incidentService.js';
import type { ModelConfig, VigilConfig } from '../domain/config.js';
import { findModel } from '../domain/config.js';

/** What activities are built from: real clients in production, local ones in tests. */
export interface ActivityDeps {
  pool: pg.Pool;
  registry: ModelRegistry;
  /** The default (local process) training backend. */
  training: TrainingBackend;
  /** The model's configured training backend (`models[].training.backend`: local, ray…). */
  trainingFor(modelId: string): TrainingBackend;
  /** Where the model serves (`models[].deployment.kind`): the built-in routing over the registry, or KServe. */
  deploymentFor(modelId: string): DeploymentTarget;
  notifier: Notifier;
  temporal: Client;
  incidents: IncidentService;
  config: VigilConfig;
  stateDir: string;
  /** Set when `prometheus.url` or PROMETHEUS_URL is configured; health checks report an error without it. */
  prometheus?: PrometheusClient;
}

export function modelConfig(deps: ActivityDeps, modelId: string): ModelConfig {
  const model = findModel(deps.config, modelId);
  if (!model) throw new Error(`model "${modelId}" is not configured on this worker`);
  return model;
}
