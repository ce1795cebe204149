/**
 * Per-version live performance by task type, in one SQL statement around a subquery of the rows
 * (the built-in log's `predictions`, or a team's table through its column mapping). The subquery gives,
 * per prediction in the window:
 *
 *   version    the model version (grouped on; returned as given)
 *   arrived    a usable label has arrived (binary: one of the two classes; regression: a number)
 *   predicted  binary, multiclass: the predicted class as a key (text); regression: NULL
 *   truth      binary, multiclass: the label as a key (text) once arrived; regression: NULL
 *   err        regression: prediction − label once arrived; otherwise NULL
 *
 * and the statement returns one row per version: predictions, labelled, correct (predicted = truth),
 * MAE and RMSE (of err), and for multiclass the macro-F1 over the model's classes, from the labelled
 * rows' confusion counts (a class never predicted right counts 0, as in domain/taskMetrics.ts).
 */
import type { LivePerformance } from '../../domain/canaryVerdict.js';
import type { TaskConfig } from '../../domain/task.js';

export interface LivePerformanceRow {
  version: number | string;
  predictions: string;
  labelled: string;
  correct: string;
  mae: number | null;
  rmse: number | null;
  macro_f1: number | null;
}

/**
 * The statement around `rows` (an SQL subquery, without parentheses). `classes` is the parameter
 * holding the multiclass model's class keys (text[]), and only for multiclass.
 */
export function livePerformanceStatement(rows: string, classes?: string): string {
  const totals = `SELECT version,
         count(*) AS predictions,
         count(*) FILTER (WHERE arrived) AS labelled,
         count(*) FILTER (WHERE arrived AND predicted = truth) AS correct,
         avg(abs(err)) FILTER (WHERE arrived) AS mae,
         sqrt(avg(err * err) FILTER (WHERE arrived)) AS rmse
    FROM r GROUP BY version`;
  if (classes === undefined) return `WITH r AS (${rows}),\ntotals AS (${totals})\nSELECT totals.*, NULL::float8 AS macro_f1 FROM totals`;
  return `WITH r AS (${rows}),
totals AS (${totals}),
confusion AS (SELECT version, predicted, truth, count(*) AS n FROM r WHERE arrived GROUP BY version, predicted, truth),
per_class AS (
  SELECT c.version, k.class,
         coalesce(sum(c.n) FILTER (WHERE c.predicted = k.class AND c.truth = k.class), 0) AS tp,
         coalesce(sum(c.n) FILTER (WHERE c.predicted = k.class AND c.truth IS DISTINCT FROM k.class), 0) AS fp,
         coalesce(sum(c.n) FILTER (WHERE c.truth = k.class AND c.predicted IS DISTINCT FROM k.class), 0) AS fn
    FROM confusion c CROSS JOIN unnest(${classes}) AS k(class)
   GROUP BY c.version, k.class),
f1 AS (SELECT version, avg(CASE WHEN tp = 0 THEN 0 ELSE 2 * tp / (2 * tp + fp + fn) END)::float8 AS macro_f1 FROM per_class GROUP BY version)
SELECT totals.*, f1.macro_f1 FROM totals LEFT JOIN f1 USING (version)`;
}

/** A version's figures by task type: each metric only with labels. */
export function toLivePerformance(task: TaskConfig, row: LivePerformanceRow): LivePerformance {
  const labelled = Number(row.labelled);
  const out: LivePerformance = { predictions: Number(row.predictions), labelled };
  if (labelled === 0) return out;
  if (task.type === 'regression') {
    if (row.mae !== null) out.mae = Number(row.mae);
    if (row.rmse !== null) out.rmse = Number(row.rmse);
    return out;
  }
  out.accuracy = Number(row.correct) / labelled;
  if (task.type === 'multiclass' && row.macro_f1 !== null) out.macroF1 = Number(row.macro_f1);
  return out;
}

/** A jsonb value as a class key, as JavaScript's String() writes it: numbers in their shortest form, text as it is. */
export function jsonbKey(expr: string): string {
  return `CASE jsonb_typeof(${expr}) WHEN 'number' THEN ((${expr} #>> '{}')::float8)::text WHEN 'boolean' THEN CASE WHEN ${expr} = 'true'::jsonb THEN '1' ELSE '0' END ELSE ${expr} #>> '{}' END`;
}

/** The multiclass model's class keys (as ingestion and the metrics compare them), for `classes`. */
export function classKeys(task: TaskConfig): string[] {
  return task.type === 'multiclass' ? task.classes.map(String) : [];
}
