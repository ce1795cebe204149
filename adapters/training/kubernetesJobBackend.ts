/**
 * Runs training jobs as Kubernetes `batch/v1` Jobs. The Job's name is derived from the training job id
 * (itself derived from the incident), so a retried submit meets 409 AlreadyExists and finds the same
 * Job instead of starting a second; the full id is kept in an annotation (and a label when it fits).
 *
 * The Job runs the trainer command in one container named `trainer`, never restarted (`backoffLimit: 0`,
 * `restartPolicy: Never`: a retry is Vigil's decision, not the Job controller's), stops at
 * `activeDeadlineSeconds` (the training timeout), and is garbage-collected `ttlSecondsAfterFinished`
 * after it ends. GPUs are requested as `resources.limits["nvidia.com/gpu"]`; the device plugin picks
 * the devices, so CUDA_VISIBLE_DEVICES is not set here.
 *
 * A Job is finished only when it has a `Complete` or `Failed` condition with status "True": pod counts
 * (`succeeded: 1`) and the interim `SuccessCriteriaMet` / `FailureTarget` conditions appear while pods
 * may still be terminating. `Failed` with reason `DeadlineExceeded` is a timeout. Progress, metrics and
 * the artifact come from the trainer protocol's JSON lines in the pod's log.
 */
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { durationMs } from '../../domain/runbook.js';
import type { KubernetesTrainingConfig } from '../../domain/config.js';
import { kubeError, kubeStatusOf, loadKubeConfig, makeKubernetesApiClient } from '../kubernetes/kubernetesApi.js';
import { missingResultError, parseProtocol, reportedResult } from './localProcessBackend.js';
import { classifyTrainingFailure } from './trainingFailure.js';
import type { TrainingBackend, TrainingJobSpec, TrainingJobStatus } from '../../ports/trainingBackend.js';

export const JOB_ID_ANNOTATION = 'vigil.dev/job-id';
export const JOB_ID_LABEL = 'vigil.dev/job-id';
/** `train` or `score` (trainer protocol v2): which result line the trainer must end with. */
export const JOB_KIND_ANNOTATION = 'vigil.dev/job-kind';
export const TRAINER_CONTAINER = 'trainer';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vigil', 'app.kubernetes.io/component': 'training' };
/** While a job runs only its latest progress matters; the log's tail is enough. */
const RUNNING_TAIL_LINES = 50;

export interface KubernetesJobBackendOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  image: string;
  serviceAccount?: string;
  /** GPUs per job; absent: as many as the job's `gpus` lists ('0,1' → 2; '' or none → no GPU request). */
  gpus?: number;
  /** The training timeout, as the Job's activeDeadlineSeconds. */
  timeoutSeconds: number;
  ttlSecondsAfterFinished?: number;
  /** A PersistentVolumeClaim mounted into the trainer (e.g. Vigil's state folder, so paths line up). */
  volume?: { claimName: string; mountPath: string };
  /** Per API request (default 15 s; inside a heartbeating activity at most a fifth of its heartbeat timeout). */
  requestTimeoutMs?: number;
}

/**
 * The Job's name for a training job id: the id itself when it is already a DNS-1123 label (lowercase
 * alphanumerics and '-', at most 63: the Job controller copies the name into a pod label); otherwise a
 * cleaned, shortened form with a hash of the full id, so distinct ids keep distinct names.
 */
export function kubernetesJobName(jobId: string): string {
  if (!jobId) throw new Error('training job id must not be empty');
  if (jobId.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(jobId)) return jobId;
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 8);
  const head = jobId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63 - 1 - hash.length)
    .replace(/-+$/, '');
  return head ? `${head}-${hash}` : `job-${hash}`;
}

