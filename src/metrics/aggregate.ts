/**
 * The main thread's stats processor: it alone merges the workers' interval
 * histograms (with add(), never averaging percentiles), keeps per-phase totals,
 * and turns each completed interval into one time-series row. Pure.
 */
import type { IntervalSnapshot, PhaseCounters } from '../load/messages.js';
import { decodeHistogram, encodeHistogram, newHistogram, summarize, type Histogram } from './histogram.js';
import { mergeSpans, unavailableWithin, type OutageSpan } from './availability.js';

export const KINDS = ['response', 'service', 'lag'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * The lag split by cause (src/schedule/pacing.ts): the harness's own timer
 * lateness and the wait for a free connection. Kept per phase for the summary
 * and its .hgrm files, not per interval.
 */
export const LAG_PARTS = ['timerLag', 'connectionWait'] as const;
export type LagPart = (typeof LAG_PARTS)[number];

export interface PhaseTotals {
  readonly histograms: Record<Kind, Histogram>;
  readonly lagParts: Record<LagPart, Histogram>;
  /** Lower bounds of the responses of operations dropped while no connection was up (µs): censored samples. */
  readonly censored: Histogram;
  readonly counters: PhaseCounters;
}

/** One row of timeseries.csv: all workers, both phases, one interval. */
export interface IntervalRow {
  readonly index: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly phase: 'warmup' | 'measure';
  readonly targetRowsHz: number | null;
  readonly rows: number;
  readonly achievedRowsHz: number;
  readonly ops: number;
  readonly responseP50Us: number;
  readonly responseP99Us: number;
  readonly serviceP99Us: number;
  readonly lagP99Us: number;
  readonly errors: number;
  readonly late: number;
  readonly dropped: number;
  readonly connectionsUp: number;
  readonly reconnects: number;
  readonly maxWorkerElu: number;
  readonly maxLoopDelayP99Us: number;
  /**
   * Time within the interval the target could not serve (any worker's pool down: from a
   * connection-class failure to the first success after it), ms. Absent in rows read back from
   * runs of older rtbench.
   */
  readonly unavailableMs?: number;
  /** The outages that touched this interval (ended in it, or still open at its end; ms after the origin). */
  readonly outages?: readonly OutageSpan[];
  /** Failed operations and reconnects of the interval by SQLSTATE (both phases). */
  readonly errorsBySqlstate?: Readonly<Record<string, number>>;
  /** Client process CPU over the interval, in cores (filled in by the caller). */
  cpuCores: number;
  /** Client process resident set size at the end of the interval (filled in by the caller). */
  rssBytes: number;
  /**
   * The interval's merged histograms, compressed (encodeHistogram), for the
   * interval log: a live histogram per kind per second would grow the client's
   * memory by ~0.3 MB/s over a long run.
   */
  readonly encoded: Record<Kind, string>;
}

function emptyCounters(): PhaseCounters {
  return { ops: 0, rows: 0, late: 0, dropped: 0, errors: {} };
}

export function addCounters(into: PhaseCounters, from: PhaseCounters): void {
  into.ops += from.ops;
  into.rows += from.rows;
  into.late += from.late;
  into.dropped += from.dropped;
  if (from.droppedAtEnd) into.droppedAtEnd = (into.droppedAtEnd ?? 0) + from.droppedAtEnd;
  for (const [k, v] of Object.entries(from.errors)) into.errors[k] = (into.errors[k] ?? 0) + v;
}

function emptyTotals(): PhaseTotals {
  return {
    histograms: { response: newHistogram(), service: newHistogram(), lag: newHistogram() },
    lagParts: { timerLag: newHistogram(), connectionWait: newHistogram() },
    censored: newHistogram(),
    counters: emptyCounters(),
  };
}

export function errorCount(c: PhaseCounters): number {
  let n = 0;
  for (const v of Object.values(c.errors)) n += v;
  return n;
}

/** A worker's interval with its histograms decoded once. */
interface Decoded {
  readonly snap: IntervalSnapshot;
  readonly phases: Array<{ readonly histograms: Record<Kind, Histogram>; readonly counters: PhaseCounters }>;
}

interface Pending {
  snaps: Decoded[];
}

/** The figures of an interval row that come from its merged histograms and row count. */
export function derivedFigures(
  hs: Record<Kind, Histogram>, rows: number, startMs: number, endMs: number,
): Pick<IntervalRow, 'achievedRowsHz' | 'responseP50Us' | 'responseP99Us' | 'serviceP99Us' | 'lagP99Us'> {
  const r = summarize(hs.response);
  return {
    achievedRowsHz: rows / Math.max(1e-3, (endMs - startMs) / 1000),
    responseP50Us: r.p50Us,
    responseP99Us: r.p99Us,
    serviceP99Us: summarize(hs.service).p99Us,
    lagP99Us: summarize(hs.lag).p99Us,
  };
}

export class Aggregator {
  readonly warmup: PhaseTotals = emptyTotals();
  readonly measure: PhaseTotals = emptyTotals();
  private readonly pending = new Map<number, Pending>();
  private nextIndex = 1;
  /** Worker ELU samples of the measure phase, for the self-check. */
  readonly measureElu: number[][] = [];
  readonly measureLoopDelayP99Us: number[] = [];

  /**
   * @param workers how many workers report each interval
   * @param warmupMs end of warm-up, for tagging rows
   * @param targetRowsHz total target rate (null: closed loop)
   */
  constructor(private readonly workers: number, private readonly warmupMs: number, private readonly targetRowsHz: number | null) {
    for (let w = 0; w < workers; w++) this.measureElu.push([]);
  }

  /** Add one worker's interval; returns the rows of intervals every worker has now reported, in order. */
  add(snap: IntervalSnapshot): IntervalRow[] {
    const decoded: Decoded = { snap, phases: [] };
    for (const phase of ['warmup', 'measure'] as const) {
      const p = snap[phase];
      if (!p) continue;
      const histograms = { response: decodeHistogram(p.response), service: decodeHistogram(p.service), lag: decodeHistogram(p.lag) };
      for (const k of KINDS) this[phase].histograms[k].add(histograms[k]);
      for (const k of LAG_PARTS) this[phase].lagParts[k].add(decodeHistogram(p[k]));
      if (p.censored !== undefined) this[phase].censored.add(decodeHistogram(p.censored));
      addCounters(this[phase].counters, p);
      decoded.phases.push({ histograms, counters: p });
    }
    let pend = this.pending.get(snap.index);
    if (!pend) {
      pend = { snaps: [] };
      this.pending.set(snap.index, pend);
    }
    pend.snaps.push(decoded);
    const out: IntervalRow[] = [];
    for (;;) {
      const ready = this.pending.get(this.nextIndex);
      if (!ready || ready.snaps.length < this.workers) break;
      this.pending.delete(this.nextIndex);
      out.push(this.row(ready.snaps));
      this.nextIndex++;
    }
    return out;
  }

  /** Rows of intervals not every worker reported (a worker died or ended early). */
  flush(): IntervalRow[] {
    const out: IntervalRow[] = [];
    for (const idx of [...this.pending.keys()].sort((a, b) => a - b)) {
      out.push(this.row(this.pending.get(idx)!.snaps));
      this.pending.delete(idx);
    }
    return out;
  }

  private row(decoded: Decoded[]): IntervalRow {
    const snaps = decoded.map((d) => d.snap);
    const hs = { response: newHistogram(), service: newHistogram(), lag: newHistogram() };
    const c = emptyCounters();
    let startMs = Infinity;
    let endMs = 0;
    let up = 0;
    let reconnects = 0;
    let maxElu = 0;
    let maxDelay = 0;
    for (const s of snaps) {
      startMs = Math.min(startMs, s.startMs);
      endMs = Math.max(endMs, s.endMs);
      up += s.connectionsUp;
      reconnects += s.reconnects;
      maxElu = Math.max(maxElu, s.elu);
      maxDelay = Math.max(maxDelay, s.loopDelayP99Us);
    }
    for (const d of decoded) {
      for (const p of d.phases) {
        for (const k of KINDS) hs[k].add(p.histograms[k]);
        addCounters(c, p.counters);
      }
    }
    const phase = startMs >= this.warmupMs ? 'measure' : 'warmup';
    const spans = mergeSpans(snaps.flatMap((s) => s.outages ?? []));
    if (phase === 'measure') {
      for (const s of snaps) this.measureElu[s.workerIndex]?.push(s.elu);
      this.measureLoopDelayP99Us.push(maxDelay);
    }
    return {
      index: snaps[0]?.index ?? 0,
      startMs,
      endMs,
      phase,
      targetRowsHz: this.targetRowsHz,
      rows: c.rows,
      ops: c.ops,
      ...derivedFigures(hs, c.rows, startMs, endMs),
      errors: errorCount(c),
      late: c.late,
      dropped: c.dropped,
      connectionsUp: up,
      reconnects,
      maxWorkerElu: maxElu,
      maxLoopDelayP99Us: maxDelay,
      unavailableMs: unavailableWithin(spans, startMs, endMs),
      ...(spans.length > 0 ? { outages: spans } : {}),
      ...(Object.keys(c.errors).length > 0 ? { errorsBySqlstate: { ...c.errors } } : {}),
      cpuCores: 0,
      rssBytes: 0,
      encoded: { response: encodeHistogram(hs.response), service: encodeHistogram(hs.service), lag: encodeHistogram(hs.lag) },
    };
  }
}
