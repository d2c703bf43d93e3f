/**
 * Rollup strategies: naming, installing (sql/rollup/<strategy>.sql rendered for
 * a granularity) and running once. See sql/rollup/*.sql for what each does.
 *
 * One strategy per rollup table: the strategies share the table names
 * (http_request_<N>min), so a database holds one strategy per granularity.
 */
import { readFile } from 'node:fs/promises';
import type { ClientBase } from 'pg';
import { UsageError } from '../errors.js';
import { sqlPath } from '../paths.js';
import { GRANULARITIES, intervalSeconds, isGranularity, renderTemplate, sqlIdent, sqlLiteral, type Granularity, type TemplateInput } from './template.js';

export { GRANULARITIES, periodExpr, type Granularity } from './template.js';

/** Anything that runs queries: a pg Client or a pool client. */
export type SqlClient = Pick<ClientBase, 'query'>;

export type RollupStrategy = 'tutorial' | 'closed-minute' | 'incremental';
export const ROLLUP_STRATEGIES: readonly RollupStrategy[] = ['tutorial', 'closed-minute', 'incremental'];

/** Default grace of closed-minute: late commits this long after their period ends are still counted. */
export const DEFAULT_GRACE_S = 10;

/** What the caller reports when the hll extension is not available. */
export const HLL_SKIPPED = 'skipped: HLL column (install postgresql-15-hll)';

export function isRollupStrategy(s: unknown): s is RollupStrategy {
  return s === 'tutorial' || s === 'closed-minute' || s === 'incremental';
}

/**
 * A granularity from user input: `5m`, `5min`, `5`, `1h`, `60m`, or a number.
 * @throws UsageError naming the accepted values.
 */
export function parseGranularity(input: string | number): Granularity {
  let minutes: number | undefined;
  if (typeof input === 'number') minutes = input;
  else {
    const m = /^\s*(\d+)\s*(m|min|mins|minutes?|h|hours?)?\s*$/i.exec(input);
    if (m?.[1] !== undefined) minutes = Number(m[1]) * (m[2] !== undefined && /^h/i.test(m[2]) ? 60 : 1);
  }
  if (isGranularity(minutes)) return minutes;
  throw new UsageError(`rollup granularity ${JSON.stringify(input)} is not one of ${GRANULARITIES.map((g) => `${g}m`).join(', ')}`);
}

/** The rollup table of a granularity: http_request_1min, _5min, _15min, _60min. */
export function rollupTable(g: Granularity): string {
  if (!isGranularity(g)) throw new UsageError(`rollup granularity ${String(g)} is not one of ${GRANULARITIES.join(', ')}`);
  return `http_request_${g}min`;
}

/** Options of {@link installRollup}. */
export interface RollupOptions {
  readonly strategy: RollupStrategy;
  readonly granularityMin: Granularity;
  /** closed-minute only: seconds after a period's end before it is rolled (default 10). */
  readonly graceS?: number;
  /** Keep a distinct_ip_addresses hll column (needs the hll extension). */
  readonly hll: boolean;
}

/** An installed rollup: what to call, and what it writes. */
export interface InstalledRollup {
  readonly strategy: RollupStrategy;
  readonly granularityMin: Granularity;
  readonly hll: boolean;
  /** Seconds (closed-minute), else 0. */
  readonly graceS: number;
  /** Rollup table name (unquoted). */
  readonly table: string;
  /** Rollup function name (unquoted). */
  readonly functionName: string;
  /** The statement that runs one rollup, e.g. `SELECT rollup_http_request()`. */
  readonly callSql: string;
  /** Key of the bookkeeping row (closed-minute, incremental). */
  readonly rollupName: string;
}

/** Names and template input for a strategy. Pure; validates every option. */
export function planRollup(opts: RollupOptions): { installed: InstalledRollup; input: TemplateInput } {
  const problems: string[] = [];
  if (!isRollupStrategy(opts.strategy)) problems.push(`rollup strategy ${JSON.stringify(opts.strategy)} is not one of ${ROLLUP_STRATEGIES.join(', ')}`);
  if (!isGranularity(opts.granularityMin)) problems.push(`rollup granularity ${String(opts.granularityMin)} is not one of ${GRANULARITIES.join(', ')}`);
  const graceS = opts.strategy === 'closed-minute' ? (opts.graceS ?? DEFAULT_GRACE_S) : 0;
  if (!Number.isFinite(graceS) || graceS < 0 || graceS > 3600) problems.push(`rollup grace ${graceS} s is not within 0..3600`);
  if (opts.graceS !== undefined && opts.strategy !== 'closed-minute') problems.push(`rollup grace applies to closed-minute only, not ${opts.strategy}`);
  if (typeof opts.hll !== 'boolean') problems.push('rollup hll must be true or false');
  if (problems.length > 0) throw new UsageError(problems);

  const g = opts.granularityMin;
  const table = rollupTable(g);
  const functionName = {
    tutorial: g === 1 ? 'rollup_http_request' : `rollup_http_request_${g}min`,
    'closed-minute': `rollup_http_request_closed_${g}min`,
    incremental: `rollup_http_request_incremental_${g}min`,
  }[opts.strategy];
  const rollupName = `${opts.strategy}:${table}`;
  const installed: InstalledRollup = {
    strategy: opts.strategy,
    granularityMin: g,
    hll: opts.hll,
    graceS,
    table,
    functionName,
    callSql: `SELECT ${sqlIdent(functionName)}()`,
    rollupName,
  };
  const input: TemplateInput = {
    periodMinutes: g,
    flags: { hll: opts.hll },
    values: {
      minutes: String(g),
      table: sqlIdent(table),
      table_idx: sqlIdent(`${table}_idx`),
      table_key: sqlIdent(`${table}_site_period_key`),
      latest_table: sqlIdent(latestRollupTable(g)),
      function: sqlIdent(functionName),
      rollup_name: sqlLiteral(rollupName),
      grace: intervalSeconds(graceS),
    },
  };
  return { installed, input };
}

