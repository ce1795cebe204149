/** Pure parts of the MLflow REST client: where artifact uploads go, and credentials from the environment. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { artifactUploadUrl, mlflowAuthHeaders } from '../../adapters/registry/mlflowRestClient.js';

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
