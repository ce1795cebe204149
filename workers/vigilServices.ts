/**
 * The composition root: builds Vigil's service graph from configuration — the PostgreSQL pool and the
 * adapters over it (incident store, prediction log, registry), training backends, deployment targets,
 * the notifier, the Temporal client, the incident service — and plugs in the model evaluation for the
 * models it serves. The CLI, the worker and the tests all construct the same graph here.
 */
import type { Client } from '@temporalio/client';
import path from 'node:path';
import type pg from 'pg';
import type { ActivityDeps } from '../activities/activityDeps.js';
import { createIncidentStore } from '../adapters/postgres/incidentStore.js';
import { createRemediationLedger } from '../adapters/postgres/remediationLedger.js';
import { predictionLogFromConfig } from '../adapters/postgres/predictionLogRouter.js';
import { createWorkflowHistory } from '../adapters/temporal/workflowHistory.js';
import type { RegistryWithServingMode } from '../adapters/registry/servingModeStore.js';
import { createLogisticRegressionEvaluation } from '../examples/credit-risk/logisticRegressionEvaluation.js';
import { TRAINER_SCRIPT } from '../examples/credit-risk/trainer.js';
import type { ModelEvaluation } from '../ports/modelEvaluation.js';
import { createCompositeNotifier, type NotifierChannel } from '../adapters/notify/compositeNotifier.js';
import { createLogNotifier } from '../adapters/notify/logNotifier.js';
import type { Notifier } from '../ports/notifier.js';
import { createPagerDutyNotifier, hasPagerDutyTargets } from '../adapters/pagerduty/pagerDutyNotifier.js';
import { prometheusClientFromConfig } from '../adapters/prometheus/prometheusClient.js';
import { registryFromConfig } from '../adapters/registry/registryRouter.js';
import { slackSettings } from '../adapters/slack/slackCredentials.js';
import { createSlackNotifier } from '../adapters/slack/slackNotifier.js';
import { slackWebClientFromEnv } from '../adapters/slack/slackWebClient.js';
import { modelConfig } from '../activities/activityDeps.js';
import { createTrainerScorer } from '../adapters/training/trainerScorer.js';
import { createLocalProcessBackend } from '../adapters/training/localProcessBackend.js';
import { kubernetesJobBackendFromConfig } from '../adapters/training/kubernetesJobBackend.js';
import { rayJobsBackendFromConfig } from '../adapters/training/rayJobsBackend.js';
import type { TrainingBackend } from '../ports/trainingBackend.js';
import { createRegistryDeployment } from '../adapters/deployment/registryDeployment.js';
import { kserveDeploymentFromConfig } from '../adapters/deployment/kserveDeployment.js';
import type { DeploymentTarget } from '../ports/deploymentTarget.js';
import { createIncidentService, type IncidentService } from '../client/incidentService.js';
import { findModel, localUser, type ModelConfig, type VigilConfig } from '../domain/config.js';
import { withPeopleResolution } from '../adapters/notify/peopleNotifier.js';
import { ModelNotConfiguredError } from '../domain/errors.js';

/** The activities' ports plus what entry points use: the pool, the Temporal client, the incident service. */
export interface VigilServices extends ActivityDeps {
  pool: pg.Pool;
  temporal: Client;
  /** Open, decide, list, show and review incidents (CLI, Slack, Alertmanager, monitors). */
  incidents: IncidentService;
  registry: RegistryWithServingMode;
  /** The local process backend (the default training backend). */
  training: TrainingBackend;
  /**
   * Ends what the graph opened itself: the pools to the teams' own prediction tables (`source.kind:
   * "postgres"`). The pool and the Temporal client passed in stay the caller's to close.
   */
  close(): Promise<void>;
}

/** The example trainer runs from TypeScript source; the job's cwd is its own folder, so name tsx's loader by URL. */
const EXAMPLE_TRAINER = [process.execPath, '--import', import.meta.resolve('tsx'), TRAINER_SCRIPT];

