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
  const byStart = new Map<number, Partial<Record<Kind, string>>>();
  for (;;) {
    const h = reader.nextIntervalHistogram();
    if (h === null) break;
    if (!(KINDS as readonly string[]).includes(h.tag)) continue;
    // The reader adds its base time (the log's StartTime for relative logs); take it off again.
    const baseMs = Number.isFinite(reader.baseTimeSec) ? reader.baseTimeSec * 1000 : 0;
    const startMs = Math.round(h.startTimeStampMsec - baseMs);
    const entry = byStart.get(startMs) ?? {};
    entry[h.tag as Kind] = encodeHistogram(h);
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
    const encoded = {} as Record<Kind, string>;
    for (const k of KINDS) {
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
      encoded,
    });
  }
  return { startEpochMs, intervals };
}

/** The sum of one kind's histograms over one phase's intervals. */
export function sumPhase(intervals: readonly InstanceInterval[], phase: 'warmup' | 'measure', kind: Kind): Histogram {
  const h = newHistogram();
  for (const r of intervals) if (r.phase === phase) h.add(decodeHistogram(r.encoded[kind]));
  return h;
}

/**
 * Merge the instances' intervals by index (each counted from its own start):
 * histograms added per kind, counts, connections, CPU and RSS summed, ELU and
 * loop delay maxed, target rates summed. The phase is that of the
 * lowest-numbered instance having the interval. `instances` must be ordered by
 * instance index.
 */
export function mergeIntervals(instances: ReadonlyArray<readonly InstanceInterval[]>): IntervalRow[] {
  const byIndex = new Map<number, InstanceInterval[]>();
  for (const list of instances) {
    for (const r of list) {
      const at = byIndex.get(r.index) ?? [];
      at.push(r);
      byIndex.set(r.index, at);
    }
  }
  const out: IntervalRow[] = [];
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const rs = byIndex.get(index)!;
    const first = rs[0]!;
    const hs: Record<Kind, Histogram> = { response: newHistogram(), service: newHistogram(), lag: newHistogram() };
    let startMs = Infinity;
    let endMs = -Infinity;
    let target: number | null = null;
    const sum = { rows: 0, ops: 0, errors: 0, late: 0, dropped: 0, connectionsUp: 0, reconnects: 0, cpuCores: 0, rssBytes: 0 };
    let maxElu = 0;
    let maxDelay = 0;
    for (const r of rs) {
      for (const k of KINDS) hs[k].add(decodeHistogram(r.encoded[k]));
      startMs = Math.min(startMs, r.startMs);
      endMs = Math.max(endMs, r.endMs);
      if (r.targetRowsHz !== null) target = (target ?? 0) + r.targetRowsHz;
      for (const key of Object.keys(sum) as Array<keyof typeof sum>) sum[key] += r[key];
      maxElu = Math.max(maxElu, r.maxWorkerElu);
      maxDelay = Math.max(maxDelay, r.maxLoopDelayP99Us);
    }
    out.push({
      index,
      startMs,
      endMs,
      phase: first.phase,
      targetRowsHz: target,
      rows: sum.rows,
      ops: sum.ops,
      ...derivedFigures(hs, sum.rows, startMs, endMs),
      errors: sum.errors,
      late: sum.late,
      dropped: sum.dropped,
      connectionsUp: sum.connectionsUp,
      reconnects: sum.reconnects,
      maxWorkerElu: maxElu,
      maxLoopDelayP99Us: maxDelay,
      cpuCores: sum.cpuCores,
      rssBytes: sum.rssBytes,
      encoded: { response: encodeHistogram(hs.response), service: encodeHistogram(hs.service), lag: encodeHistogram(hs.lag) },
    });
  }
  return out;
}
