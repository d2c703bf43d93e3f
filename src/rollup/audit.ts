/**
 * Does the rollup lose or double-count events? For every closed period, the
 * raw table's count(*) against the rollup's sum(request_count).
 *
 * Freshness markers (FreshnessProbe) are ordinary rows and are counted on both
 * sides, so they do not distort the comparison.
 */
import { readFile } from 'node:fs/promises';
import { sqlPath } from '../paths.js';
import type { SqlClient } from './strategies.js';
import { renderTemplate, sqlIdent, type Granularity } from './template.js';
import type { AuditResult, PeriodComparison } from '../results/run-record.js';

/** A count for one period. */
export interface PeriodCount {
  readonly periodStart: Date;
  readonly count: number;
}

/** Merge raw and rollup counts by period and total the differences. Pure. */
export function compareCounts(raw: readonly PeriodCount[], rollup: readonly PeriodCount[]): AuditResult {
  const byPeriod = new Map<number, { rawCount: number; rollupCount: number }>();
  const slot = (d: Date): { rawCount: number; rollupCount: number } => {
    let s = byPeriod.get(d.getTime());
    if (!s) byPeriod.set(d.getTime(), (s = { rawCount: 0, rollupCount: 0 }));
    return s;
  };
  for (const r of raw) slot(r.periodStart).rawCount += r.count;
  for (const r of rollup) slot(r.periodStart).rollupCount += r.count;
  const periods = [...byPeriod.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([ms, s]) => ({ periodStart: new Date(ms), rawCount: s.rawCount, rollupCount: s.rollupCount }));
  let lostEvents = 0;
  let duplicatedEvents = 0;
  for (const p of periods) {
    lostEvents += Math.max(0, p.rawCount - p.rollupCount);
    duplicatedEvents += Math.max(0, p.rollupCount - p.rawCount);
  }
  return { periods, lostEvents, duplicatedEvents, periodsChecked: periods.length };
}

/** Options of {@link audit}. */
export interface AuditOptions {
  /** Rollup table, e.g. http_request_1min. */
  readonly table: string;
  readonly granularityMin: Granularity;
  /** Start: the period holding it is the first checked. */
  readonly from: Date;
  /**
   * End: only periods ending at or before it (and before the server's now())
   * are checked. Pass the rollup's covered bound (strategies.coveredUntil).
   */
  readonly to: Date;
}

/** Audit the closed periods in [from, to) against the raw table. */
export async function audit(client: SqlClient, opts: AuditOptions): Promise<AuditResult> {
  const text = await readFile(sqlPath('rollup', 'audit.sql'), 'utf8');
  const sql = renderTemplate(text, { periodMinutes: opts.granularityMin, flags: {}, values: { table: sqlIdent(opts.table) } });
  const r = await client.query<{ side: 'raw' | 'rollup'; period_start: Date; n: string }>(sql, [opts.from, opts.to]);
  const raw: PeriodCount[] = [];
  const rollup: PeriodCount[] = [];
  for (const row of r.rows) (row.side === 'raw' ? raw : rollup).push({ periodStart: row.period_start, count: Number(row.n) });
  return compareCounts(raw, rollup);
}
