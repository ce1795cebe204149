/**
 * The environment a trainer (or scorer) process started on the worker's machine gets. Not the worker's
 * own: that holds DATABASE_URL, Slack and PagerDuty tokens, TEMPORAL_API_KEY… and the trainer is team
 * code. It gets, in this order (later wins):
 *
 *   1. a few harmless process settings of the worker, so programs and interpreters start as they would
 *      in its shell: INHERITED_ENV_NAMES and every LC_* locale variable;
 *   2. the worker's variables the model's `training.passEnv` names (unset ones stay unset);
 *   3. the model's `training.env`, as written in the config;
 *   4. CUDA_VISIBLE_DEVICES from `training.gpus` when set;
 *   5. VIGIL_JOB_ID.
 */

/** Which programs run and how: search path, home, user, shell, locale, time zone, temporary folder, interpreters, GPUs. */
export const INHERITED_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  // Python interpreters and virtual environments (venv, conda) the trainer command may rely on.
  'PYTHONPATH',
  'PYTHONHOME',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  // Shared libraries (CUDA, MKL) installed outside the system folders.
  'LD_LIBRARY_PATH',
  // The worker's GPUs, when `training.gpus` does not choose.
  'CUDA_VISIBLE_DEVICES',
];

/** Whether the trainer inherits the worker's variable `name` without the config naming it. */
export function isInheritedEnvName(name: string): boolean {
  return INHERITED_ENV_NAMES.includes(name) || /^LC_[A-Z_]+$/.test(name);
}

export interface TrainerEnvironmentInput {
  /** The worker's environment (default: this process's). */
  workerEnv?: NodeJS.ProcessEnv;
  /** Names of the worker's variables the trainer also gets (`training.passEnv`). */
  passEnv?: readonly string[];
  /** Values from the config (`training.env`). */
  env?: Readonly<Record<string, string>>;
  /** CUDA_VISIBLE_DEVICES ('' = CPU only); undefined keeps the worker's. */
  gpus?: string;
  jobId: string;
}

export function trainerEnvironment(input: TrainerEnvironmentInput): Record<string, string> {
  const worker = input.workerEnv ?? process.env;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(worker)) if (value !== undefined && isInheritedEnvName(name)) out[name] = value;
  for (const name of input.passEnv ?? []) {
    const value = worker[name];
    if (value !== undefined) out[name] = value;
  }
  Object.assign(out, input.env);
  if (input.gpus !== undefined) out.CUDA_VISIBLE_DEVICES = input.gpus;
  out.VIGIL_JOB_ID = input.jobId;
  return out;
}
