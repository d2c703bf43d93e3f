/**
 * The server's part of report.html: active sessions by wait class over time
 * (drawn under the ingest latency chart), WAL MB/s over time, and tables of
 * waits per role, statements by role and plan shapes. From summary.json
 * `server` and server.csv (record.files). Pure. Charts as data for the
 * page's charts (page-model.ts), drawn by uPlot like the rest of the page.
 */
import type { RunRecord, ServerSummary } from '../results/run-record.js';
import type { PageBand, PageChart } from './page-model.js';
import { ROLES } from '../telemetry/roles.js';
import { describePlan } from '../telemetry/plans.js';
import { topWaits } from '../telemetry/waits.js';

/** A table as tables.ts's ServerTable (plain text cells). */
export interface ServerTable {
  readonly id: string;
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

/** Columns of server.csv by name → values per row (numbers, null when empty). */
export function parseServerCsv(text: string): { columns: string[]; rows: Array<Record<string, number | string | null>> } {
  const lines = text.trim().split('\n');
  const columns = (lines[0] ?? '').split(',');
  const rows = lines.slice(1).filter((l) => l !== '').map((l) => {
    const cells = l.split(',');
    const r: Record<string, number | string | null> = {};
    columns.forEach((c, i) => {
      const v = cells[i] ?? '';
      r[c] = c === 'phase' ? v : v === '' ? null : Number(v);
    });
    return r;
  });
  return { columns, rows };
}

const ROLE_COLUMNS = new RegExp(`^(${ROLES.join('|')})_(.+)$`);

/** The server charts of a run (none without server.csv), on the time charts' axis (s after the step's origin). */
export function serverCharts(record: RunRecord): PageChart[] {
  const csv = record.files?.['server.csv'];
  if (!csv) return [];
  const parsed = parseServerCsv(csv);
  const columns = parsed.columns;
  // The seconds of the load only (the plans and the audit come after), on the latency chart's time axis.
  const rows = parsed.rows.filter((r) => r.phase !== 'after');
  if (rows.length === 0) return [];
  // Plotted at the end of each second, as the interval rows are.
  const xs = rows.map((r) => Number(r.second) + 1);
  const warm = rows.filter((r) => r.phase === 'warmup');
  const bands: PageBand[] = warm.length > 0 ? [{ from: Number(warm[0]!.second), to: Number(warm[warm.length - 1]!.second) + 1, label: 'warm-up', kind: 'warmup' }] : [];
  const col = (c: string): Array<number | null> => rows.map((r) => (typeof r[c] === 'number' ? (r[c] as number) : null));
  const waitCols = columns.filter((c) => ROLE_COLUMNS.test(c));
  const total = (c: string): number => rows.reduce((a, r) => a + (typeof r[c] === 'number' ? (r[c] as number) : 0), 0);
  const shown = waitCols.filter((c) => total(c) > 0).sort((a, b) => total(b) - total(a)).slice(0, 10);
  const x = { label: 'time since start, s', unit: 's' } as const;
  const charts: PageChart[] = [];
  if (shown.length > 0) {
    charts.push({
      id: 'server-waits', time: true, x, xs, bands,
      title: 'Active sessions by role and wait class',
      caption: 'Mean active sessions per second in pg_stat_activity samples, by role and wait class (CPU: active, waiting on nothing instrumented); read it under the response-time chart: a Lock line rising with the ingest p99 names the cause.',
      y: { label: 'active sessions', unit: 'sessions' },
      series: shown.map((c) => {
        const m = ROLE_COLUMNS.exec(c)!;
        return { name: `${m[1]} ${m[2]}`, values: col(c) };
      }),
    });
  }
  if (columns.includes('wal_bytes_per_s')) {
    charts.push({
      id: 'server-wal', time: true, x, xs, bands,
      title: 'WAL written per second',
      caption: 'The WAL insert position moved per second (the whole server), in MB/s.',
      y: { label: 'MB/s', unit: 'MB/s' },
      series: [{ name: 'WAL MB/s', values: col('wal_bytes_per_s').map((v) => (v === null ? null : v / 1e6)) }],
    });
  }
  if (rows.some((r) => typeof r.server_cores === 'number')) {
    charts.push({
      id: 'server-cpu', time: true, x, xs, bands,
      title: 'CPU of server and client on this host',
      caption: 'Cores used per second by the server\'s processes and by the client (its main thread apart), and the share of time runnable tasks waited for a CPU (/proc/pressure/cpu).',
      y: { label: 'cores', unit: 'cores' },
      series: [
        { name: 'server cores', values: col('server_cores') },
        { name: 'client cores', values: col('client_cores') },
        { name: 'client main thread cores', values: col('client_main_cores'), dashed: true },
        { name: 'cpu pressure (0..1)', values: col('cpu_pressure'), dashed: true, color: '#a33' },
      ],
    });
  }
  return charts;
}

const num = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));

