/**
 * Runs training jobs on a Ray cluster through the Ray Jobs REST API on the head's dashboard port
 * (`POST /api/jobs/`, `GET /api/jobs/{id}`, `GET /api/jobs/{id}/logs`, `POST /api/jobs/{id}/stop`).
 *
 * The job's Ray `submission_id` is Vigil's job id (derived from the incident). Ray stores a submission
 * only if its id is new (an atomic put-if-absent in the GCS), so a retried or concurrent submit gets
 * "already exists" and finds the first job instead of starting a second.
 *
 * The trainer's stdout and stderr end up in the job's log, so the trainer protocol's JSON lines are
 * read from `/logs`. The trainer runs on the cluster: its command, the snapshot it reads and the
 * folder it writes the artifact to must be reachable from the node that runs the entrypoint (the same
 * machine, or shared storage).
 */
import http from 'node:http';
import https from 'node:https';
import type { TrainingBackend, TrainingJobSpec, TrainingJobStatus } from '../../ports/trainingBackend.js';
import type { RayTrainingConfig } from '../../domain/config.js';
import { processOutputMessage } from '../process/processOutputMessage.js';
import { timeoutWithinHeartbeat } from '../temporal/timeoutWithinHeartbeat.js';
import { missingResultError, parseProtocol, reportedResult } from './localProcessBackend.js';
import { classifyTrainingFailure } from './trainingFailure.js';

export interface RayJobsBackendOptions {
  /** The Ray dashboard's URL, which serves the Jobs API, e.g. `http://ray-head:8265`. */
  address: string;
  /** Bearer token for a cluster with token authentication (`RAY_AUTH_MODE=token`). */
  token?: string;
  /**
   * Resources Ray reserves for the trainer's entrypoint (`entrypoint_num_cpus`, `_num_gpus`,
   * `_memory`). Ray assigns the GPUs itself (and sets CUDA_VISIBLE_DEVICES); without `numGpus`, a
   * job's `gpus` ('0,1') asks for that many.
   */
  numCpus?: number;
  numGpus?: number;
  memoryBytes?: number;
  /** `runtime_env.working_dir`: a URI the cluster can fetch (`s3://…`, `gs://…`, `https://….zip`). */
  workingDir?: string;
  /**
   * Per request, the whole exchange (default 15 s; the Jobs API answers in milliseconds when the head is
   * healthy). Inside a heartbeating activity never more than a fifth of its heartbeat timeout
   * (adapters/temporal/timeoutWithinHeartbeat.ts).
   */
  requestTimeoutMs?: number;
}

/** Ray's job states (`ray.job_submission.JobStatus`). */
export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

/** The fields of Ray's `JobDetails` that Vigil reads. */
export interface RayJobDetails {
  submission_id: string | null;
  status: RayJobStatus;
  entrypoint: string;
  message?: string | null;
  error_type?: string | null;
  driver_exit_code?: number | null;
  start_time?: number | null;
  end_time?: number | null;
  metadata?: Record<string, string> | null;
  runtime_env?: Record<string, unknown> | null;
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export class RayJobsApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RayJobsApiError';
  }
}