/** The tutorial strategy's bookkeeping table: the tutorial's latest_rollup for 1 minute. */
export function latestRollupTable(g: Granularity): string {
  return g === 1 ? 'latest_rollup' : `latest_rollup_${g}min`;
}

/** The rendered SQL of a strategy (reads sql/rollup/<strategy>.sql). */
export async function rollupSql(opts: RollupOptions): Promise<{ installed: InstalledRollup; sql: string }> {
  const { installed, input } = planRollup(opts);
  const text = await readFile(sqlPath('rollup', `${installed.strategy}.sql`), 'utf8');
  return { installed, sql: renderTemplate(text, input) };
}

/**
 * Create the rollup table, bookkeeping and function of a strategy. Idempotent
 * (IF NOT EXISTS / OR REPLACE; bookkeeping positions are kept). Expects the
 * tutorial schema (sql/schema.sql). Runs as one transaction. `incremental`
 * adds an `event_id bigserial` column to http_request.
 */
export async function installRollup(client: SqlClient, opts: RollupOptions): Promise<InstalledRollup> {
  const { installed, sql } = await rollupSql(opts);
  await client.query(sql); // several statements in one simple query: one implicit transaction
  return installed;
}

/** Run the rollup once; returns its duration in milliseconds (µs resolution). */
export async function runRollupOnce(client: SqlClient, installed: InstalledRollup): Promise<number> {
  const t0 = process.hrtime.bigint();
  await client.query(installed.callSql);
  return Number((process.hrtime.bigint() - t0) / 1000n) / 1000;
}

/**
 * The exclusive upper bound of ingest_time that the rollup has covered, by its
 * own bookkeeping, capped at the server's now(); a period counts as closed for
 * {@link audit} when it ends at or before this bound. null when the rollup has
 * no bookkeeping yet.
 * - tutorial: the end of the period latest_rollup points at (the tutorial
 *   claims that still-open period as rolled up);
 * - closed-minute: rolled_until;
 * - incremental: the oldest ingest_time among visible rows not yet aggregated,
 *   or now() when there are none.
 */
export async function coveredUntil(client: SqlClient, installed: InstalledRollup): Promise<Date | null> {
  const { strategy, granularityMin: g } = installed;
  let sql: string;
  let params: unknown[] = [];
  if (strategy === 'tutorial') {
    sql = `SELECT least(max(minute) + interval '${g} minutes', now()) AS bound FROM ${sqlIdent(latestRollupTable(g))}`;
  } else if (strategy === 'closed-minute') {
    sql = `SELECT least(max(rolled_until), now()) AS bound FROM rtbench_rollup_window WHERE rollup_name = $1`;
    params = [installed.rollupName];
  } else {
    // No correlated subquery over a subquery in FROM: Citus (0A000) refuses that shape.
    sql = `WITH s AS (SELECT max(last_aggregated_id) AS id FROM rtbench_rollup_state WHERE rollup_name = $1)
           SELECT CASE WHEN (SELECT id FROM s) IS NULL THEN NULL
                  ELSE coalesce((SELECT min(ingest_time) FROM http_request WHERE event_id > (SELECT id FROM s)), now()) END AS bound`;
    params = [installed.rollupName];
  }
  // -infinity (closed-minute before its first run) is not a Date in node-postgres: map it to NULL.
  const r = await client.query<{ bound: Date | null }>(`SELECT CASE WHEN isfinite(q.bound) THEN q.bound END AS bound FROM (${sql}) q`, params);
  return r.rows[0]?.bound ?? null;
}

/** Whether the hll extension can be created here (the caller reports {@link HLL_SKIPPED} when not). */
export async function hllAvailable(client: SqlClient): Promise<boolean> {
  const r = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'hll'`);
  return (r.rowCount ?? 0) > 0;
}
