/** URLs in messages and logs: credentials in the user info and in secret-looking query parameters are masked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretParamName, redactUrl, redactUrlsInText } from '../../adapters/net/redactUrl.js';

describe('redactUrl', () => {
  it('masks the user info, as before', () => {
    assert.equal(redactUrl('https://bob:s3cret@prom.example:9090/prometheus'), 'https://***@prom.example:9090/prometheus');
    assert.equal(redactUrl('http://prometheus:9090'), 'http://prometheus:9090', 'nothing to mask: unchanged');
  });

  it('masks secret query parameters, whatever their case, and keeps the others as written', () => {
    assert.equal(redactUrl('postgres://db:5432/vigil?sslmode=require&password=hunter22'), 'postgres://db:5432/vigil?sslmode=require&password=***');
    assert.equal(redactUrl('https://h/x?PassWord=a%20b&user=bob'), 'https://h/x?PassWord=***&user=bob');
    assert.equal(
      redactUrl('https://bucket.s3.amazonaws.com/m.bin?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&X-Amz-Expires=60'),
      'https://bucket.s3.amazonaws.com/m.bin?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60',
    );
    assert.equal(redactUrl('https://h/cb#access_token=tok123&state=s1'), 'https://h/cb#access_token=***&state=s1', 'a fragment too');
    assert.equal(redactUrl('https://u:p@h/x?api_key=k1&page=2'), 'https://***@h/x?api_key=***&page=2', 'both at once');
  });

  it('text that is not a URL is masked as free text', () => {
    assert.equal(redactUrl('not a url //bob:s3cret@host'), 'not a url //***@host');
    assert.equal(redactUrl('host:5432?password=x y'), 'host:5432?password=*** y');
  });
});

describe('redactUrlsInText', () => {
  it('masks every URL in a message', () => {
    const text = 'GET https://api.example/v1?token=abc&q=1 failed; retry via https://alice:pw@mirror.example/v1?apikey=K2 (sig=ok)';
    assert.equal(redactUrlsInText(text), 'GET https://api.example/v1?token=***&q=1 failed; retry via https://***@mirror.example/v1?apikey=*** (sig=ok)');
  });

  it('leaves ordinary text and empty values alone', () => {
    assert.equal(redactUrlsInText('loss=0.4 step=3 of 10'), 'loss=0.4 step=3 of 10');
    assert.equal(redactUrlsInText('https://h/x?token=&a=1'), 'https://h/x?token=&a=1');
  });
});

describe('isSecretParamName', () => {
  it('knows the usual names, case- and separator-insensitive', () => {
    for (const name of [
      'password',
      'passwd',
      'pwd',
      'token',
      'access_token',
      'refresh-token',
      'secret',
      'client_secret',
      'key',
      'api_key',
      'apikey',
      'signature',
      'sig',
      'auth',
      'credential',
      'credentials',
      'X-Amz-Security-Token',
      'sslpassword',
    ]) {
      assert.equal(isSecretParamName(name), true, name);
    }
    for (const name of ['user', 'sslmode', 'page', 'q', 'state', 'expires', 'X-Amz-Expires', 'author']) {
      assert.equal(isSecretParamName(name), false, name);
    }
  });
});
