/**
 * Sweeps: the same scenario over a list of values of one setting (granularity,
 * rate, shard count), summarised as one table, a CSV and the page's charts
 * (uPlot, report.html). Pure: the command runs the points and writes the files.
 */
import { stringify } from 'csv-stringify/sync';
import type { Summary } from '../results/run-record.js';
import { formatUs } from '../report/console.js';
import { htmlTable } from '../report/html-parts.js';
import { emptyModel, type PageChart, type PageModel, type PageSeries } from '../report/page-model.js';
import type { ReportTable } from '../report/tables.js';

/** Settings a sweep can vary, with the config key each one sets. */
export const SWEEPABLE = { granularity: 'granularity', rate: 'rate', 'shard-count': 'shardCount', 'preload-rows': 'preloadRows' } as const;
export type SweepParameter = keyof typeof SWEEPABLE;

export interface SweepRow {
  readonly value: string;
  readonly runId: string;
  readonly valid: boolean;
  readonly achievedRateHz: number;
  readonly ingestP99Us: number;
  readonly rollupP50Us: number | null;
  readonly rollupP99Us: number | null;
  readonly rollupTableBytes: number | null;
  /** rollup-minutes p50 / p99 per window. */
  readonly dashboard: Record<string, { p50Us: number; p99Us: number } | null>;
  readonly freshnessP50Us: number | null;
  readonly freshnessP99Us: number | null;
  readonly lostEvents: number | null;
  readonly duplicatedEvents: number | null;
}

export const SWEEP_WINDOWS = ['5m', '1h', '1d'] as const;

export function sweepRow(value: string, runId: string, s: Summary): SweepRow {
  const dash: SweepRow['dashboard'] = {};
  for (const w of SWEEP_WINDOWS) {
    const p = s.probes?.byProbe['rollup-minutes']?.[w];
    dash[w] = p && p.count > 0 ? { p50Us: p.p50Us, p99Us: p.p99Us } : null;
  }
  return {
    value,
    runId,
    valid: s.valid,
    achievedRateHz: s.ingest.achievedRateHz,
    ingestP99Us: s.ingest.response.p99Us,
    rollupP50Us: s.rollup && s.rollup.duration.count > 0 ? s.rollup.duration.p50Us : null,
    rollupP99Us: s.rollup && s.rollup.duration.count > 0 ? s.rollup.duration.p99Us : null,
    rollupTableBytes: s.probes?.sizes?.rollupTableBytes ?? null,
    dashboard: dash,
    freshnessP50Us: s.freshness && s.freshness.count > 0 ? s.freshness.p50Us : null,
    freshnessP99Us: s.freshness && s.freshness.count > 0 ? s.freshness.p99Us : null,
    lostEvents: s.audit?.lostEvents ?? null,
    duplicatedEvents: s.audit?.duplicatedEvents ?? null,
  };
}

const HEAD = [
  'value', 'run_id', 'valid', 'achieved_rows_per_s', 'ingest_response_p99_us', 'rollup_p50_us', 'rollup_p99_us', 'rollup_table_bytes',
  ...SWEEP_WINDOWS.flatMap((w) => [`dashboard_${w}_p50_us`, `dashboard_${w}_p99_us`]),
  'freshness_p50_us', 'freshness_p99_us', 'lost_events', 'duplicated_events',
];

export function sweepCsv(rows: readonly SweepRow[]): string {
  const n = (v: number | null): string => (v === null ? '' : String(Math.round(v * 100) / 100));
  return stringify([HEAD, ...rows.map((r) => [
    r.value, r.runId, String(r.valid), n(r.achievedRateHz), n(r.ingestP99Us), n(r.rollupP50Us), n(r.rollupP99Us), n(r.rollupTableBytes),
    ...SWEEP_WINDOWS.flatMap((w) => [n(r.dashboard[w]?.p50Us ?? null), n(r.dashboard[w]?.p99Us ?? null)]),
    n(r.freshnessP50Us), n(r.freshnessP99Us), n(r.lostEvents), n(r.duplicatedEvents),
  ])]);
}

