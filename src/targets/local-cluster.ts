/**
 * A throwaway local PostgreSQL cluster: the embedded default target of `rtbench run`
 * without `--url`, the server behind `rtbench db start`, and the integration tests' database.
 *
 * Safety model: the server listens on 127.0.0.1 only, and TCP needs a random password that is
 * never stored; the URL we hand out uses the Unix socket, which lives in a 0700 directory, so
 * only its owner (or root) can connect. Commands run without a shell, as `postgres` when we are root.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EnvironmentError, UsageError } from '../errors.js';
import { findPgBinDir, freePort, isClusterRunning, liveProcessesIn, logSince, pkgLibDir, postmasterIsZombie, run, runAsIds, serverCanReach, type Ids } from './pg-process.js';
import { maskSecrets } from './url.js';
import { armWatchdog, markLongLived, removeOrphanClusters, type Watchdog } from './watchdog.js';
import { quoteIdent } from '../sql-quote.js';

// Re-exported: callers (db-state, tests) import them from here.
export { findPgBinDir, isClusterRunning, serverCanReach } from './pg-process.js';

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Parent dir for a temp data dir (default os.tmpdir()); ignored when dataDir is given. */
  baseDir?: string;
  /**
   * Fixed data dir; created if absent, reused if it already holds a cluster. It then also
   * serves as rootDir (socket and server.log live in it), so `stop()` removes it unless `keep`.
   */
  dataDir?: string;
  /** Database to create and connect to (default 'rtbench'). */
  database?: string;
  /** Extra postgresql.conf lines (key -> value); values are quoted for you. */
  settings?: Record<string, string>;
  /**
   * shared_preload_libraries, in order (e.g. ['citus', 'pg_cron']); default ['pg_cron'] when
   * pg_cron is installed, else []. pg_cron's settings are added whenever it is listed.
   * pg_stat_statements is appended whenever it is installed (for the server sampler).
   */
  preload?: readonly string[];
  /** Called with human-readable progress lines (never containing secrets). */
  log?: (line: string) => void;
  /**
   * A throwaway cluster (temp dir, no `dataDir`): a watchdog process stops and removes it when
   * this process ends, however it ends (SIGKILL too), and orphans of earlier runs in the same base
   * dir are removed first. Off for `rtbench db start`, whose server outlives the command.
   */
  dieWithProcess?: boolean;
}

/** A running local cluster. */
export interface LocalCluster {
  /** URL to connect with over the Unix socket (no password in it). Works with pg, psql and pgbench. */
  readonly url: string;
  /** TCP port on 127.0.0.1; also names the Unix socket file `.s.PGSQL.<port>`. */
  readonly port: number;
  /** The PGDATA. */
  readonly dataDir: string;
  /** Directory (mode 0700) holding data + socket + server.log. */
  readonly rootDir: string;
  readonly pgBinDir: string;
  /** Preloaded libraries actually configured, e.g. ['pg_cron'] or []. */
  readonly preloaded: readonly string[];
  /** Stop the server (fast mode) and, unless keep, remove rootDir. Idempotent. */
  stop(opts?: { keep?: boolean }): Promise<void>;
  /**
   * Start the server again on the same data dir and port, after it died (even by SIGKILL) or
   * was stopped with `keep`. A no-op while it runs; rejects once `stop()` removed the data dir.
   */
  start(): Promise<void>;
  /**
   * Last-resort synchronous cleanup for process exit paths (an uncaught error,
   * a closed terminal): immediate shutdown, then remove rootDir. Idempotent.
   */
  stopSync(): void;
  /** The cluster outlives this process (`--keep`): its watchdog is disarmed and it is no orphan. */
  detach(): Promise<void>;
}

const MAX_START_ATTEMPTS = 5;
/** After a crash, backends may hold the old shared memory for a moment; restarts retry this long. */
const RESTART_RETRY_MS = 30_000;
/** sun_path is 108 bytes on Linux (104 on macOS); postgres refuses longer socket paths. */
const MAX_SOCKET_PATH = 103;

/** Settings that the URL we hand out depends on. */
const RESERVED_SETTINGS = new Set(['port', 'listen_addresses', 'unix_socket_directories']);

