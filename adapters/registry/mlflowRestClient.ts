/**
 * A small client for MLflow's REST API (`/api/2.0/mlflow/...` and the artifact proxy
 * `/api/2.0/mlflow-artifacts/...`). Credentials come from the environment only, the way MLflow's own
 * clients read them, and never appear in an error message.
 *
 * They go only to the tracking server's own origin (scheme, host and port of `trackingUri`). A run's
 * artifact location is data the server hands out (an experiment's `artifact_location` is whatever its
 * creator set): an upload to an artifact proxy at another origin is sent without them, and if that
 * origin asks for credentials the error says so, rather than Vigil handing the tracking server's
 * credentials to any host a run names. Redirects to another origin are not followed with them either
 * (fetch drops the Authorization header across origins).
 */
import { timeoutWithinHeartbeat } from '../temporal/timeoutWithinHeartbeat.js';

/** An answer from MLflow that was an MLflow error (`{"error_code": …, "message": …}`). */
export class MlflowApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string,
  ) {
    super(message);
    this.name = 'MlflowApiError';
  }
}

export interface MlflowRestClient {
  /** The tracking server's base URL, for messages. */
  readonly trackingUri: string;
  get<T>(endpoint: string, query: Record<string, string | number | undefined>): Promise<T>;
  post<T>(endpoint: string, body: unknown): Promise<T>;
  /** MLflow's DELETE endpoints read their arguments from a JSON body, not the query string. */
  delete<T>(endpoint: string, body: unknown): Promise<T>;
  /**
   * Uploads one file through the artifact proxy; `url` is absolute (see artifactUploadUrl). With
   * credentials only when `url` is on the tracking server's origin.
   */
  putArtifact(url: string, body: Buffer): Promise<void>;
}

/**
 * The Authorization header MLflow's clients send: basic auth when MLFLOW_TRACKING_USERNAME and
 * MLFLOW_TRACKING_PASSWORD are set, else a bearer MLFLOW_TRACKING_TOKEN, else none.
 */
export function mlflowAuthHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const user = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  if (user && !password) throw new Error('MLFLOW_TRACKING_USERNAME is set but MLFLOW_TRACKING_PASSWORD is not: basic auth needs both');
  if (password && !user) throw new Error('MLFLOW_TRACKING_PASSWORD is set but MLFLOW_TRACKING_USERNAME is not: basic auth needs both');
  if (user && password) return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  const token = env.MLFLOW_TRACKING_TOKEN;
  if (token !== undefined) {
    if (!token.trim()) throw new Error('MLFLOW_TRACKING_TOKEN is set but empty');
    return { authorization: `Bearer ${token.trim()}` };
  }
  return {};
}

export function createMlflowRestClient(opts: { trackingUri: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): MlflowRestClient {
  const parsed = new URL(opts.trackingUri);
  if (parsed.username || parsed.password) {
    // Said without the URI, which would show the password.
    throw new Error(
      'the MLflow trackingUri must not carry credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead',
    );
  }
  const base = opts.trackingUri.replace(/\/+$/, '');
  const trackingOrigin = parsed.origin;
  const auth = mlflowAuthHeaders(opts.env);
  const where = `the MLflow tracking server at ${base}`;

  async function send(method: string, url: string, endpoint: string, init: { body?: string | Buffer; contentType?: string }): Promise<Response> {
    const target = new URL(url);
    const own = target.origin === trackingOrigin;
    const to = own ? where : `the MLflow artifact store at ${target.origin}`;
    // Inside a heartbeating activity (the candidate's evaluation) a request never outlives the heartbeat.
    const timeoutMs = timeoutWithinHeartbeat(opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers: { ...(own ? auth : {}), accept: 'application/json', ...(init.contentType ? { 'content-type': init.contentType } : {}) },
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new Error(`cannot reach ${to} (${method} ${endpoint}): ${reason}; check the model's registry.mlflow.trackingUri`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      if (!own) {
        throw new Error(
          `${to} refused ${method} ${endpoint} (HTTP ${res.status}): it is not the tracking server's origin (${trackingOrigin}), so Vigil sent it no MLflow credentials; ` +
            `serve artifacts through the tracking server (mlflow server --serve-artifacts, artifact locations "mlflow-artifacts:/…") or let that store accept the upload`,
        );
      }
      throw new Error(
        `${where} refused ${method} ${endpoint} (HTTP ${res.status}): set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, to credentials it accepts`,
      );
    }
    return res;
  }

  async function call<T>(method: string, endpoint: string, query: Record<string, string | number | undefined> | undefined, body: unknown): Promise<T> {
    const url = new URL(`${base}/api/2.0/mlflow/${endpoint}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const res = await send(method, url.toString(), endpoint, body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = undefined;
    }
    if (json === undefined || (!res.ok && typeof json.error_code !== 'string')) {
      // An HTML 404 and the like: the URL does not lead to MLflow's REST API.
      throw new Error(
        `${base} does not look like an MLflow tracking server: ${method} /api/2.0/mlflow/${endpoint} answered HTTP ${res.status}` +
          ` (${res.headers.get('content-type') ?? 'no content type'}); check the model's registry.mlflow.trackingUri`,
      );
    }
    if (!res.ok) {
      throw new MlflowApiError(
        `MLflow (${base}) ${method} ${endpoint}: ${json.error_code}: ${String(json.message ?? '')}`,
        res.status,
        json.error_code as string,
      );
    }
    return json as T;
  }

  return {
    trackingUri: base,
    get: (endpoint, query) => call('GET', endpoint, query, undefined),
    post: (endpoint, body) => call('POST', endpoint, undefined, body),
    delete: (endpoint, body) => call('DELETE', endpoint, undefined, body),
    async putArtifact(url, body) {
      const endpoint = new URL(url).pathname;
      const res = await send('PUT', url, endpoint, { body, contentType: 'application/octet-stream' });
      const text = await res.text();
      const to = new URL(url).origin === trackingOrigin ? where : `the MLflow artifact store at ${new URL(url).origin}`;
      if (!res.ok) throw new Error(`${to} refused the artifact upload PUT ${endpoint} (HTTP ${res.status}): ${text.slice(0, 300)}`);
    },
  };
}

/** True when MLflow said the thing does not exist (HTTP 404, RESOURCE_DOES_NOT_EXIST). */
export function isNotFound(err: unknown): boolean {
  return err instanceof MlflowApiError && (err.status === 404 || err.errorCode === 'RESOURCE_DOES_NOT_EXIST');
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS';
}

/**
 * Where to PUT a file that belongs under an artifact location served by the tracking server's proxy
 * (`mlflow-artifacts:/path`, `mlflow-artifacts://host:port/path`, or the proxy's http(s) URL), or
 * undefined for other stores.
 */
export function artifactUploadUrl(trackingUri: string, artifactRoot: string, relativePath: string): string | undefined {
  const rel = relativePath.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  const base = trackingUri.replace(/\/+$/, '');
  if (artifactRoot.startsWith('mlflow-artifacts:')) {
    const u = new URL(artifactRoot);
    const root = u.pathname.replace(/^\/+|\/+$/g, '');
    const origin = u.host ? `${new URL(base).protocol}//${u.host}` : base;
    return `${origin}/api/2.0/mlflow-artifacts/artifacts/${root ? `${root}/` : ''}${rel}`;
  }
  if (/^https?:\/\//.test(artifactRoot) && artifactRoot.includes('/api/2.0/mlflow-artifacts/artifacts')) {
    return `${artifactRoot.replace(/\/+$/, '')}/${rel}`;
  }
  return undefined;
}
