/**
 * Citus: the per-node view. Each worker's WAL moved over the measure phase
 * (its WAL position read through run_command_on_workers at the boundaries),
 * and rows and bytes of the raw table per node (shard skew), from the
 * coordinator's metadata.
 */
import type pg from 'pg';
import type { NodeFigures, ServerRole } from '../results/run-record.js';
import { roleOf } from './roles.js';

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

/** Citus's global pid of a worker session it opened: `citus_internal gpid=<node id × 10^10 + pid>`. */
const GPID = /^citus_internal gpid=(\d+)$/;

/**
 * The role of a session on a worker: a Citus internal connection counts as the
 * coordinator backend that opened it (its gpid holds that backend's pid);
 * anything else by its own application_name. Pure.
 */
export function workerRole(applicationName: string | null, backendType: string | null, coordinatorRoles: ReadonlyMap<number, ServerRole>): ServerRole | null {
  const m = GPID.exec(applicationName ?? '');
  if (m) {
    const pid = Number(BigInt(m[1]!) % 10_000_000_000n);
    return coordinatorRoles.get(pid) ?? 'harness';
  }
  return roleOf(applicationName, backendType);
}
