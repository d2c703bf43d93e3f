/**
 * The charts of one finished run that the page cannot build from the interval
 * stream: the server's charts, percentile distributions from the histograms
 * (HdrHistogram's log-scaled percentile plot), and raw-vs-rollup / exact-vs-HLL
 * bars from the probe figures. As data for the page (page-model.ts), drawn by
 * uPlot in the browser. Pure. The time charts (rate, percentiles over time,
 * problems) are built by the page itself from the intervals (page-script.ts),
 * so the live page and the report draw them the same way.
 */
import { NAMED_SPEEDUPS } from '../probe/figures.js';
import type { ByWindow, ProbeFigures, RunRecord } from '../results/run-record.js';
import type { PageChart } from './page-model.js';
import { INSUFFICIENT } from './console.js';

/** The part of an HdrHistogram the percentile chart reads (values in µs). */
export interface PercentileSource {
  readonly totalCount: number;
  readonly maxValue: number;
  getValueAtPercentile(percentile: number): number;
}

/** Points per decade of 1/(1-p) on a percentile curve. */
const STEPS_PER_DECADE = 10;

/**
 * A histogram's percentile distribution as [1/(1-p), value] points: p from 0
 * up to 1 - 1/count (beyond that the data says nothing), ending at the max.
 * Empty for an empty histogram.
 */
export function percentileCurve(h: PercentileSource): Array<readonly [number, number]> {
  const n = h.totalCount;
  if (n <= 0) return [];
  const out: Array<readonly [number, number]> = [];
  const limit = Math.log10(n);
  for (let k = 0; k / STEPS_PER_DECADE < limit; k++) {
    const x = 10 ** (k / STEPS_PER_DECADE);
    out.push([x, h.getValueAtPercentile(100 * (1 - 1 / x))]);
  }
  out.push([Math.max(n, 1.0001), h.maxValue]);
  return out;
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

/**
 * Several percentile curves on one chart: the x values of all curves merged
 * (uPlot's data is columnar), each curve null where it has no point.
 */
export function percentileChart(id: string, title: string, curves: ReadonlyArray<{ readonly name: string; readonly histogram: PercentileSource }>): PageChart {
  const pts = curves.map((c) => new Map(percentileCurve(c.histogram).map(([x, y]) => [x, y] as const)));
  const xs = [...new Set(pts.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return {
    id, title,
    caption: 'Value at each percentile (x: 1/(1−p) on a log scale, as HdrHistogram plots it); a curve ends at its maximum, after the last percentile its sample count can resolve.',
    x: { label: 'percentile', unit: 'pct-x', log: true },
    y: { label: 'latency', unit: 'us', log: true },
    xs,
    series: curves.map((c, i) => ({ name: `${c.name} (n=${c.histogram.totalCount.toLocaleString('en-US')})`, values: xs.map((x) => pts[i]!.get(x) ?? null) })),
  };
}

function distributionCharts(histograms: Record<string, PercentileSource>, probes: ProbeFigures | null | undefined): PageChart[] {
  return histogramGroups(Object.keys(histograms), probes)
    .filter((g) => g.names.some((n) => (histograms[n]?.totalCount ?? 0) > 0))
    .map((g) => percentileChart(g.id, g.title, g.names.map((n, i) => ({ name: g.labels[i] ?? n, histogram: histograms[n]! }))));
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

function probeBarCharts(p: ProbeFigures): PageChart[] {
  const [hllRaw, hllRollup] = NAMED_SPEEDUPS.hllSpeedup;
  return probePairs(p).map(({ raw, rollup, ratios }, i) => {
    const isHll = raw === hllRaw && rollup === hllRollup;
    const p50 = (probe: string): Array<number | null> => p.windows.map((w) => {
      const f = p.byProbe[probe]?.[w];
      return f && f.count > 0 ? f.p50Us : null;
    });
    // Under each window: the speedup (and the HLL error), in the category label.
    const categories = p.windows.map((w) => {
      const parts: string[] = [];
      const r = ratios[w];
      if (r === null) parts.push(`${INSUFFICIENT} (n < ${p.minSamples})`);
      else if (r !== undefined) parts.push(`${r.toFixed(2)}x`);
      const e = isHll ? p.hllRelativeError?.[w] : undefined;
      if (e !== undefined) parts.push(`err ${e >= 0 ? '+' : ''}${(e * 100).toFixed(2)}%`);
      return parts.length > 0 ? `${w}: ${parts.join(', ')}` : w;
    });
    const title = isHll ? 'Exact vs HLL distinct count: p50 per window' : `${raw} vs ${rollup}: p50 per window`;
    return {
      id: `probe-bars-${i}`,
      title,
      caption: isHll
        ? 'Median query time of the exact and the HLL distinct count per dashboard window; each window is labelled with the speedup (exact / HLL p50) and the HLL relative error.'
        : 'Median query time reading raw rows vs the rollup per dashboard window; each window is labelled with the speedup (raw / rollup p50).',
      x: { label: 'dashboard window', unit: 'cat', categories },
      y: { label: 'p50 latency', unit: 'us' },
      xs: p.windows.map((_, k) => k),
      series: [{ name: `${raw} p50`, values: p50(raw), bars: true }, { name: `${rollup} p50`, values: p50(rollup), bars: true }],
    };
  });
}

/** The finished run's charts beyond the time charts, in page order. */
export function runCharts(record: RunRecord): PageChart[] {
  return [
    ...distributionCharts(record.histograms, record.summary.probes),
    ...(record.summary.probes ? probeBarCharts(record.summary.probes) : []),
  ];
}
