/**
 * Side-by-side figures of two runs of the same scenario on two targets, with
 * the ratio b/a per row, its 95% bootstrap interval and the verdict of
 * `rtbench compare` (faster / slower / within noise, n per side) where the
 * runs' samples allow one. Pure: builds rows and a table string.
 */
import Table from 'cli-table3';
import type { Comparison } from '../compare/compare.js';
import type { ServerRole, Summary } from '../results/run-record.js';
import { formatUs } from './console.js';
import type { ReportTable } from './tables.js';

export interface ComparisonRow {
  readonly figure: string;
  /** The figure path (as `rtbench check` and `rtbench compare` name it). */
  readonly path: string;
  /** Unit of a and b: 'us' (latency), 'rows/s', 'count', 'number' (3 significant digits), 'share' (0..1, shown as %). */
  readonly unit: 'us' | 'rows/s' | 'count' | 'number' | 'share';
  readonly a: number | null;
  readonly b: number | null;
  /** b / a, null when either side is missing or a is 0. */
  readonly ratio: number | null;
  /** 95% bootstrap interval of b / a; null when the runs lack the samples for one. */
  readonly ratioCi95?: readonly [number, number] | null;
  /** B vs A: faster / slower / within noise; null with `noVerdictReason` otherwise. */
  readonly verdict?: string | null;
  readonly noVerdictReason?: string | null;
  /** Samples behind each side (probe cells: executions; ingest: measure intervals). */
  readonly n?: { readonly a: number; readonly b: number };
}

function row(figure: string, path: string, unit: ComparisonRow['unit'], a: number | null | undefined, b: number | null | undefined): ComparisonRow {
  const av = a ?? null;
  const bv = b ?? null;
  return { figure, path, unit, a: av, b: bv, ratio: av !== null && bv !== null && av !== 0 ? bv / av : null };
}

/** The rows with the interval, verdict and n of the same figure in `c` (rtbench compare over the two run dirs). */
export function withVerdicts(rows: readonly ComparisonRow[], c: Comparison): ComparisonRow[] {
  const byPath = new Map(c.rows.map((r) => [r.figure, r]));
  return rows.map((r) => {
    const x = byPath.get(r.path);
    if (!x) return r;
    return { ...r, ratioCi95: x.ratioCi95 ?? null, verdict: x.noise?.verdict ?? null, noVerdictReason: x.noVerdictReason, ...(x.n && { n: x.n }) };
  });
}

/** Every figure both summaries can hold, in a fixed order. */
export function comparisonRows(a: Summary, b: Summary): ComparisonRow[] {
  const rows: ComparisonRow[] = [
    row('ingest achieved rate', 'ingest.achievedRateHz', 'rows/s', a.ingest.achievedRateHz, b.ingest.achievedRateHz),
    row('ingest response p50', 'ingest.response.p50', 'us', a.ingest.response.p50Us, b.ingest.response.p50Us),
    row('ingest response p99', 'ingest.response.p99', 'us', a.ingest.response.p99Us, b.ingest.response.p99Us),
    row('ingest service p99', 'ingest.service.p99', 'us', a.ingest.service.p99Us, b.ingest.service.p99Us),
    row('ingest errors', 'ingest.errors', 'count', a.ingest.errors, b.ingest.errors),
  ];
  if (a.rollup || b.rollup) {
    rows.push(
      row('rollup duration p50', 'rollup.duration.p50', 'us', a.rollup?.duration.p50Us, b.rollup?.duration.p50Us),
      row('rollup duration p99', 'rollup.duration.p99', 'us', a.rollup?.duration.p99Us, b.rollup?.duration.p99Us),
      row('freshness p50', 'freshness.p50', 'us', a.freshness?.p50Us, b.freshness?.p50Us),
      row('freshness p99', 'freshness.p99', 'us', a.freshness?.p99Us, b.freshness?.p99Us),
      row('audit lost events', 'audit.lostEvents', 'count', a.audit?.lostEvents, b.audit?.lostEvents),
    );
  }
  const probes = new Set([...Object.keys(a.probes?.byProbe ?? {}), ...Object.keys(b.probes?.byProbe ?? {})]);
  const windows = a.probes?.windows ?? b.probes?.windows ?? [];
  for (const p of [...probes].sort()) {
    for (const w of windows) {
      const pa = a.probes?.byProbe[p]?.[w];
      const pb = b.probes?.byProbe[p]?.[w];
      rows.push(row(`${p} ${w} p50`, `probes.${p}.${w}.p50`, 'us', pa?.p50Us, pb?.p50Us), row(`${p} ${w} p99`, `probes.${p}.${w}.p99`, 'us', pa?.p99Us, pb?.p99Us));
    }
  }
  if (a.server || b.server) rows.push(...serverRows(a, b));
  return rows;
}

