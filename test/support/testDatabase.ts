/**
 * A fresh, migrated PostgreSQL database for one test file, created on the run's server
 * (VIGIL_TEST_ADMIN_DATABASE_URL, set by test/run.ts) and dropped afterwards.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import { createDatabase, createPool, databaseUrl, dropDatabase, migrate } from '../../adapters/postgres/database.js';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function testAdminDatabaseUrl(): string {
  const url = process.env.VIGIL_TEST_ADMIN_DATABASE_URL;
  if (!url) {
    throw new Error('VIGIL_TEST_ADMIN_DATABASE_URL is not set: run the tests with `npm test` (test/run.ts starts PostgreSQL and Temporal)');
  }
  return url;
}

export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = testAdminDatabaseUrl();
  const name = `vigil_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name);
  const url = databaseUrl(adminUrl, name);
  try {
    if (opts.migrate !== false) await migrate(url);
  } catch (err) {
    await dropDatabase(adminUrl, name).catch(() => undefined);
    throw err;
  }
  const pool = createPool(url, { max: 5, applicationName: `vigil-test-${name}` });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url,
    pool,
    drop: () =>
      (dropped ??= (async () => {
        await pool.end().catch(() => undefined);
        await dropDatabase(adminUrl, name);
      })()),
  };
}
