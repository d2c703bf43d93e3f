/**
 * pg_stat_statements over a phase: the difference of two snapshots, each
 * statement attributed to the role that ran it. Pure.
 *
 * pg_stat_statements keeps no application_name, so the role comes from the
 * sampler: every pg_stat_activity sample carries each session's `query_id`
 * (computed by the server when pg_stat_statements is loaded) beside its
 * application_name, which maps query ids to roles. A statement never caught
 * in a sample falls back to its text: each role runs statements of its own
 * (the load's INSERT/COPY into http_request, the rollup function, the probes'
 * `$1::interval` panels, the freshness marker's RETURNING).
 */
import type { ServerRole, StatementFigures } from '../results/run-record.js';

/** One row of pg_stat_statements (numbers already parsed). */
export interface StatementRow {
  /** `userid:dbid:queryid:toplevel`: the view's key. */
  readonly key: string;
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalTimeMs: number;
  readonly rows: number;
  readonly sharedBlksHit: number;
  readonly sharedBlksRead: number;
  readonly walBytes: number;
}

/**
 * Leading comment of every statement the sampler sends: pg_stat_statements keeps the
 * first text it saw of a statement, comments included, so the sampler's own are left out.
 */
export const SAMPLER_SQL_TAG = '/* rtbench-sampler */';

/** The SQL of a snapshot: this database's statements but the sampler's own (never resets them). */
export const STATEMENTS_SQL = `${SAMPLER_SQL_TAG} SELECT s.userid::text || ':' || s.dbid::text || ':' || s.queryid::text || ':' || s.toplevel::text AS key,
  s.queryid::text AS query_id, s.query, s.calls::text, s.total_exec_time::text AS total_ms, s.rows::text,
  s.shared_blks_hit::text AS hit, s.shared_blks_read::text AS read, s.wal_bytes::text AS wal
  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
  WHERE d.datname = current_database() AND s.query NOT LIKE '${SAMPLER_SQL_TAG}%'`;

/** Parse the rows of {@link STATEMENTS_SQL}. */
export function parseStatementRows(rows: readonly Record<string, unknown>[]): StatementRow[] {
  const n = (v: unknown): number => Number(v ?? 0);
  return rows.map((r) => ({
    key: String(r.key), queryId: String(r.query_id), query: String(r.query ?? ''),
    calls: n(r.calls), totalTimeMs: n(r.total_ms), rows: n(r.rows),
    sharedBlksHit: n(r.hit), sharedBlksRead: n(r.read), walBytes: n(r.wal),
  }));
}

/** A statement's text to show: `--` comment lines (the probes' headers) removed, spaces folded, cut to 300 characters. */
export function displayText(query: string): string {
  const text = withoutComments(query);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

function withoutComments(query: string): string {
  return query.split('\n').filter((l) => !/^\s*--/.test(l)).join(' ').replace(/\s+/g, ' ').trim();
}

/** The role a statement's text belongs to, when no sample caught it running. */
export function roleByText(query: string): ServerRole | null {
  const q = withoutComments(query);
  if (/RETURNING ingest_time/i.test(q) || /rtbench:freshness/i.test(q)) return 'freshness';
  if (/^\s*(INSERT INTO|COPY) "?http_request"?[\s(]/i.test(q)) return 'ingest';
  if (/\brollup_http_request\w*"?\s*\(/i.test(q) || /^\s*LOCK\b/i.test(q)) return 'rollup';
  if (/\$1::interval/i.test(q)) return 'viewers';
  return null;
}

/** query_id → role → sightings, filled from pg_stat_activity samples. */
export type QueryRoles = Map<string, Map<ServerRole, number>>;

/** Note that a session of `role` was running (or last ran) `queryId`. */
export function noteQueryRole(into: QueryRoles, queryId: string | null, role: ServerRole): void {
  if (queryId === null || queryId === '0') return;
  let m = into.get(queryId);
  if (!m) into.set(queryId, (m = new Map()));
  m.set(role, (m.get(role) ?? 0) + 1);
}

/**
 * Statements over the phase (after − before), with calls > 0, most total time
 * first, at most `limit`. A statement new in `after` counts from zero.
 */
export function diffStatements(before: readonly StatementRow[], after: readonly StatementRow[], roles: QueryRoles, limit = 30): StatementFigures[] {
  const prev = new Map(before.map((r) => [r.key, r]));
  const out: StatementFigures[] = [];
  for (const a of after) {
    const b = prev.get(a.key);
    const calls = a.calls - (b?.calls ?? 0);
    if (calls <= 0) continue;
    const totalTimeMs = a.totalTimeMs - (b?.totalTimeMs ?? 0);
    const seen = roles.get(a.queryId);
    let role: StatementFigures['role'] = 'unknown';
    let roleBy: StatementFigures['roleBy'] = 'none';
    if (seen && seen.size > 0) {
      // rtbench's own set-up and audit sessions also call the rollup function (history, the audit's last run):
      // a statement seen from one workload role and the harness is that role's.
      const roles = [...seen.keys()];
      const workload = roles.filter((r) => r !== 'harness');
      role = roles.length === 1 ? roles[0]! : workload.length === 1 ? workload[0]! : 'mixed';
      roleBy = 'samples';
    } else {
      const t = roleByText(a.query);
      if (t) {
        role = t;
        roleBy = 'text';
      }
    }
    out.push({
      queryId: a.queryId, query: displayText(a.query), role, roleBy, calls, totalTimeMs,
      meanTimeMs: totalTimeMs / calls,
      rows: a.rows - (b?.rows ?? 0),
      sharedBlksHit: a.sharedBlksHit - (b?.sharedBlksHit ?? 0),
      sharedBlksRead: a.sharedBlksRead - (b?.sharedBlksRead ?? 0),
      walBytes: a.walBytes - (b?.walBytes ?? 0),
    });
  }
  return out.sort((x, y) => y.totalTimeMs - x.totalTimeMs).slice(0, limit);
}

/** WAL per rollup run: wal_bytes / calls of the rollup function's top-level call; null when it did not run. */
export function rollupWalPerRun(statements: readonly StatementFigures[] | null): number | null {
  const runs = (statements ?? []).filter((s) => /\brollup_http_request\w*"?\s*\(/i.test(s.query));
  const calls = runs.reduce((a, s) => a + s.calls, 0);
  return calls > 0 ? runs.reduce((a, s) => a + s.walBytes, 0) / calls : null;
}
