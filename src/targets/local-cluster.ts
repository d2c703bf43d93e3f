/**
 * A throwaway local PostgreSQL cluster: the embedded default target of `rtbench run`
 * without `--url`, the server behind `rtbench db start`, and the integration tests' database.
 *
 * Safety model: the server listens on 127.0.0.1 only, and TCP needs a random password that is
 * never stored; the URL we hand out uses the Unix socket, which lives in a 0700 directory, so
 * only its owner (or root) can connect. Commands run without a shell, as `postgres` when we are root.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readdirSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EnvironmentError, UsageError } from '../errors.js';
import { maskSecrets } from './url.js';

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
  /** Called with human-readable progress lines (never containing secrets). */
  log?: (line: string) => void;
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
}

const INSTALL_HINT = 'install them with `apt-get install -y postgresql-15 postgresql-15-hll postgresql-15-cron`';
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
const MAX_START_ATTEMPTS = 5;
/** sun_path is 108 bytes on Linux (104 on macOS); postgres refuses longer socket paths. */
const MAX_SOCKET_PATH = 103;

/** Settings that the URL we hand out depends on. */
const RESERVED_SETTINGS = new Set(['port', 'listen_addresses', 'unix_socket_directories']);

type Ids = { uid: number; gid: number };
type RunResult = { code: number; stdout: string; stderr: string };

/**
 * Run a program directly (no shell), as `ids` when given. Resolves with the exit code;
 * rejects only when the program could not be started at all.
 */
