/**
 * The charts of one run, as inline SVG: rate and latency over time from the
 * interval rows, percentile distributions from the histograms, and raw-vs-
 * rollup / exact-vs-HLL bars from the probe figures. Pure.
 */
import type { IntervalRow } from '../metrics/aggregate.js';
import { NAMED_SPEEDUPS } from '../probe/figures.js';
import type { ByWindow, ProbeFigures, RunRecord } from '../results/run-record.js';
import { barChartSvg, formatNumber, lineChartSvg, percentileChartSvg, type LineSeries, type PercentileSource } from './charts.js';
import { INSUFFICIENT, formatUs } from './console.js';
import { maxOf, minOf } from './svg.js';
import { serverCharts } from './server-report.js';

export interface ReportChart {
  /** Stable anchor, e.g. "rate". */
  readonly id: string;
  readonly title: string;
  /** One sentence on how to read it. */
  readonly caption: string;
  readonly svg: string;
}

const seconds = (v: number): string => `${formatNumber(v)} s`;

/**
 * Interval rows worth plotting over time: a stub far shorter than the usual
 * interval (the runner's last, cut at the end of the schedule) would show a
 * rate and percentiles from a handful of operations, so it is left out.
 */
export function plottedIntervals(rows: readonly IntervalRow[]): IntervalRow[] {
  const lengths = rows.map((r) => r.endMs - r.startMs).sort((a, b) => a - b);
  const median = lengths[Math.floor(lengths.length / 2)] ?? 0;
  return rows.filter((r) => r.endMs - r.startMs >= median / 5);
}

/** The x range of the time charts: schedule start (or the first interval) to the last interval's end. */
function timeDomain(rows: readonly IntervalRow[]): readonly [number, number] | undefined {
  if (rows.length === 0) return undefined;
  return [Math.min(0, minOf(rows.map((r) => r.startMs))) / 1000, maxOf(rows.map((r) => r.endMs)) / 1000];
}

function timeAxis(rows: readonly IntervalRow[]): { label: string; format: (v: number) => string; domain?: readonly [number, number] } {
  const domain = timeDomain(rows);
  return { label: 'time since start', format: seconds, ...(domain && { domain }) };
}

/** The warm-up as an x range in seconds, if the run had warm-up intervals. */
function warmupBands(rows: readonly IntervalRow[]): Array<{ from: number; to: number; label: string }> {
  const w = rows.filter((r) => r.phase === 'warmup');
  if (w.length === 0) return [];
  return [{ from: minOf(w.map((r) => r.startMs)) / 1000, to: maxOf(w.map((r) => r.endMs)) / 1000, label: 'warm-up' }];
}

function rateChart(rows: readonly IntervalRow[]): ReportChart {
  const x = (r: IntervalRow): number => r.endMs / 1000;
  const series: LineSeries[] = [{ name: 'achieved rows/s', points: rows.map((r) => [x(r), r.achievedRowsHz] as const) }];
  if (rows.some((r) => r.targetRowsHz !== null)) {
    series.push({ name: 'target rows/s', points: rows.map((r) => [x(r), r.targetRowsHz] as const), dashed: true, color: '#555' });
  }
  return {
    id: 'rate',
    title: 'Achieved vs target rate',
    caption: 'Rows acknowledged per second in each interval, plotted at the interval end; the shaded range is the warm-up.',
    svg: lineChartSvg({ title: 'Achieved vs target rate', series, x: timeAxis(rows), y: { label: 'rows/s' }, bands: warmupBands(rows) }),
  };
}

