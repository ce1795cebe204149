import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readOrCreateSecretFile } from '../../adapters/files/secretFile.js';
import { scramSha256Verifier } from '../../adapters/postgres/scramVerifier.js';
import { stackDatabaseUrl, stackFileFor } from '../../stack/stackFile.js';

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-secrets-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('secret files', () => {
  it('are created once with mode 0600 and read back the same afterwards', () => {
    const file = path.join(root, 'a', 'postgres-vigil-password');
    const first = readOrCreateSecretFile(file, 'test password');
    assert.equal(first.created, true);
    assert.match(first.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const again = readOrCreateSecretFile(file, 'test password');
    assert.deepEqual(again, { secret: first.secret, file, created: false });
  });

  it('refuse a file other users can read, naming it and never the secret', () => {
    const file = path.join(root, 'loose');
    fs.writeFileSync(file, 'a-secret-that-leaked-0123456789\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.throws(
      () => readOrCreateSecretFile(file, 'test password'),
      (err: Error) => {
        assert.match(err.message, /the test password file .*loose can be read by other users \(mode 0644\): `chmod 600 /);
        assert.ok(!err.message.includes('leaked'));
        return true;
      },
    );
  });
});

describe('stack.json', () => {
  it('keeps no password: the embedded database points at its password file', () => {
    const stack = stackFileFor({
      temporalAddress: '127.0.0.1:1',
      namespace: 'default',
      databaseUrl: 'postgres://vigil:s3cret-Pa55word@127.0.0.1:5433/vigil',
      databasePasswordFile: '/state/postgres-vigil-password',
      startedAt: 'now',
    });
    assert.ok(!JSON.stringify(stack).includes('s3cret'));
    assert.equal(stack.databaseUrl, 'postgres://vigil@127.0.0.1:5433/vigil');
    assert.deepEqual(stack.databasePassword, { file: '/state/postgres-vigil-password' });
  });

  it('keeps no password from DATABASE_URL either (user info or query), and says where it came from', () => {
    const stack = stackFileFor({
      temporalAddress: '127.0.0.1:1',
      namespace: 'default',
      databaseUrl: 'postgres://app@db.example:5432/vigil?sslmode=require&password=q-s3cret',
      startedAt: 'now',
    });
    assert.ok(!JSON.stringify(stack).includes('s3cret'));
    assert.equal(stack.databaseUrl, 'postgres://app@db.example:5432/vigil?sslmode=require');
    assert.deepEqual(stack.databasePassword, { environment: 'DATABASE_URL' });
    assert.throws(() => stackDatabaseUrl(stack), /uses the DATABASE_URL it was started with, whose password is not kept in stack\.json: set DATABASE_URL/);
  });

  it("commands read the local stack's password from its 0600 file", () => {
    const { secret, file } = readOrCreateSecretFile(path.join(root, 'state', 'postgres-vigil-password'), 'test password');
    const stack = stackFileFor({
      temporalAddress: '127.0.0.1:1',
      namespace: 'default',
      databaseUrl: 'postgres://vigil@127.0.0.1:5433/vigil',
      databasePasswordFile: file,
      startedAt: 'now',
    });
    assert.equal(stackDatabaseUrl(stack), `postgres://vigil:${secret}@127.0.0.1:5433/vigil`);
  });
});

describe('scramSha256Verifier', () => {
  it("is PostgreSQL's stored form: iterations, salt, StoredKey and ServerKey, never the password", () => {
    const verifier = scramSha256Verifier('pencil-pencil-pencil', Buffer.alloc(16, 1));
    assert.match(verifier, /^SCRAM-SHA-256\$4096:AQEBAQEBAQEBAQEBAQEBAQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    assert.ok(!verifier.includes('pencil'));
    assert.notEqual(scramSha256Verifier('pencil-pencil-pencil'), scramSha256Verifier('pencil-pencil-pencil'), 'a fresh salt each time');
  });
});
