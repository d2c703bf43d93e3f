/**
 * Faults on purpose: what `--fault KIND@T` and `--fault-cmd CMD --fault-at T` do to a server.
 * `restart` is `pg_ctl restart -m fast`; `crash` an immediate stop then a start; `pause D`
 * SIGSTOPs the postmaster's children for D then SIGCONTs them (connections stay open, the server
 * freezes); `worker-restart` restarts a local Citus worker. The server must run on this host
 * (its data directory readable here): the throwaway cluster, `rtbench db`'s, or the user's own.
 * Programs run with execFile and an argv array; a user's `--fault-cmd` runs as `sh -c` of their
 * own string exactly as given, with nothing spliced into it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseDurationMs } from '../config/duration.js';
import { run, runAsIds } from './pg-process.js';
import { maskSecrets } from './url.js';

/** A fault of the server the run targets. */
export type FaultKind = 'restart' | 'crash' | 'pause' | 'worker-restart';

/** A parsed `--fault`: what, when (ms after the schedule origin; null: the middle of the measure window), how long (pause). */
export interface FaultSpec {
  readonly kind: FaultKind;
  readonly atMs: number | null;
  /** pause: how long the server stays frozen, ms. */
  readonly pauseMs?: number;
  /** worker-restart: which worker (1-based, in pg_dist_node order). */
  readonly worker?: number;
}

const KINDS: readonly FaultKind[] = ['restart', 'crash', 'pause', 'worker-restart'];

/**
 * Parse `restart@10s`, `crash@12s`, `pause 2s@10s` (or `pause:2s@10s`), `worker-restart@10s`,
 * `worker-restart:2@10s`; without `@T` the fault falls in the middle of the measure window.
 * Throws a UsageError naming the problem.
 */
export function parseFault(text: string): FaultSpec {
  const at = text.lastIndexOf('@');
  const head = (at < 0 ? text : text.slice(0, at)).trim();
  let atMs: number | null = null;
  if (at >= 0) {
    const t = parseDurationMs(text.slice(at + 1).trim());
    if (t === undefined) throw new UsageError(`--fault ${text}: the time after @ must be a duration such as 10s`);
    atMs = t;
  }
  const sep = [' ', ':'].map((c) => head.indexOf(c)).filter((i) => i > 0).sort((a, b) => a - b)[0];
  const name = (sep === undefined ? head : head.slice(0, sep)) as FaultKind;
  const arg = sep === undefined ? '' : head.slice(sep + 1).trim();
  if (!KINDS.includes(name)) throw new UsageError(`--fault ${text}: expected ${KINDS.join(', ')} (e.g. restart@10s, 'pause 2s@10s')`);
  if (name === 'pause') {
    const d = parseDurationMs(arg);
    if (d === undefined || d <= 0) throw new UsageError(`--fault ${text}: pause needs a duration, e.g. 'pause 2s@10s'`);
    return { kind: name, atMs, pauseMs: d };
  }
  if (name === 'worker-restart') {
    const w = arg === '' ? 1 : Number(arg);
    if (!Number.isInteger(w) || w < 1) throw new UsageError(`--fault ${text}: worker-restart:N names a worker from 1`);
    return { kind: name, atMs, worker: w };
  }
  if (arg !== '') throw new UsageError(`--fault ${text}: ${name} takes no argument`);
  return { kind: name, atMs };
}

/** A PostgreSQL server on this host that a fault can act on. */
export interface LocalServer {
  /** 'server' (single node), 'coordinator' or 'worker N'. */
  readonly name: string;
  readonly dataDir: string;
  readonly pgBinDir: string;
  /** Where pg_ctl writes the server's log when it starts it again. */
  readonly logFile: string;
  /** A Citus node: `host:port` as the coordinator's metadata names it (summary.ingest.byNode). */
  readonly node?: string;
}

/** What a fault did: when it began and ended (epoch ms), its exit code, a line on failure. */
export interface FaultOutcome {
  readonly startEpochMs: number;
  readonly endEpochMs: number;
  readonly exitCode: number | null;
  readonly error?: string;
}