export function createVigilServices(opts: {
  config: VigilConfig;
  pool: pg.Pool;
  temporal: Client;
  stateDir: string;
  notifier?: Notifier;
  /** How registered artifacts are profiled and scored; the example's logistic regression by default. */
  models?: ModelEvaluation;
  /**
   * Who `$USER` in approver lists is: the user running this process (`vigil up`, tests) by default;
   * false for a production worker, where it names no one.
   */
  localOperator?: string | false;
}): VigilServices {
  const { config, pool, temporal, stateDir } = opts;
  const prometheus = prometheusClientFromConfig(config);
  const registry = registryFromConfig(config, pool);
  const localTraining = createLocalProcessBackend({ jobsDir: path.join(stateDir, 'jobs') });
  const incidentStore = createIncidentStore(pool);
  const ledger = createRemediationLedger(pool);
  const incidents = createIncidentService({ temporal, store: incidentStore, config });
  // Vigil's own log, or a router reading models with source.kind "postgres" from their teams' tables.
  const predictions = predictionLogFromConfig(config, pool);
  const trainingFor = trainingBackends(config, localTraining);
  const modelOf = (modelId: string) => modelConfig({ config }, modelId);
  // Trainers speaking protocol v2 score too: gates and rollback judgements for any model run through them.
  const scorer = createTrainerScorer({
    backendFor: trainingFor,
    commandFor: (modelId) => modelOf(modelId).training.command ?? EXAMPLE_TRAINER,
    taskFor: (modelId) => modelOf(modelId).task,
    jobFor: (modelId) => {
      const t = modelOf(modelId).training;
      return { env: t.env, passEnv: t.passEnv, timeout: t.timeout, ...(t.gpus !== undefined ? { gpus: t.gpus } : {}) };
    },
    stateDir,
  });
  return {
    config,
    pool,
    temporal,
    stateDir,
    registry,
    deploymentFor: deploymentTargets(config, pool, registry),
    training: localTraining,
    trainingFor,
    models: opts.models ?? createLogisticRegressionEvaluation(),
    scorer,
    defaultTrainerCommand: EXAMPLE_TRAINER,
    predictions: predictions.log,
    incidentStore,
    ledger,
    incidentOpener: incidents,
    incidents,
    history: createWorkflowHistory(temporal),
    // Approver lists are resolved when approval is requested, whichever channels tell people.
    notifier: withPeopleResolution(opts.notifier ?? defaultNotifier(config, pool, temporal), {
      config,
      ...(opts.localOperator !== false ? { localOperator: opts.localOperator ?? localUser() } : {}),
    }),
    ...(prometheus ? { prometheus } : {}),
    close: () => predictions.close(),
  };
}

/** Each model's training backend, built on first use and kept; models on 'local' share one. */
function trainingBackends(config: VigilConfig, local: TrainingBackend): (modelId: string) => TrainingBackend {
  const built = new Map<string, TrainingBackend>();
  const build = (training: ModelConfig['training']): TrainingBackend => {
    switch (training.backend) {
      case 'local':
        return local;
      case 'ray':
        return rayJobsBackendFromConfig(training.ray!); // the config schema requires it for 'ray'
      case 'kubernetes':
        return kubernetesJobBackendFromConfig(training);
      default:
        throw new Error(`training backend "${training.backend}" is not available in this worker`);
    }
  };
  return (modelId) => {
    let backend = built.get(modelId);
    if (!backend) {
      const model = findModel(config, modelId);
      if (!model) throw new ModelNotConfiguredError(modelId);
      backend = build(model.training);
      built.set(modelId, backend);
    }
    return backend;
  };
}

/** Each model's deployment target: KServe where configured, else the built-in routing over the registry. */
function deploymentTargets(config: VigilConfig, pool: pg.Pool, registry: RegistryWithServingMode): (modelId: string) => DeploymentTarget {
  const builtin = createRegistryDeployment({ pool, registry });
  let kserve: DeploymentTarget | undefined;
  return (modelId) => {
    const model = findModel(config, modelId);
    if (!model) throw new ModelNotConfiguredError(modelId);
    if (model.deployment.kind !== 'kserve') return builtin;
    // Built on first use: loading the kubeconfig fails on machines that never deploy to KServe.
    kserve ??= kserveDeploymentFromConfig(config)!;
    return kserve;
  };
}

/**
 * The log always; Slack as well when SLACK_BOT_TOKEN is set; PagerDuty as well when a model has a
 * PagerDuty escalation target (its routing keys are checked here, so a missing one stops startup).
 */
function defaultNotifier(config: VigilConfig, pool: pg.Pool, temporal: Client): Notifier {
  const channels: NotifierChannel[] = [{ name: 'log', notifier: createLogNotifier() }];
  const client = slackWebClientFromEnv();
  if (client) {
    const slack = createSlackNotifier({
      client,
      pool,
      config,
      // The client's namespace is the worker's: both come from the same Temporal settings.
      namespace: temporal.options.namespace,
      temporalUiUrl: slackSettings(config).temporalUiUrl,
    });
    channels.push({ name: 'slack', notifier: slack });
  }
  if (hasPagerDutyTargets(config)) channels.push({ name: 'pagerduty', notifier: createPagerDutyNotifier({ config }) });
  return channels.length === 1 ? channels[0]!.notifier : createCompositeNotifier(channels);
}
