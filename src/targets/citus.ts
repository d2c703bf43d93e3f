/**
 * The Citus target, on any coordinator (local or a user's): finding the workers, distributing the
 * tutorial tables by site_id with colocation, and describing shards and colocation for run.json.
 * Works through the coordinator only; workers are reached with Citus's own run_command_on_workers.
 */
import type { ClientBase } from 'pg';
import { UsageError } from '../errors.js';
import type { CitusInfo } from '../results/run-record.js';

/** Anything that runs queries: a pg Client or a pool client. */
export type SqlClient = Pick<ClientBase, 'query'>;

/** The distribution column of every tutorial event table. */
export const DISTRIBUTION_COLUMN = 'site_id';

/** A Citus worker as the coordinator names it. */
export interface WorkerNode {
  name: string;
  port: number;
}

/** Whether the citus extension is created in the connected database. */
export async function isCitus(client: SqlClient): Promise<boolean> {
  const r = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`);
  return (r.rowCount ?? 0) > 0;
}

async function requireCitus(client: SqlClient): Promise<void> {
  if (!(await isCitus(client))) throw new UsageError('the database is not a Citus coordinator (no citus extension: CREATE EXTENSION citus)');
}

/**
 * The active workers (`citus_get_active_worker_nodes()`), sorted by name and port.
 * @throws UsageError when the database has no citus extension or no active worker.
 */
export async function activeWorkers(client: SqlClient): Promise<WorkerNode[]> {
  await requireCitus(client);
  const r = await client.query<{ node_name: string; node_port: string | number }>(
    'SELECT node_name, node_port FROM citus_get_active_worker_nodes() ORDER BY node_name, node_port',
  );
  if (r.rows.length === 0) throw new UsageError('Citus coordinator has no active workers (citus_add_node)');
  return r.rows.map((row) => ({ name: row.node_name, port: Number(row.node_port) }));
}

/** How a table is in Citus's metadata, or undefined when it is a plain table. */
interface Placement {
  name: string;
  method: string;
  column: string | null;
  colocationId: number;
  shardCount: number;
}

async function placementOf(client: SqlClient, table: string): Promise<Placement | undefined> {
  const exists = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [table]);
  if (exists.rows[0]?.oid == null) throw new UsageError(`table ${table} does not exist`);
  const r = await client.query<{ name: string; method: string; col: string | null; colocationid: number; shards: string }>(
    `SELECT p.logicalrelid::regclass::text AS name, p.partmethod::text AS method,
            CASE WHEN p.partkey IS NOT NULL THEN column_to_column_name(p.logicalrelid, p.partkey) END AS col,
            p.colocationid, (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid) AS shards
       FROM pg_dist_partition p WHERE p.logicalrelid = to_regclass($1)`,
    [table],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { name: row.name, method: row.method, column: row.col, colocationId: row.colocationid, shardCount: Number(row.shards) };
}

function describeKind(p: Placement): string {
  if (p.method === 'h') return `distributed by ${p.column ?? '(none)'}`;
  if (p.method === 'n') return p.colocationId === 0 ? 'a Citus local table' : 'a Citus reference table';
  return `distributed by ${p.method === 'r' ? 'range' : p.method === 'a' ? 'append' : p.method} on ${p.column ?? '(none)'}`;
}

/**
 * Distribute `tables` by site_id, colocated with the first one: `create_distributed_table(t,
 * 'site_id')`, the first with `shard_count := N` when given, the others with `colocate_with :=`
 * the first (their shard count follows). Tables already distributed by site_id are left as they
 * are, so calling again is a no-op. Existing rows move to the shards; the coordinator's local
 * copy is truncated afterwards.
 * @throws UsageError for a missing table, a table distributed another way (other column, other
 *   method, reference or local table), a shard count other than the one asked for, or no workers.
 */
export async function distributeTables(client: SqlClient, tables: readonly string[], opts: { shardCount?: number } = {}): Promise<void> {
  if (opts.shardCount !== undefined && (!Number.isInteger(opts.shardCount) || opts.shardCount < 1 || opts.shardCount > 64000)) {
    throw new UsageError(`shard count ${opts.shardCount} is not an integer in 1..64000`);
  }
  await activeWorkers(client);
  const [first] = tables;
  if (first === undefined) return;
  for (const [i, table] of tables.entries()) {
    const p = await placementOf(client, table);
    if (p) {
      if (p.method !== 'h' || p.column !== DISTRIBUTION_COLUMN) {
        throw new UsageError(`table ${table} is ${describeKind(p)}, not by ${DISTRIBUTION_COLUMN}: drop and recreate it (--reset) or use another database`);
      }
      if (opts.shardCount !== undefined && p.shardCount !== opts.shardCount) {
        throw new UsageError(`table ${table} is already distributed with ${p.shardCount} shards, not ${opts.shardCount}: drop and recreate it (--reset) to change the shard count`);
      }
      continue;
    }
    if (i === 0) {
      // Citus refuses shard_count together with colocate_with naming a table.
      await client.query(`SELECT create_distributed_table($1::regclass, $2, shard_count := $3)`, [table, DISTRIBUTION_COLUMN, opts.shardCount ?? null]);
    } else {
      const head = await placementOf(client, first);
      if (!head) throw new UsageError(`table ${first} is not distributed, so ${table} cannot be colocated with it`);
      await client.query(`SELECT create_distributed_table($1::regclass, $2, colocate_with := $3)`, [table, DISTRIBUTION_COLUMN, head.name]);
    }
    // Rows present before distribution were copied to the shards; drop the coordinator's copy.
    await client.query('SELECT truncate_local_data_after_distributing_table($1::regclass)', [table]);
  }
}

/**
 * Citus version, workers, shards per table and per node, colocation and hll coverage of `tables`.
 * @throws UsageError when a table is not hash-distributed, or the tables are not colocated.
 */
export async function citusInfo(client: SqlClient, tables: readonly string[]): Promise<CitusInfo> {
  await requireCitus(client);
  const [first] = tables;
  if (first === undefined) throw new UsageError('citusInfo needs at least one table');
  const v = await client.query<{ release: string | null; ext: string }>(
    `SELECT substring(citus_version() FROM '^Citus ([0-9][^ ]*)') AS release, (SELECT extversion FROM pg_extension WHERE extname = 'citus') AS ext`,
  );
  const version = v.rows[0]?.release ?? v.rows[0]?.ext ?? 'unknown';
  const workers = await client.query('SELECT 1 FROM citus_get_active_worker_nodes()');

  const info: Record<string, { shardCount: number; colocationId: number }> = {};
  for (const table of tables) {
    const p = await placementOf(client, table);
    if (!p || p.method !== 'h') throw new UsageError(`table ${table} is ${p ? describeKind(p) : 'not distributed'}: distribute it by ${DISTRIBUTION_COLUMN} first`);
    info[table] = { shardCount: p.shardCount, colocationId: p.colocationId };
  }
  const groups = new Set(Object.values(info).map((t) => t.colocationId));
  if (groups.size > 1) {
    const list = Object.entries(info).map(([t, x]) => `${t} (colocation ${x.colocationId})`).join(', ');
    throw new UsageError(`tables are not colocated: ${list}; distribute them with colocate_with, or drop and recreate them (--reset)`);
  }
  const head = info[first] ?? { shardCount: 0, colocationId: 0 };

  const nodes = await client.query<{ nodename: string; nodeport: number; n: string }>(
    `SELECT nodename, nodeport, count(*) AS n FROM citus_shards WHERE table_name = to_regclass($1) GROUP BY 1, 2 ORDER BY 1, 2`,
    [first],
  );
  return {
    version,
    workerCount: workers.rowCount ?? 0,
    shardCount: head.shardCount,
    shardsPerNode: Object.fromEntries(nodes.rows.map((r) => [`${r.nodename}:${r.nodeport}`, Number(r.n)])),
    colocationId: head.colocationId,
    tables: info,
    hllMissingOn: await hllMissingNodes(client),
  };
}

/** `name:port` of the coordinator when it is in the metadata, else `coordinator`. */
async function coordinatorName(client: SqlClient): Promise<string> {
  const r = await client.query<{ nodename: string; nodeport: number }>(
    `SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0 AND noderole = 'primary' LIMIT 1`,
  );
  const row = r.rows[0];
  return row ? `${row.nodename}:${row.nodeport}` : 'coordinator';
}

/** Nodes without the hll extension in this database: the coordinator first, then workers. */
async function hllMissingNodes(client: SqlClient): Promise<string[]> {
  const missing: string[] = [];
  const here = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'hll'`);
  if ((here.rowCount ?? 0) === 0) missing.push(await coordinatorName(client));
  const r = await client.query<{ nodename: string; nodeport: number; success: boolean; result: string }>(
    `SELECT nodename, nodeport, success, result
       FROM run_command_on_workers($$SELECT count(*) FROM pg_extension WHERE extname = 'hll'$$)
      ORDER BY nodename, nodeport`,
  );
  for (const row of r.rows) if (!row.success || row.result !== '1') missing.push(`${row.nodename}:${row.nodeport}`);
  return missing;
}

