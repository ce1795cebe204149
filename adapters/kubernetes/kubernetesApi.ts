/**
 * What Vigil's Kubernetes adapters share: loading credentials, API clients whose every request has a
 * timeout, and reading the API server's `Status` error objects. Credentials come from the cluster
 * (in-cluster service account) or KUBECONFIG / ~/.kube/config, never from Vigil's config, and are never
 * logged.
 */
import {
  ApiException,
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Observable,
  ResponseContext,
  ServerConfiguration,
  type ApiConstructor,
  type ApiType,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { timeoutWithinHeartbeat } from '../temporal/timeoutWithinHeartbeat.js';

/** Per request, the whole exchange (answer and body); inside a heartbeating activity, a fifth of its heartbeat timeout at most. */
export const KUBERNETES_REQUEST_TIMEOUT_MS = 15_000;

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

/** A request the API server did not answer in time; the message names the request and the limit. */
export class KubernetesTimeoutError extends Error {
  constructor(
    readonly request: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from the Kubernetes API within ${timeoutMs} ms (${request})`);
    this.name = 'KubernetesTimeoutError';
  }
}

/**
 * The client library's HTTP layer with a deadline on every request (the library sets none: a hung API
 * server would hang the activity until Temporal gives up on it). The deadline covers reading the body.
 */
class DeadlineHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();

  constructor(private readonly timeoutMs: number) {}

  send(request: RequestContext): Observable<ResponseContext> {
    const ms = timeoutWithinHeartbeat(this.timeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    timer.unref();
    const earlier = request.getSignal();
    request.setSignal(earlier ? AbortSignal.any([earlier, controller.signal]) : controller.signal);
    const url = new URL(request.getUrl());
    const what = `${request.getHttpMethod()} ${url.pathname}`;
    const settle = <T>(work: Promise<T>): Promise<T> =>
      work.then(
        (v) => v,
        (err: unknown) => {
          throw controller.signal.aborted ? new KubernetesTimeoutError(what, ms) : err;
        },
      );
    const answered = settle(this.inner.send(request).toPromise()).then(
      (res) =>
        new ResponseContext(res.httpStatusCode, res.headers, {
          text: () => settle(res.body.text()).finally(() => clearTimeout(timer)),
          binary: () => settle(res.body.binary()).finally(() => clearTimeout(timer)),
        }),
      (err: unknown) => {
        clearTimeout(timer);
        throw err;
      },
    );
    return new Observable(answered);
  }
}

/**
 * `kc.makeApiClient(api)`, with a timeout on every request (default KUBERNETES_REQUEST_TIMEOUT_MS, less
 * inside a heartbeating activity). A request past it fails with a KubernetesTimeoutError; kubeError()
 * then names the call it was part of.
 */
export function makeKubernetesApiClient<T extends ApiType>(kc: KubeConfig, api: ApiConstructor<T>, opts: { timeoutMs?: number } = {}): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no Kubernetes cluster configured: run inside a cluster, or set KUBECONFIG (or ~/.kube/config) with a current context');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      httpApi: new DeadlineHttpLibrary(opts.timeoutMs ?? KUBERNETES_REQUEST_TIMEOUT_MS),
    }),
  );
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
