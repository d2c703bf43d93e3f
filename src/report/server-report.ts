/**
 * The server's part of the page: its seconds (active sessions by role and wait
 * class, CPU, WAL MB/s; the page draws them on the time axis, live from the
 * sampler and in report.html from server.csv) and tables of waits per role,
 * statements by role and plan shapes. From summary.json `server` and
 * server.csv (record.files). Pure.
 */
import type { RunRecord, ServerSummary } from '../results/run-record.js';
import type { PageServerSecond } from './page-model.js';
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

/**
 * The sampler's seconds of a run as the page's (server.csv; none without it), on the time charts' axis:
 * t at each second's end in s after the step's origin, as the interval rows are. The seconds of the load
 * only (the plans and the audit come after).
 */
export function serverSeconds(csv: string | undefined, step: number): PageServerSecond[] {
  if (!csv) return [];
  const parsed = parseServerCsv(csv);
  const waitCols = parsed.columns.filter((c) => ROLE_COLUMNS.test(c));
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return parsed.rows.filter((r) => r.phase !== 'after').map((r) => {
    const waits: Record<string, number> = {};
    for (const c of waitCols) {
      const v = num(r[c]);
      const m = ROLE_COLUMNS.exec(c)!;
      if (v !== null && v > 0) waits[`${m[1]} ${m[2]}`] = v;
    }
    const wal = num(r['wal_bytes_per_s']);
    return {
      step, t: Number(r['second']) + 1, waits, walMBps: wal === null ? null : wal / 1e6,
      serverCores: num(r['server_cores']), clientCores: num(r['client_cores']), clientMainCores: num(r['client_main_cores']), cpuPressure: num(r['cpu_pressure']),
    };
  });
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
