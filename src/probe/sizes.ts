/** On-disk sizes behind the figures: raw table, rollup table, and the HLL column's share. */
import type pg from 'pg';
import { quoteIdent } from '../sql-quote.js';
import type { TableSizes } from '../results/run-record.js';


/** Sizes of http_request and `rollupTable` (looked up in the search_path). */
export async function tableSizes(client: pg.ClientBase, rollupTable: string): Promise<TableSizes> {
  const quoted = quoteIdent(rollupTable);
  const r = await client.query<{ raw: string | null; rollup: string | null; has_hll: boolean }>(
    `SELECT pg_total_relation_size(to_regclass('http_request')) AS raw,
            pg_total_relation_size(to_regclass($1)) AS rollup,
            EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass($1) AND attname = 'distinct_ip_addresses' AND NOT attisdropped) AS has_hll`,
    [quoted],
  );
  const row = r.rows[0];
  let hllColumnBytes: number | null = null;
  if (row?.has_hll) {
    const h = await client.query<{ n: string }>(`SELECT coalesce(sum(pg_column_size(distinct_ip_addresses)), 0) AS n FROM ${quoted}`);
    hllColumnBytes = Number(h.rows[0]?.n ?? 0);
  }
  return {
    rawTableBytes: Number(row?.raw ?? 0),
    rollupTableBytes: row?.rollup == null ? null : Number(row.rollup),
    hllColumnBytes,
  };
}
