/**
 * Citus: the per-node view. Each worker's WAL moved over the measure phase
 * (its WAL position read through run_command_on_workers at the boundaries),
 * and rows and bytes of the raw table per node (shard skew), from the
 * coordinator's metadata.
 */
import type pg from 'pg';
import type { NodeFigures } from '../results/run-record.js';

/** WAL positions (bytes) per node at the two boundaries: `coordinator` and `host:port` keys. */
export interface NodeWal {
  readonly before: Record<string, number> | null;
  readonly after: Record<string, number> | null;
}

/** Per node: WAL moved, and rows and bytes of http_request's shards placed there. */
export async function citusNodeFigures(client: pg.ClientBase, wal: NodeWal): Promise<NodeFigures[]> {
  const sizes = await client.query<{ node: string; bytes: string }>(
    `SELECT nodename || ':' || nodeport AS node, sum(shard_size)::text AS bytes
       FROM citus_shards WHERE table_name = 'http_request'::regclass GROUP BY 1 ORDER BY 1`,
  );
  // Exact rows per node: count per shard on the workers (one statement per shard through the coordinator).
  const counts = await client.query<{ node: string; rows: string }>(
    `SELECT nodename || ':' || nodeport AS node, sum(result::bigint)::text AS rows
       FROM run_command_on_shards('http_request', $$SELECT count(*) FROM %s$$) r
       JOIN pg_dist_shard_placement p USING (shardid)
      WHERE r.success GROUP BY 1`,
  ).catch(() => null);
  const rowsByNode = new Map((counts?.rows ?? []).map((r) => [r.node, Number(r.rows)]));
  const nodes = new Set<string>(['coordinator', ...sizes.rows.map((r) => r.node), ...Object.keys(wal.after ?? {})]);
  const out: NodeFigures[] = [];
  for (const node of nodes) {
    const size = sizes.rows.find((r) => r.node === node);
    const b = wal.before?.[node];
    const a = wal.after?.[node];
    out.push({
      node,
      walBytes: a !== undefined && b !== undefined ? a - b : null,
      rowsInRaw: node === 'coordinator' && !size ? null : rowsByNode.get(node) ?? null,
      rawBytes: size ? Number(size.bytes) : null,
    });
  }
  return out;
}

/** Totals over the nodes (null when a node's figure is missing). */
export function nodeTotals(nodes: readonly NodeFigures[]): { walBytes: number | null; rowsInRaw: number | null; rawBytes: number | null } {
  const sum = (k: 'walBytes' | 'rowsInRaw' | 'rawBytes'): number | null => {
    const xs = nodes.map((x) => x[k]).filter((x): x is number => x !== null);
    return xs.length ? xs.reduce((a, b) => a + b, 0) : null;
  };
  return { walBytes: sum('walBytes'), rowsInRaw: sum('rowsInRaw'), rawBytes: sum('rawBytes') };
}
