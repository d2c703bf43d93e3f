/**
 * Sweeps: the same scenario over a list of values of one setting (granularity,
 * rate, shard count), summarised as one table, a CSV and SVG curves. Pure: the
 * command runs the points and writes the files.
 */
import { stringify } from 'csv-stringify/sync';
import type { Summary } from '../results/run-record.js';
import { sweepCurvesSvg, type SweepPoint } from '../report/charts.js';
import { formatUs } from '../report/console.js';
import { escapeXml } from '../report/svg.js';

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

/** SVG charts: latencies (rollup, dashboard per window, freshness) and rollup table size, over the swept values. */
export function sweepCharts(parameter: string, rows: readonly SweepRow[]): string[] {
  const latency: SweepPoint[] = rows.map((r) => ({
    x: r.value,
    series: {
      'rollup p50': r.rollupP50Us,
      ...Object.fromEntries(SWEEP_WINDOWS.map((w) => [`dashboard ${w} p50`, r.dashboard[w]?.p50Us ?? null])),
      'freshness p50': r.freshnessP50Us,
    },
  }));
  const size: SweepPoint[] = rows.map((r) => ({ x: r.value, series: { 'rollup table MB': r.rollupTableBytes === null ? null : r.rollupTableBytes / 1048576 } }));
  return [
    sweepCurvesSvg(latency, { title: `Latencies over ${parameter}`, xLabel: parameter, yLabel: 'latency', format: formatUs }),
    sweepCurvesSvg(size, { title: `Rollup table size over ${parameter}`, xLabel: parameter, yLabel: 'MB' }),
  ];
}

/** Self-contained HTML and markdown of a sweep. */
export function sweepReports(parameter: string, rows: readonly SweepRow[], charts: readonly string[]): { html: string; md: string } {
  const { head, body } = sweepTableCells(rows);
  const md = [
    `# rtbench sweep over ${parameter}`, '',
    `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`), '',
    'Charts: sweep.svg (latencies), sweep-size.svg (rollup table size); data: sweep.csv.', '',
  ].join('\n');
  const esc = escapeXml;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>rtbench sweep over ${esc(parameter)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}</style></head>
<body><h1>rtbench sweep over ${esc(parameter)}</h1>
<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>
${charts.map((c) => `<figure>${c}</figure>`).join('\n')}
</body></html>
`;
  return { html, md };
}
