/**
 * The long-lived local database behind `rtbench db start|stop|status`. Its whereabouts are kept
 * in `<stateDir>/db.json`, so a later `rtbench run` or `db stop` in another process can find it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isClusterRunning, serverCanReach, startLocalCluster, stopClusterAt } from './local-cluster.js';

/** What db.json records about the persistent database. */
export interface PersistentDb {
  /** Directory (0700) holding data, socket and server.log; removed by {@link stopPersistentDb}. */
  rootDir: string;
  dataDir: string;
  port: number;
  /** Socket URL without a password. */
  url: string;
  pgBinDir: string;
  /** ISO 8601 time of the start. */
  startedAt: string;
}

/** Answer of {@link persistentDbStatus}; url and port only while the server runs. */
export interface PersistentDbStatus {
  running: boolean;
  url?: string;
  port?: number;
  dataDir?: string;
}

/**
 * Where rtbench keeps state: `RTBENCH_STATE_DIR`, else `$XDG_STATE_HOME/rtbench`, else
 * `~/.local/state/rtbench`. Read at each call, so tests can point it elsewhere.
 */
export function stateDir(): string {
  const env = process.env;
  if (env.RTBENCH_STATE_DIR) return path.resolve(env.RTBENCH_STATE_DIR);
  if (env.XDG_STATE_HOME) return path.join(path.resolve(env.XDG_STATE_HOME), 'rtbench');
  return path.join(os.homedir(), '.local', 'state', 'rtbench');
}

function stateFile(): string {
  return path.join(stateDir(), 'db.json');
}

async function readState(): Promise<PersistentDb | undefined> {
  const file = stateFile();
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
  let s: Partial<Record<keyof PersistentDb, unknown>>;
  try {
    s = JSON.parse(raw) as typeof s;
  } catch {
    throw new Error(`${file} is not valid JSON: stop the server by hand and delete the file`);
  }
  const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
  if (!str(s.rootDir) || !str(s.dataDir) || !str(s.url) || !str(s.pgBinDir) || typeof s.port !== 'number') {
    throw new Error(`${file} lacks rootDir, dataDir, port, url or pgBinDir: stop the server by hand and delete the file`);
  }
  const startedAt = str(s.startedAt) ? s.startedAt : '';
  return { rootDir: s.rootDir, dataDir: s.dataDir, port: s.port, url: s.url, pgBinDir: s.pgBinDir, startedAt };
}

/** Write then rename, so a reader never sees half a file. */
async function writeState(state: PersistentDb): Promise<void> {
  const file = stateFile();
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await fs.rename(tmp, file);
}

/**
 * Start the persistent database, or return the running one (`reused: true`) without a second
 * start. A stale db.json (server gone, e.g. after a reboot) is cleaned up and replaced.
 */
export async function startPersistentDb(log: (line: string) => void = () => undefined): Promise<PersistentDb & { reused: boolean }> {
  const current = await readState();
  if (current !== undefined) {
    if (await isClusterRunning(current.dataDir, current.pgBinDir)) {
      log(`already running on port ${current.port} (started ${current.startedAt})`);
      return { ...current, reused: true };
    }
    log(`removing the stale database in ${current.rootDir}`);
    await stopClusterAt(current.rootDir, current.pgBinDir);
    await fs.rm(stateFile(), { force: true });
  }
  const dir = stateDir();
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  // 0711: the postgres OS user (when we are root) must traverse it; listing it stays private.
  await fs.chmod(dir, 0o711);
  let baseDir = dir;
  if (!(await serverCanReach(dir))) {
    // Typical as root: /root is 0700. The cluster dir itself stays 0700 wherever it lives.
    baseDir = os.tmpdir();
    log(`${dir} is not reachable by the postgres OS user; keeping the cluster under ${baseDir}`);
  }
  const cluster = await startLocalCluster({ baseDir, log });
  const state: PersistentDb = {
    rootDir: cluster.rootDir,
    dataDir: cluster.dataDir,
    port: cluster.port,
    url: cluster.url,
    pgBinDir: cluster.pgBinDir,
    startedAt: new Date().toISOString(),
  };
  try {
    await writeState(state);
  } catch (err) {
    await cluster.stop().catch(() => undefined); // an unrecorded server could never be stopped by `db stop`
    throw err;
  }
  return { ...state, reused: false };
}

/** Stop and remove the persistent database and its db.json. Returns false if nothing was running. */
export async function stopPersistentDb(): Promise<boolean> {
  const current = await readState();
  if (current === undefined) return false;
  const wasRunning = await isClusterRunning(current.dataDir, current.pgBinDir);
  await stopClusterAt(current.rootDir, current.pgBinDir);
  await fs.rm(stateFile(), { force: true });
  return wasRunning;
}

/** Whether the persistent database runs, and where. */
export async function persistentDbStatus(): Promise<PersistentDbStatus> {
  const current = await readState();
  if (current === undefined) return { running: false };
  if (!(await isClusterRunning(current.dataDir, current.pgBinDir))) return { running: false, dataDir: current.dataDir };
  return { running: true, url: current.url, port: current.port, dataDir: current.dataDir };
}
