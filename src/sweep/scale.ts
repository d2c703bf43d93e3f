/**
 * The sweep over history size (`rtbench sweep --preload-rows 100000,1000000,…`):
 * per point and window, each panel's p50/p95 against the rows it reads (raw
 * rows for raw panels, rollup rows for rollup panels), raw vs rollup and exact
 * vs HLL speedups with their 95% intervals, and what the history costs on disk
 * and in cache. Tables and log–log charts (the page's) of latency over history and rows read. Pure.
 */
import type { Histogram } from '../metrics/histogram.js';
import type { Ci95, Summary } from '../results/run-record.js';
import type { PageChart, PageSeries } from '../report/page-model.js';
import { formatUs } from '../report/console.js';
import type { ScaleSummary, ScaleWindow } from '../runner/scale-observer.js';

/** Panels the scale table shows, and which rows each reads. */
export const SCALE_PANELS = [
  { probe: 'raw-minutes', reads: 'raw' },
  { probe: 'rollup-minutes', reads: 'rollup' },
  { probe: 'distinct-exact', reads: 'raw' },
  { probe: 'distinct-hll', reads: 'rollup' },
  { probe: 'country-raw', reads: 'raw' },
  { probe: 'country-rollup', reads: 'rollup' },
] as const;
export const SCALE_TABLE_WINDOWS: readonly ScaleWindow[] = ['5m', '1h', '1d'];

/** One panel on one window at one history size. */
export interface ScalePanelCell {
  readonly p50Us: number | null;
  readonly p95Us: number | null;
  readonly count: number;
  readonly insufficient: boolean;
  readonly rowsRead: number | null;
}

/** A ratio with its interval (null when a side is insufficient). */
export interface RatioCell {
  readonly ratio: number | null;
  readonly ci95: Ci95 | null;
}

/** One point of the sweep over history size. */
export interface ScalePoint {
  readonly preloadRows: number;
  readonly runId: string;
  readonly valid: boolean;
  readonly panels: Record<string, Record<string, ScalePanelCell>>;
  readonly speedups: { readonly rollup: Record<string, RatioCell>; readonly hll: Record<string, RatioCell>; readonly country: Record<string, RatioCell> };
  readonly scale: ScaleSummary | null;
  readonly preloadRowsPerS: number | null;
  readonly historyRollupMs: number | null;
}

/** A point from a run's summary and its probe histograms (`probe-<name>-<window>`) for the p95. */
export function scalePoint(preloadRows: number, runId: string, s: Summary, histograms: Readonly<Record<string, Histogram>>): ScalePoint {
  const scale = (s as Summary & { scale?: ScaleSummary }).scale ?? null;
  const panels: ScalePoint['panels'] = {};
  for (const p of SCALE_PANELS) {
    panels[p.probe] = {};
    for (const w of SCALE_TABLE_WINDOWS) {
      const f = s.probes?.byProbe[p.probe]?.[w];
      const h = histograms[`probe-${p.probe}-${w}`];
      const rows = scale?.rowsRead[p.reads === 'raw' ? 'raw' : 'rollup'];
      panels[p.probe]![w] = {
        p50Us: f && f.count > 0 ? f.p50Us : null,
        p95Us: h && h.totalCount > 0 ? h.getValueAtPercentile(95) : null,
        count: f?.count ?? 0,
        insufficient: f?.insufficient ?? true,
        rowsRead: rows ? rows[w] : null,
      };
    }
  }
  const ratio = (r: Record<string, number | null> | undefined, ci: Record<string, Ci95 | null> | undefined): Record<string, RatioCell> =>
    Object.fromEntries(SCALE_TABLE_WINDOWS.map((w) => [w, { ratio: r?.[w] ?? null, ci95: ci?.[w] ?? null }]));
  return {
    preloadRows,
    runId,
    valid: s.valid,
    panels,
    speedups: {
      rollup: ratio(s.probes?.rollupSpeedup, s.probes?.rollupSpeedupCi95),
      hll: ratio(s.probes?.hllSpeedup, s.probes?.hllSpeedupCi95),
      country: ratio(s.probes?.countrySpeedup, s.probes?.countrySpeedupCi95),
    },
    scale,
    preloadRowsPerS: s.preload?.rowsPerS ?? null,
    historyRollupMs: s.rollup?.historyRollupMs ?? null,
  };
}