function run(file: string, args: readonly string[], ids?: Ids): Promise<RunResult> {
  // A user's PGDATA/PGPORT/PGOPTIONS must not redirect or reconfigure our own cluster.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
  // cwd '/' because, as postgres, our own cwd (often under /root) may be unreadable.
  const options = { env, cwd: '/', maxBuffer: 16 << 20, ...(ids ?? {}) };
  return new Promise((resolve, reject) => {
    execFile(file, [...args], options, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      if (typeof code === 'string') reject(err ?? new Error(code)); // ENOENT, EACCES: never started
      else resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Directory holding initdb and pg_ctl: `RTBENCH_PG_BIN` if set, else the newest
 * /usr/lib/postgresql/N/bin (N >= 14), else the directory of `initdb` on PATH.
 * @throws EnvironmentError saying what to install.
 */
export function findPgBinDir(): string {
  const hasTools = (dir: string): boolean => ['initdb', 'pg_ctl'].every((f) => isExecutable(path.join(dir, f)));
  const fromEnv = process.env.RTBENCH_PG_BIN;
  if (fromEnv) {
    if (hasTools(fromEnv)) return path.resolve(fromEnv);
    throw new EnvironmentError(`RTBENCH_PG_BIN=${fromEnv} holds no initdb and pg_ctl: point it at a PostgreSQL bin directory or unset it`);
  }
  let versions: number[] = [];
  try {
    versions = readdirSync(DEBIAN_PG_ROOT).filter((n) => /^\d+$/.test(n)).map(Number).filter((n) => n >= 14);
  } catch {
    // Not a Debian layout; PATH below.
  }
  for (const v of versions.sort((a, b) => b - a)) {
    const dir = path.join(DEBIAN_PG_ROOT, String(v), 'bin');
    if (hasTools(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const initdb = path.join(dir || '.', 'initdb');
    if (!dir || !isExecutable(initdb)) continue;
    // Follow symlinks (/usr/local/bin/initdb -> .../15/bin/initdb) so pg_config and postgres sit beside it.
    const real = path.dirname(realpathSync(initdb));
    if (hasTools(real)) return real;
  }
  throw new EnvironmentError(`PostgreSQL server binaries not found (looked in ${DEBIAN_PG_ROOT}/*/bin and PATH): ${INSTALL_HINT}`);
}

let postgresIdsCache: Promise<Ids | undefined> | undefined;

/** The ids to run postgres as: `postgres` when we are root (postgres refuses root), else ourselves. */
function runAsIds(): Promise<Ids | undefined> {
  postgresIdsCache ??= (async () => {
    if (process.getuid?.() !== 0) return undefined;
    const hint = 'running as root needs a `postgres` OS user to run the server: create a non-root user (`useradd -r postgres`) or run rtbench as one';
    try {
      const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
      const uid = Number(u.stdout.trim());
      const gid = Number(g.stdout.trim());
      if (u.code === 0 && g.code === 0 && Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0) return { uid, gid };
    } catch {
      // `id` missing: same remedy.
    }
    throw new EnvironmentError(hint);
  })();
  return postgresIdsCache;
}

/**
 * Whether the user the server runs as can traverse every component of `dir` (always true when
 * not root). Root-owned homes are 0700, so a data dir under /root is unreachable for `postgres`.
 */
export async function serverCanReach(dir: string): Promise<boolean> {
  const ids = await runAsIds();
  if (!ids) return true;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = await fs.stat(d);
    const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/** Whether a server runs on `dataDir` (`pg_ctl status` exit 0). */
export async function isClusterRunning(dataDir: string, pgBinDir: string = findPgBinDir()): Promise<boolean> {
  if (!existsSync(dataDir)) return false;
  const r = await run(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, 'status'], await runAsIds());
  return r.code === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

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
  if (preloaded.includes('pg_cron')) lines.push(confLine('cron.database_name', database));
  for (const [key, value] of Object.entries(settings)) {
    if (RESERVED_SETTINGS.has(key)) throw new UsageError(`setting ${key} is managed by rtbench's local cluster`);
    lines.push(confLine(key, value));
  }
  return lines;
}

/** Quote an SQL identifier (`"` doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Socket URL in a form both node-postgres and libpq (psql, pgbench) accept. */
function socketUrl(user: string, port: number, database: string, socketDir: string): string {
  return `postgresql://${encodeURIComponent(user)}@localhost:${port}/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}`;
}

async function pkgLibDir(pgBinDir: string): Promise<string> {
  try {
    const r = await run(path.join(pgBinDir, 'pg_config'), ['--pkglibdir']);
    if (r.code === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  } catch {
    // No pg_config (e.g. -dev package absent elsewhere): Debian layout below.
  }
  return path.resolve(pgBinDir, '..', 'lib');
}

/** What the server logged since byte `fromByte` (this start attempt only). */
async function logSince(logFile: string, fromByte: number): Promise<string> {
  try {
    return (await fs.readFile(logFile)).subarray(fromByte).toString('utf8').trimEnd();
  } catch {
    return '(no server log)';
  }
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
    const logStart = existsSync(logFile) ? (await fs.stat(logFile)).size : 0;
    log(`starting PostgreSQL on 127.0.0.1:${port}`);
    const r = await run(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], ids);
    if (r.code === 0) return port;
    const logged = await logSince(logFile, logStart);
    if (attempt < MAX_START_ATTEMPTS && /could not bind|address already in use/i.test(logged)) {
      log(`port ${port} was taken meanwhile; retrying with another`);
      continue;
    }
    const tail = logged.split('\n').slice(-5).join('\n');
    throw new Error(maskSecrets(`pg_ctl start failed (exit ${r.code}): ${r.stderr.trim()}\nlast lines of ${logFile}:\n${tail}`));
  }
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
  const preloaded = existsSync(path.join(await pkgLibDir(pgBinDir), 'pg_cron.so')) ? ['pg_cron'] : [];
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
    rootDir = await fs.mkdtemp(path.join(base, 'rtbench-pg-'));
    dataDir = path.join(rootDir, 'data');
  }
  const logFile = path.join(rootDir, 'server.log');
  try {
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
    let chain = Promise.resolve();
    const stop = (o?: { keep?: boolean }): Promise<void> => {
      chain = chain.catch(() => undefined).then(() => stopAndRemove(pgBinDir, dataDir, rootDir, o?.keep ?? false));
      return chain;
    };
    return { url, port, dataDir, rootDir, pgBinDir, preloaded, stop };
  } catch (err) {
    await stopAndRemove(pgBinDir, dataDir, rootDir, reuse).catch(() => undefined);
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