/** One `key = 'value'` line; postgresql.conf strings double `'` and treat `\` as an escape. */
function confLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) throw new UsageError(`postgresql.conf setting name ${JSON.stringify(key)} is not valid`);
  if (/[\r\n]/.test(value)) throw new UsageError(`postgresql.conf setting ${key}: value must be one line`);
  return `${key} = '${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The lines rtbench appends to postgresql.conf (later lines win, so ours override initdb's). */
function confBlock(rootDir: string, database: string, preloaded: readonly string[], settings: Record<string, string>): string[] {
  const lines = ['', '# appended by rtbench (port follows)', confLine('listen_addresses', '127.0.0.1')];
  lines.push(confLine('unix_socket_directories', rootDir), 'max_connections = 200', confLine('shared_buffers', '256MB'));
  lines.push(confLine('shared_preload_libraries', preloaded.join(',')));
  if (preloaded.includes('pg_cron')) {
    lines.push(confLine('cron.database_name', database));
    // pg_cron connects with libpq to cron.host (localhost over TCP by default), where
    // scram needs a password nobody has: point it at our socket directory instead.
    lines.push(confLine('cron.host', rootDir));
  }
  for (const [key, value] of Object.entries(settings)) {
    if (RESERVED_SETTINGS.has(key)) throw new UsageError(`setting ${key} is managed by rtbench's local cluster`);
    lines.push(confLine(key, value));
  }
  return lines;
}

/** Socket URL in a form both node-postgres and libpq (psql, pgbench) accept. */
function socketUrl(user: string, port: number, database: string, socketDir: string): string {
  return `postgresql://${encodeURIComponent(user)}@localhost:${port}/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}`;
}

async function stopAndRemove(pgBinDir: string, dataDir: string, rootDir: string, keep: boolean): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const ids = await runAsIds();
    const r = await run(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], ids);
    // A non-zero exit is fine when it only means "not running".
    if (r.code !== 0 && (await isClusterRunning(dataDir, pgBinDir))) {
      throw new Error(maskSecrets(`pg_ctl stop failed for ${dataDir}: ${r.stderr.trim()}`));
    }
  }
  if (!keep) await fs.rm(rootDir, { recursive: true, force: true });
}

/** initdb with a random superuser password that only ever exists in a 0600 file deleted at once. */
async function initCluster(pgBinDir: string, dataDir: string, superuser: string, ids: Ids | undefined): Promise<void> {
  const pwFile = path.join(os.tmpdir(), `rtbench-pw-${randomBytes(8).toString('hex')}`);
  // 'wx' = O_EXCL: never write through someone else's file or symlink in the shared tmp dir.
  await fs.writeFile(pwFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (ids) await fs.chown(pwFile, ids.uid, ids.gid);
    const args = ['-D', dataDir, '-U', superuser, '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwFile}`, '--no-sync'];
    // --locale=C: exists everywhere and sorts deterministically. --no-sync: the cluster is throwaway.
    const r = await run(path.join(pgBinDir, 'initdb'), args, ids);
    if (r.code !== 0) throw new Error(maskSecrets(`initdb failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`));
  } finally {
    await fs.rm(pwFile, { force: true });
  }
  // Exactly two rules (initdb also adds ::1 and replication ones). writeFile keeps the file's owner.
  const hba = '# rtbench: the 0700 socket dir guards local access; TCP needs a password nobody knows\nlocal all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n';
  await fs.writeFile(path.join(dataDir, 'pg_hba.conf'), hba);
}

async function createDatabase(url: string, database: string): Promise<void> {
  if (database === 'postgres') return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (err) {
    if ((err as { code?: unknown }).code !== '42P04') throw err; // reused data dir: already exists
  } finally {
    await client.end();
  }
}

/**
 * pg_ctl start on a free loopback port. Another process may grab the port between our probe and
 * the server's bind, so that case retries with a new one. Returns the port.
 */
async function startServer(pgBinDir: string, dataDir: string, logFile: string, ids: Ids | undefined, log: (line: string) => void): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The last `port` line wins, so each attempt just appends one.
    await fs.appendFile(path.join(dataDir, 'postgresql.conf'), `port = ${port}\n`);
    log(`starting PostgreSQL on 127.0.0.1:${port}`);
    const failure = await pgCtlStart(pgBinDir, dataDir, logFile, ids);
    if (failure === undefined) return port;
    if (attempt < MAX_START_ATTEMPTS && /could not bind|address already in use/i.test(failure.logged)) {
      log(`port ${port} was taken meanwhile; retrying with another`);
      continue;
    }
    throw failure.error;
  }
}