function latencyChart(rows: readonly IntervalRow[]): ReportChart {
  const x = (r: IntervalRow): number => r.endMs / 1000;
  const pick = (f: (r: IntervalRow) => number): Array<readonly [number, number | null]> => rows.map((r) => [x(r), r.ops > 0 ? f(r) : null] as const);
  return {
    id: 'latency-over-time',
    title: 'Response time over time',
    caption: 'Per-interval percentiles from the merged interval histograms (intervals without operations are gaps); log scale when the tail dwarfs the median.',
    svg: lineChartSvg({
      title: 'Response time over time',
      series: [
        { name: 'response p50', points: pick((r) => r.responseP50Us) },
        { name: 'response p99', points: pick((r) => r.responseP99Us) },
        { name: 'service p99', points: pick((r) => r.serviceP99Us), dashed: true },
        { name: 'lag p99', points: pick((r) => r.lagP99Us) },
      ],
      x: timeAxis(rows),
      y: { label: 'latency', scale: 'auto', format: formatUs },
      bands: warmupBands(rows),
    }),
  };
}

function problemsChart(rows: readonly IntervalRow[]): ReportChart {
  const x = (r: IntervalRow): number => r.endMs / 1000;
  return {
    id: 'problems-over-time',
    title: 'Late, dropped and failed operations over time',
    caption: 'Operations started later than the lateness threshold, dropped by the schedule, or answered with an error, per interval.',
    svg: lineChartSvg({
      title: 'Late, dropped and failed operations over time',
      series: [
        { name: 'late', points: rows.map((r) => [x(r), r.late] as const) },
        { name: 'dropped', points: rows.map((r) => [x(r), r.dropped] as const) },
        { name: 'errors', points: rows.map((r) => [x(r), r.errors] as const) },
      ],
      x: timeAxis(rows),
      y: { label: 'operations per interval' },
      bands: warmupBands(rows),
    }),
  };
}

/** Histograms drawn on one chart; labels[i] is how names[i] appears in the legend. */
export interface HistogramGroup {
  readonly id: string;
  readonly title: string;
  readonly names: string[];
  readonly labels: string[];
}

/**
 * Histogram names grouped into charts: ingest kinds together, rollup duration
 * with freshness, probes one chart per window, anything else last.
 */
export function histogramGroups(names: readonly string[], probes: ProbeFigures | null | undefined): HistogramGroup[] {
  const left = new Set(names);
  const take = (n: string): boolean => left.delete(n);
  const groups: HistogramGroup[] = [];
  const order = (n: string): number => {
    const known = ['ingest-response', 'ingest-service', 'ingest-lag', 'ingest-timer-lag', 'ingest-connection-wait'];
    const i = known.indexOf(n);
    return i < 0 ? known.length : i;
  };
  const ingest = names.filter((n) => n.startsWith('ingest-') && take(n)).sort((x, y) => order(x) - order(y));
  if (ingest.length > 0) groups.push({ id: 'dist-ingest', title: 'Ingest latency distribution (measure phase)', names: ingest, labels: ingest.map((n) => n.slice('ingest-'.length)) });
  const dash = ['rollup-duration', 'freshness'].filter(take);
  if (dash.length > 0) groups.push({ id: 'dist-rollup', title: 'Rollup duration and freshness distribution', names: dash, labels: dash });
  const windows = probes?.windows ?? [];
  windows.forEach((w, i) => {
    const inWindow = Object.keys(probes?.byProbe ?? {}).filter((p) => take(`probe-${p}-${w}`));
    if (inWindow.length > 0) {
      groups.push({ id: `dist-probes-${i}`, title: `Dashboard probe latency distribution, window ${w}`, names: inWindow.map((p) => `probe-${p}-${w}`), labels: inWindow });
    }
  });
  const probeRest = [...left].filter((n) => n.startsWith('probe-') && take(n));
  if (probeRest.length > 0) groups.push({ id: 'dist-probes', title: 'Dashboard probe latency distribution', names: probeRest, labels: probeRest });
  const rest = [...left];
  if (rest.length > 0) groups.push({ id: 'dist-other', title: 'Other latency distributions', names: rest, labels: rest });
  return groups;
}