/** Table cells for the console / markdown: value, rollup p50/p99, bytes, dashboard p50/p99 per window, freshness, lost. */
export function sweepTableCells(rows: readonly SweepRow[]): { head: string[]; body: string[][] } {
  const us = (v: number | null): string => (v === null ? '—' : formatUs(v));
  const mb = (b: number | null): string => (b === null ? '—' : `${(b / 1048576).toFixed(2)} MB`);
  return {
    head: ['value', 'rollup p50 / p99', 'rollup table', ...SWEEP_WINDOWS.map((w) => `dashboard ${w} p50 / p99`), 'freshness p50 / p99', 'lost / dup', 'rate, ingest p99'],
    body: rows.map((r) => [
      `${r.value}${r.valid ? '' : ' (invalid)'}`,
      `${us(r.rollupP50Us)} / ${us(r.rollupP99Us)}`,
      mb(r.rollupTableBytes),
      ...SWEEP_WINDOWS.map((w) => (r.dashboard[w] ? `${us(r.dashboard[w]!.p50Us)} / ${us(r.dashboard[w]!.p99Us)}` : '—')),
      `${us(r.freshnessP50Us)} / ${us(r.freshnessP99Us)}`,
      `${r.lostEvents ?? '—'} / ${r.duplicatedEvents ?? '—'}`,
      `${r.achievedRateHz.toFixed(0)} rows/s, ${us(r.ingestP99Us)}`,
    ]),
  };
}

/** The page's charts of a sweep: latencies (rollup, dashboard per window, freshness) and the rollup table's size, over the swept values (uPlot, categorical x). */
export function sweepCharts(parameter: string, rows: readonly SweepRow[]): PageChart[] {
  const categories = rows.map((r) => `${r.value}${r.valid ? '' : ' (invalid)'}`);
  const xs = rows.map((_, i) => i);
  const latency: PageSeries[] = [
    { name: 'rollup p50', values: rows.map((r) => r.rollupP50Us) },
    ...SWEEP_WINDOWS.map((w): PageSeries => ({ name: `dashboard ${w} p50`, values: rows.map((r) => r.dashboard[w]?.p50Us ?? null) })),
    { name: 'freshness p50', values: rows.map((r) => r.freshnessP50Us) },
  ];
  const positive = latency.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  // A log scale when the values span more than 30×: the rollup's milliseconds would squash the panels' microseconds.
  const log = positive.length > 0 && Math.max(...positive) / Math.min(...positive) > 30;
  const x = { label: parameter, unit: 'cat' as const, categories };
  return [
    {
      id: 'sweep-latency', title: `Latencies over ${parameter}`, x, xs, series: latency,
      caption: `Median rollup duration, rollup-minutes panel per window and freshness at each ${parameter} (one run each; gaps: not measured).`,
      y: { label: 'latency', unit: 'us', ...(log ? { log: true } : {}) },
    },
    {
      id: 'sweep-size', title: `Rollup table size over ${parameter}`, x, xs,
      caption: `The rollup table's size on disk at the end of each run, MB.`,
      y: { label: 'MB', unit: 'n' },
      series: [{ name: 'rollup table MB', values: rows.map((r) => (r.rollupTableBytes === null ? null : r.rollupTableBytes / 1048576)), bars: true }],
    },
  ];
}

/** The sweep's table as a page table. */
export function sweepTable(parameter: string, rows: readonly SweepRow[]): ReportTable {
  const { head, body } = sweepTableCells(rows);
  return { id: 'sweep', title: `One run per ${parameter}`, head, rows: body };
}

/** report.md of a sweep (charts are in report.html). */
export function sweepMarkdown(parameter: string, rows: readonly SweepRow[]): string {
  const { head, body } = sweepTableCells(rows);
  return [
    `# rtbench sweep over ${parameter}`, '',
    `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`), '',
    'Charts: report.html; data: sweep.csv.', '',
  ].join('\n');
}

/** The sweep's page (report.html and the live page's final model): its charts and tables, and any extra ones (the scale sweep's). */
export function sweepPageModel(sweepId: string, parameter: string, rows: readonly SweepRow[], extra: { charts?: readonly PageChart[]; tables?: readonly ReportTable[] } = {}): PageModel {
  const m = emptyModel('sweep', `rtbench sweep ${sweepId}`, [`${rows.length} run${rows.length === 1 ? '' : 's'} over ${parameter}: ${rows.map((r) => r.value).join(', ')}`]);
  m.finished = true;
  m.verdict = { valid: rows.every((r) => r.valid), reasons: rows.filter((r) => !r.valid).map((r) => `${parameter} ${r.value}: run ${r.runId} is invalid`) };
  m.charts = [...sweepCharts(parameter, rows), ...(extra.charts ?? [])];
  m.tablesHtml = [sweepTable(parameter, rows), ...(extra.tables ?? [])].map(htmlTable).join('\n');
  return m;
}
