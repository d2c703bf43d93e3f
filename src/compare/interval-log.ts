/**
 * Reading a run's interval data back from text: the measure-phase interval
 * histograms of intervals.hlog (per tag: response, service, lag) and the
 * measure-phase rows of timeseries.csv. Pure: the caller reads the files.
 */
import { HistogramLogReader } from 'hdr-histogram-js';
import type { Histogram } from '../metrics/histogram.js';
import { readTimeseriesCsv } from '../results/timeseries-read.js';

/** One measure-phase interval of one tag. Values are µs. */
export interface LoggedInterval {
  /** Seconds from the schedule start. */
  readonly startS: number;
  readonly endS: number;
  readonly histogram: Histogram;
}

export interface IntervalLog {
  /** Start of the measure phase, seconds from the schedule start; null if unknown. */
  readonly measureFromS: number | null;
  /** Measure-phase intervals per tag, in log order. */
  readonly byTag: ReadonlyMap<string, readonly LoggedInterval[]>;
}

/** The comment toIntervalLog writes: `#measure phase from 2.000 s; earlier intervals are warm-up`. */
const MEASURE_COMMENT = /^#measure phase from ([0-9.]+) s\b/m;

/** Timestamps are written with 3 decimals; half a millisecond absorbs float noise. */
const EPSILON_S = 0.0005;

/**
 * Decode the measure-phase interval histograms of an rtbench interval log.
 * The measure start comes from the log's own comment, else from
 * `fallbackMeasureFromS` (e.g. the first measure row of timeseries.csv); with
 * neither, the log holds no measure phase and the result is empty.
 */
export function readIntervalLog(text: string, fallbackMeasureFromS: number | null = null): IntervalLog {
  const m = MEASURE_COMMENT.exec(text);
  const fromComment = m ? Number(m[1]) : null;
  const measureFromS = fromComment !== null && Number.isFinite(fromComment) ? fromComment : fallbackMeasureFromS;
  const byTag = new Map<string, LoggedInterval[]>();
  if (measureFromS === null) return { measureFromS, byTag };
  const reader = new HistogramLogReader(text);
  for (;;) {
    const h = reader.nextIntervalHistogram(measureFromS - EPSILON_S);
    if (h === null) break;
    // startTimeStampMsec is absolute (base time + log timestamp); make it relative again.
    const baseS = Number.isFinite(reader.baseTimeSec) ? reader.baseTimeSec : 0;
    const startS = h.startTimeStampMsec / 1000 - baseS;
    const endS = h.endTimeStampMsec / 1000 - baseS;
    const list = byTag.get(h.tag) ?? [];
    list.push({ startS, endS, histogram: h });
    byTag.set(h.tag, list);
  }
  return { measureFromS, byTag };
}

/** One measure-phase row of timeseries.csv. */
export interface RateInterval {
  readonly startS: number;
  readonly endS: number;
  /** Rows acknowledged in the interval. */
  readonly rows: number;
}

export interface Timeseries {
  /** start_s of the first measure row; null if there is none. */
  readonly measureFromS: number | null;
  readonly measure: readonly RateInterval[];
}

/**
 * The measure-phase rows of timeseries.csv (columns phase, start_s, end_s,
 * rows by header name). Throws an Error naming the problem if the header
 * lacks a column or a measure row is malformed.
 */
export function readTimeseries(text: string): Timeseries {
  const records = readTimeseriesCsv(text, ['phase', 'start_s', 'end_s', 'rows']);
  const measure: RateInterval[] = [];
  for (const [n, r] of records.entries()) {
    if (r['phase'] !== 'measure') continue;
    const startS = Number(r['start_s']);
    const endS = Number(r['end_s']);
    const rows = Number(r['rows']);
    if (![startS, endS, rows].every(Number.isFinite) || endS < startS) throw new Error(`timeseries.csv: line ${n + 2} is malformed`);
    // The run's last interval can be empty in time (the final flush fell on a tick): no rate to take from it.
    if (endS === startS) continue;
    measure.push({ startS, endS, rows });
  }
  return { measureFromS: measure[0]?.startS ?? null, measure };
}
