/**
 * Availability as a figure: when the target could not serve. An outage runs
 * from the first connection-class failure (08*, 57P01/02/03: a statement that
 * failed, an idle connection dropped, a reconnect refused) to the first
 * statement that succeeded after it. Pure: times are ms after the schedule
 * origin (like IntervalRow.startMs), passed in by the caller.
 */
import { sqlstateName } from '../targets/sqlstate.js';

/** One outage: `endMs` null while it lasts (or when the step ended inside it). */
export interface OutageSpan {
  /** First failure, ms after the schedule origin. */
  readonly startMs: number;
  /** First success after it, ms after the origin; null: not over when last seen. */
  readonly endMs: number | null;
  /** SQLSTATEs seen during the outage in order of first appearance, each with its name ("57P01 admin_shutdown"). */
  readonly causes: readonly string[];
}

/**
 * One worker's view of its pool: failures and successes in time order give
 * its outages. Each interval asks for the spans that touched it.
 */
export class OutageTracker {
  #downSinceMs: number | null = null;
  #causes: string[] = [];
  #closed: OutageSpan[] = [];

  /** A connection-class failure at `atMs` (SQLSTATE `sqlstate`). */
  failure(atMs: number, sqlstate: string): void {
    if (this.#downSinceMs === null) {
      this.#downSinceMs = atMs;
      this.#causes = [];
    }
    const cause = `${sqlstate} ${sqlstateName(sqlstate)}`.trim();
    if (!this.#causes.includes(cause)) this.#causes.push(cause);
  }

  /** A statement succeeded at `atMs`: an outage in progress ends here. */
  success(atMs: number): void {
    if (this.#downSinceMs === null) return;
    this.#closed.push({ startMs: this.#downSinceMs, endMs: Math.max(atMs, this.#downSinceMs), causes: this.#causes });
    this.#downSinceMs = null;
    this.#causes = [];
  }

  get down(): boolean {
    return this.#downSinceMs !== null;
  }

  /**
   * The spans of the interval [startMs, endMs): those that ended in it and the one still
   * open, with the time the pool was down within the interval. Clears the ended ones.
   */
  takeInterval(startMs: number, endMs: number): { spans: OutageSpan[]; unavailableMs: number } {
    const spans = this.#closed;
    this.#closed = [];
    if (this.#downSinceMs !== null) spans.push({ startMs: this.#downSinceMs, endMs: null, causes: [...this.#causes] });
    return { spans, unavailableMs: unavailableWithin(spans, startMs, endMs) };
  }
}

/** Union of overlapping spans (an open span reaches to infinity), causes merged in order; sorted by start. */
export function mergeSpans(spans: readonly OutageSpan[]): OutageSpan[] {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs);
  const out: Array<{ startMs: number; endMs: number | null; causes: string[] }> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && (last.endMs === null || s.startMs <= last.endMs)) {
      last.endMs = last.endMs === null || s.endMs === null ? null : Math.max(last.endMs, s.endMs);
      for (const c of s.causes) if (!last.causes.includes(c)) last.causes.push(c);
    } else {
      out.push({ startMs: s.startMs, endMs: s.endMs, causes: [...s.causes] });
    }
  }
  return out;
}

/** Time (ms) within [startMs, endMs) covered by the union of `spans` (open spans reach endMs). */
export function unavailableWithin(spans: readonly OutageSpan[], startMs: number, endMs: number): number {
  let total = 0;
  for (const s of mergeSpans(spans)) {
    const a = Math.max(startMs, s.startMs);
    const b = Math.min(endMs, s.endMs ?? endMs);
    if (b > a) total += b - a;
  }
  return total;
}

/**
 * Spans reported interval by interval (an outage is reported by every interval it touches,
 * open until the last) folded into the step's outages: an open span and its later closed
 * version share their start and keep the latest end.
 */
export function foldIntervalSpans(perInterval: ReadonlyArray<readonly OutageSpan[] | undefined>): OutageSpan[] {
  const all: OutageSpan[] = [];
  for (const spans of perInterval) for (const s of spans ?? []) all.push(s);
  // An open span (endMs null) reported early and its closed version later: the closed one wins.
  const byStart = new Map<number, OutageSpan>();
  for (const s of all) {
    const prev = byStart.get(s.startMs);
    if (!prev || (prev.endMs === null && s.endMs !== null) || (prev.endMs !== null && s.endMs !== null && s.endMs > prev.endMs)) {
      byStart.set(s.startMs, s.causes.length >= (prev?.causes.length ?? 0) ? s : { ...s, causes: prev!.causes });
    }
  }
  return mergeSpans([...byStart.values()]);
}

/** One outage of the step as the summary reports it. */
export interface OutageFigures extends OutageSpan {
  /** endMs − startMs; to the step's end for an outage that did not end. */
  readonly durationMs: number;
  /**
   * From the outage's end to the start of the first interval (after it) whose achieved rate was
   * back at 95% of the target; null for a closed loop, an outage that did not end, or a rate
   * that never came back within the step. Resolution: one interval.
   */
  readonly recoveryMs: number | null;
}

