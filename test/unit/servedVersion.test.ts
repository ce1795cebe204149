import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { versionServing } from '../../domain/servedVersion.js';

describe('versionServing: the registry version a KServe route serves, by storage URI', () => {
  const versions = [
    { version: 1, artifactUri: 's3://m/v1' },
    { version: 2, artifactUri: 's3://m/v2' },
    // A redeploy of v1's weights, registered as v3.
    { version: 3, artifactUri: 's3://m/v1' },
  ];

  it('a route that names its version keeps it', () => {
    assert.equal(versionServing({ version: 7, artifactUri: 's3://m/v1' }, versions), 7);
  });

  it('matches the storage URI to the registry version', () => {
    assert.equal(versionServing({ artifactUri: 's3://m/v2' }, versions), 2);
  });

  it('several versions on one URI: the one the registry names for the role (the one the judge compares), else the newest', () => {
    assert.equal(versionServing({ artifactUri: 's3://m/v1' }, versions, versions[2]), 3);
    assert.equal(versionServing({ artifactUri: 's3://m/v1' }, versions, versions[0]), 1);
    assert.equal(versionServing({ artifactUri: 's3://m/v1' }, versions, versions[1]), 3, 'a preferred version on another URI does not count');
    assert.equal(versionServing({ artifactUri: 's3://m/v1' }, versions), 3);
  });

  it('nothing known: no version', () => {
    assert.equal(versionServing(undefined, versions), undefined);
    assert.equal(versionServing({}, versions), undefined);
    assert.equal(versionServing({ artifactUri: 's3://m/v9' }, versions), undefined);
  });
});
