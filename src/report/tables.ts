/**
 * The summary figures of a run as plain tables (title, header, rows of text),
 * rendered by both report.md and report.html so the two always agree. Pure.
 */
import type { LatencySummary } from '../metrics/histogram.js';
import type { RunRecord, Summary } from '../results/run-record.js';
import type { PhaseLatency } from '../metrics/fault-phases.js';
import { maskSecrets } from '../targets/url.js';
import { INSUFFICIENT, formatRatio, formatUs } from './console.js';
import { ratioRows } from './dashboard-table.js';
import { serverTables } from './server-report.js';
import { verdictLines } from './verdict-lines.js';

/** A cell: text, optionally flagged so renderers can make it stand out. */
export type Cell = string | { readonly text: string; readonly tone: 'good' | 'bad' | 'warn' };

export interface ReportTable {
  /** Stable anchor, e.g. "latency". */
  readonly id: string;
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: ReadonlyArray<readonly Cell[]>;
}

const bad = (text: string): Cell => ({ text, tone: 'bad' });
const good = (text: string): Cell => ({ text, tone: 'good' });
const warn = (text: string): Cell => ({ text, tone: 'warn' });

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const rate = (hz: number): string => `${hz.toLocaleString('en-US', { maximumFractionDigits: 1 })} rows/s`;
const mb = (b: number | null | undefined): string => (b === null || b === undefined ? '—' : `${(b / 1048576).toFixed(1)} MB`);
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const times = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(2)}x`);
const KV = ['item', 'value'] as const;
/** Dates are Date objects in a fresh record but ISO strings in one read back from JSON. */
const iso = (d: Date | string): string => (d instanceof Date ? d.toISOString() : String(d));

function latencyRow(name: string, l: LatencySummary): Cell[] {
  if (l.count === 0) return [name, '—', '—', '—', '—', '—', '—', '0'];
  return [name, formatUs(l.p50Us), formatUs(l.p90Us), formatUs(l.p99Us), formatUs(l.p999Us), formatUs(l.maxUs), formatUs(l.meanUs), int(l.count)];
}

function runTable(r: RunRecord): ReportTable {
  const { run, summary } = r;
  const m = run.machine;
  const rows: Cell[][] = [
    ['run id', run.runId],
    ['started / finished', `${run.startedAt} / ${run.finishedAt}`],
    ['measured for', `${(summary.durationMs / 1000).toFixed(1)} s`],
    ['target', `${run.target.kind}: ${run.target.url}`],
    ['server', run.server.version],
  ];
  if (run.citus) rows.push(['citus', `${run.citus.version}, ${run.citus.workerCount} workers, ${run.citus.shardCount} shards`]);
  rows.push(
    ['seed', String(run.seed)],
    ['versions', `rtbench ${run.versions.rtbench}, node ${run.versions.node}, pg ${run.versions.pg}, hdr-histogram-js ${run.versions.hdrHistogramJs}`],
    ['git revision', run.gitRevision ?? 'unknown'],
    ['machine', `${m.hostname}: ${m.platform} ${m.release} ${m.arch}, ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
  );
  return { id: 'run', title: 'Run', head: KV, rows };
}

function ingestTable(s: Summary): ReportTable {
  const i = s.ingest;
  let table: Cell = i.rowsInTable === null ? warn('not counted') : int(i.rowsInTable);
  if (i.rowsInTable !== null && i.rowsInTable !== i.acked) {
    const d = i.rowsInTable - i.acked;
    table = bad(`${int(i.rowsInTable)} — MISMATCH (${d > 0 ? '+' : ''}${int(d)})`);
  } else if (i.rowsInTable !== null) table = good(int(i.rowsInTable));
  return {
    id: 'ingest',
    title: 'Ingest',
    head: KV,
    rows: [
      ['target rate', i.targetRateHz === null ? 'closed loop' : rate(i.targetRateHz)],
      ['achieved rate', rate(i.achievedRateHz)],
      ['rows acked (warm-up + measure)', int(i.acked)],
      ['rows in table', table],
      ['rows acked (measure)', int(i.ackedMeasure)],
      ['operations', int(i.operations)],
      ['late', int(i.late)],
      ['dropped', i.dropped > 0 ? warn(`${int(i.dropped)}${(i.droppedAtEnd ?? 0) > 0 ? ` (${int(i.droppedAtEnd!)} still queued at the end)` : ''}`) : '0'],
      ['unfinished', i.unfinished > 0 ? warn(int(i.unfinished)) : '0'],
      ['errors', i.errors > 0 ? bad(int(i.errors)) : '0'],
      ['reconnects', int(i.reconnects)],
      ['warm-up', `${int(i.warmup.rows)} rows, ${int(i.warmup.errors)} errors`],
    ],
  };
}

