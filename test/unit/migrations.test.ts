/**
 * Migrations never build an index on a table that may already hold data inside a transaction: SQL
 * migrations run in one, and CREATE INDEX there locks the table against writes for the whole build (the
 * prediction logs hold millions of rows). Such an index belongs in a TypeScript migration that calls
 * pgm.noTransaction() and builds it CONCURRENTLY (migrations/1764374400000_prediction_log_indexes.ts).
 * An index on a table the same SQL migration creates is fine: the table is empty.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MIGRATIONS_DIR } from '../../adapters/postgres/database.js';

const files = fs.readdirSync(MIGRATIONS_DIR).sort();
/** The Up part of a SQL migration, without comments. */
const upSql = (text: string) =>
  text
    .split(/^\s*--\s*Down Migration/im)[0]!
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '');
const CREATE_INDEX = /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(?:ONLY\s+)?([\w.]+)/gi;
const CREATE_TABLE = /\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)/gi;

describe('migrations', () => {
  it('build indexes on existing tables only concurrently, outside a transaction', () => {
    const offending: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.sql'))) {
      const sql = upSql(fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
      const created = new Set([...sql.matchAll(CREATE_TABLE)].map((m) => m[1]!.toLowerCase()));
      for (const m of sql.matchAll(CREATE_INDEX)) {
        if (!created.has(m[3]!.toLowerCase())) offending.push(`${file}: index ${m[2]} on ${m[3]}, a table created by an earlier migration`);
      }
    }
    assert.deepEqual(offending, [], 'build these CONCURRENTLY in a migration that calls pgm.noTransaction()');
  });

  it('a TypeScript migration that builds indexes runs outside a transaction and builds them concurrently', () => {
    const ts = files.filter((f) => f.endsWith('.ts'));
    assert.ok(ts.length > 0, 'the prediction log indexes migration is there');
    for (const file of ts) {
      // Code only: comments may speak of CREATE INDEX.
      const text = fs
        .readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      const builds = [...text.matchAll(/\bCREATE\s+(?:UNIQUE\s+)?INDEX\b(\s+CONCURRENTLY\b)?/gi)];
      if (builds.length === 0) continue;
      assert.match(text, /pgm\.noTransaction\(\)/, `${file} calls pgm.noTransaction()`);
      for (const m of builds) assert.ok(m[1], `${file}: "${m[0]}" is not CONCURRENTLY`);
    }
  });
});