/**
 * Start a server that ran before, on its configured port. After a SIGKILL of the postmaster, its
 * pid may linger as a zombie and orphaned backends keep the shared memory until they notice;
 * the server refuses to start meanwhile, so retry briefly.
 */
async function restartServer(pgBinDir: string, dataDir: string, logFile: string, ids: Ids | undefined, log: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) throw new Error(`${dataDir} holds no cluster to start (removed by stop()?)`);
  const deadline = Date.now() + RESTART_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    const zombie = await postmasterIsZombie(dataDir);
    if (!zombie && (await isClusterRunning(dataDir, pgBinDir))) return;
    if (attempt === 1) log(`starting PostgreSQL again in ${dataDir}`);
    // A postmaster's zombie keeps its pid "alive" for the new postmaster's lock-file check until init
    // reaps it, which some inits never do. Once no live process works in the data directory (the
    // orphaned backends have exited, so nothing holds the shared memory), the lock file is stale.
    if (zombie && (await liveProcessesIn(dataDir)) === 0) {
      await setAsideStaleLocks(dataDir);
      log('the old postmaster is a zombie and nothing else runs in the data directory: its lock files set aside');
    }
    const failure = await pgCtlStart(pgBinDir, dataDir, logFile, ids);
    if (failure === undefined) return;
    if (Date.now() > deadline || !/still in use|could not bind|address already in use|lock file .* already exists/i.test(failure.logged)) throw failure.error;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Rename the lock files of a dead postmaster: `postmaster.pid` and, when it names them (lines 4 and
 * 5: port and socket directory), the socket's lock if that still holds the same pid.
 */
async function setAsideStaleLocks(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const lines = (await fs.readFile(pidFile, 'utf8').catch(() => '')).split('\n');
  const [pid, , , port, socketDir] = lines;
  if (pid && port && socketDir && /^\d+$/.test(port)) {
    const socketLock = path.join(socketDir, `.s.PGSQL.${port}.lock`);
    const holder = (await fs.readFile(socketLock, 'utf8').catch(() => '')).split('\n')[0];
    if (holder === pid) await fs.rename(socketLock, `${socketLock}.stale`).catch(() => undefined);
  }
  await fs.rename(pidFile, `${pidFile}.stale`).catch(() => undefined);
}

/** One `pg_ctl start -w`; undefined on success, else the error and what the server logged meanwhile. */
async function pgCtlStart(pgBinDir: string, dataDir: string, logFile: string, ids: Ids | undefined): Promise<{ error: Error; logged: string } | undefined> {
  const logStart = existsSync(logFile) ? (await fs.stat(logFile)).size : 0;
  const r = await run(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], ids);
  if (r.code === 0) return undefined;
  const logged = await logSince(logFile, logStart);
  const tail = logged.split('\n').slice(-5).join('\n');
  return { logged, error: new Error(maskSecrets(`pg_ctl start failed (exit ${r.code}): ${r.stderr.trim()}\nlast lines of ${logFile}:\n${tail}`)) };
}

