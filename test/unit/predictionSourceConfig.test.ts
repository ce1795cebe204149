/**
 * `models[].source`: predictions read from the team's own PostgreSQL table. What cannot work is refused
 * when the config loads, naming the field; names are quoted when the statements are built.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceStatements } from '../../adapters/postgres/sourcePredictionLog.js';
import { parseConfig, type PostgresSource } from '../../domain/config.js';
import { configError } from '../support/configError.js';

const MODEL = { id: 'fraud-scorer', displayName: 'Fraud scorer', tier: 'critical', approvers: ['alice'] } as const;
const COLUMNS = {
  requestId: 'req_uuid',
  ts: 'scored_at',
  modelVersion: 'model_rev',
  features: ['amount', 'merchant'],
  score: 'fraud_prob',
  outcome: 'is_fraud',
  labeledAt: 'label_time',
};
const SOURCE = { kind: 'postgres', urlEnv: 'FRAUD_DB_URL', table: 'scoring.fraud_scores', columns: COLUMNS };

/** The issues of a config with one model whose source (and other fields) are given. */
const issuesOf = (model: Record<string, unknown>) => configError({ models: [{ ...MODEL, ...model }] }).issues.map((i) => `${i.path}: ${i.message}`);

describe('config: source', () => {
  it('defaults to ingest, and takes a postgres table or query with a column mapping', () => {
    assert.deepEqual(parseConfig({ models: [MODEL] }).models[0]!.source, { kind: 'ingest' });
    const table = parseConfig({ models: [{ ...MODEL, source: SOURCE }] }).models[0]!.source as PostgresSource;
    assert.equal(table.kind, 'postgres');
    assert.equal(table.table, 'scoring.fraud_scores');
    assert.deepEqual(table.columns.features, ['amount', 'merchant']);
    const query = parseConfig({
      models: [
        {
          ...MODEL,
          task: { type: 'regression' },
          source: {
            kind: 'postgres',
            urlEnv: 'DEMAND_DB',
            query: '  -- the forecasts with their outcome\n  WITH f AS (SELECT * FROM forecasts) SELECT * FROM f  ',
            columns: { requestId: 'id', ts: 'at', modelVersion: 'v', features: 'inputs', value: 'yhat', outcome: 'y' },
          },
        },
      ],
    }).models[0]!.source as PostgresSource;
    assert.equal(query.query, '-- the forecasts with their outcome\n  WITH f AS (SELECT * FROM forecasts) SELECT * FROM f', 'trimmed');
    assert.equal(query.columns.features, 'inputs', 'one jsonb column');
  });

  it('refuses a missing urlEnv, and a URL put in its place without repeating it', () => {
    const { urlEnv: _u, ...noEnv } = SOURCE;
    assert.deepEqual(issuesOf({ source: noEnv }), [
      'models.0.source.urlEnv: is required: the name of the environment variable holding the PostgreSQL URL, such as "FRAUD_DB_URL" (the URL is a secret, never in the config)',
    ]);
    const url = configError({ models: [{ ...MODEL, source: { ...SOURCE, urlEnv: 'postgres://scorer:hunter2-secret@db:5432/fraud' } }] });
    assert.deepEqual(
      url.issues.map((i) => i.path),
      ['models.0.source.urlEnv'],
    );
    assert.match(url.message, /must be the NAME of an environment variable holding the URL .*not the URL itself/);
    assert.doesNotMatch(url.message, /hunter2/, 'the URL is not repeated');
    assert.deepEqual(issuesOf({ source: { ...SOURCE, urlEnv: '9LIVES' } }), [
      'models.0.source.urlEnv: must be the name of an environment variable: letters, digits and "_", not starting with a digit (such as "FRAUD_DB_URL")',
    ]);
    // A url key is no field of the source: the config has no place for the secret.
    assert.deepEqual(issuesOf({ source: { ...SOURCE, url: 'postgres://x' } }), ['models.0.source: unknown key "url"']);
  });

  it('needs exactly one of table and query', () => {
    const { table: _t, ...neither } = SOURCE;
    assert.deepEqual(issuesOf({ source: neither }), ['models.0.source.table: exactly one of "table" ("schema.table") or "query" (a SELECT) is required']);
    assert.deepEqual(issuesOf({ source: { ...SOURCE, query: 'SELECT * FROM scoring.fraud_scores' } }), [
      'models.0.source.query: give exactly one of "table" or "query", not both',
    ]);
  });

  it('refuses table names and queries that cannot be read', () => {
    const bad = (table: string) => issuesOf({ source: { ...SOURCE, table } });
    for (const table of ['a.b.c', 'scoring.', '', ' fraud', 'x'.repeat(64), '"Scoring"."Fraud"']) {
      assert.deepEqual(
        bad(table).map((i) => i.split(':')[0]),
        ['models.0.source.table'],
        table,
      );
    }
    assert.match(bad('a.b.c')[0]!, /must be "table" or "schema.table"/);
    const { table: _t, ...noTable } = SOURCE;
    const query = (q: string) => issuesOf({ source: { ...noTable, query: q } });
    assert.deepEqual(query('SELECT * FROM scoring.fraud_scores;'), [
      'models.0.source.query: must not end with ";": it is read as a subquery, SELECT … FROM (<query>) AS src',
    ]);
    assert.deepEqual(query('DELETE FROM scoring.fraud_scores RETURNING *'), [
      'models.0.source.query: must be one SELECT (or WITH … SELECT) query: it is read as a subquery, SELECT … FROM (<query>) AS src',
    ]);
    assert.deepEqual(query('   '), ['models.0.source.query: must not be empty']);
    // Names are quoted by Vigil: spaces and capitals are fine, and case counts, as in the catalog.
    assert.doesNotThrow(() => parseConfig({ models: [{ ...MODEL, source: { ...SOURCE, table: 'Scoring.Fraud Scores' } }] }));
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: { ...COLUMNS, outcome: '"is_fraud"' } } }), [
      "models.0.source.columns.outcome: must not contain '\"': Vigil quotes names itself; write them as the catalog stores them (Scoring.Fraud Scores)",
    ]);
  });

  it('needs the prediction column of the task type, and refuses the others', () => {
    const { score: _s, ...noScore } = COLUMNS;
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: noScore } }), [
      'models.0.source.columns.score: is required: the model is binary, its prediction is read from the "score" column (binary: "score", multiclass: "label", regression: "value")',
    ]);
    assert.deepEqual(issuesOf({ task: { type: 'multiclass', classes: ['a', 'b'] }, source: SOURCE }), [
      'models.0.source.columns.label: is required: the model is multiclass, its prediction is read from the "label" column (binary: "score", multiclass: "label", regression: "value")',
      'models.0.source.columns.score: does not apply: the model is multiclass, its prediction is read from "label" (binary: "score", multiclass: "label", regression: "value")',
    ]);
    assert.doesNotThrow(() =>
      parseConfig({ models: [{ ...MODEL, task: { type: 'regression' }, source: { ...SOURCE, columns: { ...noScore, value: 'y' } } }] }),
    );
  });

  it('names every missing or malformed column', () => {
    const { requestId: _r, outcome: _o, ...rest } = COLUMNS;
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: { ...rest, features: [], labeledAt: 3 } } }).sort(), [
      'models.0.source.columns.features: must name at least one feature column',
      'models.0.source.columns.labeledAt: must be a string: the column of when the outcome became known',
      'models.0.source.columns.outcome: is required (the column of the true outcome (the label))',
      "models.0.source.columns.requestId: is required (the column of the request's id)",
    ]);
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: { ...COLUMNS, features: ['amount', 'amount'] } } }), [
      'models.0.source.columns.features.1: "amount" is listed twice',
    ]);
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: { ...COLUMNS, features: 7 } } }), [
      'models.0.source.columns.features: must be a list of feature columns (["amount", "merchant"]), or the name of one json/jsonb column holding them',
    ]);
    assert.deepEqual(issuesOf({ source: { ...SOURCE, columns: { ...COLUMNS, labelledAt: 'label_time' } } }), [
      'models.0.source.columns: unknown key "labelledAt" (did you mean "labeledAt"?)',
    ]);
  });

  it('refuses an unknown kind, an example model, and a shadow canary on a postgres source', () => {
    assert.deepEqual(issuesOf({ source: { kind: 'mysql' } }), [
      'models.0.source.kind: kind must be "ingest" (predictions sent to Vigil over HTTP, the default) or "postgres" (read from the team\'s own table)',
    ]);
    assert.deepEqual(issuesOf({ example: true, source: SOURCE }), [
      'models.0.source: an example model\'s traffic is simulated into Vigil\'s own prediction log: use source.kind "ingest" (or "example": false)',
    ]);
    assert.deepEqual(issuesOf({ source: SOURCE, runbooks: { data_drift: { retrain: { canary: { mode: 'shadow' } } } } }), [
      'models.0.runbooks.data_drift.retrain.canary.mode: a shadow canary is judged on shadow answers logged in Vigil; source.kind "postgres" reads the model\'s own table, which has none: use "split"',
    ]);
  });
});

