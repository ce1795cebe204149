/** A child process's output made safe to show: escapes and controls gone, secrets masked, length bounded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processOutputMessage, secretEnvValues } from '../../adapters/process/processOutputMessage.js';

const ENV = {
  DATABASE_URL: 'postgres://vigil:pg-pass-9@db:5432/vigil',
  SLACK_BOT_TOKEN: 'xoxb-1234-abcdef',
  TEMPORAL_API_KEY: 'tmprl-key-42',
  MY_PASSWORD: 'abc', // too short to mask: it would mask ordinary words
  HOME: '/home/vigil', // not a secret name
  LOG_LEVEL: 'debug',
};

describe('processOutputMessage', () => {
  it('removes ANSI escapes and control characters, keeping line breaks', () => {
    const text = '\x1b[31mError:\x1b[0m bad\x07 value\x00\x1b]0;title\x07\nnext\tline\r\n\x1b[2Kdone';
    assert.equal(processOutputMessage(text, { env: {} }), 'Error: bad value\nnext line\ndone');
  });

  it('turns carriage-return redraws into lines, and can make one line', () => {
    assert.equal(processOutputMessage('10%\r50%\r100%', { env: {} }), '10%\n50%\n100%');
    assert.equal(processOutputMessage('  a\n\n b \r\n c ', { env: {}, oneLine: true }), 'a b c');
  });

  it("masks the values of the worker's secret-looking variables, and URL credentials", () => {
    const text = `connecting to ${ENV.DATABASE_URL} with token ${ENV.SLACK_BOT_TOKEN}; key=${ENV.TEMPORAL_API_KEY}; abc home=/home/vigil; https://u:p@h/x?password=zz`;
    assert.equal(processOutputMessage(text, { env: ENV }), 'connecting to *** with token ***; key=***; abc home=/home/vigil; https://***@h/x?password=***');
  });

  it('masks a value longest first, so no part of a longer secret is left', () => {
    const env = { A_TOKEN: 'secret-1', B_TOKEN: 'secret-1-and-more' };
    assert.equal(processOutputMessage('x secret-1-and-more y secret-1 z', { env }), 'x *** y *** z');
  });

  it('bounds the length, keeping the start or the end', () => {
    const long = `${'a'.repeat(1000)}END`;
    const start = processOutputMessage(long, { env: {} });
    assert.equal(start.length, 500);
    assert.ok(start.endsWith('…') && start.startsWith('aaa'), start.slice(-5));
    const end = processOutputMessage(long, { env: {}, keep: 'end' });
    assert.equal(end.length, 500);
    assert.ok(end.startsWith('…') && end.endsWith('END'), end.slice(0, 5));
    assert.equal(processOutputMessage(long, { env: {}, maxChars: 20 }).length, 20);
  });

  it('a secret cut by the bound is masked first', () => {
    const env = { API_KEY: 'k'.repeat(40) };
    const out = processOutputMessage(`${'x'.repeat(480)}${env.API_KEY}`, { env });
    assert.ok(!out.includes('kkkkkk'), out.slice(-30));
  });
});

describe('secretEnvValues', () => {
  it('takes names matching TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL or DATABASE_URL, with values of 6 characters or more', () => {
    assert.deepEqual(secretEnvValues({ ...ENV, AWS_SECRET_ACCESS_KEY: 'aws-secret-value', GOOGLE_APPLICATION_CREDENTIALS: '/etc/gcp.json' }).sort(), [
      '/etc/gcp.json',
      'aws-secret-value',
      'postgres://vigil:pg-pass-9@db:5432/vigil',
      'tmprl-key-42',
      'xoxb-1234-abcdef',
    ]);
  });
});