function errorsTable(s: Summary): ReportTable {
  const rows: Cell[][] = [];
  const add = (source: string, by: Record<string, number> | undefined): void => {
    for (const [code, n] of Object.entries(by ?? {}).sort(([a], [b]) => a.localeCompare(b))) rows.push([source, code, bad(int(n))]);
  };
  add('ingest', s.ingest.errorsBySqlstate);
  add('rollup', s.rollup?.errorsBySqlstate);
  add('freshness', s.freshness?.errorsBySqlstate);
  const counted = Object.values(s.ingest.errorsBySqlstate).reduce((a, b) => a + b, 0);
  if (s.ingest.errors > counted) rows.push(['ingest', 'no SQLSTATE', bad(int(s.ingest.errors - counted))]);
  for (const [probe, byWindow] of Object.entries(s.probes?.byProbe ?? {})) {
    for (const [w, f] of Object.entries(byWindow)) if (f.errors > 0) rows.push([`probe ${probe} ${w}`, 'any', bad(int(f.errors))]);
  }
  if (rows.length === 0) rows.push(['all', '—', good('0')]);
  return { id: 'errors', title: 'Errors by SQLSTATE', head: ['source', 'SQLSTATE', 'count'], rows };
}

function latencyTable(s: Summary): ReportTable {
  const rows = [
    latencyRow('ingest response', s.ingest.response),
    latencyRow('ingest service', s.ingest.service),
    latencyRow('ingest lag', s.ingest.lag),
    ...(s.ingest.timerLag ? [latencyRow('lag: timer lateness', s.ingest.timerLag)] : []),
    ...(s.ingest.connectionWait ? [latencyRow('lag: connection wait', s.ingest.connectionWait)] : []),
    latencyRow('warm-up response', s.ingest.warmup.response),
  ];
  if (s.rollup) rows.push(latencyRow('rollup duration', s.rollup.duration));
  if (s.freshness) rows.push(latencyRow('freshness (commit → rollup)', s.freshness));
  return { id: 'latency', title: 'Latency (measure phase)', head: ['', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'count'], rows };
}

function clientTable(s: Summary): ReportTable {
  const c = s.client;
  return {
    id: 'client',
    title: 'Client self-check',
    head: KV,
    rows: [
      ['client CPU', `${c.cpuUsPerRow === null ? 'n/a' : `${c.cpuUsPerRow.toFixed(2)} µs/row`}, ${c.cpuCoresMean.toFixed(2)} cores`],
      ['worker ELU (busiest, mean)', c.maxWorkerEluMean.toFixed(3)],
      ['worker loop delay p99 (max)', formatUs(c.loopDelayP99MaxUs)],
      ['RSS start → end', `${mb(c.rssStartBytes)} → ${mb(c.rssEndBytes)}`],
    ],
  };
}

