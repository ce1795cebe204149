/**
 * Where training jobs run. One interface; the local process runner is the default, Ray Jobs and
 * Kubernetes Jobs implement the same contract. Job ids are derived from the incident, so submitting
 * the same id twice finds the first job instead of starting a second.
 */
import type { TrainingFailure } from '../adapters/training/trainingFailure.js';

/**
 * What a job does (trainer protocol, docs/trainer-protocol.md): `train` (v1) ends with an `artifact`
 * line; `score` (v2, `<command> score …`) ends with a `scored` line. Exit 0 without that line is a
 * protocol failure (`bad_exit`).
 */
export type TrainingJobKind = 'train' | 'score';

export interface TrainingJobSpec {
  jobId: string;
  /** Default `train`. Backends keep it with the job (the local job folder, Ray metadata, a Job annotation). */
  kind?: TrainingJobKind;
  /** Program and arguments. */
  command: string[];
  /** Values the job gets (`training.env`). */
  env?: Record<string, string>;
  /**
   * Names of the worker's environment variables the job also gets (`training.passEnv`). Only the local
   * backend runs on the worker's machine and reads them; the config allows them with no other backend.
   */
  passEnv?: string[];
  /**
   * GPUs the job may use, as `CUDA_VISIBLE_DEVICES` (e.g. '0', '0,1', a GPU UUID); '' hides every GPU
   * (CPU only); undefined leaves the backend's default. Backends that schedule GPUs themselves (Ray,
   * Kubernetes) read the count from it.
   */
  gpus?: string;
}

export type TrainingJobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TrainingProgress {
  step: number;
  total: number;
  loss?: number;
}

export interface TrainingJobStatus {
  jobId: string;
  state: TrainingJobState;
  progress?: TrainingProgress;
  metrics?: Record<string, number>;
  artifactPath?: string;
  /** A scoring job's predictions file, from its `scored` line. */
  outputPath?: string;
  exitCode?: number;
  error?: string;
  /** Set on `failed`: what kind of failure, and whether a new job may succeed (trainingFailure.ts). */
  failure?: TrainingFailure;
}

export interface TrainingBackend {
  submit(spec: TrainingJobSpec): Promise<{ jobId: string; alreadySubmitted: boolean }>;
  status(jobId: string): Promise<TrainingJobStatus>;
  /** stdout and stderr, or their tails (the local backend: the last 256 KiB of each). */
  logs(jobId: string): Promise<string>;
  cancel(jobId: string): Promise<void>;
}