const us = (v: number | null): string => (v === null ? '—' : formatUs(v));
const count = (n: number | null): string => (n === null ? '—' : n.toLocaleString('en-US'));
const mb = (b: number | undefined): string => (b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MB`);
const x = (r: RatioCell): string => (r.ratio === null ? 'insufficient' : `${r.ratio.toFixed(2)}×${r.ci95 ? ` [${r.ci95[0].toFixed(2)}–${r.ci95[1].toFixed(2)}]` : ''}`);
const cell = (c: ScalePanelCell | undefined): string => (!c || c.p50Us === null ? '—' : `${us(c.p50Us)} / ${us(c.p95Us)}${c.insufficient ? ` (insufficient, n=${c.count})` : ''}`);

/** The latency table: one row per history size × window. */
export function scaleLatencyTable(points: readonly ScalePoint[]): { head: string[]; body: string[][] } {
  const head = ['history rows', 'window', 'raw rows read', 'raw-minutes p50 / p95', 'rollup rows read', 'rollup-minutes p50 / p95', 'rollup speedup [95%]',
    'distinct-exact p50 / p95', 'distinct-hll p50 / p95', 'HLL speedup [95%]', 'country-raw p50 / p95', 'country-rollup p50 / p95', 'country speedup [95%]'];
  const body: string[][] = [];
  for (const p of points) {
    for (const w of SCALE_TABLE_WINDOWS) {
      body.push([
        `${count(p.preloadRows)}${p.valid ? '' : ' (invalid)'}`, w,
        count(p.panels['raw-minutes']?.[w]?.rowsRead ?? null), cell(p.panels['raw-minutes']?.[w]),
        count(p.panels['rollup-minutes']?.[w]?.rowsRead ?? null), cell(p.panels['rollup-minutes']?.[w]), x(p.speedups.rollup[w]!),
        cell(p.panels['distinct-exact']?.[w]), cell(p.panels['distinct-hll']?.[w]), x(p.speedups.hll[w]!),
        cell(p.panels['country-raw']?.[w]), cell(p.panels['country-rollup']?.[w]), x(p.speedups.country[w]!),
      ]);
    }
  }
  return { head, body };
}

/** The cost table: one row per history size. */
export function scaleCostTable(points: readonly ScalePoint[]): { head: string[]; body: string[][] } {
  const head = ['history rows', 'preload rows/s', 'history rollup', 'events / site-minute (history, live)', 'events / rollup row (history, live)',
    'raw table + index', 'B / raw row', 'rollup table + index', 'B / rollup row', 'partitions', 'cache hit (measure)'];
  const f1 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(1));
  return {
    head,
    body: points.map((p) => {
      const s = p.scale;
      return [
        count(p.preloadRows), p.preloadRowsPerS === null ? '—' : count(Math.round(p.preloadRowsPerS)),
        p.historyRollupMs === null ? '—' : `${(p.historyRollupMs / 1000).toFixed(1)} s`,
        `${f1(s?.density.historyEventsPerSiteMinute)}, ${f1(s?.density.liveEventsPerSiteMinute)}`,
        `${f1(s?.density.historyEventsPerRollupRow)}, ${f1(s?.density.liveEventsPerRollupRow)}`,
        s ? `${mb(s.storage.raw.tableBytes)} + ${mb(s.storage.raw.indexBytes)}` : '—', f1(s?.storage.raw.bytesPerRow),
        s?.storage.rollup ? `${mb(s.storage.rollup.tableBytes)} + ${mb(s.storage.rollup.indexBytes)}` : '—', f1(s?.storage.rollup?.bytesPerRow),
        s?.storage.partitions ? String(s.storage.partitions.length) : '—',
        s?.cacheHitRatio == null ? '—' : `${(s.cacheHitRatio * 100).toFixed(2)}%`,
      ];
    }),
  };
}

const PANEL_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

/** One chart of panel p50 (solid) / p95 (dashed) lines over a per-point x; the x values of all lines merged (uPlot's data is columnar), each line joined across the others' x. */
function panelLines(points: readonly ScalePoint[], window: ScaleWindow, xOf: (p: ScalePoint, panel: string) => number | null): { xs: number[]; series: PageSeries[] } {
  const lines = SCALE_PANELS.flatMap((panel, i) => (['p50', 'p95'] as const).map((q) => {
    const m = new Map<number, number>();
    for (const p of points) {
      const x = xOf(p, panel.probe);
      const c = p.panels[panel.probe]?.[window];
      const y = q === 'p50' ? c?.p50Us ?? null : c?.p95Us ?? null;
      if (x !== null && x > 0 && y !== null && y > 0) m.set(x, y);
    }
    return { name: `${panel.probe} ${q}`, color: PANEL_COLORS[i % PANEL_COLORS.length]!, dashed: q === 'p95', m };
  }));
  const xs = [...new Set(lines.flatMap((l) => [...l.m.keys()]))].sort((a, b) => a - b);
  return { xs, series: lines.map((l) => ({ name: l.name, color: l.color, dashed: l.dashed, span: true, values: xs.map((x) => l.m.get(x) ?? null) })) };
}

/** The page's charts (log–log): each panel's p50 and p95 on one window over the history size, and over the rows the panel reads. */
export function scaleCharts(points: readonly ScalePoint[], window: ScaleWindow = '1d'): PageChart[] {
  const history = panelLines(points, window, (p) => p.preloadRows);
  const read = panelLines(points, window, (p, panel) => p.panels[panel]?.[window]?.rowsRead ?? null);
  return [
    {
      id: 'scale-history', title: `Panel latency over history size (${window} window), log–log`,
      caption: 'Each panel\'s p50 (solid) and p95 (dashed) under the run\'s load against the preloaded history: raw panels grow, rollup panels stay near flat.',
      x: { label: 'preloaded history rows', unit: 'n', log: true }, y: { label: 'latency under load', unit: 'us', log: true }, ...history,
    },
    {
      id: 'scale-rows-read', title: `Panel latency over rows read (${window} window), log–log`,
      caption: 'The same latencies against the rows each panel reads (raw rows for raw panels, rollup rows for rollup panels).',
      x: { label: `rows the panel reads (${window} window)`, unit: 'n', log: true }, y: { label: 'latency under load', unit: 'us', log: true }, ...read,
    },
  ];
}

/** Markdown section of the sweep report. */
export function scaleMarkdown(points: readonly ScalePoint[]): string {
  const md = (t: { head: string[]; body: string[][] }): string[] => [
    `| ${t.head.join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`,
    ...t.body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ];
  return [
    '## How each panel\'s cost grows with history', '',
    'p50 / p95 of each panel under the run\'s load (service time, the viewers\' executions), against the rows it reads at the end of the run. ' +
      'Speedups are p50 ratios with 95% bootstrap intervals; "insufficient" below --min-samples.', '',
    ...md(scaleLatencyTable(points)), '',
    '## What the history costs', '',
    ...md(scaleCostTable(points)), '',
    'Charts (log–log, 1 d window) in report.html: latency over history rows, and over the rows each panel reads.', '',
  ].join('\n');
}
