/**
 * Running PostgreSQL's programs (initdb, pg_ctl, pg_config) for the local cluster: finding the
 * binaries, the OS user the server runs as, and a shell-free `run`. No cluster policy here.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';

/** OS user and group ids to run a program as. */
export type Ids = { uid: number; gid: number };
/** What {@link run} resolves with. */
export type RunResult = { code: number; stdout: string; stderr: string };

/** How to get the server binaries and extensions. */
export const INSTALL_HINT = 'install them with `apt-get install -y postgresql-15 postgresql-15-hll postgresql-15-cron`';
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/**
 * Run a program directly (no shell), as `ids` when given. Resolves with the exit code;
 * rejects only when the program could not be started at all.
 */
export function run(file: string, args: readonly string[], ids?: Ids): Promise<RunResult> {
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
export function runAsIds(): Promise<Ids | undefined> {
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

/** A TCP port on 127.0.0.1 that was free a moment ago (someone may take it before we bind). */
export function freePort(): Promise<number> {
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

/** The server's extension directory (`pg_config --pkglibdir`, else the Debian layout). */
export async function pkgLibDir(pgBinDir: string): Promise<string> {
  try {
    const r = await run(path.join(pgBinDir, 'pg_config'), ['--pkglibdir']);
    if (r.code === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  } catch {
    // No pg_config (e.g. -dev package absent elsewhere): Debian layout below.
  }
  return path.resolve(pgBinDir, '..', 'lib');
}

/** What the server logged since byte `fromByte` (this start attempt only). */
export async function logSince(logFile: string, fromByte: number): Promise<string> {
  try {
    return (await fs.readFile(logFile)).subarray(fromByte).toString('utf8').trimEnd();
  } catch {
    return '(no server log)';
  }
}

/**
 * Whether the postmaster named in `<dataDir>/postmaster.pid` is dead but not yet reaped. `pg_ctl
 * status` (kill(pid, 0)) calls a zombie running; after a SIGKILL, a slow init leaves one for a while.
 * False when that cannot be told (no pid file, no /proc).
 */
export async function postmasterIsZombie(dataDir: string): Promise<boolean> {
  try {
    const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * How many live server processes (named postgres) have `dataDir` as their working directory (a
 * postmaster and its backends do), or null when that cannot be told (no /proc, or a server process
 * we may not look into).
 */
export async function liveProcessesIn(dataDir: string): Promise<number | null> {
  let want: string;
  let pids: string[];
  try {
    want = await fs.realpath(dataDir);
    pids = (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  let n = 0;
  for (const pid of pids) {
    try {
      // Only servers matter (and some processes, such as init, may not be looked into).
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
      if (!stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('postgres')) continue;
      if ((await fs.readlink(`/proc/${pid}/cwd`)) === want) n++;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // ENOENT: gone meanwhile, or a zombie (which has no cwd and holds nothing).
      if (code !== 'ENOENT' && code !== 'ESRCH') return null;
    }
  }
  return n;
}
