/**
 * Expiry by age, the tutorial's way: DELETE raw rows older than a day and
 * rollup rows older than a month (both retentions are parameters), through
 * the rtbench_expire() function of sql/expiry.sql.
 */
import { readFile } from 'node:fs/promises';
import { sqlPath } from '../paths.js';
import type { SqlClient } from './strategies.js';
import { sqlIdent } from './template.js';
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
