/**
 * On-disk sizes behind the figures: raw table, rollup table, and the HLL
 * column's share. On a Citus coordinator a distributed table's size is that
 * of its shards (citus_total_relation_size), never the coordinator's empty
 * shell table.
 */
import type pg from 'pg';
import { quoteIdent } from '../sql-quote.js';
import type { TableSizes } from '../results/run-record.js';

/** Total size of `regclassText` (quoted name), bytes; null when it does not exist. Citus: the shards' size when distributed. */
/** The leaves of $1's partition tree as `t(relid)`; a plain table (whose tree PostgreSQL 15 returns empty) is its own leaf. */
export const LEAVES = `(SELECT relid FROM pg_partition_tree(to_regclass($1)) WHERE isleaf
                       UNION SELECT to_regclass($1) WHERE NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1))) t`;

async function relationBytes(client: pg.ClientBase, regclassText: string, citus: boolean): Promise<number | null> {
  // A partitioned table's own size is 0: sum its leaves (a plain table is its own only leaf).
  const leaf = citus
    ? `CASE WHEN EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t.relid) THEN citus_total_relation_size(t.relid) ELSE pg_total_relation_size(t.relid) END`
    : 'pg_total_relation_size(t.relid)';
  const sql = `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL
                          ELSE (SELECT coalesce(sum(${leaf}), 0) FROM ${LEAVES}) END AS n`;
  const r = await client.query<{ n: string | null }>(sql, [regclassText]);
  const n = r.rows[0]?.n;
  return n == null ? null : Number(n);
}

/** Sizes of http_request and `rollupTable` (looked up in the search_path). */
export async function tableSizes(client: pg.ClientBase, rollupTable: string): Promise<TableSizes> {
  const quoted = quoteIdent(rollupTable);
  const ext = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`);
  const citus = (ext.rowCount ?? 0) > 0;
  const r = await client.query<{ has_hll: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass($1) AND attname = 'distinct_ip_addresses' AND NOT attisdropped) AS has_hll`,
    [quoted],
  );
  let hllColumnBytes: number | null = null;
  if (r.rows[0]?.has_hll) {
    // On Citus an aggregate over the distributed table: summed on the shards.
    const h = await client.query<{ n: string }>(`SELECT coalesce(sum(pg_column_size(distinct_ip_addresses)), 0) AS n FROM ${quoted}`);
    hllColumnBytes = Number(h.rows[0]?.n ?? 0);
  }
  return {
    rawTableBytes: (await relationBytes(client, 'http_request', citus)) ?? 0,
    rollupTableBytes: await relationBytes(client, quoted, citus),
    hllColumnBytes,
  };
}
