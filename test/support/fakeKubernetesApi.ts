/**
 * A loopback stand-in for the Kubernetes API server, for the adapters that no cluster can test here.
 * It reproduces the wire format the real server uses for the calls Vigil makes, and records every
 * request as sent:
 *
 *   batch/v1 Jobs       POST   /apis/batch/v1/namespaces/{ns}/jobs            201, or 409 AlreadyExists
 *                       GET    /apis/batch/v1/namespaces/{ns}/jobs/{name}     200, or 404 NotFound
 *                       DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}     propagationPolicy from the query
 *                              or a DeleteOptions body; Background/Foreground delete the job's pods,
 *                              none (batch/v1's default) or Orphan leave them ownerless
 *   core/v1 Pods        GET    /api/v1/namespaces/{ns}/pods?labelSelector=a=b,c=d   PodList
 *                       GET    /api/v1/namespaces/{ns}/pods/{name}/log?container=&tailLines=   text/plain;
 *                              400 while the container is waiting, as the kubelet answers
 *   KServe              GET    /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}
 *                       PATCH  same path: application/merge-patch+json (RFC 7386) and
 *                              application/json-patch+json; strategic merge patch is 415 for custom
 *                              resources, as on a real server. A `metadata.resourceVersion` in the patch
 *                              is a precondition (409 Conflict when stale); a patch that changes nothing
 *                              keeps resourceVersion; spec changes bump `metadata.generation`.
 *
 * Errors are `Status` objects (kind Status, status Failure, reason, details, code). Returned objects
 * carry uid, resourceVersion, generation and creationTimestamp; create applies the defaults the real
 * server adds to a Job (selector, controller labels on the pod template, completions, parallelism…).
 * Every request needs `Authorization: Bearer <token>` (401 otherwise).
 *
 * Controllers do not run: tests move Jobs, pods and InferenceServices along with the hooks below, as the
 * Job controller, the kubelet and the KServe controller would (`startJobPod`, `finishJobPod`,
 * `addJobCondition`, `reconcileInferenceService`…).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Parsed JSON body, when there was one. */
  body?: unknown;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FakeKubernetesApi {
  url: string;
  token: string;
  /** A KubeConfig pointing at this server with its token. */
  kubeConfig(): KubeConfig;
  /** Every request so far, in order. */
  requests: RecordedRequest[];
  /** Requests other than GETs (the ones that change something). */
  mutations(): RecordedRequest[];
  clearRequests(): void;
  /** Runs before each authorised request is served, e.g. to change an object as another client would. */
  beforeRequest?: (req: RecordedRequest) => void;

  job(ns: string, name: string): Obj | undefined;
  pods(ns: string): Obj[];
  /** The Job controller creates the job's pod; the kubelet starts it (Running, container running). */
  startJobPod(ns: string, jobName: string, opts?: { waiting?: string }): string;
  /** The kubelet starts a pod's waiting container (after `startJobPod(…, { waiting })`). */
  runPodContainer(ns: string, podName: string): void;
  appendPodLog(ns: string, podName: string, text: string): void;
  /** The pod's container ends; the Job's counts move, but no condition is added (that comes later). */
  finishJobPod(ns: string, jobName: string, opts: { exitCode: number; reason?: string; signal?: number }): void;
  /** The Job controller adds a condition (status "True" unless given). */
  addJobCondition(ns: string, jobName: string, c: { type: string; reason?: string; message?: string; status?: string }): void;
  /** Merges fields into the Job's status, as a status update would. */
  setJobStatus(ns: string, jobName: string, status: Obj): void;

  /** Creates an InferenceService as `kubectl apply` would (defaults, uid, generation 1, no status yet). */
  putInferenceService(obj: Obj): Obj;
  /** Another client's update: merges `patch` into the object and bumps resourceVersion (and generation for spec). */
  editInferenceService(ns: string, name: string, patch: Obj): Obj;
  inferenceService(ns: string, name: string): Obj | undefined;
  /**
   * One pass of the KServe controller (serverless mode): a changed predictor template makes a new
   * revision; traffic is split between it and the last rolled-out revision by canaryTrafficPercent;
   * a revision that gets 100% becomes the latest rolled-out one. `ready: false` leaves the new revision
   * unready (no traffic, Ready False).
   */
  reconcileInferenceService(ns: string, name: string, opts?: { ready?: boolean }): Obj;
  close(): Promise<void>;
}