/** The server tables: work per row, waits per role, statements, plans. */
export function serverTables(s: ServerSummary | undefined): ServerTable[] {
  if (!s) return [];
  const tables: ServerTable[] = [];
  const p = s.perRow;
  tables.push({
    id: 'server-work',
    title: 'Server work per ingested row (measure phase)',
    head: ['figure', 'value'],
    rows: [
      ['WAL bytes / row', num(p.walBytes, 0)],
      ['WAL bytes / row (pg_stat_wal)', num(p.statWalBytes, 0)],
      ['full-page images / row', num(p.fpi, 4)],
      ['buffers written / row', num(p.buffersWritten, 4)],
      ['blocks hit+read / row', num(p.blocksTouched, 2)],
      ['WAL MB/s', num(s.counters?.walMbPerS, 3)],
      ['checkpoints timed / requested', s.counters ? `${s.counters.checkpointsTimed ?? 'n/a'} / ${s.counters.checkpointsRequested ?? 'n/a'}` : 'n/a'],
      ['rollup WAL per run', s.rollupWalBytesPerRun == null ? 'n/a' : `${(s.rollupWalBytesPerRun / 1024).toFixed(1)} kB`],
      ...(s.machine ? [
        ['server CPU (cores)', num(s.machine.serverCores, 2)],
        ['client CPU (cores; main thread)', `${num(s.machine.clientCores, 2)}; ${num(s.machine.clientMainCores, 2)}`],
        ['load threads CPU / row', `${num(s.machine.loadThreadsCpuUsPerRow, 0)} µs`],
        ['cpu pressure (mean, max)', `${num((s.machine.cpuPressure ?? NaN) * 100, 0)}%, ${num((s.machine.cpuPressureMax ?? NaN) * 100, 0)}%`],
      ] as const : []),
    ],
  });
  const waitRows = ROLES.filter((r) => s.waits[r]).map((r) => {
    const w = s.waits[r]!;
    return [r, w.avgActiveSessions.toFixed(3), String(w.samples), topWaits(w, 4)];
  });
  if (waitRows.length > 0) tables.push({ id: 'server-waits', title: 'Waits per role (pg_stat_activity samples)', head: ['role', 'avg active sessions', 'samples', 'top waits'], rows: waitRows });
  if (s.statements && s.statements.length > 0) {
    tables.push({
      id: 'server-statements',
      title: 'Statements by role (pg_stat_statements, measure phase)',
      head: ['role', 'calls', 'total ms', 'mean ms', 'rows', 'shared hit', 'shared read', 'WAL bytes', 'statement'],
      rows: s.statements.slice(0, 15).map((st) => [
        `${st.role}${st.roleBy === 'text' ? ' (by text)' : ''}`, String(st.calls), st.totalTimeMs.toFixed(1), num(st.meanTimeMs, 3), String(st.rows),
        String(st.sharedBlksHit), String(st.sharedBlksRead), String(st.walBytes), st.query.slice(0, 120),
      ]),
    });
  }
  if (s.plans.length > 0) {
    tables.push({ id: 'server-plans', title: 'Plans of the panels (EXPLAIN ANALYZE, BUFFERS)', head: ['panel', 'plan', 'ms', 'file'],
      rows: s.plans.map((pl) => [`${pl.probe} ${pl.window}`, describePlan(pl), pl.executionMs.toFixed(2), pl.file]) });
  }
  if (s.nodes && s.nodes.length > 0) {
    tables.push({ id: 'server-nodes', title: 'Per node (Citus)', head: ['node', 'WAL MB', 'http_request rows', 'http_request MB'],
      rows: s.nodes.map((n) => [n.node, n.walBytes === null ? 'n/a' : (n.walBytes / 1e6).toFixed(2), n.rowsInRaw === null ? 'n/a' : String(n.rowsInRaw), n.rawBytes === null ? 'n/a' : (n.rawBytes / 1e6).toFixed(1)]) });
  }
  if (s.unavailable.length > 0) tables.push({ id: 'server-unavailable', title: 'Server views not read', head: ['what'], rows: s.unavailable.map((u) => [u]) });
  return tables;
}