const tail = (s: string): string => maskSecrets(s.trim().split('\n').slice(-3).join(' | '));

/** Run `pg_ctl` with `args` on `server` as the cluster's owner; a line on failure. */
async function pgCtl(server: LocalServer, args: readonly string[]): Promise<{ code: number; error?: string }> {
  const r = await run(path.join(server.pgBinDir, 'pg_ctl'), ['-D', server.dataDir, ...args], await runAsIds());
  return r.code === 0 ? { code: 0 } : { code: r.code, error: `pg_ctl ${args.join(' ')} on the ${server.name} failed (exit ${r.code}): ${tail(r.stderr || r.stdout)}` };
}

/** The postmaster's pid from postmaster.pid; null when the server is not running. */
export function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** Pids whose parent is `ppid` (from /proc). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Do `spec` to `server`; resolves when the server is back (restart, crash, worker-restart) or thawed (pause). */
export async function injectFault(spec: FaultSpec, server: LocalServer, nowMs: () => number = Date.now): Promise<FaultOutcome> {
  const startEpochMs = nowMs();
  const done = (code: number | null, error?: string): FaultOutcome => ({ startEpochMs, endEpochMs: nowMs(), exitCode: code, ...(error ? { error } : {}) });
  if (spec.kind === 'restart' || spec.kind === 'worker-restart') {
    const r = await pgCtl(server, ['-l', server.logFile, '-w', '-t', '60', '-m', 'fast', 'restart']);
    return done(r.code, r.error);
  }
  if (spec.kind === 'crash') {
    const stop = await pgCtl(server, ['-w', '-t', '60', '-m', 'immediate', 'stop']);
    if (stop.error) return done(stop.code, stop.error);
    // After an immediate stop the old backends may hold shared memory a moment: retry the start briefly.
    for (let attempt = 0; ; attempt++) {
      const start = await pgCtl(server, ['-l', server.logFile, '-w', '-t', '60', 'start']);
      if (!start.error || attempt >= 20) return done(start.code, start.error);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // pause: freeze every child of the postmaster (connections stay open), then thaw them.
  const pm = postmasterPid(server.dataDir);
  if (pm === null) return done(null, `pause: the ${server.name} is not running (no postmaster.pid in its data directory)`);
  const frozen: number[] = [];
  try {
    for (const pid of childrenOf(pm)) {
      try {
        process.kill(pid, 'SIGSTOP');
        frozen.push(pid);
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, spec.pauseMs ?? 0));
  } finally {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
  }
  return done(0, frozen.length === 0 ? 'pause: the postmaster had no children to freeze' : undefined);
}

/**
 * Run the user's own `--fault-cmd` string with `sh -c`, exactly as given (nothing of ours is
 * spliced into it); resolves with its exit code. Its output is kept out of results (it may hold
 * anything); only its last lines, masked, on failure.
 */
export function runFaultCommand(command: string, nowMs: () => number = Date.now): Promise<FaultOutcome> {
  const startEpochMs = nowMs();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer): void => {
      out = (out + b.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ startEpochMs, endEpochMs: nowMs(), exitCode: null, error: `--fault-cmd could not start: ${maskSecrets(err.message)}` }));
    child.on('close', (code, signal) => {
      const failed = code !== 0;
      resolve({
        startEpochMs,
        endEpochMs: nowMs(),
        exitCode: code,
        ...(failed ? { error: `--fault-cmd exited ${code ?? `on ${signal}`}${out.trim() ? `: ${tail(out)}` : ''}` } : {}),
      });
    });
  });
}

/** The server behind a data directory found on this host (`SHOW data_directory` of a --url target); null when not local. */
export function localServerAt(dataDir: string, pgBinDir: string): LocalServer | null {
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) return null;
  const beside = path.join(path.dirname(dataDir), 'server.log');
  return { name: 'server', dataDir, pgBinDir, logFile: existsSync(beside) ? beside : path.join(dataDir, 'rtbench-fault-server.log') };
}
