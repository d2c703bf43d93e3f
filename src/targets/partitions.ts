/**
 * Time partitions of http_request (`--partition hour|day`): created ahead of
 * the load (sql/partitions.sql on PostgreSQL, create_time_partitions on
 * Citus), listed with their sizes, and dropped when every row in them is past
 * the retention (drop-partitions expiry).
 */
import { readFile } from 'node:fs/promises';
import type { ClientBase } from 'pg';
import type { PartitionChoice } from '../config/types.js';
import { UsageError } from '../errors.js';
import { sqlPath } from '../paths.js';

type SqlClient = Pick<ClientBase, 'query'>;

/** Partition length in ms. */
export const PARTITION_STEP_MS: Record<Exclude<PartitionChoice, 'none'>, number> = { hour: 3_600_000, day: 86_400_000 };
const STEP_SQL: Record<Exclude<PartitionChoice, 'none'>, string> = { hour: '1 hour', day: '1 day' };

/** What a run writes into the partitions, for {@link partitionWindow}. */
export interface PartitionPlanInput {
  readonly partition: Exclude<PartitionChoice, 'none'>;
  /** The server's now, ms since the epoch. */
  readonly nowMs: number;
  /** Preloaded history reaches back this far. */
  readonly preloadSpanMs: number;
  /** Warm-up + measure (+ any later steps) of the live load. */
  readonly runMs: number;
}

/**
 * [fromMs, toMs) the partitions must cover: the preload span and the run,
 * each widened by one partition and at least 10 minutes so that clock skew
 * and a slow set-up never send a row to a missing partition. Pure.
 */
export function partitionWindow(p: PartitionPlanInput): { fromMs: number; toMs: number } {
  const margin = Math.max(PARTITION_STEP_MS[p.partition], 600_000);
  return { fromMs: p.nowMs - p.preloadSpanMs - margin, toMs: p.nowMs + p.runMs + margin };
}

/** How http_request is partitioned now: none, hour, day, or other (partitioned some other way). */
export async function currentPartitioning(client: SqlClient): Promise<PartitionChoice | 'other' | 'absent' | 'no-partitions'> {
  const r = await client.query<{ t: string | null; strategy: string | null; col: string | null }>(
    `SELECT to_regclass('http_request')::text AS t, p.partstrat AS strategy,
            (SELECT attname FROM pg_attribute WHERE attrelid = p.partrelid AND attnum = p.partattrs[0]) AS col
       FROM (SELECT 1) one LEFT JOIN pg_partitioned_table p ON p.partrelid = to_regclass('http_request')`,
  );
  const row = r.rows[0];
  if (!row?.t) return 'absent';
  if (!row.strategy) return 'none';
  if (row.strategy !== 'r' || row.col !== 'ingest_time') return 'other';
  await installPartitionFunctions(client);
  const s = await client.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(to_value - from_value)) * 1000)::float8 AS ms FROM rtbench_time_partitions('http_request')`,
  );
  const ms = s.rows[0]?.ms ?? null;
  // Partitioned on ingest_time but no partition yet (a set-up cut short): either step fits.
  if (ms === null) return 'no-partitions';
  if (ms === PARTITION_STEP_MS.hour) return 'hour';
  if (ms === PARTITION_STEP_MS.day) return 'day';
  return 'other';
}

/** Install the helper functions of sql/partitions.sql (idempotent). */
export async function installPartitionFunctions(client: SqlClient): Promise<void> {
  await client.query(await readFile(sqlPath('partitions.sql'), 'utf8'));
}

/**
 * Create the partitions covering [from, to) (existing ones are kept). On
 * Citus, http_request must be distributed first; create_time_partitions makes
 * the partitions and their shards. Returns how many partitions exist after.
 */
export async function ensurePartitions(
  client: SqlClient,
  opts: { partition: Exclude<PartitionChoice, 'none'>; from: Date; to: Date; citus: boolean },
): Promise<{ created: number; total: number }> {
  await installPartitionFunctions(client);
  const before = await countPartitions(client);
  if (opts.citus) {
    // Citus aligns boundaries to the interval itself; created partitions are distributed and colocated with the parent.
    await client.query(
      `SELECT create_time_partitions(table_name := 'http_request'::regclass, partition_interval := $1::interval, end_at := $2, start_from := $3)`,
      [STEP_SQL[opts.partition], opts.to, opts.from],
    );
  } else {
    await client.query(`SELECT rtbench_create_time_partitions('http_request'::regclass, $1::interval, $2, $3)`, [STEP_SQL[opts.partition], opts.from, opts.to]);
  }
  const total = await countPartitions(client);
  return { created: total - before, total };
}

async function countPartitions(client: SqlClient): Promise<number> {
  const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'http_request'::regclass`);
  return Number(r.rows[0]?.n ?? 0);
}

