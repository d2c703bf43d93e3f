/**
 * How wrong is HLL? The exact distinct count of IP addresses from raw data
 * and the HLL estimate from the rollup, over the same closed periods and the
 * same snapshot, per window.
 */
import type pg from 'pg';
import { relativeError } from './figures.js';
import { granularityOfTable, periodInterval, type ProbeWindow } from './windows.js';
import { quoteIdent } from '../sql-quote.js';

/** Options of {@link measureHllError}. */
export interface HllErrorOptions {
  /** Rollup period as an interval literal ('1 minute'); default from the table name (http_request_5min → '5 minutes'). */
  readonly period?: string;
  /**
   * End of the last rolled-up period (exclusive), e.g. the rollup driver's
   * watermark. Default: the end of the newest period in the rollup table that
   * has closed by the transaction's now().
   */
  readonly upper?: Date;
}

/** One window's measurement; bounds are ISO 8601, counts are distinct IP addresses. */
export interface HllErrorMeasurement {
  readonly window: string;
  /** Start of the first period of the window (inclusive). */
  readonly lower: string;
  /** End of the last rolled-up period (exclusive). */
  readonly upper: string;
  readonly exact: number;
  readonly hll: number;
  /** (hll - exact) / exact; null when exact is 0 or there is no estimate. */
  readonly relativeError: number | null;
}

/**
 * For each window, run the exact and the HLL query back to back inside one
 * REPEATABLE READ transaction (one snapshot for all windows), over
 * `[period_start(upper - window), upper)`: the rollup only covers rolled-up
 * periods, so the raw query is bounded by the same period range. Returns []
 * when the rollup holds no closed period. Needs the hll extension (a query
 * error otherwise).
 */
export async function measureHllError(
  client: pg.ClientBase,
  rollupTable: string,
  windows: readonly ProbeWindow[],
  opts: HllErrorOptions = {},
): Promise<HllErrorMeasurement[]> {
  const g = granularityOfTable(rollupTable);
  const period = opts.period ?? (g ? periodInterval(g) : undefined);
  if (period === undefined) throw new Error(`measureHllError: no period given and none follows from the table name ${rollupTable}`);
  const table = quoteIdent(rollupTable);
  const out: HllErrorMeasurement[] = [];
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    // Bounds travel as timestamptz text, so no precision is lost on the way through JavaScript.
    let upper: string | null;
    if (opts.upper) {
      upper = opts.upper.toISOString();
    } else {
      const r = await client.query<{ upper: string | null }>(
        `SELECT (max(ingest_time) + $1::interval)::text AS upper FROM ${table} WHERE ingest_time + $1::interval <= now()`,
        [period],
      );
      upper = r.rows[0]?.upper ?? null;
    }
    if (upper === null) {
      await client.query('COMMIT');
      return [];
    }
    for (const w of windows) {
      // date_bin with origin = upper: the period grid through upper, so lower is a period start.
      const b = await client.query<{ lower: string; lower_iso: string; upper_iso: string }>(
        `SELECT date_bin($1::interval, $2::timestamptz - $3::interval, $2::timestamptz)::text AS lower,
                to_json(date_bin($1::interval, $2::timestamptz - $3::interval, $2::timestamptz)) #>> '{}' AS lower_iso,
                to_json($2::timestamptz) #>> '{}' AS upper_iso`,
        [period, upper, w.interval],
      );
      const bounds = b.rows[0];
      if (!bounds) continue;
      const exact = await client.query<{ n: string }>(
        'SELECT count(DISTINCT ip_address) AS n FROM http_request WHERE ingest_time >= $1::timestamptz AND ingest_time < $2::timestamptz',
        [bounds.lower, upper],
      );
      const est = await client.query<{ n: number | null }>(
        `SELECT hll_cardinality(hll_union_agg(distinct_ip_addresses)) AS n FROM ${table}
          WHERE ingest_time >= $1::timestamptz AND ingest_time < $2::timestamptz`,
        [bounds.lower, upper],
      );
      const exactN = Number(exact.rows[0]?.n ?? 0);
      const hllN = est.rows[0]?.n == null ? Number.NaN : Number(est.rows[0].n);
      out.push({ window: w.label, lower: bounds.lower_iso, upper: bounds.upper_iso, exact: exactN, hll: hllN, relativeError: relativeError(hllN, exactN) });
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return out;
}
