/**
 * Where training jobs run. One interface; the local process runner is the default, Ray Jobs and
 * Kubernetes Jobs implement the same contract. Job ids are derived from the incident, so submitting
 * the same id twice finds the first job instead of starting a second.
 */
export interface TrainingJobSpec {
  jobId: string;
  /** Program and arguments. */
  command: string[];
  env?: Record<string, string>;
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
  exitCode?: number;
  error?: string;
}

export interface TrainingBackend {
  submit(spec: TrainingJobSpec): Promise<{ jobId: string; alreadySubmitted: boolean }>;
  status(jobId: string): Promise<TrainingJobStatus>;
  logs(jobId: string): Promise<string>;
  cancel(jobId: string): Promise<void>;
}
