/**
 * Opening the database a run targets: a user's URL, a throwaway local
 * PostgreSQL, or a throwaway local Citus cluster (coordinator + N workers).
 * Whatever the CLI opened it closes, on every exit path.
 */
import { EnvironmentError, UsageError } from '../errors.js';
import { CITUS_MISSING, citusInstalled, startCitusCluster } from '../targets/citus-cluster.js';
import { startLocalCluster } from '../targets/local-cluster.js';
import { maskUrl, validateUrl } from '../targets/url.js';
import type { LocalServer } from '../targets/faults.js';
import path from 'node:path';
import { resolveTarget } from './target.js';

export type TargetSpec =
  | { readonly kind: 'url'; readonly url: string; readonly description: string }
  | { readonly kind: 'embedded' }
  | { readonly kind: 'embedded-citus'; readonly workers: number };

export interface OpenTarget {
  readonly spec: TargetSpec;
  readonly url: string;
  /** 'embedded' for throwaway clusters (single node or Citus). */
  readonly recordKind: 'embedded' | 'url';
  /** Short label for tables: "local", "local-citus:2", or the masked URL. */
  readonly label: string;
  /** Stop and remove a throwaway cluster (no-op for a URL); `keep` leaves it running. */
  close(opts?: { keep?: boolean }): Promise<void>;
  /** Synchronous last resort for process exit. */
  closeSync(): void;
  /** Lines telling how to reach / stop a kept cluster. */
  keptLines(): string[];
  /** The throwaway cluster's servers (`--fault` acts on them); absent for a URL. */
  readonly servers?: readonly LocalServer[];
}

/**
 * Parse a target as `compare-targets` takes it: `local`, `local-citus:N`, or a URL.
 */
export function parseTargetSpec(text: string, flag: string): TargetSpec {
  if (text === 'local') return { kind: 'embedded' };
  const m = /^local-citus(?::(\d+))?$/.exec(text);
  if (m) {
    const workers = m[1] === undefined ? 2 : Number(m[1]);
    if (!Number.isInteger(workers) || workers < 1 || workers > 16) throw new UsageError(`${flag} ${text}: local-citus:N needs 1 to 16 workers`);
    return { kind: 'embedded-citus', workers };
  }
  try {
    validateUrl(text);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${flag}: expected local, local-citus:N or a PostgreSQL URL (${err.message.replace(/^--url /, '')})`);
    throw err;
  }
  return { kind: 'url', url: text, description: maskUrl(text) };
}

/** The target of `rtbench run`: --citus-workers, else --url / PG* variables / embedded. */
export function runTargetSpec(url: string | undefined, citusWorkers: number | undefined, env: NodeJS.ProcessEnv): TargetSpec {
  if (citusWorkers !== undefined) {
    if (url !== undefined) throw new UsageError('--citus-workers starts a local Citus cluster; it cannot be combined with --url');
    return { kind: 'embedded-citus', workers: citusWorkers };
  }
  if (url !== undefined) validateUrl(url);
  const t = resolveTarget(url, env);
  return t.kind === 'embedded' ? { kind: 'embedded' } : { kind: 'url', url: t.url, description: t.description };
}

export async function openTarget(spec: TargetSpec, log: (line: string) => void): Promise<OpenTarget> {
  if (spec.kind === 'url') {
    return {
      spec, url: spec.url, recordKind: 'url', label: spec.description,
      close: async () => undefined, closeSync: () => undefined, keptLines: () => [],
    };
  }
  if (spec.kind === 'embedded') {
    log('rtbench: starting a throwaway local PostgreSQL');
    const c = await startLocalCluster({ log: (l) => log(`  ${l}`), dieWithProcess: true });
    log(`rtbench: local PostgreSQL on port ${c.port} (${c.pgBinDir})`);
    return {
      spec, url: c.url, recordKind: 'embedded', label: 'local',
      servers: [{ name: 'server', dataDir: c.dataDir, pgBinDir: c.pgBinDir, logFile: path.join(c.rootDir, 'server.log') }],
      close: (o) => (o?.keep ? c.detach() : c.stop()),
      closeSync: () => c.stopSync(),
      keptLines: () => [
        `local PostgreSQL left running: ${maskUrl(c.url)}`,
        `stop it with: pg_ctl -D ${c.dataDir} stop && rm -rf ${c.rootDir}`,
      ],
    };
  }
  // Before any output: without Citus this is the one line the user sees.
  if (!citusInstalled()) throw new EnvironmentError(CITUS_MISSING);
  log(`rtbench: starting a throwaway local Citus cluster: a coordinator and ${spec.workers} workers`);
  const c = await startCitusCluster({ workers: spec.workers, log: (l) => log(`  ${l}`), dieWithProcess: true });
  log(`rtbench: local Citus coordinator on port ${c.coordinator.port}, workers on ${c.workers.map((w) => w.port).join(', ')}`);
  return {
    spec, url: c.url, recordKind: 'embedded', label: `local-citus:${spec.workers}`,
    servers: [c.coordinator, ...c.workers].map((n, i) => ({
      name: i === 0 ? 'coordinator' : `worker ${i}`, dataDir: n.dataDir, pgBinDir: n.pgBinDir, logFile: path.join(n.rootDir, 'server.log'),
      // Citus registers each node by its socket directory and port.
      node: `${n.rootDir}:${n.port}`,
    })),
    close: (o) => (o?.keep ? c.detach() : c.stop()),
    closeSync: () => c.stopSync(),
    keptLines: () => [
      `local Citus coordinator left running: ${maskUrl(c.url)}`,
      `stop it with: ${[c.coordinator, ...c.workers].map((n) => `pg_ctl -D ${n.dataDir} stop`).join(' && ')} && rm -rf ${c.rootDir}`,
    ],
  };
}
