/**
 * The MLflow REST client: where artifact uploads go, credentials from the environment, and to whom they
 * are sent (local recording servers stand in for a tracking server and an artifact store elsewhere).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { artifactUploadUrl, createMlflowRestClient, mlflowAuthHeaders } from '../../adapters/registry/mlflowRestClient.js';

describe('artifactUploadUrl', () => {
  it('maps proxied artifact roots to the proxy, other stores to nothing', () => {
    const t = 'http://mlflow:5000/';
    assert.equal(
      artifactUploadUrl(t, 'mlflow-artifacts:/3/abc/artifacts', 'model/model.json'),
      'http://mlflow:5000/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/model/model.json',
      'mlflow-artifacts:/ goes to the tracking server',
    );
    assert.equal(
      artifactUploadUrl('https://mlflow.example', 'mlflow-artifacts://store:8080/3/abc/artifacts', 'model/a b.bin'),
      'https://store:8080/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/model/a%20b.bin',
      'a host in the URI is the proxy, with the tracking scheme; segments are encoded',
    );
    assert.equal(
      artifactUploadUrl(t, 'http://proxy:5000/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/', 'model/x'),
      'http://proxy:5000/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/model/x',
      'the proxy URL itself',
    );
    assert.equal(artifactUploadUrl(t, '/srv/mlflow/artifacts/3/abc/artifacts', 'model/x'), undefined, 'local root: copied, not uploaded');
    assert.equal(artifactUploadUrl(t, 's3://bucket/3/abc/artifacts', 'model/x'), undefined, 's3: not uploaded by Vigil');
  });
});

describe('mlflowAuthHeaders', () => {
  it('refuses an empty token without echoing anything', () => {
    assert.throws(() => mlflowAuthHeaders({ MLFLOW_TRACKING_TOKEN: '  ' }), /MLFLOW_TRACKING_TOKEN is set but empty/, 'empty token');
  });
});

/** Answers every request with `status` and records its path and Authorization header. */
async function recordingServer(status: number) {
  const seen: { path: string; authorization: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('MLflow credentials go only to the tracking server', () => {
  const TOKEN = 'mlflow-test-token-1';
  let tracking: Awaited<ReturnType<typeof recordingServer>>;
  let store: Awaited<ReturnType<typeof recordingServer>>;
  let lockedStore: Awaited<ReturnType<typeof recordingServer>>;
  before(async () => {
    tracking = await recordingServer(200);
    store = await recordingServer(200);
    lockedStore = await recordingServer(401);
  });
  after(async () => {
    await Promise.all([tracking.close(), store.close(), lockedStore.close()]);
  });
  const client = () => createMlflowRestClient({ trackingUri: `${tracking.url}/`, timeoutMs: 5000, env: { MLFLOW_TRACKING_TOKEN: TOKEN } });

  it("sends them to the tracking server's REST API and artifact proxy", async () => {
    await client().get('registered-models/get', { name: 'm' });
    await client().putArtifact(`${tracking.url}/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/model.json`, Buffer.from('{}'));
    assert.deepEqual(
      tracking.seen.map((r) => r.authorization),
      [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`],
    );
  });

  it('uploads to an artifact store at another origin without them', async () => {
    // Where a run's artifact location (mlflow-artifacts://host:port/…) points: the server's data, not Vigil's config.
    const url = artifactUploadUrl(tracking.url, `mlflow-artifacts://${new URL(store.url).host}/1/r/artifacts`, 'model/model.json')!;
    assert.ok(url.startsWith(store.url), url);
    await client().putArtifact(url, Buffer.from('{}'));
    assert.deepEqual(store.seen, [{ path: '/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/model.json', authorization: undefined }]);
  });

  it('says why when that store asks for credentials', async () => {
    await assert.rejects(client().putArtifact(`${lockedStore.url}/api/2.0/mlflow-artifacts/artifacts/x`, Buffer.from('{}')), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `^the MLflow artifact store at ${lockedStore.url} refused PUT /api/2.0/mlflow-artifacts/artifacts/x \\(HTTP 401\\): it is not the tracking server's origin`,
        ),
      );
      assert.ok(!err.message.includes(TOKEN), 'no token in the message');
      return true;
    });
    assert.equal(lockedStore.seen[0]?.authorization, undefined);
  });
});
