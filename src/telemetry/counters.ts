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

const minus = <T extends Record<string, number>>(a: T | null, b: T | null, k: keyof T): number | null =>
  a && b ? (a[k] as number) - (b[k] as number) : null;

/** Counters over [before, after] (after − before). */
export function diffCounters(before: CounterSnapshot, after: CounterSnapshot, rowsIngested: number): ServerCounters {
  const measureMs = after.atMs - before.atMs;
  const walBytes = after.lsnBytes - before.lsnBytes;
  const bw = (k: 'checkpointsTimed' | 'checkpointsReq' | 'buffersWritten'): number | null => minus(after.bgwriter, before.bgwriter, k);
  const db = (k: 'commits' | 'rollbacks' | 'blksHit' | 'blksRead' | 'tempBytes'): number | null => minus(after.database, before.database, k);
  return {
    measureMs,
    rowsIngested,
    walBytes,
    walMbPerS: measureMs > 0 ? walBytes / 1e6 / (measureMs / 1000) : 0,
    statWalBytes: minus(after.wal, before.wal, 'bytes'),
    walRecords: minus(after.wal, before.wal, 'records'),
    walFpi: minus(after.wal, before.wal, 'fpi'),
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
      inserted: a.ins - b.ins, updated: a.upd - b.upd, deleted: a.del - b.del,
      deadTuplesEnd: a.dead, autovacuumRuns: a.autovacuum - b.autovacuum, autoanalyzeRuns: a.autoanalyze - b.autoanalyze,
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
      walBytesPerS: (a.lsnBytes - b.lsnBytes) / s,
      fpiPerS: rate(minus(a.wal, b.wal, 'fpi')),
      buffersWrittenPerS: rate(minus(a.bgwriter, b.bgwriter, 'buffersWritten')),
      commitsPerS: rate(minus(a.database, b.database, 'commits')),
    });
  }
  return out;
}