/**
 * Create the hll extension on the coordinator (Citus propagates CREATE EXTENSION to the
 * workers). Returns the nodes where hll is still missing afterwards (empty when all have it);
 * never throws for a missing hll, so the caller can skip the HLL probes and say where.
 */
export async function ensureHllOnAllNodes(client: SqlClient): Promise<string[]> {
  await requireCitus(client);
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS hll');
  } catch {
    // Not installed on the coordinator or on a worker: the check below names the nodes.
  }
  return hllMissingNodes(client);
}

/**
 * Where the shard of each site 0..sites−1 of http_request lives (`host:port` of its primary
 * placement), for attributing ingest to nodes. Read once at set-up: a shard moved during the run
 * is attributed to its old node.
 */
export async function sitePlacement(client: SqlClient, sites: number): Promise<{ nodes: string[]; nodeOfSite: number[] }> {
  const r = await client.query<{ site: number; node: string }>(
    `SELECT s.site, p.nodename || ':' || p.nodeport AS node
       FROM generate_series(0, $1::int - 1) AS s(site)
       JOIN pg_dist_placement pl ON pl.shardid = get_shard_id_for_distribution_column('http_request', s.site)
       JOIN pg_dist_node p ON p.groupid = pl.groupid AND p.noderole = 'primary'
      ORDER BY s.site`,
    [sites],
  );
  const nodes = [...new Set(r.rows.map((x) => x.node))].sort();
  const nodeOfSite = new Array<number>(sites).fill(0);
  for (const x of r.rows) nodeOfSite[x.site] = nodes.indexOf(x.node);
  return { nodes, nodeOfSite };
}
