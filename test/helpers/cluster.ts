/**
 * Local PostgreSQL for integration tests. Each test file starts (and stops) its own cluster;
 * nothing here is global, so files can run in any order or in parallel.
 */
import { findPgBinDir, startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../src/targets/local-cluster.js';

/** Whether PostgreSQL server binaries are installed (tests skip, naming the install, when not). */
export function pgAvailable(): boolean {
  try {
    findPgBinDir();
    return true;
  } catch {
    return false;
  }
}

/**
 * Start a throwaway cluster tuned for tests: durability off, since it is deleted at the end.
 * The caller must `await cluster.stop()` (in `after` or `finally`).
 */
export async function startTestCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', ...opts.settings };
  return startLocalCluster({ ...opts, settings });
}
