/**
 * Citus for integration tests: the coordinator in CITUS_URL when set, else a throwaway local
 * cluster when the citus extension is installed. Tests on a shared coordinator work in a
 * schema of their own ({@link freshSchema}), so they leave its other tables alone.
 */
import { randomBytes } from 'node:crypto';
import type { ClientBase } from 'pg';
import { citusInstalled, startCitusCluster, type CitusCluster } from '../../src/targets/citus-cluster.js';
import { quoteIdent } from '../../src/sql-quote.js';

/** The skip reason when neither is available. */
export const CITUS_SKIP = 'Citus not available: set CITUS_URL to a coordinator or install the citus extension for PostgreSQL 15';

/** Where the tests get Citus: 'url' (CITUS_URL wins), 'local', or undefined (skip with {@link CITUS_SKIP}). */
export function citusSource(): 'url' | 'local' | undefined {
  if (process.env.CITUS_URL) return 'url';
  return citusInstalled() ? 'local' : undefined;
}

/** A Citus coordinator to test against. */
export interface CitusHandle {
  readonly url: string;
  /** The local cluster when one was started (undefined with CITUS_URL). */
  readonly cluster: CitusCluster | undefined;
  /** Stop and remove the local cluster; a no-op for CITUS_URL. */
  stop(): Promise<void>;
}

/**
 * CITUS_URL when set, else a local cluster (`workers` workers, default 2) tuned for tests:
 * durability off, since it is deleted at the end. The caller must `await handle.stop()`.
 */
export async function withCitus(opts: { workers?: number } = {}): Promise<CitusHandle> {
  const url = process.env.CITUS_URL;
  if (url) return { url, cluster: undefined, stop: async () => undefined };
  const cluster = await startCitusCluster({
    workers: opts.workers ?? 2,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  return { url: cluster.url, cluster, stop: () => cluster.stop() };
}

/**
 * Create a schema of our own and put it first in the session's search_path; returns its name.
 * Drop it with `DROP SCHEMA … CASCADE` (Citus drops the shards too).
 */
export async function freshSchema(client: Pick<ClientBase, 'query'>, prefix = 'rtbench_test'): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await client.query(`CREATE SCHEMA ${quoteIdent(name)}`);
  await client.query(`SET search_path TO ${quoteIdent(name)}, public`);
  return name;
}
