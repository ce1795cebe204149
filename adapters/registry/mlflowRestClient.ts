/**
 * A small client for MLflow's REST API (`/api/2.0/mlflow/...` and the artifact proxy
 * `/api/2.0/mlflow-artifacts/...`). Credentials come from the environment only, the way MLflow's own
 * clients read them, and never appear in an error message.
 */

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
  /** Uploads one file through the artifact proxy; `url` is absolute (see artifactUploadUrl). */
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
  const auth = mlflowAuthHeaders(opts.env);
  const where = `the MLflow tracking server at ${base}`;

  async function send(method: string, url: string, endpoint: string, init: { body?: string | Buffer; contentType?: string }): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...auth, accept: 'application/json', ...(init.contentType ? { 'content-type': init.contentType } : {}) },
        body: init.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `no answer within ${Math.round(opts.timeoutMs / 1000)}s` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new Error(`cannot reach ${where} (${method} ${endpoint}): ${reason}; check the model's registry.mlflow.trackingUri`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
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
      if (!res.ok) throw new Error(`${where} refused the artifact upload PUT ${endpoint} (HTTP ${res.status}): ${text.slice(0, 300)}`);
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