/** The server sampler's rows: work per row (the cluster's WAL on Citus), and per role the active sessions and top waits. */
function serverRows(a: Summary, b: Summary): ComparisonRow[] {
  const sa = a.server;
  const sb = b.server;
  const rows: ComparisonRow[] = [
    row('server WAL bytes/row', 'server.perRow.walBytes', 'number', sa?.perRow.walBytes, sb?.perRow.walBytes),
    row('server FPI/row', 'server.perRow.fpi', 'number', sa?.perRow.fpi, sb?.perRow.fpi),
    row('server buffers written/row', 'server.perRow.buffersWritten', 'number', sa?.perRow.buffersWritten, sb?.perRow.buffersWritten),
    row('server blocks hit+read/row', 'server.perRow.blocksTouched', 'number', sa?.perRow.blocksTouched, sb?.perRow.blocksTouched),
    row('server rollup WAL bytes/run', 'server.rollupWalBytesPerRun', 'number', sa?.rollupWalBytesPerRun, sb?.rollupWalBytesPerRun),
  ];
  const roles = [...new Set([...Object.keys(sa?.waits ?? {}), ...Object.keys(sb?.waits ?? {})])] as ServerRole[];
  for (const role of roles) {
    const wa = sa?.waits[role];
    const wb = sb?.waits[role];
    rows.push(row(`server ${role} active sessions`, `server.waits.${role}.avgActiveSessions`, 'number', wa?.avgActiveSessions, wb?.avgActiveSessions));
    const waits = [...new Set([...Object.keys(wa?.shares ?? {}), ...Object.keys(wb?.shares ?? {})])]
      .sort((x, y) => Math.max(wb?.shares[y] ?? 0, wa?.shares[y] ?? 0) - Math.max(wb?.shares[x] ?? 0, wa?.shares[x] ?? 0)).slice(0, 3);
    for (const w of waits) rows.push(row(`server ${role} ${w} share`, `server.waits.${role}.shares.${w}`, 'share', wa ? wa.shares[w] ?? 0 : null, wb ? wb.shares[w] ?? 0 : null));
  }
  return rows;
}

function show(v: number | null, unit: ComparisonRow['unit']): string {
  if (v === null) return '—';
  if (unit === 'us') return formatUs(v);
  if (unit === 'rows/s') return `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} rows/s`;
  if (unit === 'number') return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)));
  if (unit === 'share') return `${(v * 100).toFixed(1)}%`;
  return v.toLocaleString('en-US');
}

/** b/a with its interval: `1.23 [1.10–1.40]`. */
function ratioText(r: ComparisonRow): string {
  if (r.ratio === null) return '—';
  return r.ratioCi95 ? `${r.ratio.toFixed(2)} [${r.ratioCi95[0].toFixed(2)}–${r.ratioCi95[1].toFixed(2)}]` : r.ratio.toFixed(2);
}

/** Verdict of b vs a with n per side; `—` and the short reason when there is none. */
function verdictText(r: ComparisonRow): string {
  const n = r.n ? ` (n ${r.n.a}/${r.n.b})` : '';
  if (r.verdict) return `${r.verdict}${n}`;
  if (r.noVerdictReason && /too few samples/.test(r.noVerdictReason)) return `insufficient${n}`;
  return `—${n}`;
}

/** The compare-targets table: each target on its own line above, the columns headed a and b. */
export function comparisonTable(rows: readonly ComparisonRow[], labelA: string, labelB: string): string {
  // The labels can be whole (masked) URLs: one line each above the table keeps its columns narrow.
  const t = new Table({ head: ['figure', 'a', 'b', 'b/a [95% CI]', 'b vs a (n a/b)'], style: { head: [], border: [] } });
  for (const r of rows) t.push([r.figure, show(r.a, r.unit), show(r.b, r.unit), ratioText(r), verdictText(r)]);
  return `a: ${labelA}\nb: ${labelB}\n${t.toString()}`;
}

/** The compare-targets table for the page (html-parts' htmlTable). */
export function comparisonReportTable(rows: readonly ComparisonRow[]): ReportTable {
  return {
    id: 'comparison', title: 'a and b side by side (b/a with its 95% interval)',
    head: ['figure', 'a', 'b', 'b/a [95% CI]', 'b vs a (n a/b)'],
    rows: rows.map((r) => [r.figure, show(r.a, r.unit), show(r.b, r.unit), ratioText(r), verdictText(r)]),
  };
}
