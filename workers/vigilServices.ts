/**
 * Builds Vigil's service graph from configuration: the PostgreSQL pool, the registry, the training
 * backend, the notifier, the Temporal client and the incident service. The CLI, the worker and the
 * tests all construct the same graph here.
 */
import type { Client } from '@temporalio/client';
import path from 'node:path';
import type pg from 'pg';
import type { ActivityDeps } from '../activities/activityDeps.js';
import { createLogNotifier, type Notifier } from '../adapters/notify/notifier.js';
import { prometheusClientFromConfig } from '../adapters/prometheus/prometheusClient.js';
import { createBuiltinRegistry } from '../adapters/registry/builtinRegistry.js';
import { createLocalProcessBackend } from '../adapters/training/localProcessBackend.js';
import { createIncidentService } from '../client/incidentService.js';
import type { VigilConfig } from '../domain/config.js';

export function createVigilServices(opts: {
  config: VigilConfig;
  pool: pg.Pool;
  temporal: Client;
  stateDir: string;
  notifier?: Notifier;
}): ActivityDeps {
  const { config, pool, temporal, stateDir } = opts;
  const prometheus = prometheusClientFromConfig(config);
  return {
    config,
    pool,
    temporal,
    stateDir,
    registry: createBuiltinRegistry(pool),
    training: createLocalProcessBackend({ jobsDir: path.join(stateDir, 'jobs') }),
    notifier: opts.notifier ?? createLogNotifier(),
    incidents: createIncidentService({ temporal, pool, config }),
    ...(prometheus ? { prometheus } : {}),
  };
}
