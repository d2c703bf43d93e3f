/**
 * One instance's interval data read back from its text files (intervals.hlog
 * and timeseries.csv), and the per-interval merge of several instances. Pure:
 * the caller reads the files. Interval histograms are merged with add(),
 * never by averaging percentiles.
 */
import { HistogramLogReader } from 'hdr-histogram-js';
import { KINDS, derivedFigures, type IntervalRow, type Kind } from '../metrics/aggregate.js';
import { decodeHistogram, encodeHistogram, newHistogram, type Histogram } from '../metrics/histogram.js';
import { readTimeseriesCsv } from '../results/timeseries-read.js';

/**
 * One interval of one instance: its timeseries.csv row plus its histograms (µs),
 * i.e. an IntervalRow less the figures derived from the histograms (recomputed
 * after merging). Times and the index count from the instance's own start.
 */
export type InstanceInterval = Readonly<Omit<IntervalRow, 'achievedRowsHz' | 'responseP50Us' | 'responseP99Us' | 'serviceP99Us' | 'lagP99Us'>>;

export interface InstanceIntervals {
  /** The interval log's StartTime, ms since the epoch; null if the log has none. */
  readonly startEpochMs: number | null;
  /** The histogram kinds (interval log tags) every interval has, in the log's order. */
  readonly kinds: readonly string[];
  readonly intervals: readonly InstanceInterval[];
}

const CSV_COLUMNS = [
  'index', 'phase', 'start_s', 'end_s', 'target_rows_per_s', 'rows', 'ops', 'errors', 'late', 'dropped',
  'connections_up', 'reconnects', 'max_worker_elu', 'loop_delay_p99_us', 'cpu_cores', 'rss_mb',
] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

/**
 * Parse an rtbench interval log and time series into intervals. Rows come from
 * timeseries.csv; each is joined to the log's histograms by start time (both
 * files write it with 3 decimals). Throws an Error naming the problem.
 */
export function readInstanceIntervals(hlogText: string, csvText: string): InstanceIntervals {
  const reader = new HistogramLogReader(hlogText);
  const byStart = new Map<number, Record<string, string>>();
  // Whatever kinds the log has (a newer rtbench may record more than this one's KINDS): merge carries them all.
  const kinds: string[] = [];
  for (;;) {
    const h = reader.nextIntervalHistogram();
    if (h === null) break;
    if (!h.tag) continue;
    if (!kinds.includes(h.tag)) kinds.push(h.tag);
    // The reader adds its base time (the log's StartTime for relative logs); take it off again.
    const baseMs = Number.isFinite(reader.baseTimeSec) ? reader.baseTimeSec * 1000 : 0;
    const startMs = Math.round(h.startTimeStampMsec - baseMs);
    const entry = byStart.get(startMs) ?? {};
    entry[h.tag] = encodeHistogram(h);
    byStart.set(startMs, entry);
  }
  const startEpochMs = Number.isFinite(reader.startTimeSec) ? Math.round(reader.startTimeSec * 1000) : null;

  const records = readTimeseriesCsv(csvText, CSV_COLUMNS);
  const intervals: InstanceInterval[] = [];
  for (const [i, f] of records.entries()) {
    const n = i + 1;
    const num = (c: CsvColumn): number => {
      const v = Number(f[c]);
      if (f[c] === undefined || f[c] === '' || !Number.isFinite(v)) throw new Error(`timeseries.csv: line ${n + 1}: ${c} is not a number`);
      return v;
    };
    const phase = f['phase'];
    if (phase !== 'warmup' && phase !== 'measure') throw new Error(`timeseries.csv: line ${n + 1}: phase ${JSON.stringify(phase)}`);
    const startMs = Math.round(num('start_s') * 1000);
    const hs = byStart.get(startMs) ?? {};
    const encoded: Record<string, string> = {};
    for (const k of KINDS) if (!kinds.includes(k)) throw new Error(`intervals.hlog: no ${k} histograms`);
    for (const k of kinds) {
      const e = hs[k];
      if (e === undefined) throw new Error(`intervals.hlog: no ${k} histogram for interval ${f['index']} (start ${f['start_s']} s)`);
      encoded[k] = e;
    }
    intervals.push({
      index: num('index'),
      phase,
      startMs,
      endMs: Math.round(num('end_s') * 1000),
      targetRowsHz: f['target_rows_per_s'] === '' ? null : num('target_rows_per_s'),
      rows: num('rows'),
      ops: num('ops'),
      errors: num('errors'),
      late: num('late'),
      dropped: num('dropped'),
      connectionsUp: num('connections_up'),
      reconnects: num('reconnects'),
      maxWorkerElu: num('max_worker_elu'),
      maxLoopDelayP99Us: num('loop_delay_p99_us'),
      cpuCores: num('cpu_cores'),
      // The csv keeps 0.1 MB; that is all the precision there is.
      rssBytes: Math.round(num('rss_mb') * 1048576),
      // Absent in runs of older rtbench.
      ...(f['unavailable_ms'] !== undefined && f['unavailable_ms'] !== '' ? { unavailableMs: num('unavailable_ms' as CsvColumn) } : {}),
      encoded: encoded as Record<Kind, string>,
    });
  }
  return { startEpochMs, kinds, intervals };
}

