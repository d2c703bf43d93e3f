/**
 * The console's "server" block: what the server did during the measure phase
 * (summary.json `server`, from src/telemetry). Pure: returns a string.
 */
import type { ServerRole, ServerSummary, Summary } from '../results/run-record.js';
import { ROLES } from '../telemetry/roles.js';
import { topWaits } from '../telemetry/waits.js';
import { describePlan } from '../telemetry/plans.js';

/** Minimum pg_stat_activity samples in the measure phase for wait shares to be printed. */
export const MIN_WAIT_SAMPLES = 10;

const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(0)}%`);

/** Wait lines per role ("ingest   0.13 active: 62% IO:WALSync, 23% CPU, 8% IO:WALWrite"). */
export function waitLines(server: ServerSummary, roles: readonly ServerRole[] = ROLES): string[] {
  const out: string[] = [];
  for (const role of roles) {
    const w = server.waits[role];
    if (!w) continue;
    out.push(w.samples < MIN_WAIT_SAMPLES
      ? `${role.padEnd(10)} insufficient (n=${w.samples} samples)`
      : `${role.padEnd(10)} ${w.avgActiveSessions.toFixed(2)} active: ${topWaits(w, 3)}`);
  }
  return out;
}

/** The block, or '' when the run has no server section. */
export function serverBlock(summary: Summary, opts: { statements?: number; plans?: number } = {}): string {
  const s = summary.server;
  if (!s) return '';
  const lines: string[] = [];
  lines.push(s.sampleIntervalMs > 0
    ? `server (pg_stat_activity every ${s.sampleIntervalMs} ms${s.samplesSkipped > 0 ? `, ${s.samplesSkipped} samples skipped` : ''}; measure phase)`
    : 'server (measure phase; waits not sampled)');
  const waits = waitLines(s);
  if (waits.length > 0) lines.push('  waits, average active sessions and top waits per role:', ...waits.map((l) => `    ${l}`));
  else if (s.sampleIntervalMs > 0) lines.push('  waits: no active session was caught in a sample');
  const p = s.perRow;
  const c = s.counters;
  if (c) {
    const scope = s.nodes ? ' (cluster; the coordinator\'s pg_stat_wal' : ' (pg_stat_wal';
    lines.push(`  WAL        ${f(p.walBytes, 0)} B/row${scope} ${f(p.statWalBytes, 0)}), ${f(c.walMbPerS, 2)} MB/s, FPI ${f(p.fpi, 3)}/row, ${f(p.walRecords, 2)} records/row`);
    if (s.rollupWalBytesPerRun != null) lines.push(`  rollup     ${f(s.rollupWalBytesPerRun / 1024, 1)} kB WAL per run (pg_stat_statements)`);
    lines.push(`  buffers    ${f(p.buffersWritten, 3)} written/row, ${f(p.blocksTouched, 1)} blocks hit+read/row; temp ${c.tempBytes ?? 'n/a'} B`);
    lines.push(`  checkpoints ${c.checkpointsTimed ?? 'n/a'} timed, ${c.checkpointsRequested ?? 'n/a'} requested; commits ${c.commits ?? 'n/a'}`);
  }
  const tables = Object.entries(s.tables).filter(([, t]) => t.inserted + t.updated + t.deleted + t.autovacuumRuns + t.autoanalyzeRuns > 0);
  if (tables.length > 0) {
    lines.push('  tables (inserted, updated, deleted, dead at the end, autovacuum and autoanalyze runs):');
    for (const [name, t] of tables) lines.push(`    ${name.padEnd(22)} +${t.inserted} ins, ${t.updated} upd, ${t.deleted} del, ${t.deadTuplesEnd} dead, autovacuum ${t.autovacuumRuns}, autoanalyze ${t.autoanalyzeRuns}`);
  }
  if (s.statements && s.statements.length > 0) {
    lines.push('  statements (most total time; role, calls, mean ms, WAL B/call):');
    for (const st of s.statements.slice(0, opts.statements ?? 5)) {
      lines.push(`    ${st.role.padEnd(9)} ${String(st.calls).padStart(7)} ${f(st.meanTimeMs, 3).padStart(8)} ${f(st.calls > 0 ? st.walBytes / st.calls : null, 0).padStart(7)}  ${st.query.slice(0, 70)}`);
    }
  }
  if (s.plans.length > 0) {
    lines.push(`  plans (${s.plans.length} panels, plans/*.json):`);
    for (const pl of s.plans.slice(0, opts.plans ?? 4)) lines.push(`    ${`${pl.probe} ${pl.window}`.padEnd(26)} ${describePlan(pl)}`);
  }
  if (s.nodes && s.nodes.length > 0) {
    lines.push('  nodes (WAL over the measure phase; http_request rows, MB):');
    for (const n of s.nodes) {
      lines.push(`    ${n.node.padEnd(22)} WAL ${n.walBytes === null ? 'n/a' : `${(n.walBytes / 1e6).toFixed(2)} MB`}, rows ${n.rowsInRaw ?? 'n/a'}, ${n.rawBytes === null ? 'n/a' : (n.rawBytes / 1e6).toFixed(1)} MB`);
      if (n.waits) for (const l of waitLines({ ...s, waits: n.waits })) lines.push(`      ${l}`);
    }
    const t = s.nodesTotal;
    if (t) lines.push(`    ${'total'.padEnd(22)} WAL ${t.walBytes === null ? 'n/a' : `${(t.walBytes / 1e6).toFixed(2)} MB`}, rows ${t.rowsInRaw ?? 'n/a'}, ${t.rawBytes === null ? 'n/a' : (t.rawBytes / 1e6).toFixed(1)} MB`);
  }
  const m = s.machine;
  if (m) {
    lines.push(`  machine    server ${f(m.serverCores, 2)} cores, client ${f(m.clientCores, 2)} cores (main thread ${f(m.clientMainCores, 2)}; load threads ${f(m.loadThreadsCpuUsPerRow, 0)} µs/row), ` +
      `cpu pressure ${pct(m.cpuPressure)} (max ${pct(m.cpuPressureMax)}), sampler's backend ${f(m.samplerServerCores, 3)} cores`);
  }
  for (const u of s.unavailable.slice(0, 5)) lines.push(`  unavailable: ${u}`);
  if (s.unavailable.length > 5) lines.push(`  unavailable: ${s.unavailable.length - 5} more in summary.json server.unavailable`);
  return lines.join('\n');
}
