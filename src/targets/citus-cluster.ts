/**
 * A throwaway local Citus cluster: a coordinator and N workers, each a local cluster of
 * {@link startLocalCluster} in one directory per Citus cluster, removed afterwards.
 *
 * How the nodes reach each other without a password: every node keeps the local cluster's
 * policy (`local trust` over a Unix socket in a 0700 directory, scram with an unknown password
 * over TCP). All nodes run as the same OS user, so each can open the others' socket
 * directories, and Citus registers every node by its socket directory as the host name
 * (libpq takes a host that starts with `/` as a socket directory). Nobody but that OS user
 * (and root) can connect to any node; no password exists anywhere.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EnvironmentError, UsageError } from '../errors.js';
import { findPgBinDir, startLocalCluster, type LocalCluster } from './local-cluster.js';
import { runAsIds } from './pg-process.js';
import { maskSecrets } from './url.js';
import { armWatchdog, markLongLived, removeOrphanClusters, type Watchdog } from './watchdog.js';

/** The one line shown when Citus is missing. */
export const CITUS_MISSING =
  'Citus is not installed (no citus.so for PostgreSQL 15): use --url with a Citus coordinator, or the docker-compose Citus services';

/** At most this many workers: each is a full PostgreSQL server on this machine. */
export const MAX_LOCAL_WORKERS = 16;

/** Options of {@link startCitusCluster}. */
export interface CitusClusterOptions {
  /** Number of worker nodes (1..16). */
  workers: number;
  /** Database created on every node (default 'rtbench'). */
  database?: string;
  /** Parent dir for the cluster's directory (default os.tmpdir()). */
  baseDir?: string;
  /** Extra postgresql.conf lines for every node. */
  settings?: Record<string, string>;
  /** Called with human-readable progress lines (never containing secrets). */
  log?: (line: string) => void;
  /** The cluster dies with this process, also on SIGKILL (a watchdog; see LocalClusterOptions.dieWithProcess). */
  dieWithProcess?: boolean;
}

/** A running local Citus cluster. */
export interface CitusCluster {
  /** The coordinator's socket URL (no password in it). */
  readonly url: string;
  readonly coordinator: LocalCluster;
  readonly workers: readonly LocalCluster[];
  /** Directory (mode 0700, owned by the server's OS user) holding every node's directory. */
  readonly rootDir: string;
  /** Stop every node and, unless keep, remove rootDir. Idempotent. */
  stop(opts?: { keep?: boolean }): Promise<void>;
  /** Last-resort synchronous cleanup for process exit paths: immediate shutdown, then remove rootDir. Idempotent. */
  stopSync(): void;
  /** The cluster outlives this process (`--keep`): its watchdog is disarmed. */
  detach(): Promise<void>;
}

/** A program's one-line output, or undefined when it cannot tell. */
function pgConfig(pgBinDir: string, flag: string): string | undefined {
  const r = spawnSync(path.join(pgBinDir, 'pg_config'), [flag], { encoding: 'utf8', timeout: 10_000 });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out === '' ? undefined : out;
}

/**
 * Whether the Citus extension is installed for the server in `pgBinDir` (default: the one
 * {@link findPgBinDir} picks): citus.so in its pkglibdir and citus.control in its extension dir.
 */
export function citusInstalled(pgBinDir?: string): boolean {
  let bin: string;
  try {
    bin = pgBinDir ?? findPgBinDir();
  } catch {
    return false;
  }
  const libDir = pgConfig(bin, '--pkglibdir') ?? path.resolve(bin, '..', 'lib');
  // Debian: bin /usr/lib/postgresql/15/bin, share /usr/share/postgresql/15.
  const shareDirs = [pgConfig(bin, '--sharedir'), path.resolve(bin, '..', 'share'), path.join('/usr/share/postgresql', path.basename(path.dirname(bin)))];
  return existsSync(path.join(libDir, 'citus.so')) && shareDirs.some((d) => d !== undefined && existsSync(path.join(d, 'extension', 'citus.control')));
}