/** The sum of one kind's histograms over one phase's intervals. */
export function sumPhase(intervals: readonly InstanceInterval[], phase: 'warmup' | 'measure', kind: Kind): Histogram {
  const h = newHistogram();
  for (const r of intervals) if (r.phase === phase) h.add(decodeHistogram(r.encoded[kind]));
  return h;
}

/** One instance's intervals and the instant its times count from, in a clock all instances share. */
export interface TimedIntervals {
  /** The instance's schedule origin, ms since the epoch (the group's common start, database clock). */
  readonly originEpochMs: number;
  readonly intervals: readonly InstanceInterval[];
}

/**
 * Merge the instances' intervals by time: each interval is placed at its
 * absolute start (origin + start) and intervals falling in the same
 * `intervalMs` slot of the earliest origin are merged. Histograms are added
 * per kind (every kind present), counts, connections, CPU and RSS summed, ELU
 * and loop delay maxed, target rates summed. The phase is that of the
 * lowest-numbered instance having the slot. `instances` must be ordered by
 * instance index. Times in the result count from the earliest origin.
 */
export function mergeIntervals(instances: readonly TimedIntervals[], intervalMs = 1000): IntervalRow[] {
  const base = Math.min(...instances.map((x) => x.originEpochMs));
  const bySlot = new Map<number, InstanceInterval[]>();
  for (const { originEpochMs, intervals } of instances) {
    const shiftMs = originEpochMs - base;
    for (const r of intervals) {
      const aligned = { ...r, startMs: r.startMs + shiftMs, endMs: r.endMs + shiftMs };
      const slot = Math.round(aligned.startMs / intervalMs);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), aligned]);
    }
  }
  const out: IntervalRow[] = [];
  for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
    const rs = bySlot.get(slot)!;
    const first = rs[0]!;
    const hs: Record<string, Histogram> = {};
    let startMs = Infinity;
    let endMs = -Infinity;
    let target: number | null = null;
    const sum = { rows: 0, ops: 0, errors: 0, late: 0, dropped: 0, connectionsUp: 0, reconnects: 0, cpuCores: 0, rssBytes: 0 };
    let maxElu = 0;
    let maxDelay = 0;
    // The instances shared one server: its outage is the longest any instance saw in the slot.
    let unavailableMs: number | undefined;
    for (const r of rs) {
      if (r.unavailableMs !== undefined) unavailableMs = Math.max(unavailableMs ?? 0, r.unavailableMs);
      for (const [k, e] of Object.entries(r.encoded)) (hs[k] ??= newHistogram()).add(decodeHistogram(e));
      startMs = Math.min(startMs, r.startMs);
      endMs = Math.max(endMs, r.endMs);
      if (r.targetRowsHz !== null) target = (target ?? 0) + r.targetRowsHz;
      for (const key of Object.keys(sum) as Array<keyof typeof sum>) sum[key] += r[key];
      maxElu = Math.max(maxElu, r.maxWorkerElu);
      maxDelay = Math.max(maxDelay, r.maxLoopDelayP99Us);
    }
    for (const k of KINDS) hs[k] ??= newHistogram();
    out.push({
      index: slot + 1,
      startMs,
      endMs,
      phase: first.phase,
      targetRowsHz: target,
      rows: sum.rows,
      ops: sum.ops,
      ...derivedFigures(hs as Record<Kind, Histogram>, sum.rows, startMs, endMs),
      errors: sum.errors,
      late: sum.late,
      dropped: sum.dropped,
      connectionsUp: sum.connectionsUp,
      reconnects: sum.reconnects,
      maxWorkerElu: maxElu,
      maxLoopDelayP99Us: maxDelay,
      cpuCores: sum.cpuCores,
      rssBytes: sum.rssBytes,
      ...(unavailableMs === undefined ? {} : { unavailableMs }),
      encoded: Object.fromEntries(Object.entries(hs).map(([k, h]) => [k, encodeHistogram(h)])) as Record<Kind, string>,
    });
  }
  return out;
}