function distributionCharts(histograms: Record<string, PercentileSource>, probes: ProbeFigures | null | undefined): ReportChart[] {
  return histogramGroups(Object.keys(histograms), probes).map((g) => ({
    id: g.id,
    title: g.title,
    caption: 'Value at each percentile (x: 1/(1−p) on a log scale, as HdrHistogram plots it); a curve ends at its maximum, after the last percentile its sample count can resolve.',
    svg: percentileChartSvg(g.title, g.names.map((n, i) => ({ name: g.labels[i] ?? n, histogram: histograms[n]! })), { label: 'latency', scale: 'auto', format: formatUs }),
  }));
}

/** Raw-vs-rollup pairs to draw: every pair the figures name, else the built-in ones present. */
function probePairs(p: ProbeFigures): Array<{ raw: string; rollup: string; ratios: ByWindow }> {
  if (p.speedups) {
    return Object.entries(p.speedups).flatMap(([key, ratios]) => {
      const i = key.indexOf('/');
      return i > 0 ? [{ raw: key.slice(0, i), rollup: key.slice(i + 1), ratios }] : [];
    });
  }
  return (Object.entries(NAMED_SPEEDUPS) as Array<[keyof typeof NAMED_SPEEDUPS, readonly [string, string]]>)
    .filter(([, [raw, rollup]]) => p.byProbe[raw] && p.byProbe[rollup])
    .map(([field, [raw, rollup]]) => ({ raw, rollup, ratios: p[field] ?? {} }));
}

function probeBarCharts(p: ProbeFigures): ReportChart[] {
  const [hllRaw, hllRollup] = NAMED_SPEEDUPS.hllSpeedup;
  return probePairs(p).map(({ raw, rollup, ratios }, i) => {
    const isHll = raw === hllRaw && rollup === hllRollup;
    const p50 = (probe: string): Array<number | null> => p.windows.map((w) => {
      const f = p.byProbe[probe]?.[w];
      return f && f.count > 0 ? f.p50Us : null;
    });
    const annotations = p.windows.map((w) => {
      const parts: string[] = [];
      const r = ratios[w];
      if (r === null) parts.push(`speedup ${INSUFFICIENT} (n < ${p.minSamples})`);
      else if (r !== undefined) parts.push(`speedup ${r.toFixed(2)}x`);
      const e = isHll ? p.hllRelativeError?.[w] : undefined;
      if (e !== undefined) parts.push(`HLL error ${e >= 0 ? '+' : ''}${(e * 100).toFixed(2)}%`);
      return parts.length > 0 ? parts.join(' · ') : undefined;
    });
    const title = isHll ? `Exact vs HLL distinct count: p50 per window` : `${raw} vs ${rollup}: p50 per window`;
    return {
      id: `probe-bars-${i}`,
      title,
      caption: isHll
        ? 'Median query time of the exact and the HLL distinct count per dashboard window; under each window the speedup (exact / HLL p50) and the HLL relative error.'
        : 'Median query time reading raw rows vs the rollup per dashboard window; under each window the speedup (raw / rollup p50).',
      svg: barChartSvg({
        title,
        categories: p.windows,
        series: [{ name: `${raw} p50`, values: p50(raw) }, { name: `${rollup} p50`, values: p50(rollup) }],
        xLabel: 'dashboard window',
        y: { label: 'p50 latency', scale: 'auto', format: formatUs },
        annotations,
      }),
    };
  });
}

/** Every chart of the run, in report order. */
export function runCharts(record: RunRecord): ReportChart[] {
  const rows = plottedIntervals(record.intervals);
  return [
    rateChart(rows),
    latencyChart(rows),
    // Under the response-time chart, on the same time axis: what the server was doing then.
    ...serverCharts(record),
    problemsChart(rows),
    ...distributionCharts(record.histograms, record.summary.probes),
    ...(record.summary.probes ? probeBarCharts(record.summary.probes) : []),
  ];
}
