/**
 * One progress line per interval, in the style of `pgbench -P`. Pure.
 */
import type { IntervalRow } from '../metrics/aggregate.js';

function ms(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}

function rate(hz: number): string {
  return Number.isInteger(hz) ? String(hz) : hz.toFixed(1);
}

/** `[warmup]`, `[measure]`, or `[warmup→measure]` for an interval that straddles the boundary. */
function phaseLabel(row: IntervalRow, warmupMs: number): string {
  if (row.endMs <= warmupMs) return 'warmup';
  if (row.startMs >= warmupMs) return 'measure';
  return 'warmup→measure';
}

/**
 * Format one interval row, e.g.
 * `progress: 12.0 s [measure], 2001.0 rows/s (target 2000), resp p50 1.21 ms p99 4.37 ms, lag p99 0.82 ms, late 3, err 0`.
 * The time is the interval's end in seconds since the schedule start.
 * `, conn up/expected` is appended only when fewer connections than
 * `expectedConnections` are up; `, dropped N` only when N > 0; `, SERVER UNAVAILABLE 0.62 s (57P01, 57P03)` when the
 * target could not serve for part of the interval (the outage marked on the line).
 *
 * @param warmupMs end of warm-up (ms after start), to label the phase
 * @param expectedConnections connections the run should hold open
 */
export function progressLine(row: IntervalRow, warmupMs: number, expectedConnections?: number): string {
  const target = row.targetRowsHz === null ? '(closed loop)' : `(target ${rate(row.targetRowsHz)})`;
  let line =
    `progress: ${(row.endMs / 1000).toFixed(1)} s [${phaseLabel(row, warmupMs)}], ` +
    `${row.achievedRowsHz.toFixed(1)} rows/s ${target}, ` +
    `resp p50 ${ms(row.responseP50Us)} p99 ${ms(row.responseP99Us)}, ` +
    `lag p99 ${ms(row.lagP99Us)}, late ${row.late}, err ${row.errors}`;
  if (expectedConnections !== undefined && row.connectionsUp < expectedConnections) {
    line += `, conn ${row.connectionsUp}/${expectedConnections}`;
  }
  if (row.dropped > 0) line += `, dropped ${row.dropped}`;
  if ((row.unavailableMs ?? 0) > 0) {
    const causes = [...new Set((row.outages ?? []).flatMap((o) => o.causes.map((c) => c.split(' ')[0])))];
    line += `, SERVER UNAVAILABLE ${((row.unavailableMs ?? 0) / 1000).toFixed(2)} s${causes.length > 0 ? ` (${causes.join(', ')})` : ''}`;
  }
  return line;
}
