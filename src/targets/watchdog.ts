/**
 * Throwaway clusters die with the rtbench process that started them, also on SIGKILL: a small
 * detached watchdog process (watchdog-entry.ts) holds a pipe from rtbench and, on end-of-file,
 * stops the cluster and removes its directory. Each throwaway cluster directory also holds
 * `rtbench-owner.json` (owner pid and host), so one whose owner and watchdog are both gone is
 * found and removed the next time rtbench starts a cluster in the same base directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { isClusterRunning, run, runAsIds, type Ids } from './pg-process.js';

/** File naming the owner of a throwaway cluster directory. */
export const OWNER_FILE = 'rtbench-owner.json';
/** Directory name prefixes of rtbench's throwaway clusters (single node, Citus). */
export const CLUSTER_DIR_PREFIXES = ['rtbench-pg-', 'rtbench-citus-'] as const;

const ENTRY = fileURLToPath(new URL('./watchdog-entry.js', import.meta.url));

/** What {@link OWNER_FILE} records. */
export interface ClusterOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly watchdogPid: number | null;
  /** Data dirs of the cluster's servers (one, or a Citus coordinator and its workers). */
  readonly dataDirs: readonly string[];
  /** True once rtbench let the cluster outlive it (`--keep`): never an orphan. */
  readonly kept?: boolean;
}

/** An armed watchdog. */
export interface Watchdog {
  readonly pid: number | null;
  /** rtbench removed the cluster itself, or keeps it: the watchdog exits and does nothing. Idempotent. */
  disarm(opts?: { kept?: boolean }): Promise<void>;
}

/**
 * Start the watchdog of the cluster in `rootDir` and record the owner. Call it right after the
 * directory exists, before initdb, so a kill during set-up leaks nothing either.
 */
export async function armWatchdog(rootDir: string, dataDirs: readonly string[], pgBinDir: string, ids: Ids | undefined): Promise<Watchdog> {
  const child = spawn(process.execPath, [ENTRY, rootDir, pgBinDir, ids ? String(ids.uid) : '-', ids ? String(ids.gid) : '-', ...dataDirs], {
    detached: true, // its own session: a terminal's Ctrl-C or a process-group kill of rtbench does not reach it
    stdio: ['pipe', 'ignore', 'ignore'],
    cwd: '/',
  });
  child.on('error', () => undefined);
  const stdin = child.stdin as (Writable & { unref?: () => void }) | null;
  stdin?.on('error', () => undefined);
  // Neither the process nor the pipe may keep rtbench's event loop alive.
  child.unref();
  stdin?.unref?.();
  const owner: ClusterOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), watchdogPid: child.pid ?? null, dataDirs };
  await writeOwner(rootDir, owner);
  let disarmed = false;
  return {
    pid: child.pid ?? null,
    async disarm(opts) {
      if (disarmed) return;
      disarmed = true;
      if (opts?.kept && existsSync(rootDir)) await writeOwner(rootDir, { ...owner, kept: true }).catch(() => undefined);
      if (stdin && !stdin.destroyed) stdin.end('disarm\n');
    },
  };
}

/**
 * Record a cluster dir that is meant to outlive its creator (`rtbench db start`): the orphan
 * sweep never touches it.
 */
export async function markLongLived(rootDir: string, dataDirs: readonly string[]): Promise<void> {
  await writeOwner(rootDir, { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), watchdogPid: null, dataDirs, kept: true });
}

async function writeOwner(rootDir: string, owner: ClusterOwner): Promise<void> {
  const file = path.join(rootDir, OWNER_FILE);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(owner, null, 2)}\n`, { mode: 0o644 });
  await fs.rename(`${file}.tmp`, file);
}

/**
 * Whether process `pid` lives (EPERM: it does, someone else's). A zombie does not: a killed
 * watchdog re-parented to an init that does not reap stays one, and kill(pid, 0) still succeeds.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill(pid, 0) is all we know
  }
}

async function readOwner(rootDir: string): Promise<ClusterOwner | undefined> {
  try {
    const o = JSON.parse(await fs.readFile(path.join(rootDir, OWNER_FILE), 'utf8')) as Partial<ClusterOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string' || !Array.isArray(o.dataDirs)) return undefined;
    return o as ClusterOwner;
  } catch {
    return undefined;
  }
}

/** The data dirs under a cluster dir made by an rtbench without owner files: `data`, or Citus nodes. */
function guessDataDirs(rootDir: string): string[] {
  try {
    return readdirSync(rootDir).map((e) => path.join(rootDir, e)).filter((d) => existsSync(path.join(d, 'PG_VERSION')));
  } catch {
    return [];
  }
}

/**
 * Remove throwaway clusters in `baseDir` whose owner is gone: an owner file naming a dead pid on
 * this host (rtbench and its watchdog both died), or, from an rtbench older than owner files, a
 * directory none of whose servers still runs. One line each through `log`. A cluster whose owner
 * lives and one kept (`--keep`, `db start`) are left alone silently; an owner-less one whose server
 * runs (an older rtbench's crash or `--keep`) is left alone with one line naming it. Never throws.
 */
export async function removeOrphanClusters(baseDir: string, log: (line: string) => void, pgBinDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(baseDir).filter((e) => CLUSTER_DIR_PREFIXES.some((p) => e.startsWith(p)));
  } catch {
    return;
  }
  for (const name of entries) {
    const rootDir = path.join(baseDir, name);
    try {
      const owner = await readOwner(rootDir);
      let reason: string;
      let dataDirs: readonly string[];
      if (owner) {
        if (owner.kept || owner.host !== os.hostname() || processAlive(owner.pid) || (owner.watchdogPid !== null && processAlive(owner.watchdogPid))) continue;
        reason = `its rtbench (pid ${owner.pid}, started ${owner.startedAt}) is gone`;
        dataDirs = owner.dataDirs;
      } else {
        dataDirs = guessDataDirs(rootDir);
        const running = await Promise.all(dataDirs.map((d) => isClusterRunning(d, pgBinDir)));
        if (running.some(Boolean)) {
          // An older rtbench's crash or its --keep: they look alike, so it is named, not removed.
          log(`left alone: ${rootDir} runs a server but names no owner (an older rtbench's crash or --keep); ` +
            `if nothing uses it: ${dataDirs.map((d) => `pg_ctl -D ${d} stop -m immediate`).join(' && ')} && rm -rf ${rootDir}`);
          continue;
        }
        // A fresh directory may be another rtbench's, between mkdtemp and its owner file.
        const ageMs = Date.now() - (await fs.stat(rootDir)).mtimeMs;
        if (ageMs < 60_000) continue;
        reason = 'no server runs in it and it names no owner';
      }
      const ids = await runAsIds();
      for (const d of dataDirs) {
        if (existsSync(path.join(d, 'PG_VERSION'))) await run(path.join(pgBinDir, 'pg_ctl'), ['-D', d, '-m', 'immediate', '-w', '-t', '20', 'stop'], ids);
      }
      await fs.rm(rootDir, { recursive: true, force: true });
      log(`removed the orphaned throwaway cluster ${rootDir}: ${reason}`);
    } catch {
      // Someone else's directory, or one removed meanwhile: not ours to fix.
    }
  }
}
