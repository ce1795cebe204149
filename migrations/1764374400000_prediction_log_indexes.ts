/**
 * The request-id indexes of the two prediction logs, built with CREATE UNIQUE INDEX CONCURRENTLY: a plain
 * CREATE INDEX holds a SHARE lock on the table for the whole build, so every ingest, every logged
 * prediction and every label waits until a log of millions of rows is indexed. CONCURRENTLY takes no
 * lock that blocks writes, but PostgreSQL refuses it inside a transaction block, which is where SQL
 * migrations run: this one is TypeScript so it can call node-pg-migrate's pgm.noTransaction(). The
 * runner (adapters/postgres/database.ts, singleTransaction) then commits the migrations before it, runs
 * each statement here on its own, records this migration, and opens a new transaction for the rest.
 *
 * Databases migrated before this file existed built these indexes in earlier migrations (1764028800000,
 * 1764201600000, 1764288000000, which no longer do): where an index is already there, unique and valid,
 * nothing is done. Otherwise it is built under a temporary name and then takes the final name, so a
 * non-unique predictions_request of an older database is replaced without a moment with neither. A
 * failed concurrent build leaves an INVALID index behind; the next run drops it and builds again.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

interface LogIndex {
  name: string;
  /** What follows CREATE UNIQUE INDEX <name>. */
  definition: string;
  /** Removes rows the unique index would refuse (copies of a request), keeping the first. */
  dedupe?: string;
}

const LOG_INDEXES: LogIndex[] = [
  // One served prediction per (model, request id); rows without a request id are not constrained.
  { name: 'predictions_request', definition: 'ON predictions (model_id, request_id) WHERE request_id IS NOT NULL' },
  // One shadow answer per (model, version, request id).
  {
    name: 'shadow_predictions_request',
    definition: 'ON shadow_predictions (model_id, model_version, request_id)',
    dedupe:
      'DELETE FROM shadow_predictions a USING shadow_predictions b ' +
      'WHERE a.model_id = b.model_id AND a.model_version = b.model_version AND a.request_id = b.request_id AND a.id > b.id',
  },
];

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
  for (const index of LOG_INDEXES) {
    const existing = await pgm.db.select('SELECT i.indisunique AND i.indisvalid AS ready FROM pg_index i WHERE i.indexrelid = to_regclass($1)', [index.name]);
    if ((existing[0] as { ready?: boolean } | undefined)?.ready) continue;
    const building = `${index.name}_building`;
    // Each its own statement: PostgreSQL runs several in one query as one transaction, where CONCURRENTLY is refused.
    pgm.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${building}`);
    if (index.dedupe) pgm.sql(index.dedupe);
    pgm.sql(`CREATE UNIQUE INDEX CONCURRENTLY ${building} ${index.definition}`);
    pgm.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`);
    pgm.sql(`ALTER INDEX ${building} RENAME TO ${index.name}`);
  }
}

export function down(pgm: MigrationBuilder): void {
  pgm.noTransaction();
  for (const index of [...LOG_INDEXES].reverse()) pgm.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`);
}