const clone = <T>(v: T): T => structuredClone(v);
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'); // RFC 3339, seconds, as the API server writes
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KSERVE = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices' };

function statusBody(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

class HttpError extends Error {
  constructor(readonly body: Obj) {
    super(body.message);
  }
}
const fail = (code: number, reason: string, message: string, details?: Obj) => new HttpError(statusBody(code, reason, message, details));
const notFound = (resource: string, group: string, name: string) =>
  fail(404, 'NotFound', `${group ? `${resource}.${group}` : resource} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource });

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add, replace, remove, test (enough for what clients send). */
function jsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw fail(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = clone(target);
  for (const op of ops as Obj[]) {
    const parts = String(op.path ?? '')
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    let parent: Obj = doc;
    for (const p of parts) {
      if (parent[p] === undefined || parent[p] === null) {
        throw fail(
          422,
          'Invalid',
          `the server rejected our request due to an error in our request: jsonpatch ${op.op} operation does not apply: doc is missing path: "${op.path}"`,
        );
      }
      parent = parent[p];
    }
    if (last === undefined) throw fail(422, 'Invalid', `jsonpatch: empty path in ${op.op}`);
    if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in parent)) {
        throw fail(422, 'Invalid', `jsonpatch replace operation does not apply: doc is missing key: ${op.path}`);
      }
      parent[last] = clone(op.value);
    } else if (op.op === 'remove') {
      if (!(last in parent)) throw fail(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: "${op.path}"`);
      delete parent[last];
    } else if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw fail(422, 'Invalid', `testing value ${op.path} failed`);
    } else {
      throw fail(422, 'Invalid', `Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

function matchesSelector(labels: Obj | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=').filter((x) => x !== '');
    return labels?.[k!] === v;
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as Obj)
            .sort()
            .map((k) => [k, canon((v as Obj)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

export async function startFakeKubernetesApi(): Promise<FakeKubernetesApi> {
  const token = `fake-${randomBytes(12).toString('hex')}`;
  const requests: RecordedRequest[] = [];
  const jobs = new Map<string, Obj>();
  const pods = new Map<string, Obj>();
  const logs = new Map<string, string>();
  const isvcs = new Map<string, Obj>();
  /** KServe controller memory: revision name per predictor template, per InferenceService. */
  const revisions = new Map<string, { template: string; name: string }[]>();
  let resourceVersion = 1000;
  const nextRv = () => String(++resourceVersion);
  const key = (ns: string, name: string) => `${ns}/${name}`;

  const newMeta = (meta: Obj, ns: string): Obj => ({
    ...meta,
    namespace: ns,
    uid: randomUUID(),
    resourceVersion: nextRv(),
    generation: 1,
    creationTimestamp: now(),
  });

  function createJob(ns: string, body: Obj): Obj {
    if (body?.kind !== 'Job' || body?.apiVersion !== 'batch/v1') {
      throw fail(400, 'BadRequest', `the API version in the data (${body?.apiVersion}) does not match the expected API version (batch/v1)`);
    }
    const meta = body.metadata ?? {};
    const name = meta.name;
    if (meta.namespace && meta.namespace !== ns) {
      throw fail(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const causes: Obj[] = [];
    const invalid = (field: string, message: string) => causes.push({ reason: 'FieldValueInvalid', message, field });
    if (typeof name !== 'string' || !name) invalid('metadata.name', 'Required value: name or generateName is required');
    else if (name.length > 63 || !DNS1123_LABEL.test(name)) {
      // The Job controller labels pods with the job's name, so a name longer than a label value is refused.
      invalid(
        'metadata.name',
        `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?') and must be no more than 63 characters`,
      );
    }
    const podSpec = body.spec?.template?.spec;
    if (!['Never', 'OnFailure'].includes(podSpec?.restartPolicy)) {
      invalid('spec.template.spec.restartPolicy', `Required value: valid values: "OnFailure", "Never"`);
    }
    const containers: Obj[] = podSpec?.containers ?? [];
    if (containers.length === 0) invalid('spec.template.spec.containers', 'Required value');
    containers.forEach((c, i) => {
      if (!c.name) invalid(`spec.template.spec.containers[${i}].name`, 'Required value');
      if (!c.image) invalid(`spec.template.spec.containers[${i}].image`, 'Required value');
    });
    for (const [k, v] of Object.entries({ ...(meta.labels ?? {}), ...(body.spec?.template?.metadata?.labels ?? {}) })) {
      if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
        invalid(
          `metadata.labels`,
          `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character; at most 63 characters (label ${k})`,
        );
      }
    }
    if (causes.length) {
      throw fail(422, 'Invalid', `Job.batch "${name ?? ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
        name: name ?? '',
        group: 'batch',
        kind: 'Job',
        causes,
      });
    }
    if (jobs.has(key(ns, name))) throw fail(409, 'AlreadyExists', `jobs.batch "${name}" already exists`, { name, group: 'batch', kind: 'jobs' });

    const job: Obj = clone(body);
    job.metadata = newMeta(meta, ns);
    const uid = job.metadata.uid;
    const controllerLabels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
    job.spec = {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      manualSelector: false,
      ...job.spec,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    };
    job.metadata.labels = { ...(job.metadata.labels ?? job.spec.template.metadata?.labels ?? {}) };
    job.spec.template.metadata = { ...(job.spec.template.metadata ?? {}), labels: { ...(job.spec.template.metadata?.labels ?? {}), ...controllerLabels } };
    const ts = job.spec.template.spec;
    Object.assign(ts, {
      dnsPolicy: ts.dnsPolicy ?? 'ClusterFirst',
      schedulerName: ts.schedulerName ?? 'default-scheduler',
      securityContext: ts.securityContext ?? {},
      terminationGracePeriodSeconds: ts.terminationGracePeriodSeconds ?? 30,
    });
    for (const c of ts.containers) {
      c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(c.image) ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      // Extended resources (GPUs) may only be limits; the server copies them into requests.
      for (const [r, q] of Object.entries(c.resources.limits ?? {})) {
        if (r.includes('/') && !r.startsWith('kubernetes.io/')) c.resources.requests = { ...(c.resources.requests ?? {}), [r]: q };
      }
    }
    job.status = {};
    jobs.set(key(ns, name), job);
    return job;
  }

  function jobOrThrow(ns: string, name: string): Obj {
    const job = jobs.get(key(ns, name));
    if (!job) throw notFound('jobs', 'batch', name);
    return job;
  }

  function deleteJob(ns: string, name: string, policy: string | undefined): Obj {
    const job = jobOrThrow(ns, name);
    jobs.delete(key(ns, name));
    for (const [k, pod] of pods) {
      if (!pod.metadata.ownerReferences?.some((o: Obj) => o.uid === job.metadata.uid)) continue;
      if (policy === 'Background' || policy === 'Foreground') {
        pods.delete(k);
        logs.delete(k);
      } else {
        // batch/v1 Jobs orphan their pods unless told otherwise.
        delete pod.metadata.ownerReferences;
        pod.metadata.resourceVersion = nextRv();
      }
    }
    if (policy === 'Background') {
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'batch', kind: 'jobs', uid: job.metadata.uid } };
    }
    // Foreground and orphan deletes answer with the object marked for deletion.
    const gone = clone(job);
    gone.metadata.deletionTimestamp = now();
    gone.metadata.deletionGracePeriodSeconds = 0;
    gone.metadata.finalizers = [policy === 'Foreground' ? 'foregroundDeletion' : 'orphan'];
    gone.metadata.resourceVersion = nextRv();
    return gone;
  }

  function podLog(ns: string, name: string, query: Record<string, string>): string {
    const pod = pods.get(key(ns, name));
    if (!pod) throw notFound('pods', '', name);
    const names: string[] = pod.spec.containers.map((c: Obj) => c.name);
    const container = query.container ?? (names.length === 1 ? names[0] : undefined);
    if (!container) {
      throw fail(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    }
    if (!names.includes(container)) throw fail(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    const cs = pod.status.containerStatuses?.find((s: Obj) => s.name === container);
    if (!cs || cs.state?.waiting) {
      throw fail(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${cs?.state?.waiting?.reason ?? 'ContainerCreating'}`);
    }
    let text = logs.get(key(ns, name)) ?? '';
    if (query.tailLines !== undefined) {
      const n = Number(query.tailLines);
      const lines = text.split('\n');
      const trailing = text.endsWith('\n');
      if (trailing) lines.pop();
      text = lines.slice(Math.max(0, lines.length - n)).join('\n') + (trailing && n > 0 ? '\n' : '');
    }
    return text;
  }

  function isvcOrThrow(ns: string, name: string): Obj {
    const o = isvcs.get(key(ns, name));
    if (!o) throw notFound(KSERVE.plural, KSERVE.group, name);
    return o;
  }

  function patchIsvc(ns: string, name: string, contentType: string | undefined, body: unknown): Obj {
    const current = isvcOrThrow(ns, name);
    const type = (contentType ?? '').split(';')[0]!.trim();
    let next: Obj;
    if (type === 'application/merge-patch+json') next = mergePatch(current, body) as Obj;
    else if (type === 'application/json-patch+json') next = jsonPatch(current, body);
    else {
      throw fail(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
    }
    const wanted = next.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== current.metadata.resourceVersion) {
      throw fail(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${KSERVE.plural}.${KSERVE.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: KSERVE.group, kind: KSERVE.plural },
      );
    }
    // Identity fields and status (a subresource) cannot change through the main resource.
    next.metadata = {
      ...next.metadata,
      name,
      namespace: ns,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: current.metadata.generation,
      resourceVersion: current.metadata.resourceVersion,
    };
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    if (current.status === undefined) delete next.status;
    else next.status = current.status;
    const pct = next.spec?.predictor?.canaryTrafficPercent;
    if (pct !== undefined && (!Number.isInteger(pct) || pct < 0 || pct > 100)) {
      throw fail(
        422,
        'Invalid',
        `InferenceService.serving.kserve.io "${name}" is invalid: spec.predictor.canaryTrafficPercent: Invalid value: ${JSON.stringify(pct)}: spec.predictor.canaryTrafficPercent in body should be less than or equal to 100`,
        {
          name,
          group: KSERVE.group,
          kind: 'InferenceService',
        },
      );
    }
    if (sameJson(next, current)) return current; // a no-op patch writes nothing
    if (!sameJson(next.spec, current.spec)) next.metadata.generation = current.metadata.generation + 1;
    next.metadata.resourceVersion = nextRv();
    isvcs.set(key(ns, name), next);
    return next;
  }

  function route(req: { method: string; path: string; query: Record<string, string>; contentType?: string; body?: unknown }): {
    code: number;
    body: unknown;
    text?: boolean;
  } {
    let m: RegExpMatchArray | null;
    if ((m = req.path.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/)) && req.method === 'POST') {
      return { code: 201, body: createJob(m[1]!, req.body as Obj) };
    }
    if ((m = req.path.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/))) {
      if (req.method === 'GET') return { code: 200, body: jobOrThrow(m[1]!, m[2]!) };
      if (req.method === 'DELETE') {
        const policy = req.query.propagationPolicy ?? (req.body as Obj | undefined)?.propagationPolicy;
        return { code: 200, body: deleteJob(m[1]!, m[2]!, policy) };
      }
    }
    if ((m = req.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)) && req.method === 'GET') {
      const ns = m[1];
      const items = [...pods.values()]
        .filter((p) => p.metadata.namespace === ns && matchesSelector(p.metadata.labels, req.query.labelSelector))
        .map((p) => {
          const { kind: _k, apiVersion: _a, ...rest } = p; // list items carry no kind/apiVersion
          return rest;
        });
      return { code: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(resourceVersion) }, items } };
    }
    if ((m = req.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)) && req.method === 'GET') {
      return { code: 200, body: podLog(m[1]!, m[2]!, req.query), text: true };
    }
    if ((m = req.path.match(/^\/apis\/serving\.kserve\.io\/v1beta1\/namespaces\/([^/]+)\/inferenceservices\/([^/]+)$/))) {
      if (req.method === 'GET') return { code: 200, body: isvcOrThrow(m[1]!, m[2]!) };
      if (req.method === 'PATCH') return { code: 200, body: patchIsvc(m[1]!, m[2]!, req.contentType, req.body) };
    }
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'PATCH' && req.method !== 'DELETE' && req.method !== 'PUT') {
      throw fail(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
    throw fail(404, 'NotFound', 'the server could not find the requested resource');
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const raw = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(contentType ? { contentType } : {}),
      };
      const send = (code: number, body: unknown, text = false) => {
        const payload = text ? String(body) : JSON.stringify(body);
        res.writeHead(code, { 'content-type': text ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      };
      try {
        if (raw) {
          try {
            recorded.body = JSON.parse(raw);
          } catch {
            requests.push(recorded);
            throw fail(400, 'BadRequest', `the object provided is unrecognized (must be of type JSON): ${raw.slice(0, 80)}`);
          }
        }
        requests.push(recorded);
        if (req.headers.authorization !== `Bearer ${token}`) {
          send(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
          return;
        }
        api.beforeRequest?.(recorded);
        const out = route(recorded);
        send(out.code, out.body, out.text);
      } catch (err) {
        if (err instanceof HttpError) send(err.body.code, err.body);
        else send(500, statusBody(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  const jobByName = (ns: string, name: string) => {
    const job = jobs.get(key(ns, name));
    if (!job) throw new Error(`fake Kubernetes: no Job ${ns}/${name}`);
    return job;
  };
  const podsOfJob = (job: Obj) => [...pods.values()].filter((p) => p.metadata.ownerReferences?.some((o: Obj) => o.uid === job.metadata.uid));
  const touch = (o: Obj) => (o.metadata.resourceVersion = nextRv());

  function controllerState(isvc: Obj) {
    const k = key(isvc.metadata.namespace, isvc.metadata.name);
    if (!revisions.has(k)) revisions.set(k, []);
    return revisions.get(k)!;
  }

  const api: FakeKubernetesApi = {
    url,
    token,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'vigil', token }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'vigil' }],
        currentContext: 'fake',
      });
      return kc;
    },
    requests,
    mutations: () => requests.filter((r) => r.method !== 'GET'),
    clearRequests: () => void requests.splice(0),

    job: (ns, name) => (jobs.has(key(ns, name)) ? clone(jobs.get(key(ns, name))!) : undefined),
    pods: (ns) => [...pods.values()].filter((p) => p.metadata.namespace === ns).map(clone),

    startJobPod(ns, jobName, opts = {}) {
      const job = jobByName(ns, jobName);
      const name = `${jobName}-${randomBytes(3).toString('hex').slice(0, 5)}`;
      const started = now();
      const spec = clone(job.spec.template.spec);
      const pod: Obj = {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: {
          name,
          generateName: `${jobName}-`,
          namespace: ns,
          uid: randomUUID(),
          resourceVersion: nextRv(),
          creationTimestamp: started,
          labels: clone(job.spec.template.metadata.labels),
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
          finalizers: ['batch.kubernetes.io/job-tracking'],
        },
        spec: { ...spec, nodeName: 'node-1' },
        status: {
          phase: opts.waiting ? 'Pending' : 'Running',
          startTime: started,
          podIP: '10.0.0.7',
          containerStatuses: spec.containers.map((c: Obj) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: !opts.waiting,
            restartCount: 0,
            started: !opts.waiting,
            state: opts.waiting ? { waiting: { reason: opts.waiting } } : { running: { startedAt: started } },
            ...(opts.waiting ? {} : { containerID: `containerd://${randomBytes(16).toString('hex')}` }),
          })),
        },
      };
      pods.set(key(ns, name), pod);
      logs.set(key(ns, name), '');
      job.status = {
        ...job.status,
        active: 1,
        ready: opts.waiting ? 0 : 1,
        terminating: 0,
        startTime: job.status.startTime ?? started,
        uncountedTerminatedPods: {},
      };
      touch(job);
      return name;
    },

    runPodContainer(ns, podName) {
      const pod = pods.get(key(ns, podName));
      if (!pod) throw new Error(`fake Kubernetes: no pod ${ns}/${podName}`);
      const started = now();
      pod.status.phase = 'Running';
      pod.status.containerStatuses = pod.status.containerStatuses.map((s: Obj) => ({
        ...s,
        ready: true,
        started: true,
        state: { running: { startedAt: started } },
        containerID: `containerd://${randomBytes(16).toString('hex')}`,
      }));
      touch(pod);
      const job = [...jobs.values()].find((j) => pod.metadata.ownerReferences?.some((o: Obj) => o.uid === j.metadata.uid));
      if (job) {
        job.status = { ...job.status, ready: 1 };
        touch(job);
      }
    },

    appendPodLog(ns, podName, text) {
      if (!pods.has(key(ns, podName))) throw new Error(`fake Kubernetes: no pod ${ns}/${podName}`);
      logs.set(key(ns, podName), (logs.get(key(ns, podName)) ?? '') + text);
    },

    finishJobPod(ns, jobName, { exitCode, reason, signal }) {
      const job = jobByName(ns, jobName);
      const pod = podsOfJob(job).find((p) => p.status.phase === 'Running' || p.status.phase === 'Pending');
      if (!pod) throw new Error(`fake Kubernetes: Job ${ns}/${jobName} has no running pod`);
      const finished = now();
      pod.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      pod.status.containerStatuses = pod.status.containerStatuses.map((s: Obj) => ({
        ...s,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
            ...(signal !== undefined ? { signal } : {}),
            startedAt: s.state.running?.startedAt ?? finished,
            finishedAt: finished,
            containerID: s.containerID,
          },
        },
      }));
      pod.metadata.finalizers = [];
      touch(pod);
      job.status = {
        ...job.status,
        active: 0,
        ready: 0,
        ...(exitCode === 0 ? { succeeded: (job.status.succeeded ?? 0) + 1 } : { failed: (job.status.failed ?? 0) + 1 }),
      };
      touch(job);
    },

    addJobCondition(ns, jobName, c) {
      const job = jobByName(ns, jobName);
      const t = now();
      job.status.conditions = [
        ...(job.status.conditions ?? []),
        {
          type: c.type,
          status: c.status ?? 'True',
          lastProbeTime: t,
          lastTransitionTime: t,
          ...(c.reason ? { reason: c.reason } : {}),
          ...(c.message ? { message: c.message } : {}),
        },
      ];
      if (c.type === 'Complete' && (c.status ?? 'True') === 'True') job.status.completionTime = t;
      if (c.type === 'Failed' && c.reason === 'DeadlineExceeded') {
        // The Job controller deletes the pods still running at the deadline.
        for (const p of podsOfJob(job)) {
          if (p.status.phase === 'Running' || p.status.phase === 'Pending') {
            pods.delete(key(ns, p.metadata.name));
            logs.delete(key(ns, p.metadata.name));
          }
        }
        job.status = { ...job.status, active: 0, ready: 0, failed: (job.status.failed ?? 0) + (job.status.active ?? 0) };
      }
      touch(job);
    },

    setJobStatus(ns, jobName, status) {
      const job = jobByName(ns, jobName);
      job.status = { ...job.status, ...status };
      touch(job);
    },

    putInferenceService(obj) {
      const ns = obj.metadata?.namespace ?? 'default';
      const name = obj.metadata?.name;
      if (!name) throw new Error('fake Kubernetes: an InferenceService needs metadata.name');
      const o: Obj = clone(obj);
      o.apiVersion = `${KSERVE.group}/${KSERVE.version}`;
      o.kind = 'InferenceService';
      o.metadata = newMeta(o.metadata, ns);
      delete o.status;
      isvcs.set(key(ns, name), o);
      return clone(o);
    },

    editInferenceService(ns, name, patch) {
      return clone(patchIsvc(ns, name, 'application/merge-patch+json', patch));
    },

    inferenceService: (ns, name) => (isvcs.has(key(ns, name)) ? clone(isvcs.get(key(ns, name))!) : undefined),

    reconcileInferenceService(ns, name, opts = {}) {
      const isvc = isvcs.get(key(ns, name));
      if (!isvc) throw new Error(`fake Kubernetes: no InferenceService ${ns}/${name}`);
      const ready = opts.ready ?? true;
      const { canaryTrafficPercent: canary, ...template } = isvc.spec.predictor ?? {};
      const templateKey = JSON.stringify(template);
      const revs = controllerState(isvc);
      const prior: Obj = clone(isvc.status?.components?.predictor ?? {});
      let latest = revs.at(-1);
      if (!latest || latest.template !== templateKey) {
        latest = { template: templateKey, name: `${name}-predictor-${String(revs.length + 1).padStart(5, '0')}` };
        revs.push(latest);
      }
      const comp: Obj = { ...prior, latestCreatedRevision: latest.name };
      // Knative routes `latestRevision: true` to the latest *ready* revision.
      const latestReady: string | undefined = ready ? latest.name : comp.latestReadyRevision;
      const tagged = isvc.metadata.annotations?.['serving.kserve.io/enable-tag-routing'] === 'true';
      const host = (tag: string) => `http://${tag}-${name}-predictor.${ns}.example.com`;
      // The controller requeues on every status change; a few passes reach the fixed point.
      for (let pass = 0; pass < 5; pass++) {
        const before = JSON.stringify(comp);
        // As KServe's ksvc reconciler: split between the latest revision and the last rolled-out one.
        const lastRolledOut: string | undefined = comp.latestRolledoutRevision;
        const latestTarget = (percent: number): Obj => ({
          ...(tagged ? { tag: 'latest', url: host('latest') } : {}),
          revisionName: latestReady,
          latestRevision: true,
          percent,
        });
        let traffic: Obj[];
        if (canary !== undefined && lastRolledOut) {
          traffic = [latestTarget(canary)];
          if (canary < 100) traffic.push({ tag: 'prev', revisionName: lastRolledOut, latestRevision: false, percent: 100 - canary, url: host('prev') });
        } else {
          traffic = [latestTarget(100)];
        }
        comp.traffic = traffic;
        // As KServe's status propagation: the latest ready revision given 100% is rolled out; a
        // rolled-out revision that is rolled back (its latest target below 100% while the traffic sits
        // on it alone) hands "rolled out" back to the previous one.
        const revisionTraffic = new Map<string, number>();
        for (const t of traffic) revisionTraffic.set(t.revisionName, (revisionTraffic.get(t.revisionName) ?? 0) + t.percent);
        for (const t of traffic) {
          if (t.revisionName !== latestReady || t.latestRevision !== true) continue;
          if (comp.latestRolledoutRevision !== latestReady) {
            if (t.percent === 100) {
              comp.previousRolledoutRevision = comp.latestRolledoutRevision;
              comp.latestRolledoutRevision = latestReady;
            }
          } else if (
            latestReady === comp.latestCreatedRevision &&
            t.percent < 100 &&
            revisionTraffic.get(t.revisionName) === 100 &&
            comp.previousRolledoutRevision
          ) {
            comp.latestRolledoutRevision = comp.previousRolledoutRevision;
          }
        }
        if (latestReady) comp.latestReadyRevision = latestReady;
        if (JSON.stringify(comp) === before) break;
      }
      if (comp.previousRolledoutRevision === undefined) delete comp.previousRolledoutRevision;
      comp.url = `http://${name}-predictor.${ns}.example.com`;
      const t = now();
      const cond = (type: string, ok: boolean, reason?: string, message?: string) => ({
        type,
        status: ok ? 'True' : 'False',
        lastTransitionTime: t,
        ...(ok ? {} : { reason, message }),
      });
      const failed = !ready;
      const why = failed ? `Revision "${latest.name}" failed with message: Container failed with: model load failed.` : undefined;
      isvc.status = {
        observedGeneration: isvc.metadata.generation,
        url: `http://${name}.${ns}.example.com`,
        address: { url: `http://${name}.${ns}.svc.cluster.local` },
        deploymentMode: 'Serverless',
        components: { predictor: comp },
        conditions: [
          cond('IngressReady', true),
          cond('LatestDeploymentReady', !failed, 'RevisionFailed', why),
          cond('PredictorConfigurationReady', !failed, 'RevisionFailed', why),
          cond('PredictorReady', !failed, 'RevisionFailed', why),
          cond('PredictorRouteReady', true),
          cond('Ready', !failed, 'RevisionFailed', why),
          cond('RoutesReady', true),
        ],
        modelStatus: {
          transitionStatus: failed ? 'BlockedByFailedLoad' : 'UpToDate',
          states: { activeModelState: 'Loaded', targetModelState: failed ? 'FailedToLoad' : 'Loaded' },
        },
      };
      touch(isvc);
      return clone(isvc);
    },

    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