/**
 * Start a local cluster and create its database. If anything fails halfway, the server is
 * stopped and the directory removed (a reused dataDir is kept) before the error is thrown.
 * @throws EnvironmentError when binaries or the `postgres` user are missing.
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const log = opts.log ?? ((): void => undefined);
  const database = opts.database ?? 'rtbench';
  const pgBinDir = findPgBinDir();
  const ids = await runAsIds();
  const superuser = ids ? 'postgres' : os.userInfo().username;
  const libDir = await pkgLibDir(pgBinDir);
  const preloaded = opts.preload !== undefined ? [...opts.preload] : existsSync(path.join(libDir, 'pg_cron.so')) ? ['pg_cron'] : [];
  // The server sampler's statements by role (src/telemetry): contrib ships it; CREATE EXTENSION is the sampler's.
  if (!preloaded.includes('pg_stat_statements') && existsSync(path.join(libDir, 'pg_stat_statements.so'))) preloaded.push('pg_stat_statements');
  let rootDir: string;
  let dataDir: string;
  let reuse = false;
  if (opts.dataDir !== undefined) {
    dataDir = rootDir = path.resolve(opts.dataDir);
    reuse = existsSync(path.join(dataDir, 'PG_VERSION'));
    if (!(await serverCanReach(path.dirname(dataDir)))) throw unreachable(path.dirname(dataDir));
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  } else {
    const base = path.resolve(opts.baseDir ?? os.tmpdir());
    await fs.mkdir(base, { recursive: true });
    if (!(await serverCanReach(base))) throw unreachable(base);
    if (opts.dieWithProcess) await removeOrphanClusters(base, log, pgBinDir);
    rootDir = await fs.mkdtemp(path.join(base, 'rtbench-pg-'));
    dataDir = path.join(rootDir, 'data');
  }
  let watchdog: Watchdog | undefined;
  const logFile = path.join(rootDir, 'server.log');
  try {
    if (opts.dataDir === undefined) {
      if (opts.dieWithProcess) watchdog = await armWatchdog(rootDir, [dataDir], pgBinDir, ids);
      else await markLongLived(rootDir, [dataDir]);
    }
    if (Buffer.byteLength(`${rootDir}/.s.PGSQL.65535`) > MAX_SOCKET_PATH) {
      throw new UsageError(`${rootDir}: path too long for a Unix socket; choose a shorter base directory`);
    }
    // Built before initdb, so that bad settings fail fast.
    const block = confBlock(rootDir, database, preloaded, opts.settings ?? {});
    await fs.chmod(rootDir, 0o700);
    if (ids) await fs.chown(rootDir, ids.uid, ids.gid);
    if (reuse) {
      log(`reusing the cluster in ${dataDir}`);
    } else {
      log(`initdb ${dataDir} (${pgBinDir})`);
      await initCluster(pgBinDir, dataDir, superuser, ids);
    }
    await fs.appendFile(path.join(dataDir, 'postgresql.conf'), `${block.join('\n')}\n`);
    const port = await startServer(pgBinDir, dataDir, logFile, ids, log);
    const url = socketUrl(superuser, port, database, rootDir);
    await createDatabase(socketUrl(superuser, port, 'postgres', rootDir), database);
    log(`database ${database} ready`);
    // stop() and start() run one at a time, in call order.
    let chain = Promise.resolve();
    const stop = (o?: { keep?: boolean }): Promise<void> => {
      chain = chain.catch(() => undefined).then(async () => {
        await stopAndRemove(pgBinDir, dataDir, rootDir, o?.keep ?? false);
        await watchdog?.disarm({ kept: o?.keep ?? false });
      });
      return chain;
    };
    const start = (): Promise<void> => {
      chain = chain.catch(() => undefined).then(() => restartServer(pgBinDir, dataDir, logFile, ids, log));
      return chain;
    };
    const stopSync = (): void => {
      if (!existsSync(dataDir)) return;
      spawnSync(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop'], {
        stdio: 'ignore', timeout: 25_000, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      });
      rmSync(rootDir, { recursive: true, force: true });
    };
    const detach = async (): Promise<void> => watchdog?.disarm({ kept: true });
    return { url, port, dataDir, rootDir, pgBinDir, preloaded, stop, start, stopSync, detach };
  } catch (err) {
    await stopAndRemove(pgBinDir, dataDir, rootDir, reuse).catch(() => undefined);
    await watchdog?.disarm().catch(() => undefined);
    if (err instanceof Error && !(err instanceof EnvironmentError) && !(err instanceof UsageError)) err.message = maskSecrets(err.message);
    throw err;
  }
}

function unreachable(dir: string): EnvironmentError {
  return new EnvironmentError(`${dir} is not reachable by the postgres OS user (a parent lacks o+x): use a directory under ${os.tmpdir()} or run rtbench as a non-root user`);
}

/**
 * Stop whatever server runs in `rootDir` (made by {@link startLocalCluster}) and remove the directory.
 * Refuses to remove a directory that does not look like one of ours.
 */
export async function stopClusterAt(rootDir: string, pgBinDir?: string): Promise<void> {
  const dir = path.resolve(rootDir);
  if (!existsSync(dir)) return;
  const nested = path.join(dir, 'data');
  const dataDir = existsSync(path.join(nested, 'PG_VERSION')) ? nested : dir;
  if (!existsSync(path.join(dataDir, 'PG_VERSION')) && !path.basename(dir).startsWith('rtbench-pg-')) {
    throw new Error(`refusing to remove ${dir}: it holds no PostgreSQL cluster made by rtbench`);
  }
  await stopAndRemove(pgBinDir ?? findPgBinDir(), dataDir, dir, false);
}