describe('source statements', () => {
  const model = (source: Record<string, unknown>, task: Record<string, unknown> = { type: 'binary' }) => {
    const m = parseConfig({ models: [{ ...MODEL, task, source: { ...SOURCE, ...source } }] }).models[0]!;
    return { id: m.id, task: m.task, source: m.source as PostgresSource };
  };

  it('quotes every name and binds every value', () => {
    const valid = model({ table: 'Scoring.Fraud Scores' });
    assert.equal(sourceStatements(valid).from, '"Scoring"."Fraud Scores" AS src');
    // Past the config's checks too: a name with quotes in it stays one name.
    const s = sourceStatements({
      ...valid,
      source: { ...valid.source, table: 'Scoring."x', columns: { ...valid.source.columns, features: ['Amount', 'a"b'], requestId: 'id"; DROP TABLE t; --' } },
    });
    assert.equal(s.from, '"Scoring"."""x" AS src');
    const { text, values } = s.recent({ limit: 10, asOf: new Date(0), since: new Date(1), until: false, labelledOnly: true });
    assert.match(text, /src\."id""; DROP TABLE t; --"::text AS request_id/);
    assert.match(text, /jsonb_build_object\('Amount', src\."Amount", 'a"b', src\."a""b"\)/);
    assert.match(text, /src\."scored_at" >= \$1::timestamptz/);
    assert.match(text, /src\."is_fraud" IS NOT NULL AND src\."label_time" <= \$2::timestamptz/);
    assert.match(text, /LIMIT \$3::int$/);
    assert.deepEqual(values, [new Date(1), new Date(0), 10]);
  });

  it('binds only the parameters a statement uses (PostgreSQL refuses one it cannot type)', () => {
    const { labeledAt: _l, ...noLabelTime } = COLUMNS;
    const { text, values } = sourceStatements(model({ columns: noLabelTime })).recent({ limit: 5, asOf: new Date(0), until: false, labelledOnly: true });
    assert.doesNotMatch(text, /\$\d+::timestamptz/);
    assert.match(text, /src\."is_fraud" IS NOT NULL/);
    assert.deepEqual(values, [5]);
  });

  it('reads a query as a subquery, on lines of its own', () => {
    const { table: _t, ...noTable } = SOURCE;
    const m = parseConfig({ models: [{ ...MODEL, source: { ...noTable, query: 'SELECT * FROM scores -- all of them' } }] }).models[0]!;
    const s = sourceStatements({ id: m.id, task: m.task, source: m.source as PostgresSource });
    assert.equal(s.from, '(\nSELECT * FROM scores -- all of them\n) AS src');
  });

  it('splits many feature columns over several jsonb_build_object calls (at most 100 arguments each)', () => {
    const features = Array.from({ length: 120 }, (_, i) => `f${i}`);
    const { text } = sourceStatements(model({ columns: { ...COLUMNS, features } })).recent({ limit: 1, asOf: new Date(), until: false, labelledOnly: false });
    assert.equal(text.match(/jsonb_build_object\(/g)?.length, 3);
  });
});