/** One partition with its bounds and total size (Citus: its shards'). */
export interface PartitionInfo {
  readonly name: string;
  readonly from: Date;
  readonly to: Date;
  readonly bytes: number;
}

/** http_request's partitions, oldest first, with sizes. */
export async function listPartitions(client: SqlClient): Promise<PartitionInfo[]> {
  await installPartitionFunctions(client);
  const citus = ((await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`)).rowCount ?? 0) > 0;
  const size = citus
    ? `CASE WHEN EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = t.partition) THEN citus_total_relation_size(t.partition) ELSE pg_total_relation_size(t.partition) END`
    : 'pg_total_relation_size(t.partition)';
  const r = await client.query<{ name: string; from_value: Date; to_value: Date; bytes: string }>(
    `SELECT t.partition::text AS name, t.from_value, t.to_value, ${size} AS bytes FROM rtbench_time_partitions('http_request') t ORDER BY t.from_value`,
  );
  return r.rows.map((x) => ({ name: x.name, from: x.from_value, to: x.to_value, bytes: Number(x.bytes) }));
}

/** What one drop-partitions expiry removed. */
export interface PartitionDropResult {
  readonly partitionsDropped: number;
  readonly names: readonly string[];
  /** Rows in them, counted exactly before the drop (the count is not part of dropMs). */
  readonly rowsRemoved: number;
  /** Time of the drops ({@link dropPartitions}). */
  readonly dropMs: number;
}

/**
 * Drop every partition of http_request whose upper bound is at or before
 * `olderThan` (all its rows are older). The rows are counted first, outside
 * the timed part; the drops run in one transaction.
 */
export async function dropExpiredPartitions(client: SqlClient, olderThan: Date): Promise<PartitionDropResult> {
  const expired = await client.query<{ name: string }>(
    `SELECT e.partition::text AS name FROM rtbench_expired_partitions('http_request'::regclass, $1) e`,
    [olderThan],
  );
  const r: { name: string; n: number }[] = [];
  // Names come from the catalog as regclass text (already quoted where needed).
  for (const { name } of expired.rows) {
    const c = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    r.push({ name, n: Number(c.rows[0]?.n ?? 0) });
  }
  if (r.length === 0) return { partitionsDropped: 0, names: [], rowsRemoved: 0, dropMs: 0 };
  const t0 = process.hrtime.bigint();
  await dropPartitions(client, r.map((x) => x.name));
  const dropMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    partitionsDropped: r.length,
    names: r.map((x) => x.name),
    rowsRemoved: r.reduce((a, x) => a + x.n, 0),
    dropMs,
  };
}

/** A UsageError when http_request is partitioned otherwise than asked (and --reset is not given). */
export function partitioningMismatch(found: PartitionChoice | 'other' | 'no-partitions', wanted: PartitionChoice): UsageError | null {
  if (found === wanted || (found === 'no-partitions' && wanted !== 'none')) return null;
  const what = (p: PartitionChoice | 'other' | 'no-partitions'): string => (p === 'none' ? 'not partitioned' : p === 'other' || p === 'no-partitions' ? 'partitioned another way' : `partitioned by ${p}`);
  return new UsageError(`http_request is ${what(found)}, but --partition ${wanted} asks for ${wanted === 'none' ? 'a plain table' : `${wanted} partitions`}; ` +
    'rerun with --reset to drop and recreate the tables (their rows are deleted), or use another database');
}

/**
 * Drop these partitions of http_request. On PostgreSQL each is first
 * detached CONCURRENTLY: a plain DROP TABLE of a partition takes an ACCESS
 * EXCLUSIVE lock on the parent, which waits behind every running dashboard
 * query on http_request while every INSERT queues behind it (measured: ingest
 * p50 5 s during such a drop, 10 ms otherwise). DETACH … CONCURRENTLY takes
 * only SHARE UPDATE EXCLUSIVE on the parent, so inserts go on; it cannot run
 * in a transaction block, so each partition is detached, then dropped, on its
 * own. On Citus (no concurrent detach of distributed partitions) the drops run
 * in one transaction.
 */
export async function dropPartitions(client: SqlClient, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const citus = ((await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`)).rowCount ?? 0) > 0;
  if (!citus) {
    // Names from the catalog as regclass text (quoted where needed).
    for (const name of names) {
      await client.query(`ALTER TABLE http_request DETACH PARTITION ${name} CONCURRENTLY`);
      await client.query(`DROP TABLE ${name}`);
    }
    return;
  }
  await client.query('BEGIN');
  try {
    for (const name of names) await client.query(`DROP TABLE ${name}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
