/** The run's real servers: migrations on PostgreSQL, and Vigil's search attributes on Temporal. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { migrate } from '../../adapters/postgres/database.js';
import { connectTemporal, loadTemporalSettings } from '../../adapters/temporal/connection.js';
import { freePort } from '../../adapters/net/freePort.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../../domain/searchAttributes.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

/** IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD in Temporal's API. */
const KEYWORD = 2;

const TABLES = [
  'api_tokens',
  'audit_events',
  'deployment_changes',
  'incidents',
  'model_aliases',
  'model_canaries',
  'model_change_claims',
  'model_versions',
  'models',
  'pending_labels',
  'pgmigrations',
  'predictions',
  'registry_events',
  'remediation_plans',
  'reviews',
  'shadow_predictions',
  'slack_messages',
  'slack_thread_replies',
  'training_jobs',
];

describe('PostgreSQL migrations', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test('create every table', async () => {
    const { rows } = await db.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      TABLES,
    );
  });

  test('running migrate again is a no-op', async () => {
    const before = await db.pool.query('SELECT name, run_on FROM pgmigrations ORDER BY id');
    assert.ok(before.rowCount && before.rowCount > 0);
    const messages: string[] = [];
    await migrate(db.url, (m) => messages.push(m));
    await migrate(db.url, (m) => messages.push(m));
    assert.deepEqual(messages, []);
    const afterRows = await db.pool.query('SELECT name, run_on FROM pgmigrations ORDER BY id');
    assert.deepEqual(afterRows.rows, before.rows);
  });

  test('concurrent migrations of a fresh database apply each migration once', async () => {
    const fresh = await createTestDatabase({ migrate: false });
    try {
      await Promise.all([migrate(fresh.url), migrate(fresh.url), migrate(fresh.url)]);
      const { rows } = await fresh.pool.query<{ name: string; n: string }>('SELECT name, count(*) AS n FROM pgmigrations GROUP BY name');
      assert.ok(rows.length > 0);
      for (const r of rows) assert.equal(Number(r.n), 1, `${r.name} recorded ${r.n} times`);
    } finally {
      await fresh.drop();
    }
  });
});

describe("the prediction logs' request-id indexes (built CONCURRENTLY, outside a transaction)", () => {
  const LOG_INDEXES_MIGRATION = '1764374400000_prediction_log_indexes';
  const indexes = async (db: TestDatabase) =>
    (
      await db.pool.query<{ name: string; oid: number; unique: boolean; valid: boolean; def: string }>(
        `SELECT c.relname AS name, c.oid::int AS oid, i.indisunique AS unique, i.indisvalid AS valid, pg_get_indexdef(c.oid) AS def
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relname LIKE '%predictions_request%' ORDER BY c.relname`,
      )
    ).rows;
  /** Runs the migration again, as on a database migrated before it existed. */
  const rerun = async (db: TestDatabase) => {
    await db.pool.query('DELETE FROM pgmigrations WHERE name = $1', [LOG_INDEXES_MIGRATION]);
    const messages: string[] = [];
    // Later migrations have run already: apply this one out of order, as on a database migrated before it existed.
    await migrate(db.url, (m) => messages.push(m), { checkOrder: false });
    assert.deepEqual(messages, [`Applied 1 database migration(s): ${LOG_INDEXES_MIGRATION}`]);
  };

  test('a fresh database gets both, unique and valid', async () => {
    const db = await createTestDatabase();
    try {
      assert.deepEqual(
        (await indexes(db)).map(({ name, unique, valid, def }) => ({ name, unique, valid, def })),
        [
          {
            name: 'predictions_request',
            unique: true,
            valid: true,
            def: 'CREATE UNIQUE INDEX predictions_request ON public.predictions USING btree (model_id, request_id) WHERE (request_id IS NOT NULL)',
          },
          {
            name: 'shadow_predictions_request',
            unique: true,
            valid: true,
            def: 'CREATE UNIQUE INDEX shadow_predictions_request ON public.shadow_predictions USING btree (model_id, model_version, request_id)',
          },
        ],
      );
    } finally {
      await db.drop();
    }
  });

  test('a database that has them (from the migrations as they were) keeps them: nothing is rebuilt', async () => {
    const db = await createTestDatabase();
    try {
      const before = await indexes(db);
      await rerun(db);
      assert.deepEqual(await indexes(db), before, 'the same indexes, same oids');
    } finally {
      await db.drop();
    }
  });

  test('a non-unique index of an older database, and a failed build left behind, become the unique index', async () => {
    const db = await createTestDatabase();
    try {
      await db.pool.query('DROP INDEX predictions_request');
      await db.pool.query('CREATE INDEX predictions_request ON predictions (model_id, request_id) WHERE request_id IS NOT NULL');
      await db.pool.query('CREATE INDEX predictions_request_building ON predictions (model_id)');
      await db.pool.query('DROP INDEX shadow_predictions_request');
      await rerun(db);
      const after = await indexes(db);
      assert.deepEqual(
        after.map(({ name, unique, valid }) => ({ name, unique, valid })),
        [
          { name: 'predictions_request', unique: true, valid: true },
          { name: 'shadow_predictions_request', unique: true, valid: true },
        ],
      );
      assert.match(after[0]!.def, /ON public\.predictions USING btree \(model_id, request_id\) WHERE \(request_id IS NOT NULL\)$/);
    } finally {
      await db.drop();
    }
  });
});

describe('Temporal dev server', () => {
  test('has the Vigil search attributes registered as Keyword', async () => {
    const settings = loadTemporalSettings();
    assert.ok(process.env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS is set by test/run.ts');
    assert.equal(settings.address, process.env.TEMPORAL_ADDRESS);
    assert.equal(settings.external, true);
    const { connection, client } = await connectTemporal(settings);
    try {
      const res = await client.connection.operatorService.listSearchAttributes({ namespace: settings.namespace });
      const custom = (res.customAttributes ?? {}) as Record<string, unknown>;
      for (const name of SEARCH_ATTRIBUTE_NAMES) {
        assert.ok(name in custom, `${name} is registered (have: ${Object.keys(custom).join(', ')})`);
        assert.equal(Number(custom[name]), KEYWORD, `${name} is a Keyword`);
      }
    } finally {
      await connection.close();
    }
  });

  test('a connection failure names the address', async () => {
    const port = await freePort();
    const settings = loadTemporalSettings({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    await assert.rejects(connectTemporal(settings, { connectTimeoutMs: 1_000 }), (err: Error) => {
      assert.match(err.message, new RegExp(`^cannot reach Temporal at 127\\.0\\.0\\.1:${port}: `));
      return true;
    });
  });
});
