/**
 * The dashboard half of the end-of-run report: rollup, freshness, audit and
 * per-probe latencies with their speedups. Pure: returns a string.
 */
import Table from 'cli-table3';
import { NAMED_SPEEDUPS } from '../probe/figures.js';
import type { ByWindow, CiByWindow, ProbeFigures, Summary } from '../results/run-record.js';
import type { PhaseLatency } from '../metrics/fault-phases.js';
import { INSUFFICIENT, formatRatio, formatUs } from './console.js';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const mb = (b: number | null | undefined): string => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MB`);

/**
 * The ratio rows of the probe figures, labelled: the named speedups, then
 * every other raw/rollup pair (the tenant panels), each with its intervals.
 */
export function ratioRows(p: ProbeFigures): Array<[string, ByWindow | undefined, CiByWindow | undefined]> {
  const rows: Array<[string, ByWindow | undefined, CiByWindow | undefined]> = [
    ['rollup speedup (raw / rollup p50) [95% CI]', p.rollupSpeedup, p.rollupSpeedupCi95],
    ['country speedup', p.countrySpeedup, p.countrySpeedupCi95],
    ['HLL speedup (exact / HLL p50)', p.hllSpeedup, p.hllSpeedupCi95],
  ];
  const named = new Set(Object.values(NAMED_SPEEDUPS).map(([a, b]) => `${a}/${b}`));
  for (const [k, by] of Object.entries(p.speedups ?? {})) if (!named.has(k)) rows.push([`${k} speedup`, by, p.speedupsCi95?.[k]]);
  return rows;
}

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
  t.push(['audit (closed periods)', a.periodsChecked === 0 && a.lostEvents === 0 && a.duplicatedEvents === 0
    ? '0 periods: nothing audited (no period closed during the run)'
    : `${a.periodsChecked} periods: ${a.lostEvents.toLocaleString('en-US')} lost, ${a.duplicatedEvents.toLocaleString('en-US')} duplicated` +
    `${a.lostEvents > 0 || a.duplicatedEvents > 0 ? ' — ROLLUP MISCOUNTS' : ''}`]);
  if (s.expiry) t.push(['expiry', `${s.expiry.rawRowsRemoved} raw + ${s.expiry.rollupRowsRemoved} rollup rows in ${s.expiry.ms.toFixed(0)} ms`]);
  out.push(t.toString());

  const p = s.probes;
  if (p) {
    const windows = p.windows;
    const v = p.viewers;
    if (v) {
      out.push(`dashboard load: ${v.viewers} viewer${v.viewers === 1 ? '' : 's'}, refresh every ${v.refreshMs / 1000} s: ${v.started}/${v.due} refreshes started, ` +
        `${v.late} late, ${v.unfinished} unfinished${v.neverStarted ? `, ${v.neverStarted} never started` : ''}${v.withoutConnection ? `, ${v.withoutConnection} without a connection` : ''}; ` +
        `refresh response p50 ${formatUs(v.response.p50Us)}, p99 ${formatUs(v.response.p99Us)}`);
    }
    const routing = p.routing;
    const pt = new Table({ head: [`probe (n ≥ ${p.minSamples})`, ...windows.map((w) => `${w} p50 / p99, n (load/idle)`)], style: { head: [], border: [] } });
    for (const [name, byWindow] of Object.entries(p.byProbe)) {
      const label = routing?.[name] ? `${name} [${routing[name]}]` : name;
      pt.push([label, ...windows.map((w) => {
        const x = byWindow[w];
        if (!x || x.count === 0) return x ? `no sample${x.errors ? ` (${x.errors} errors)` : ''}` : '—';
        const lo = x.loadOverIdle === undefined ? '' : ` (${x.loadOverIdle === null ? INSUFFICIENT : x.loadOverIdle.toFixed(2)})`;
        return `${formatUs(x.p50Us)} / ${formatUs(x.p99Us)}, n=${x.count}${x.missed ? ` +${x.missed} missed` : ''}${x.insufficient ? ` ${INSUFFICIENT}` : ''}${lo}`;
      })]);
    }
    for (const [label, by, ci] of ratioRows(p)) pt.push([label, ...windows.map((w) => formatRatio(by?.[w], ci?.[w]))]);
    pt.push(['HLL relative error', ...windows.map((w) => (p.hllRelativeError?.[w] === undefined ? "—" : pct(p.hllRelativeError[w])))]);
    out.push(pt.toString());
    const fp = s.faultPhases;
    if (fp) {
      const sec = (ms: number): string => (ms / 1000).toFixed(1);
      const phase = (x: PhaseLatency): string => (x.count === 0 ? `no sample${x.missed ? `, ${x.missed} missed` : ''}` :
        `${formatUs(x.p50Us ?? 0)} / ${formatUs(x.p99Us ?? 0)}, n=${x.count}${x.missed ? `, ${x.missed} missed` : ''}`);
      const ft = new Table({ head: [`around the fault (during ${sec(fp.window.startMs)}–${sec(fp.window.endMs)} s)`, 'before p50 / p99', 'during', 'after'], style: { head: [], border: [] } });
      for (const [name, byWindow] of Object.entries(fp.panels)) {
        for (const [w, x] of Object.entries(byWindow)) ft.push([`${name} @ ${w}`, phase(x.before), phase(x.during), phase(x.after)]);
      }
      out.push(ft.toString());
    }
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
          return f ? `${formatUs(f.serialP50Us)} → ${formatUs(f.parallelP50Us)}, n=${f.serialCount}/${f.parallelCount} (${formatRatio(f.speedup, f.speedupCi95)})` : '—';
        })]);
      }
      out.push(ptab.toString());
    }
  }
  return out.join('\n');
}
