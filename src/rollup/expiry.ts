/**
 * Expiry by age, the tutorial's way: DELETE raw rows older than a day and
 * rollup rows older than a month (both retentions are parameters), through
 * the rtbench_expire() function of sql/expiry.sql.
 */
import { readFile } from 'node:fs/promises';
import { sqlPath } from '../paths.js';
import type { SqlClient } from './strategies.js';
import { sqlIdent } from './template.js';
import { dropPartitions } from '../targets/partitions.js';
import type { ExpiryResult } from '../results/run-record.js';

/** Options of {@link expire}. */
export interface ExpiryOptions {
  /** Rollup table to expire, e.g. http_request_1min. */
  readonly rollupTable: string;
  /** PostgreSQL interval text for raw rows (default '1 day'). */
  readonly rawRetention?: string;
  /** PostgreSQL interval text for rollup rows (default '1 month'). */
  readonly rollupRetention?: string;
}

/** Install rtbench_expire() (idempotent). */
export async function installExpiry(client: SqlClient): Promise<void> {
  await client.query(await readFile(sqlPath('expiry.sql'), 'utf8'));
}

/** Delete expired raw and rollup rows. Intervals and table are sent as parameters (the table as regclass text), never spliced in. */
export async function expire(client: SqlClient, opts: ExpiryOptions): Promise<ExpiryResult> {
  await installExpiry(client);
  const t0 = process.hrtime.bigint();
  const r = await client.query<{ raw_rows_removed: string; rollup_rows_removed: string }>(
    'SELECT raw_rows_removed::text, rollup_rows_removed::text FROM rtbench_expire($1::interval, $2::regclass, $3::interval)',
    [opts.rawRetention ?? '1 day', sqlIdent(opts.rollupTable), opts.rollupRetention ?? '1 month'],
  );
  const ms = Number((process.hrtime.bigint() - t0) / 1000n) / 1000;
  const row = r.rows[0];
  return { rawRowsRemoved: Number(row?.raw_rows_removed ?? 0), rollupRowsRemoved: Number(row?.rollup_rows_removed ?? 0), ms };
}

/** One expiry during the measure phase (`--expire delete|drop-partitions`). */
export interface ExpiryEvent {
  readonly method: 'delete' | 'drop-partitions';
  /** Wall clock at the start and end of the timed part, ms since the epoch (this host). */
  readonly startEpochMs: number;
  readonly endEpochMs: number;
  /** The timed part: the DELETEs (one transaction), or the detaches and drops and the rollup's DELETE. */
  readonly durationMs: number;
  /** Raw rows older than this were removed (delete: the cutoff; drop: the newest dropped partition's upper bound). */
  readonly rawExpiredBefore: string | null;
  readonly rawRowsRemoved: number;
  /** Of those, rows of this run's sites (what the acked-vs-table count must add back). */
  readonly rawRowsRemovedOfSites: number;
  readonly partitionsDropped: number;
  readonly rollupRowsRemoved: number;
  /**
   * pg_current_wal_insert_lsn() difference over the timed part, bytes (the server's whole WAL: other writers' too; on Citus the
   * coordinator's only). The insert position, not pg_current_wal_lsn() (the write position): with synchronous_commit off the
   * expiry's WAL can sit in the WAL buffers past the second reading, and the write position then showed 0 bytes.
   */
  readonly walBytes: number;
}

/** Options of {@link expireOnce}. */
export interface ExpireOnceOptions {
  readonly method: 'delete' | 'drop-partitions';
  /** Raw rows older than this go. */
  readonly rawCutoff: Date;
  /** Rollup rows older than this are deleted (both methods: the rollup is not partitioned). */
  readonly rollupTable: string | null;
  readonly rollupCutoff: Date;
  /** The run's sites [offset, offset + count), for rawRowsRemovedOfSites. */
  readonly sites: { readonly offset: number; readonly count: number };
}

const walLsn = async (client: SqlClient): Promise<string> =>
  (await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0';

/**
 * One expiry, timed. The rows to go are counted first (outside the timed
 * part) against a fixed cutoff, so the counts are exact: live rows are never
 * that old. delete: the tutorial's two DELETEs with that cutoff, one
 * transaction. drop-partitions: every partition wholly older than the cutoff
 * detached concurrently and dropped (src/targets/partitions.ts dropPartitions),
 * then the rollup's DELETE.
 */
export async function expireOnce(client: SqlClient, opts: ExpireOnceOptions): Promise<ExpiryEvent> {
  const { offset, count } = opts.sites;
  let rawRowsRemoved = 0;
  let ofSites = 0;
  let partitionsDropped = 0;
  let rollupRowsRemoved = 0;
  let expiredBefore: Date | null = null;
  const rollup = opts.rollupTable === null ? null : sqlIdent(opts.rollupTable);
  let lsn0: string;
  let t0: bigint;
  let start: number;
  if (opts.method === 'delete') {
    const c = await client.query<{ n: string; s: string }>(
      'SELECT count(*) AS n, count(*) FILTER (WHERE site_id >= $2 AND site_id < $3) AS s FROM http_request WHERE ingest_time < $1',
      [opts.rawCutoff, offset, offset + count],
    );
    start = Date.now();
    lsn0 = await walLsn(client);
    t0 = process.hrtime.bigint();
    await client.query('BEGIN');
    try {
      const d = await client.query('DELETE FROM http_request WHERE ingest_time < $1', [opts.rawCutoff]);
      rawRowsRemoved = d.rowCount ?? 0;
      if (rollup) rollupRowsRemoved = (await client.query(`DELETE FROM ${rollup} WHERE ingest_time < $1`, [opts.rollupCutoff])).rowCount ?? 0;
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    // The count and the DELETE agree unless another writer wrote rows that old meanwhile.
    ofSites = Number(c.rows[0]?.s ?? 0);
    expiredBefore = opts.rawCutoff;
  } else {
    const expired = await client.query<{ name: string; to_value: Date }>(
      `SELECT e.partition::text AS name, e.to_value FROM rtbench_expired_partitions('http_request'::regclass, $1) e ORDER BY e.from_value`,
      [opts.rawCutoff],
    );
    for (const p of expired.rows) {
      // Names from the catalog as regclass text (quoted where needed).
      const c = await client.query<{ n: string; s: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE site_id >= $1 AND site_id < $2) AS s FROM ${p.name}`, [offset, offset + count]);
      rawRowsRemoved += Number(c.rows[0]?.n ?? 0);
      ofSites += Number(c.rows[0]?.s ?? 0);
    }
    start = Date.now();
    lsn0 = await walLsn(client);
    t0 = process.hrtime.bigint();
    await dropPartitions(client, expired.rows.map((p) => p.name));
    if (rollup) rollupRowsRemoved = (await client.query(`DELETE FROM ${rollup} WHERE ingest_time < $1`, [opts.rollupCutoff])).rowCount ?? 0;
    partitionsDropped = expired.rows.length;
    expiredBefore = expired.rows.at(-1)?.to_value ?? null;
  }
  const durationMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const end = Date.now();
  const lsn1 = await walLsn(client);
  const wal = await client.query<{ b: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS b', [lsn1, lsn0]);
  return {
    method: opts.method,
    startEpochMs: start,
    endEpochMs: end,
    durationMs,
    rawExpiredBefore: expiredBefore ? expiredBefore.toISOString() : null,
    rawRowsRemoved,
    rawRowsRemovedOfSites: ofSites,
    partitionsDropped,
    rollupRowsRemoved,
    walBytes: Number(wal.rows[0]?.b ?? 0),
  };
}
