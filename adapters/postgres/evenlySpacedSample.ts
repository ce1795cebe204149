/**
 * An evenly spaced sample of a window query's rows, in SQL, so a window of a million predictions reaches
 * Node as at most `k` rows. Row p (1-based, in the window's order) of n is kept when (p−1)·k mod n < k:
 * exactly k rows (one multiple of k falls in each [j·n, j·n + k)), one in each run of n/k, the first (the
 * newest) among them, the same rows for the same window. A window of k rows or fewer
 * comes back whole. The columns of the wrapped query come back as they are, plus `window_pos` and
 * `window_rows`, in the window's order.
 */
export function evenlySpacedSample(windowSql: string, order: string, k: string): string {
  return `SELECT ws.* FROM (
  SELECT w.*, row_number() OVER (ORDER BY ${order}) AS window_pos, count(*) OVER () AS window_rows
    FROM (${windowSql}) AS w
) AS ws
 WHERE ws.window_rows <= ${k} OR ((ws.window_pos - 1) * ${k}) % ws.window_rows < ${k}
 ORDER BY ws.window_pos`;
}