/** Run statements on one node, one connection. */
async function onNode(url: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // reported by the failing query instead
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether an extension's files are installed (asked of a running node). */
async function extensionAvailable(url: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_available_extensions WHERE name = $1', [name]);
    return (r.rowCount ?? 0) > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Register the nodes on the coordinator by socket directory and check that the coordinator
 * reaches every worker.
 */
async function registerNodes(coordinator: LocalCluster, workers: readonly LocalCluster[], log: (line: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: coordinator.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT citus_set_coordinator_host($1, $2)', [coordinator.rootDir, coordinator.port]);
    for (const w of workers) {
      log(`adding worker ${w.port}`);
      await client.query('SELECT citus_add_node($1, $2)', [w.rootDir, w.port]);
    }
    // A round trip to every worker over the registered addresses.
    const r = await client.query<{ nodeport: number; success: boolean; result: string }>(
      `SELECT nodeport, success, result FROM run_command_on_workers('SELECT 1')`,
    );
    const bad = r.rows.filter((row) => !row.success);
    if (r.rows.length !== workers.length || bad.length > 0) {
      const detail = bad.map((row) => `${row.nodeport}: ${row.result}`).join('; ');
      throw new Error(`the Citus coordinator reaches ${r.rows.length - bad.length} of ${workers.length} workers${detail ? ` (${detail})` : ''}`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Start a coordinator and `workers` workers on free loopback ports, create `citus` (and `hll`
 * when installed) in the database on every node, and register the workers. pg_cron, when
 * installed, is preloaded (after citus, which must come first) and created on the coordinator only.
 * If anything fails halfway, every node started is stopped and removed before the error is thrown.
 * @throws EnvironmentError when PostgreSQL or Citus is not installed.
 * @throws UsageError for a worker count outside 1..16.
 */
export async function startCitusCluster(opts: CitusClusterOptions): Promise<CitusCluster> {
  const log = opts.log ?? ((): void => undefined);
  const database = opts.database ?? 'rtbench';
  if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > MAX_LOCAL_WORKERS) {
    throw new UsageError(`a local Citus cluster needs 1 to ${MAX_LOCAL_WORKERS} workers, not ${String(opts.workers)}`);
  }
  const pgBinDir = findPgBinDir();
  if (!citusInstalled(pgBinDir)) throw new EnvironmentError(CITUS_MISSING);
  const ids = await runAsIds();
  const cronInstalled = existsSync(path.join(pgConfig(pgBinDir, '--pkglibdir') ?? path.resolve(pgBinDir, '..', 'lib'), 'pg_cron.so'));

  const base = path.resolve(opts.baseDir ?? os.tmpdir());
  await fs.mkdir(base, { recursive: true });
  if (opts.dieWithProcess) await removeOrphanClusters(base, log, pgBinDir);
  const rootDir = await fs.mkdtemp(path.join(base, 'rtbench-citus-'));
  const names = ['coordinator', ...Array.from({ length: opts.workers }, (_v, i) => `worker-${i + 1}`)];
  let watchdog: Watchdog | undefined;
  const started: LocalCluster[] = [];
  const removeAll = async (keep: boolean): Promise<void> => {
    const results = await Promise.allSettled(started.map((n) => n.stop({ keep })));
    if (!keep) await fs.rm(rootDir, { recursive: true, force: true });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await watchdog?.disarm({ kept: keep });
  };
  try {
    // One watchdog for every node: before the first initdb, so a kill during set-up leaks nothing.
    if (opts.dieWithProcess) watchdog = await armWatchdog(rootDir, names.map((n) => path.join(rootDir, n)), pgBinDir, ids);
    else await markLongLived(rootDir, names.map((n) => path.join(rootDir, n)));
    // Only the server's OS user (and root) may enter: the nodes' sockets live below.
    await fs.chmod(rootDir, 0o700);
    if (ids) await fs.chown(rootDir, ids.uid, ids.gid);
    const nodes = await Promise.allSettled(
      names.map((name, i) => {
        const dataDir = path.join(rootDir, name);
        const settings: Record<string, string> = {
          // When a node connects to itself (shard moves, background jobs), over its socket too.
          'citus.local_hostname': dataDir,
          // No reports to citusdata.com from a throwaway cluster.
          'citus.enable_statistics_collection': 'off',
          ...opts.settings,
        };
        const preload = i === 0 && cronInstalled ? ['citus', 'pg_cron'] : ['citus'];
        return startLocalCluster({ dataDir, database, settings, preload, log: (l) => log(`${name}: ${l}`) });
      }),
    );
    for (const n of nodes) if (n.status === 'fulfilled') started.push(n.value);
    const failed = nodes.find((n): n is PromiseRejectedResult => n.status === 'rejected');
    if (failed) throw failed.reason;
    const [coordinator, ...workers] = started;
    if (!coordinator) throw new Error('no coordinator started');

    const hll = await extensionAvailable(coordinator.url, 'hll');
    const extensions = ['CREATE EXTENSION IF NOT EXISTS citus', ...(hll ? ['CREATE EXTENSION IF NOT EXISTS hll'] : [])];
    await Promise.all(started.map((n) => onNode(n.url, extensions)));
    log(`extensions ${hll ? 'citus, hll' : 'citus'} created on ${started.length} nodes`);
    if (coordinator.preloaded.includes('pg_cron')) {
      // Only the coordinator loads pg_cron; Citus would propagate CREATE EXTENSION to the
      // workers, where it fails (unrecognized configuration parameter "cron.database_name").
      await onNode(coordinator.url, ['SET citus.enable_ddl_propagation TO off', 'CREATE EXTENSION IF NOT EXISTS pg_cron', 'RESET citus.enable_ddl_propagation']);
      log('extension pg_cron created on the coordinator');
    }
    await registerNodes(coordinator, workers, log);
    log(`Citus coordinator ${coordinator.port} with workers ${workers.map((w) => w.port).join(', ')}`);

    let chain = Promise.resolve();
    let stopped = false;
    const stop = (o?: { keep?: boolean }): Promise<void> => {
      chain = chain.catch(() => undefined).then(async () => {
        if (stopped) return;
        await removeAll(o?.keep ?? false);
        stopped = !(o?.keep ?? false);
      });
      return chain;
    };
    const stopSync = (): void => {
      for (const n of started) n.stopSync();
      rmSync(rootDir, { recursive: true, force: true });
    };
    const detach = async (): Promise<void> => watchdog?.disarm({ kept: true });
    return { url: coordinator.url, coordinator, workers, rootDir, stop, stopSync, detach };
  } catch (err) {
    await removeAll(false).catch(() => undefined);
    if (err instanceof Error && !(err instanceof EnvironmentError) && !(err instanceof UsageError)) err.message = maskSecrets(err.message);
    throw err;
  }
}
