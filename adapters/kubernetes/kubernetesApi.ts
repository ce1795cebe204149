/**
 * What Vigil's Kubernetes adapters share: loading credentials and reading the API server's `Status`
 * error objects. Credentials come from the cluster (in-cluster service account) or KUBECONFIG /
 * ~/.kube/config, never from Vigil's config, and are never logged.
 */
import { ApiException, KubeConfig } from '@kubernetes/client-node';

/** In-cluster service account, else KUBECONFIG / ~/.kube/config (its current context, or `context`). */
export function loadKubeConfig(opts: { context?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: run inside a cluster, or set KUBECONFIG (or ~/.kube/config) with a current context');
  }
  return kc;
}

/** The API server's `Status` object (kind: Status) as sent with every error response. */
export interface KubeStatus {
  code: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string };
}

/** The Status behind a failed call, or undefined when the error did not come from the API server. */
export function kubeStatusOf(err: unknown): KubeStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const code = Number(err.code);
  let body: unknown = err.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return { code, message: text.slice(0, 300) || undefined };
    }
  }
  const s = (body ?? {}) as { reason?: string; message?: string; details?: KubeStatus['details'] };
  return { code, reason: s.reason, message: s.message, details: s.details };
}

/** A failed Kubernetes call, named for what Vigil was doing; the request's credentials are never part of it. */
export class KubernetesApiError extends Error {
  constructor(
    readonly what: string,
    readonly status: KubeStatus,
  ) {
    super(`${what}: Kubernetes API answered ${status.code}${status.reason ? ` ${status.reason}` : ''}${status.message ? `: ${status.message}` : ''}`);
  }
}

/** Rethrows an API error as a KubernetesApiError naming `what`; connection errors keep their cause, without headers. */
export function kubeError(what: string, err: unknown): Error {
  const status = kubeStatusOf(err);
  if (status) return new KubernetesApiError(what, status);
  const cause = err instanceof Error ? err.message : String(err);
  return new Error(`${what}: ${cause}`);
}
