/**
 * The dashboard half of the end-of-run report: rollup, freshness, audit and
 * per-probe latencies with their speedups. Pure: returns a string.
 */
import Table from 'cli-table3';
import type { Summary } from '../results/run-record.js';
import { formatUs } from './console.js';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const times = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(1)}x`);
const mb = (b: number | null | undefined): string => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MB`);

/** Empty string when the run had no rollup. */
export function dashboardTable(s: Summary): string {
  if (!s.rollup || !s.audit || !s.freshness) return '';
  const out: string[] = [];
  const t = new Table({ style: { head: [], border: [] } });
  const r = s.rollup;
  t.push(
    [{ colSpan: 2, content: `rollup ${r.strategy} → ${r.table} (${r.granularity}${r.hll ? ', HLL' : ''}), ${r.scheduler} every ${r.intervalMs / 1000} s` }],
    ['rollup runs', `${r.runs}${r.overruns ? ` (${r.overruns} overruns)` : ''}, p50 ${formatUs(r.duration.p50Us)}, p99 ${formatUs(r.duration.p99Us)}, max ${formatUs(r.duration.maxUs)}`],
  );
  if (r.historyRollupMs !== null) t.push(['history rollup', `${(r.historyRollupMs / 1000).toFixed(2)} s`]);
  if (s.preload) t.push(['preload', `${s.preload.rows.toLocaleString('en-US')} rows, ${Math.round(s.preload.rowsPerS).toLocaleString('en-US')} rows/s`]);
  const f = s.freshness;
  t.push(['freshness (commit → rollup)', f.count > 0
    ? `p50 ${formatUs(f.p50Us)}, p99 ${formatUs(f.p99Us)}, max ${formatUs(f.maxUs)} (${f.markersSeen}/${f.markersInserted} markers seen)`
    : `no marker seen (${f.markersInserted} inserted)`]);
  const a = s.audit;
  t.push(['audit (closed periods)', `${a.periodsChecked} periods: ${a.lostEvents.toLocaleString('en-US')} lost, ${a.duplicatedEvents.toLocaleString('en-US')} duplicated` +
    `${a.lostEvents > 0 || a.duplicatedEvents > 0 ? ' — ROLLUP MISCOUNTS' : ''}`]);
  if (s.expiry) t.push(['expiry', `${s.expiry.rawRowsRemoved} raw + ${s.expiry.rollupRowsRemoved} rollup rows in ${s.expiry.ms.toFixed(0)} ms`]);
  out.push(t.toString());

  const p = s.probes;
  if (p) {
    const windows = p.windows;
    const pt = new Table({ head: ['probe', ...windows.map((w) => `${w} p50 / p99 (load/idle)`)], style: { head: [], border: [] } });
    for (const [name, byWindow] of Object.entries(p.byProbe)) {
      pt.push([name, ...windows.map((w) => {
        const x = byWindow[w];
        if (!x || x.count === 0) return '—';
        return `${formatUs(x.p50Us)} / ${formatUs(x.p99Us)}${x.loadOverIdle !== undefined ? ` (${x.loadOverIdle.toFixed(2)})` : ''}`;
      })]);
    }
    pt.push(['rollup speedup (raw / rollup p50)', ...windows.map((w) => times(p.rollupSpeedup?.[w]))]);
    pt.push(['country speedup', ...windows.map((w) => times(p.countrySpeedup?.[w]))]);
    pt.push(['HLL speedup (exact / HLL p50)', ...windows.map((w) => times(p.hllSpeedup?.[w]))]);
    pt.push(['HLL relative error', ...windows.map((w) => (p.hllRelativeError?.[w] === undefined ? "—" : pct(p.hllRelativeError[w])))]);
    out.push(pt.toString());
    if (p.sizes) out.push(`sizes: raw ${mb(p.sizes.rawTableBytes)}, rollup ${mb(p.sizes.rollupTableBytes)}, HLL column ${mb(p.sizes.hllColumnBytes)}`);
  }
  const par = s.parallel;
  if (par) {
    for (const [label, r] of [['', par.asSpecified], [' (connections cached)', par.warmConnections]] as const) {
      if (!r) continue;
      const windows = [...new Set(r.byProbe.map((f) => f.window))];
      const head = r.kind === 'citus'
        ? `Citus ${r.workers} workers, ${r.shards ?? '?'} shards: 1 connection/worker vs full parallelism${label}`
        : `PostgreSQL: max_parallel_workers_per_gather 0 vs default (${r.workers})`;
      const ptab = new Table({ head: [head, ...windows.map((w) => `${w} serial → parallel p50`)], style: { head: [], border: [] } });
      for (const probe of [...new Set(r.byProbe.map((f) => f.probe))]) {
        ptab.push([probe, ...windows.map((w) => {
          const f = r.byProbe.find((x) => x.probe === probe && x.window === w);
          return f ? `${formatUs(f.serialP50Us)} → ${formatUs(f.parallelP50Us)} (${times(f.speedup)})` : '—';
        })]);
      }
      out.push(ptab.toString());
    }
  }
  return out.join('\n');
}
