/**
 * Side-by-side figures of two runs of the same scenario on two targets, with
 * the ratio b/a per row. Pure: builds rows and a table string.
 */
import Table from 'cli-table3';
import type { Summary } from '../results/run-record.js';
import { formatUs } from './console.js';

export interface ComparisonRow {
  readonly figure: string;
  /** Unit of a and b: 'us' (latency), 'rows/s', 'count'. */
  readonly unit: 'us' | 'rows/s' | 'count';
  readonly a: number | null;
  readonly b: number | null;
  /** b / a, null when either side is missing or a is 0. */
  readonly ratio: number | null;
}

function row(figure: string, unit: ComparisonRow['unit'], a: number | null | undefined, b: number | null | undefined): ComparisonRow {
  const av = a ?? null;
  const bv = b ?? null;
  return { figure, unit, a: av, b: bv, ratio: av !== null && bv !== null && av !== 0 ? bv / av : null };
}

/** Every figure both summaries can hold, in a fixed order. */
export function comparisonRows(a: Summary, b: Summary): ComparisonRow[] {
  const rows: ComparisonRow[] = [
    row('ingest achieved rate', 'rows/s', a.ingest.achievedRateHz, b.ingest.achievedRateHz),
    row('ingest response p50', 'us', a.ingest.response.p50Us, b.ingest.response.p50Us),
    row('ingest response p99', 'us', a.ingest.response.p99Us, b.ingest.response.p99Us),
    row('ingest service p99', 'us', a.ingest.service.p99Us, b.ingest.service.p99Us),
    row('ingest errors', 'count', a.ingest.errors, b.ingest.errors),
  ];
  if (a.rollup || b.rollup) {
    rows.push(
      row('rollup duration p50', 'us', a.rollup?.duration.p50Us, b.rollup?.duration.p50Us),
      row('rollup duration p99', 'us', a.rollup?.duration.p99Us, b.rollup?.duration.p99Us),
      row('freshness p50', 'us', a.freshness?.p50Us, b.freshness?.p50Us),
      row('freshness p99', 'us', a.freshness?.p99Us, b.freshness?.p99Us),
      row('audit lost events', 'count', a.audit?.lostEvents, b.audit?.lostEvents),
    );
  }
  const probes = new Set([...Object.keys(a.probes?.byProbe ?? {}), ...Object.keys(b.probes?.byProbe ?? {})]);
  const windows = a.probes?.windows ?? b.probes?.windows ?? [];
  for (const p of [...probes].sort()) {
    for (const w of windows) {
      const pa = a.probes?.byProbe[p]?.[w];
      const pb = b.probes?.byProbe[p]?.[w];
      rows.push(row(`${p} ${w} p50`, 'us', pa?.p50Us, pb?.p50Us), row(`${p} ${w} p99`, 'us', pa?.p99Us, pb?.p99Us));
    }
  }
  return rows;
}

function show(v: number | null, unit: ComparisonRow['unit']): string {
  if (v === null) return '—';
  if (unit === 'us') return formatUs(v);
  if (unit === 'rows/s') return `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} rows/s`;
  return v.toLocaleString('en-US');
}

export function comparisonTable(rows: readonly ComparisonRow[], labelA: string, labelB: string): string {
  const t = new Table({ head: ['figure', `a: ${labelA}`, `b: ${labelB}`, 'b/a'], style: { head: [], border: [] } });
  for (const r of rows) t.push([r.figure, show(r.a, r.unit), show(r.b, r.unit), r.ratio === null ? '—' : r.ratio.toFixed(2)]);
  return t.toString();
}