/** summary.availability: the step's outages, the time unavailable and the recovery time. */
export interface AvailabilitySummary {
  readonly outages: readonly OutageFigures[];
  /** Sum of the outages' durations, ms. */
  readonly unavailableMs: number;
  /** The longest recovery of an outage that ended (ms); null when none is known. */
  readonly recoveryMs: number | null;
  /** Failures by SQLSTATE per interval that had any: `[startMs, { sqlstate: count }]`. */
  readonly errorsOverTime: ReadonlyArray<readonly [number, Readonly<Record<string, number>>]>;
  /** Each load connection's own unavailability (absent when none was down, and in runs of older rtbench). */
  readonly connections?: ConnectionAvailability;
}

/** One load connection's unavailability over the step. */
export interface ConnectionOutageFigures {
  readonly worker: number;
  readonly connection: number;
  /** From each connection-class failure on it to the first success on it after that, summed, ms. */
  readonly unavailableMs: number;
  readonly outages: number;
}

/** summary.availability.connections: the pool's outage as each connection lived it. */
export interface ConnectionAvailability {
  /** Load connections in all. */
  readonly count: number;
  /** Connections that were down at least once. */
  readonly down: number;
  /** Over the connections that were down: the least, median and most time unavailable, ms. */
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly perConnection: readonly ConnectionOutageFigures[];
}

/** Per-connection figures, or undefined when no connection was ever down. */
export function connectionAvailability(list: readonly ConnectionOutageFigures[]): ConnectionAvailability | undefined {
  const down = list.filter((c) => c.outages > 0).map((c) => c.unavailableMs).sort((a, b) => a - b);
  if (down.length === 0) return undefined;
  const mid = Math.floor(down.length / 2);
  return {
    count: list.length,
    down: down.length,
    minMs: down[0]!,
    medianMs: down.length % 2 === 1 ? down[mid]! : (down[mid - 1]! + down[mid]!) / 2,
    maxMs: down[down.length - 1]!,
    perConnection: [...list],
  };
}

/** "each of 8 connections was down 1.4–1.9 s (median 1.6 s)" */
export function describeConnections(c: ConnectionAvailability): string {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const range = c.minMs === c.maxMs ? `${s(c.minMs)} s` : `${s(c.minMs)}–${s(c.maxMs)} s (median ${s(c.medianMs)} s)`;
  return c.down === c.count
    ? `each of the ${c.count} load connections was unavailable ${range}`
    : `${c.down} of the ${c.count} load connections were unavailable ${range}, the others never`;
}

/** The interval figures availability is computed from (IntervalRow has them). */
export interface AvailabilityRow {
  readonly startMs: number;
  readonly endMs: number;
  readonly targetRowsHz: number | null;
  readonly achievedRowsHz: number;
  readonly outages?: readonly OutageSpan[];
  readonly errorsBySqlstate?: Readonly<Record<string, number>>;
}

/** Share of the target an interval must reach to count as "back at target". */
export const RECOVERED_SHARE = 0.95;

/** The step's availability from its interval rows (warm-up and measure, in order). */
export function availabilitySummary(rows: readonly AvailabilityRow[]): AvailabilitySummary {
  const lastMs = rows.reduce((m, r) => Math.max(m, r.endMs), 0);
  const outages = foldIntervalSpans(rows.map((r) => r.outages)).map((o): OutageFigures => {
    const durationMs = (o.endMs ?? Math.max(lastMs, o.startMs)) - o.startMs;
    return { ...o, durationMs, recoveryMs: o.endMs === null ? null : recoveryOf(rows, o.endMs) };
  });
  const recoveries = outages.map((o) => o.recoveryMs).filter((x): x is number => x !== null);
  return {
    outages,
    unavailableMs: outages.reduce((acc, o) => acc + o.durationMs, 0),
    recoveryMs: recoveries.length > 0 ? Math.max(...recoveries) : null,
    errorsOverTime: rows.filter((r) => r.errorsBySqlstate && Object.keys(r.errorsBySqlstate).length > 0).map((r) => [r.startMs, r.errorsBySqlstate!] as const),
  };
}

function recoveryOf(rows: readonly AvailabilityRow[], endMs: number): number | null {
  for (const r of rows) {
    if (r.endMs <= endMs || r.targetRowsHz === null) continue;
    // The interval holding the outage's end is partly an outage: judge the first whole one after it.
    if (r.startMs < endMs && (r.outages?.length ?? 0) > 0) continue;
    if (r.achievedRowsHz >= RECOVERED_SHARE * r.targetRowsHz) return Math.max(0, r.startMs - endMs);
  }
  return null;
}

/** "the server was unavailable 14.0–15.6 s: 57P01 admin_shutdown, then 57P03 cannot_connect_now" */
export function describeOutage(o: OutageSpan): string {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const when = o.endMs === null ? `from ${s(o.startMs)} s to the end of the step` : `${s(o.startMs)}–${s(o.endMs)} s`;
  return `the server was unavailable ${when}${o.causes.length > 0 ? `: ${o.causes.join(', then ')}` : ''}`;
}