function dashboardTables(s: Summary): ReportTable[] {
  const out: ReportTable[] = [];
  const r = s.rollup;
  if (r) {
    const rows: Cell[][] = [
      ['strategy', `${r.strategy} → ${r.table} (${r.granularity}${r.hll ? ', HLL' : ''})`],
      ['scheduler', `${r.scheduler}, every ${r.intervalMs / 1000} s`],
      ['runs', r.overruns > 0 ? warn(`${int(r.runs)} (${int(r.overruns)} overruns)`) : int(r.runs)],
      ['duration', r.duration.count > 0 ? `p50 ${formatUs(r.duration.p50Us)}, p99 ${formatUs(r.duration.p99Us)}, max ${formatUs(r.duration.maxUs)}` : '—'],
    ];
    if (r.historyRollupMs !== null) rows.push(['history rollup', `${(r.historyRollupMs / 1000).toFixed(2)} s`]);
    if (s.preload) rows.push(['preload', `${int(s.preload.rows)} rows in ${(s.preload.ms / 1000).toFixed(2)} s (${int(s.preload.rowsPerS)} rows/s)`]);
    out.push({ id: 'rollup', title: 'Rollup', head: KV, rows });
  }
  const f = s.freshness;
  if (f) {
    out.push({
      id: 'freshness',
      title: 'Freshness (commit → visible in rollup)',
      head: KV,
      rows: [
        ['markers seen / inserted', f.markersUnseen > 0 ? warn(`${int(f.markersSeen)} / ${int(f.markersInserted)} (${int(f.markersUnseen)} unseen)`) : `${int(f.markersSeen)} / ${int(f.markersInserted)}`],
        ['over-counted', f.overCounted > 0 ? bad(int(f.overCounted)) : '0'],
        ['latency', f.count > 0 ? `p50 ${formatUs(f.p50Us)}, p99 ${formatUs(f.p99Us)}, max ${formatUs(f.maxUs)}` : 'no marker seen'],
      ],
    });
  }
  const a = s.audit;
  if (a) {
    const broken = a.lostEvents > 0 || a.duplicatedEvents > 0;
    const rows: Cell[][] = [
      ['periods checked', `${int(a.periodsChecked)} (${a.from} → ${a.to ?? 'open'})`],
      ['lost events', a.lostEvents > 0 ? bad(int(a.lostEvents)) : good('0')],
      ['duplicated events', a.duplicatedEvents > 0 ? bad(int(a.duplicatedEvents)) : good('0')],
      ['rows acked / in table', `${int(a.acked)} / ${a.rowsInTable === null ? 'not counted' : int(a.rowsInTable)}`],
    ];
    for (const p of a.periods) {
      if (p.rawCount !== p.rollupCount) rows.push([`period ${iso(p.periodStart)}`, bad(`raw ${int(p.rawCount)}, rollup ${int(p.rollupCount)}`)]);
    }
    out.push({ id: 'audit', title: broken ? 'Rollup audit — ROLLUP MISCOUNTS' : 'Rollup audit (closed periods)', head: KV, rows });
  }
  const p = s.probes;
  if (p) {
    const rows: Cell[][] = [];
    for (const [name, byWindow] of Object.entries(p.byProbe)) {
      for (const w of p.windows) {
        const x = byWindow[w];
        if (!x) continue;
        rows.push([p.routing?.[name] ? `${name} (${p.routing[name]})` : name, w, x.count > 0 ? formatUs(x.p50Us) : '—', x.count > 0 ? formatUs(x.p99Us) : '—',
          (x.missed ?? 0) > 0 ? warn(`${int(x.count)}${x.insufficient ? ` ${INSUFFICIENT}` : ''} (+${int(x.missed!)} missed)`) : x.insufficient ? warn(`${int(x.count)} ${INSUFFICIENT}`) : int(x.count),
          x.errors > 0 ? bad(int(x.errors)) : '0',
          x.responseP50Us === undefined || x.count === 0 ? '—' : `${formatUs(x.responseP50Us)} / ${formatUs(x.responseP99Us ?? 0)}`,
          x.idleP50Us === undefined ? '—' : `${formatUs(x.idleP50Us)} (n=${x.idleCount ?? '?'})`,
          x.loadOverIdle === null ? warn(INSUFFICIENT) : formatRatio(x.loadOverIdle, x.loadOverIdleCi95)]);
      }
    }
    const v = p.viewers;
    const load = v ? `, ${v.viewers} viewers refreshing every ${v.refreshMs / 1000} s (${v.started}/${v.due} refreshes, ${v.late} late, ${v.unfinished} unfinished${v.neverStarted ? `, ${v.neverStarted} never started` : ''}${v.withoutConnection ? `, ${v.withoutConnection} without a connection` : ''})` : '';
    out.push({ id: 'probes', title: `Dashboard probes (rollup granularity ${p.granularity}${load}; a cell needs n ≥ ${p.minSamples})`, head: ['probe', 'window', 'p50', 'p99', 'count', 'errors', 'response p50 / p99', 'idle p50', 'load / idle [95% CI]'], rows });
    const speedRows: Cell[][] = ratioRows(p).map(([label, by, ci]) => [label, ...p.windows.map((w) => (by?.[w] === null ? warn(INSUFFICIENT) : formatRatio(by?.[w], ci?.[w])))]);
    speedRows.push(['HLL relative error', ...p.windows.map((w) => (p.hllRelativeError?.[w] === undefined ? '—' : pct(p.hllRelativeError[w])))]);
    out.push({ id: 'speedups', title: 'Speedups and HLL accuracy', head: ['', ...p.windows], rows: speedRows });
    if (p.sizes) {
      out.push({ id: 'sizes', title: 'Table sizes', head: KV, rows: [['raw table', mb(p.sizes.rawTableBytes)], ['rollup table', mb(p.sizes.rollupTableBytes)], ['HLL column', mb(p.sizes.hllColumnBytes)]] });
    }
  }
  if (s.faultPhases) out.push(faultPhasesTable(s.faultPhases));
  if (s.expiry) {
    out.push({ id: 'expiry', title: 'Expiry', head: KV, rows: [['removed', `${int(s.expiry.rawRowsRemoved)} raw + ${int(s.expiry.rollupRowsRemoved)} rollup rows`], ['time', `${s.expiry.ms.toFixed(0)} ms`]] });
  }
  return out;
}