export function createRayJobsBackend(opts: RayJobsBackendOptions): TrainingBackend & {
  /** Ray's record of the job (`GET /api/jobs/{id}`). */
  details(jobId: string): Promise<RayJobDetails>;
  /** Every job the cluster knows (`GET /api/jobs/`). */
  list(): Promise<RayJobDetails[]>;
} {
  let base: URL;
  try {
    base = new URL(opts.address);
  } catch {
    throw new Error(`training.ray.address "${opts.address}" is not a URL (expected the Ray dashboard's, e.g. http://ray-head:8265)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`training.ray.address "${opts.address}" must be an http(s) URL (the Ray dashboard's)`);
  }
  const root = base.href.replace(/\/+$/, '');
  const configuredTimeoutMs = opts.requestTimeoutMs ?? 15_000;

  const checkId = (jobId: string) => {
    if (!JOB_ID.test(jobId)) throw new Error(`training job id "${jobId}" must be letters, digits, . _ -`);
    return encodeURIComponent(jobId);
  };

  async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'vigil' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res: { status: number; text: string };
    const timeoutMs = timeoutWithinHeartbeat(configuredTimeoutMs);
    try {
      res = await httpRequest(new URL(`${root}${path}`), method, headers, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ETIMEDOUT') throw new RayJobsApiError(`Ray Jobs API at ${root} did not answer ${method} ${path} within ${timeoutMs} ms`);
      throw new RayJobsApiError(`Ray Jobs API at ${root} is unreachable (${method} ${path}: ${e.code ?? e.message})`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new RayJobsApiError(
        `Ray Jobs API at ${root} refused ${method} ${path} (HTTP ${res.status}): ` +
          (opts.token ? 'the token (RAY_AUTH_TOKEN) is not accepted' : 'the cluster requires a token; set RAY_AUTH_TOKEN'),
        res.status,
      );
    }
    return res;
  }

  const unexpected = (what: string, r: { status: number; text: string }) =>
    new RayJobsApiError(`Ray Jobs API at ${root}: ${what} answered HTTP ${r.status}: ${firstLines(r.text, 3)}`, r.status);

  function parseJson<T>(what: string, r: { status: number; text: string }): T {
    try {
      return JSON.parse(r.text) as T;
    } catch {
      throw new RayJobsApiError(`Ray Jobs API at ${root}: ${what} answered HTTP ${r.status} with a body that is not JSON: ${firstLines(r.text, 3)}`, r.status);
    }
  }

  async function details(jobId: string): Promise<RayJobDetails> {
    const path = `/api/jobs/${checkId(jobId)}`;
    const r = await request('GET', path);
    if (r.status === 404) throw new RayJobsApiError(`training job "${jobId}" does not exist on the Ray cluster at ${root}`, 404);
    if (r.status !== 200) throw unexpected(`GET ${path}`, r);
    return parseJson<RayJobDetails>(`GET ${path}`, r);
  }

  async function logs(jobId: string): Promise<string> {
    const path = `/api/jobs/${checkId(jobId)}/logs`;
    const r = await request('GET', path);
    if (r.status === 404) throw new RayJobsApiError(`training job "${jobId}" does not exist on the Ray cluster at ${root}`, 404);
    if (r.status !== 200) throw unexpected(`GET ${path}`, r);
    return parseJson<{ logs: string }>(`GET ${path}`, r).logs ?? '';
  }

  return {
    details,
    logs,

    async list() {
      const r = await request('GET', '/api/jobs/');
      if (r.status !== 200) throw unexpected('GET /api/jobs/', r);
      return parseJson<RayJobDetails[]>('GET /api/jobs/', r);
    },

    async submit(spec: TrainingJobSpec) {
      checkId(spec.jobId);
      const body = rayJobSubmission(spec, opts);
      const r = await request('POST', '/api/jobs/', body);
      if (r.status === 200) return { jobId: spec.jobId, alreadySubmitted: false };
      // Ray answers a duplicate submission_id with an error whose text says so (HTTP 500 in Ray 2.x,
      // a traceback ending in "Job with submission_id … already exists").
      if (/already exists/i.test(r.text)) {
        await details(spec.jobId); // it must be there now; anything else is a real error
        return { jobId: spec.jobId, alreadySubmitted: true };
      }
      throw new RayJobsApiError(
        `Ray refused to start training job "${spec.jobId}" (POST /api/jobs/ at ${root}, HTTP ${r.status}): ${rayErrorLine(r.text)}`,
        r.status,
      );
    },

    async status(jobId) {
      const job = await details(jobId);
      const text = await logs(jobId);
      return rayJobStatus(jobId, job, text);
    },

    async cancel(jobId) {
      const path = `/api/jobs/${checkId(jobId)}/stop`;
      const r = await request('POST', path);
      // Ray stops the entrypoint's process group (SIGTERM, SIGKILL after RAY_JOB_STOP_WAIT_TIME_S). A
      // job still waiting for resources (PENDING) is stopped as soon as Ray schedules it; until then it
      // reads as running. Unknown job: nothing to stop. A finished one keeps its outcome ({"stopped": false}).
      if (r.status === 404 || r.status === 200) return;
      throw unexpected(`POST ${path}`, r);
    },
  };
}

/** The backend for a model's `training.ray` section; the token comes from RAY_AUTH_TOKEN. */
export function rayJobsBackendFromConfig(cfg: RayTrainingConfig, env: NodeJS.ProcessEnv = process.env) {
  return createRayJobsBackend({
    address: cfg.address,
    ...(env.RAY_AUTH_TOKEN ? { token: env.RAY_AUTH_TOKEN } : {}),
    ...(cfg.numCpus !== undefined ? { numCpus: cfg.numCpus } : {}),
    ...(cfg.numGpus !== undefined ? { numGpus: cfg.numGpus } : {}),
    ...(cfg.memoryBytes !== undefined ? { memoryBytes: cfg.memoryBytes } : {}),
    ...(cfg.workingDir ? { workingDir: cfg.workingDir } : {}),
  });
}

/** The `POST /api/jobs/` body for a job. */
export function rayJobSubmission(spec: TrainingJobSpec, opts: Omit<RayJobsBackendOptions, 'address'>): Record<string, unknown> {
  const numGpus = opts.numGpus ?? (spec.gpus ? spec.gpus.split(',').length : undefined);
  const envVars: Record<string, string> = { ...spec.env, VIGIL_JOB_ID: spec.jobId };
  // CPU only: Ray leaves CUDA_VISIBLE_DEVICES alone for an entrypoint without GPUs, so hide them here.
  if (spec.gpus === '' && !numGpus) envVars.CUDA_VISIBLE_DEVICES = '';
  const runtimeEnv: Record<string, unknown> = { env_vars: envVars };
  if (opts.workingDir) runtimeEnv.working_dir = opts.workingDir;
  const body: Record<string, unknown> = {
    entrypoint: shellCommand(spec.command),
    submission_id: spec.jobId,
    runtime_env: runtimeEnv,
    metadata: { submitted_by: 'vigil', vigil_job_id: spec.jobId, vigil_job_kind: spec.kind ?? 'train' },
  };
  if (opts.numCpus !== undefined) body.entrypoint_num_cpus = opts.numCpus;
  if (numGpus !== undefined) body.entrypoint_num_gpus = numGpus;
  if (opts.memoryBytes !== undefined) body.entrypoint_memory = opts.memoryBytes;
  return body;
}

/** Ray's job record and log → Vigil's status. */
export function rayJobStatus(jobId: string, job: RayJobDetails, logs: string): TrainingJobStatus {
  const parsed = parseProtocol(logs);
  const base: TrainingJobStatus = { jobId, state: 'running', ...parsed };
  const exitCode = typeof job.driver_exit_code === 'number' ? job.driver_exit_code : undefined;
  const kind = job.metadata?.vigil_job_kind === 'score' ? 'score' : 'train';
  switch (job.status) {
    case 'PENDING':
    case 'RUNNING':
      return base;
    case 'STOPPED':
      return { ...base, state: 'cancelled', ...(exitCode !== undefined ? { exitCode } : {}) };
    case 'SUCCEEDED':
      if (reportedResult(kind, parsed)) return { ...base, state: 'succeeded', exitCode: exitCode ?? 0 };
      return {
        ...base,
        state: 'failed',
        exitCode: exitCode ?? 0,
        error: parsed.error ?? missingResultError(kind),
        failure: classifyTrainingFailure({ exitCode: exitCode ?? 0, logs, error: parsed.error, job: kind }),
      };
    case 'FAILED': {
      // Python's Popen reports death by signal n as exit code -n; the classifier reads that too.
      const reason = rayReason(job);
      return {
        ...base,
        state: 'failed',
        ...(exitCode !== undefined ? { exitCode } : {}),
        error: parsed.error ?? rayFailureSummary(reason, job, logs),
        failure: classifyTrainingFailure({ exitCode, logs, reason, error: parsed.error }),
      };
    }
    default:
      throw new RayJobsApiError(`training job "${jobId}": Ray reported an unknown status "${String((job as { status: unknown }).status)}"`);
  }
}

/** Ray's own reason: the first line of its message (the rest repeats the log's tail, which is the trainer's output). */
function rayReason(job: RayJobDetails): string | undefined {
  const head = (job.message ?? '').split('\n')[0]!.replace(/,? last available logs.*$/i, '');
  return processOutputMessage(head, { oneLine: true }) || undefined;
}

/** Ray's reason and the log's last lines that are not protocol JSON or Ray's own. */
function rayFailureSummary(reason: string | undefined, job: RayJobDetails, logs: string): string {
  const lines = logs
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('{') && !/^Running entrypoint for job /.test(l) && !/\bINFO job_manager\.py/.test(l))
    .slice(-5)
    .join('\n');
  // The trainer's output: made safe to show, its end kept (where the error is).
  const tail = processOutputMessage(lines, { keep: 'end' });
  const why =
    reason || `Ray reports the job ${job.error_type ? `failed (${processOutputMessage(job.error_type, { oneLine: true, maxChars: 100 })})` : 'failed'}`;
  return tail ? `${why}: ${tail}` : why;
}

/** POSIX shell quoting: Ray runs the entrypoint with `/bin/sh -c`, so every argument is single-quoted. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('the trainer command is empty');
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Plain node:http, not fetch: the Ray dashboard refuses POSTs from anything that looks like a browser,
 * and fetch always sends `Sec-Fetch-Mode`, which Ray takes for one (HTTP 405).
 */
function httpRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? https.request : http.request;
    const timeout = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
    let timedOut = false;
    // Destroying the request mid-answer surfaces as the response's ECONNRESET: report the timeout instead.
    const fail = (err: Error) => {
      clearTimeout(deadline);
      reject(timedOut ? timeout : err);
    };
    const req = send(
      url,
      {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    // A deadline for the whole exchange, not the socket's idle timeout: a head that trickles its answer
    // (a huge log, a proxy holding the connection) must not outlive the heartbeat either.
    const deadline = setTimeout(() => {
      timedOut = true;
      req.destroy(timeout);
    }, timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

function firstLines(text: string, n: number): string {
  return text.trim().split('\n').slice(0, n).join(' ').slice(0, 500);
}

/** Ray answers refusals with a Python traceback; its last meaningful line says why. */
function rayErrorLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== '.');
  const error = [...lines].reverse().find((l) => /^[A-Za-z_.]*(Error|Exception):/.test(l));
  return (error ?? lines.at(-1) ?? '(empty answer)').slice(0, 500);
}
