/**
 * Server-wide counters (WAL position, pg_stat_wal, pg_stat_bgwriter,
 * pg_stat_database, pg_stat_user_tables) at two instants, and what they give
 * per ingested row. Pure.
 */
import type { ServerCounters, ServerPerRow, TableActivity } from '../results/run-record.js';

/** One reading of the counters; a view the server refused is null. */
export interface CounterSnapshot {
  /** ms after the step's origin. */
  readonly atMs: number;
  /** pg_current_wal_insert_lsn() as bytes (see lsnToBytes). */
  readonly lsnBytes: number;
  readonly wal: { readonly records: number; readonly fpi: number; readonly bytes: number } | null;
  readonly bgwriter: { readonly checkpointsTimed: number; readonly checkpointsReq: number; readonly buffersWritten: number } | null;
  readonly database: { readonly commits: number; readonly rollbacks: number; readonly blksHit: number; readonly blksRead: number; readonly tempBytes: number } | null;
  /** relname → counters. */
  readonly tables: Record<string, { readonly ins: number; readonly upd: number; readonly del: number; readonly dead: number; readonly autovacuum: number; readonly autoanalyze: number }>;
}

/** An LSN ('16/B374D848') as a byte position; exact below 2^53 (8 PiB of WAL). */
export function lsnToBytes(lsn: string): number {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return parseInt(m[1]!, 16) * 2 ** 32 + parseInt(m[2]!, 16);
}

/**
 * a − b of a cumulative counter; a counter that went backwards was reset (a restarted server
 * starts pg_stat_* again from zero), so the delta is its value since the reset, never negative.
 */
export function counterDelta(a: number, b: number): number {
  return a >= b ? a - b : a;
}

const minus = <T extends Record<string, number>>(a: T | null, b: T | null, k: keyof T): number | null =>
  a && b ? counterDelta(a[k] as number, b[k] as number) : null;

/** Reset-aware delta summed over consecutive snapshots (a reset loses only what came between two readings). */
function chainMinus<T extends Record<string, number>>(chain: readonly CounterSnapshot[], pick: (s: CounterSnapshot) => T | null, k: keyof T): number | null {
  let total = 0;
  for (let i = 1; i < chain.length; i++) {
    const d = minus(pick(chain[i]!), pick(chain[i - 1]!), k);
    if (d === null) return null;
    total += d;
  }
  return total;
}

/**
 * When a counter went backwards between consecutive snapshots (ms after the origin of the
 * later one): the server restarted, or someone reset its statistics.
 */
export function counterResets(chain: readonly CounterSnapshot[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i]!;
    const b = chain[i - 1]!;
    const back = (x: Record<string, number> | null, y: Record<string, number> | null): boolean =>
      x !== null && y !== null && Object.keys(x).some((k) => (x[k] ?? 0) < (y[k] ?? 0));
    if (back(a.wal, b.wal) || back(a.bgwriter, b.bgwriter) || back(a.database, b.database)) out.push(a.atMs);
  }
  return out;
}

/**
 * Counters over [before, after] (after − before), summed over the readings `between` them when
 * given, so a reset in the window (a restart) costs only the counts between two readings
 * instead of giving a negative figure.
 */
export function diffCounters(before: CounterSnapshot, after: CounterSnapshot, rowsIngested: number, between: readonly CounterSnapshot[] = []): ServerCounters {
  const chain = [before, ...between.filter((x) => x.atMs > before.atMs && x.atMs < after.atMs), after];
  const measureMs = after.atMs - before.atMs;
  const walBytes = Math.max(0, after.lsnBytes - before.lsnBytes);
  const bw = (k: 'checkpointsTimed' | 'checkpointsReq' | 'buffersWritten'): number | null => chainMinus(chain, (x) => x.bgwriter, k);
  const db = (k: 'commits' | 'rollbacks' | 'blksHit' | 'blksRead' | 'tempBytes'): number | null => chainMinus(chain, (x) => x.database, k);
  return {
    measureMs,
    rowsIngested,
    walBytes,
    walMbPerS: measureMs > 0 ? walBytes / 1e6 / (measureMs / 1000) : 0,
    statWalBytes: chainMinus(chain, (x) => x.wal, 'bytes'),
    walRecords: chainMinus(chain, (x) => x.wal, 'records'),
    walFpi: chainMinus(chain, (x) => x.wal, 'fpi'),
    checkpointsTimed: bw('checkpointsTimed'),
    checkpointsRequested: bw('checkpointsReq'),
    buffersWritten: bw('buffersWritten'),
    commits: db('commits'),
    rollbacks: db('rollbacks'),
    blksHit: db('blksHit'),
    blksRead: db('blksRead'),
    tempBytes: db('tempBytes'),
  };
}

/** Per ingested row; every figure null when no row was ingested. */
export function perRow(c: ServerCounters): ServerPerRow {
  const per = (v: number | null): number | null => (v === null || c.rowsIngested <= 0 ? null : v / c.rowsIngested);
  return {
    walBytes: per(c.walBytes),
    statWalBytes: per(c.statWalBytes),
    walRecords: per(c.walRecords),
    fpi: per(c.walFpi),
    buffersWritten: per(c.buffersWritten),
    blocksTouched: c.blksHit === null || c.blksRead === null ? null : per(c.blksHit + c.blksRead),
  };
}

/** Table activity over [before, after]. */
export function diffTables(before: CounterSnapshot, after: CounterSnapshot): Record<string, TableActivity> {
  const out: Record<string, TableActivity> = {};
  for (const [name, a] of Object.entries(after.tables)) {
    const b = before.tables[name] ?? { ins: 0, upd: 0, del: 0, dead: 0, autovacuum: 0, autoanalyze: 0 };
    out[name] = {
      inserted: counterDelta(a.ins, b.ins), updated: counterDelta(a.upd, b.upd), deleted: counterDelta(a.del, b.del),
      deadTuplesEnd: a.dead, autovacuumRuns: counterDelta(a.autovacuum, b.autovacuum), autoanalyzeRuns: counterDelta(a.autoanalyze, b.autoanalyze),
    };
  }
  return out;
}

/** One row of server.csv's counter columns: rates over the second ending at `after`. */
export interface CounterSecond {
  readonly second: number;
  readonly walBytesPerS: number;
  readonly fpiPerS: number | null;
  readonly buffersWrittenPerS: number | null;
  readonly commitsPerS: number | null;
}

/** Rates between consecutive snapshots. */
export function counterSeconds(snaps: readonly CounterSnapshot[]): CounterSecond[] {
  const out: CounterSecond[] = [];
  for (let i = 1; i < snaps.length; i++) {
    const a = snaps[i]!;
    const b = snaps[i - 1]!;
    const s = (a.atMs - b.atMs) / 1000;
    if (s <= 0) continue;
    const rate = (v: number | null): number | null => (v === null ? null : v / s);
    out.push({
      second: Math.floor(a.atMs / 1000),
      walBytesPerS: Math.max(0, a.lsnBytes - b.lsnBytes) / s,
      fpiPerS: rate(minus(a.wal, b.wal, 'fpi')),
      buffersWrittenPerS: rate(minus(a.bgwriter, b.bgwriter, 'buffersWritten')),
      commitsPerS: rate(minus(a.database, b.database, 'commits')),
    });
  }
  return out;
}