/** Each panel's response p50 / p99 (n, missed) before / during / after the fault. */
function faultPhasesTable(f: NonNullable<Summary['faultPhases']>): ReportTable {
  const cell = (x: PhaseLatency): Cell => {
    const text = x.count === 0 ? `no sample${x.missed ? `, ${int(x.missed)} missed` : ''}` : `${formatUs(x.p50Us ?? 0)} / ${formatUs(x.p99Us ?? 0)}, n=${int(x.count)}${x.missed ? `, ${int(x.missed)} missed` : ''}`;
    return x.missed > 0 ? warn(text) : text;
  };
  const rows: Cell[][] = [];
  for (const [probe, byWindow] of Object.entries(f.panels)) {
    for (const [w, x] of Object.entries(byWindow)) rows.push([probe, w, cell(x.before), cell(x.during), cell(x.after)]);
  }
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  return { id: 'fault-phases', title: `Panels around the fault (during: ${s(f.window.startMs)}–${s(f.window.endMs)} s; response p50 / p99 by due time)`, head: ['probe', 'window', 'before', 'during', 'after'], rows };
}

/** The validity verdict and the reasons for it. */
export function validityTable(s: Summary): ReportTable {
  const rows: Cell[][] = [['verdict', s.valid ? good('VALID') : bad('INVALID')]];
  for (const r of s.invalidReasons) rows.push(['reason', bad(r)]);
  for (const l of verdictLines(s)) {
    const i = l.indexOf(': ');
    rows.push([l.slice(0, i), warn(l.slice(i + 2))]);
  }
  return { id: 'validity', title: 'Validity', head: KV, rows };
}

/** Notes and skipped probes; an empty table when there are none. */
function notesTable(s: Summary): ReportTable {
  const rows: Cell[][] = s.notes.map((n) => ['note', n]);
  for (const k of s.probes?.skipped ?? []) rows.push(['skipped probe', k]);
  return { id: 'notes', title: 'Notes', head: KV, rows };
}

/** A table with every text passed through maskSecrets (notes quote error messages, which may hold URLs). */
function masked(t: ReportTable): ReportTable {
  const m = (c: Cell): Cell => (typeof c === 'string' ? maskSecrets(c) : { text: maskSecrets(c.text), tone: c.tone });
  return { id: t.id, title: maskSecrets(t.title), head: t.head.map(maskSecrets), rows: t.rows.map((r) => r.map(m)) };
}

/**
 * Every summary table of a run, in report order (validity first, notes last),
 * with secrets masked as in summary.json.
 */
export function reportTables(r: RunRecord): ReportTable[] {
  const s = r.summary;
  const settings = Object.entries(r.run.server.nonDefaultSettings).sort(([a], [b]) => a.localeCompare(b));
  const tables: ReportTable[] = [
    validityTable(s),
    runTable(r),
    ingestTable(s),
    errorsTable(s),
    latencyTable(s),
    ...dashboardTables(s),
    clientTable(s),
    ...serverTables(s.server),
    ...(settings.length > 0 ? [{ id: 'settings', title: 'Server settings (not default)', head: ['setting', 'value'], rows: settings }] : []),
    notesTable(s),
  ];
  return tables.map(masked);
}