/** A label value may hold the id when it is at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
const fitsLabel = (v: string) => v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v);

export function createKubernetesJobBackend(opts: KubernetesJobBackendOptions): TrainingBackend & {
  jobName(jobId: string): string;
  manifest(spec: TrainingJobSpec): V1Job;
} {
  const { namespace } = opts;
  const batch = makeKubernetesApiClient(opts.kubeConfig, BatchV1Api, { timeoutMs: opts.requestTimeoutMs });
  const core = makeKubernetesApiClient(opts.kubeConfig, CoreV1Api, { timeoutMs: opts.requestTimeoutMs });
  const where = (name: string) => `Kubernetes Job ${namespace}/${name}`;

  function manifest(spec: TrainingJobSpec): V1Job {
    const name = kubernetesJobName(spec.jobId);
    const labels: Record<string, string> = { ...MANAGED_BY, ...(fitsLabel(spec.jobId) ? { [JOB_ID_LABEL]: spec.jobId } : {}) };
    const gpus = opts.gpus ?? (spec.gpus ? spec.gpus.split(',').length : 0);
    // '' asks for CPU only: hide any GPU the node's runtime might expose anyway.
    const cpuOnly = spec.gpus === '' && gpus === 0 ? { CUDA_VISIBLE_DEVICES: '' } : {};
    const env = Object.entries({ ...spec.env, ...cpuOnly, VIGIL_JOB_ID: spec.jobId }).map(([k, value]) => ({ name: k, value }));
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace, labels, annotations: { [JOB_ID_ANNOTATION]: spec.jobId, [JOB_KIND_ANNOTATION]: spec.kind ?? 'train' } },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: opts.timeoutSeconds,
        ttlSecondsAfterFinished: opts.ttlSecondsAfterFinished ?? 86_400,
        template: {
          metadata: { labels, annotations: { [JOB_ID_ANNOTATION]: spec.jobId } },
          spec: {
            restartPolicy: 'Never',
            ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
            containers: [
              {
                name: TRAINER_CONTAINER,
                image: opts.image,
                command: spec.command,
                env,
                ...(gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': String(gpus) } } } : {}),
                ...(opts.volume ? { volumeMounts: [{ name: 'vigil-state', mountPath: opts.volume.mountPath }] } : {}),
              },
            ],
            ...(opts.volume ? { volumes: [{ name: 'vigil-state', persistentVolumeClaim: { claimName: opts.volume.claimName } }] } : {}),
          },
        },
      },
    };
  }

  async function readJob(jobId: string): Promise<V1Job | undefined> {
    const name = kubernetesJobName(jobId);
    try {
      return await batch.readNamespacedJob({ name, namespace });
    } catch (err) {
      if (kubeStatusOf(err)?.code === 404) return undefined;
      throw kubeError(`reading ${where(name)} (training job "${jobId}")`, err);
    }
  }

  async function requireJob(jobId: string): Promise<V1Job> {
    const job = await readJob(jobId);
    if (!job) throw new Error(`training job "${jobId}" does not exist (no ${where(kubernetesJobName(jobId))})`);
    return job;
  }

  /** The job's pod: by the Job controller's label (and its legacy form), owned by this Job, newest first. */
  async function jobPod(job: V1Job): Promise<V1Pod | undefined> {
    const name = job.metadata!.name!;
    for (const label of ['batch.kubernetes.io/job-name', 'job-name']) {
      let items: V1Pod[];
      try {
        items = (await core.listNamespacedPod({ namespace, labelSelector: `${label}=${name}` })).items;
      } catch (err) {
        throw kubeError(`listing the pods of ${where(name)}`, err);
      }
      const owned = items.filter((p) => !job.metadata?.uid || p.metadata?.ownerReferences?.some((o) => o.uid === job.metadata!.uid));
      if (owned.length) {
        return owned.sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
      }
    }
    return undefined;
  }

  /** The trainer container's log; '' while it has not started (the kubelet answers 400 then). */
  async function podLog(pod: V1Pod | undefined, tailLines?: number): Promise<string> {
    if (!pod?.metadata?.name) return '';
    const state = pod.status?.containerStatuses?.find((s) => s.name === TRAINER_CONTAINER)?.state;
    if (!state || state.waiting) return '';
    try {
      const text = await core.readNamespacedPodLog({ name: pod.metadata.name, namespace, container: TRAINER_CONTAINER, ...(tailLines ? { tailLines } : {}) });
      return typeof text === 'string' ? text : String(text ?? '');
    } catch (err) {
      const s = kubeStatusOf(err);
      if (s?.code === 400 || s?.code === 404) return ''; // not started yet, or already gone
      throw kubeError(`reading the log of pod ${namespace}/${pod.metadata.name}`, err);
    }
  }

  const backend = {
    jobName: kubernetesJobName,
    manifest,

    async submit(spec: TrainingJobSpec) {
      const body = manifest(spec);
      const name = body.metadata!.name!;
      for (let attempt = 0; ; attempt++) {
        try {
          await batch.createNamespacedJob({ namespace, body });
          return { jobId: spec.jobId, alreadySubmitted: false };
        } catch (err) {
          const s = kubeStatusOf(err);
          if (!(s?.code === 409 && s.reason === 'AlreadyExists')) throw kubeError(`creating ${where(name)} for training job "${spec.jobId}"`, err);
        }
        const existing = await readJob(spec.jobId);
        if (existing) {
          const owner = existing.metadata?.annotations?.[JOB_ID_ANNOTATION];
          if (owner !== spec.jobId) {
            throw new Error(
              `${where(name)} already exists but is not training job "${spec.jobId}" (its ${JOB_ID_ANNOTATION} is ${owner ? `"${owner}"` : 'missing'})`,
            );
          }
          return { jobId: spec.jobId, alreadySubmitted: true };
        }
        // Deleted between our create and read (its TTL ran out): create it again, once.
        if (attempt > 0) throw new Error(`${where(name)} kept disappearing while submitting training job "${spec.jobId}"`);
      }
    },

    async status(jobId: string): Promise<TrainingJobStatus> {
      const job = await requireJob(jobId);
      const finished = finishedCondition(job);
      const pod = await jobPod(job);
      const logs = await podLog(pod, finished ? undefined : RUNNING_TAIL_LINES);
      const parsed = parseProtocol(logs);
      const base: TrainingJobStatus = { jobId, state: 'running', ...parsed };
      if (!finished) return job.metadata?.deletionTimestamp ? { ...base, state: 'cancelled' } : base;

      const terminated = pod?.status?.containerStatuses?.find((s) => s.name === TRAINER_CONTAINER)?.state?.terminated;
      const exit = terminated ? { exitCode: terminated.exitCode } : {};
      if (finished.type === 'Complete') {
        const kind = job.metadata?.annotations?.[JOB_KIND_ANNOTATION] === 'score' ? 'score' : 'train';
        if (reportedResult(kind, parsed)) return { ...base, state: 'succeeded', exitCode: 0 };
        return {
          ...base,
          state: 'failed',
          exitCode: 0,
          error: parsed.error ?? missingResultError(kind),
          failure: classifyTrainingFailure({ exitCode: 0, logs, error: parsed.error, job: kind }),
        };
      }
      const condition = `${finished.reason ?? 'Failed'}${finished.message ? `: ${finished.message}` : ''}`;
      if (finished.reason === 'DeadlineExceeded') {
        const timeout = `${job.spec?.activeDeadlineSeconds}s`;
        return {
          ...base,
          state: 'failed',
          ...exit,
          error: `timed out after ${timeout} (activeDeadlineSeconds): ${condition}`,
          failure: classifyTrainingFailure({ ...exit, logs, reason: 'DeadlineExceeded', timeout, error: parsed.error }),
        };
      }
      const how = terminated
        ? `trainer exited with code ${terminated.exitCode}${terminated.signal ? ` (signal ${terminated.signal})` : ''}${terminated.reason && terminated.reason !== 'Error' ? ` (${terminated.reason})` : ''}`
        : 'trainer pod is gone';
      return {
        ...base,
        state: 'failed',
        ...exit,
        error: parsed.error ?? `${how}; Job ${condition}`,
        // The container's reason (OOMKilled, Evicted…) says more than the Job's BackoffLimitExceeded.
        failure: classifyTrainingFailure({
          ...exit,
          signal: terminated?.signal,
          logs,
          reason: terminated?.reason && terminated.reason !== 'Error' ? terminated.reason : (pod?.status?.reason ?? finished.reason),
          error: parsed.error,
        }),
      };
    },

    async logs(jobId: string) {
      return podLog(await jobPod(await requireJob(jobId)));
    },

    async cancel(jobId: string) {
      const job = await readJob(jobId);
      // Gone already, or finished: a finished job keeps its outcome (its TTL removes it).
      if (!job || finishedCondition(job) || job.metadata?.deletionTimestamp) return;
      const name = job.metadata!.name!;
      try {
        // Background: the Job goes now and the garbage collector removes its pods (batch/v1 would orphan them by default).
        await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
      } catch (err) {
        if (kubeStatusOf(err)?.code === 404) return;
        throw kubeError(`deleting ${where(name)} (cancelling training job "${jobId}")`, err);
      }
    },
  };
  return backend;
}

/** The Job's terminal condition: `Complete` or `Failed` with status "True", and nothing else. */
export function finishedCondition(job: V1Job) {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function time(t: Date | string | undefined): number {
  return t ? new Date(t).getTime() : 0;
}

/** The backend for a model's `training` config (backend "kubernetes"); credentials from the cluster or KUBECONFIG. */
export function kubernetesJobBackendFromConfig(
  training: { kubernetes?: KubernetesTrainingConfig; timeout: string },
  kubeConfig: KubeConfig = loadKubeConfig(),
) {
  const k = training.kubernetes;
  if (!k) throw new Error('training.kubernetes is required when training.backend is "kubernetes"');
  return createKubernetesJobBackend({
    kubeConfig,
    namespace: k.namespace,
    image: k.image,
    serviceAccount: k.serviceAccount,
    gpus: k.gpus,
    timeoutSeconds: Math.max(1, Math.ceil(durationMs(training.timeout) / 1000)),
    ttlSecondsAfterFinished: k.ttlSecondsAfterFinished,
    volume: k.volume,
  });
}
