/**
 * What the capacity search does between its trials, on the database: mark
 * when a trial starts (the server's clock) and afterwards remove only the
 * rows that trial wrote (its sites since the mark, and its freshness
 * markers), vacuum, and rebuild the rollup from the raw table, so every trial
 * reads the same history. Another writer's rows (other sites) are never
 * touched. A connection error (a restart, a dropped connection) is retried
 * with backoff and counted by SQLSTATE, never fatal until `waitMs` passes.
 */
import type pg from 'pg';
import { connect } from '../targets/postgres.js';
import { sqlstateOf } from '../targets/sqlstate.js';
import type { OnProgress } from '../schedule/progress.js';
import { MARKER_SITE_ID, type DashboardSession } from './dashboard.js';
import { inPhase } from './phase.js';

/** Retries made by between-trial work, by SQLSTATE (reported in capacity.json). */
export type RetryCounts = Record<string, number>;

/**
 * Run `work`; on an error, wait (250 ms doubling to 4 s) and try again until
 * `waitMs` has passed, counting each failure in `retries` under its SQLSTATE.
 * The last error is thrown after the deadline.
 */
export async function retrying<T>(
  work: () => Promise<T>, retries: RetryCounts, waitMs = 60_000,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let backoff = 250; ; backoff = Math.min(4000, backoff * 2)) {
    try {
      return await work();
    } catch (err) {
      const state = sqlstateOf(err);
      retries[state] = (retries[state] ?? 0) + 1;
      if (Date.now() + backoff > deadline) throw err;
      await sleep(backoff);
    }
  }
}

/** {@link retrying} with a fresh connection for each attempt. */
export function withReconnect<T>(url: string, work: (c: pg.Client) => Promise<T>, retries: RetryCounts): Promise<T> {
  return retrying(async () => {
    const c = await connect(url, 'rtbench-setup');
    try {
      return await work(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }, retries);
}

/** The database's clock now: rows a trial inserts carry ingest_time at or after it. */
export function serverNow(url: string, retries: RetryCounts): Promise<Date> {
  return withReconnect(url, async (c) => (await c.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now, retries);
}

/**
 * Remove what one trial added: rows of its sites `[offset, offset + count)`
 * with ingest_time at or after `since`, and the freshness markers it wrote
 * (site MARKER_SITE_ID) since then; then VACUUM (ANALYZE) and rebuild the
 * rollup. Returns the rows removed and the time it took. Reports progress as
 * the phase `between steps` in statements (DELETE, VACUUM, the rollup rebuild).
 */
export async function removeTrialRows(
  url: string, dashboard: DashboardSession | null, since: Date, sites: { offset: number; count: number }, retries: RetryCounts,
  onProgress?: OnProgress,
): Promise<{ rows: number; ms: number }> {
  const t0 = Date.now();
  const what = dashboard ? 'remove the step\'s rows, vacuum, rebuild the rollup' : 'remove the step\'s rows, vacuum';
  return inPhase(onProgress, `between steps: ${what}`, 'statements', dashboard ? 3 : 2, async (p) => {
    const rows = await withReconnect(url, async (c) => {
      const r = await c.query(
        `DELETE FROM http_request
          WHERE ingest_time >= $1
            AND ((site_id >= $2 AND site_id < $3) OR (site_id = $4 AND url = 'rtbench:freshness-marker'))`,
        [since, sites.offset, sites.offset + sites.count, MARKER_SITE_ID],
      );
      if (p.done < 1) p.advance(); // a retry runs the DELETE again: count it once
      await c.query('VACUUM (ANALYZE) http_request');
      if (p.done < 2) p.advance();
      return r.rowCount ?? 0;
    }, retries);
    if (dashboard) {
      await retrying(() => dashboard.rebuildRollup(), retries);
      p.advance();
    }
    return { rows, ms: Date.now() - t0 };
  });
}
