/**
 * The PostgreSQL target: connecting (with user-facing errors for bad URLs,
 * wrong passwords and unreachable hosts), describing the server, installing
 * and checking the tutorial schema, and counting rows after a run.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { UsageError } from '../errors.js';
import { sqlPath } from '../paths.js';
import type { ServerInfo } from '../results/run-record.js';
import { maskSecrets, maskUrl } from './url.js';
import { sqlstateOf } from './sqlstate.js';
import { quoteIdent } from '../sql-quote.js';
import type { PartitionChoice } from '../config/types.js';
import { currentPartitioning, partitioningMismatch } from './partitions.js';

/** The tutorial's tables, in creation order. */
export const TUTORIAL_TABLES = ['http_request', 'http_request_1min', 'latest_rollup'] as const;

/** Connect, turning the failures a user can fix into one-line UsageErrors. */
export async function connect(url: string, applicationName = 'rtbench'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // reported by the failing query instead
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectError(url, err);
  }
}

/** A user-facing error for a failed connection attempt. */
export function connectError(url: string, err: unknown): Error {
  // The driver's code goes with the message (57P03 while a server starts, 08001 refused): parts that retry count it.
  return Object.assign(userConnectError(url, err), { sqlstate: sqlstateOf(err) });
}

function userConnectError(url: string, err: unknown): Error {
  const e = err as { code?: string; message?: string };
  const where = maskUrl(url);
  const msg = maskSecrets(e.message ?? String(err));
  switch (e.code) {
    case '28P01':
    case '28000':
      return new UsageError(`${where}: authentication failed (${msg})`);
    case '3D000':
      return new UsageError(`${where}: ${msg}`);
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'EAI_AGAIN':
    case 'ENOENT':
      return new UsageError(`${where}: server unreachable (${e.code})`);
    default:
      if (/timeout/i.test(msg)) return new UsageError(`${where}: server unreachable (connection timeout)`);
      if (/password|SASL|SCRAM/i.test(msg)) return new UsageError(`${where}: authentication failed (${msg})`);
      return new UsageError(`${where}: cannot connect (${msg})`);
  }
}

/** Versions, extensions and non-default settings, for run.json. */
export async function describeServer(client: pg.Client): Promise<ServerInfo> {
  const v = await client.query<{ version: string; num: string }>(`SELECT version() AS version, current_setting('server_version_num') AS num`);
  const ext = await client.query<{ extname: string; extversion: string }>('SELECT extname, extversion FROM pg_extension ORDER BY extname');
  const avail = await client.query<{ name: string }>(`SELECT name FROM pg_available_extensions WHERE name IN ('hll', 'pg_cron', 'citus')`);
  const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE source NOT IN ('default', 'override', 'client', 'session') ORDER BY name`,
  );
  const available: Record<string, boolean> = { hll: false, pg_cron: false, citus: false };
  for (const r of avail.rows) available[r.name] = true;
  return {
    version: v.rows[0]?.version ?? 'unknown',
    versionNum: Number(v.rows[0]?.num ?? 0),
    extensions: Object.fromEntries(ext.rows.map((r) => [r.extname, r.extversion])),
    available,
    nonDefaultSettings: Object.fromEntries(
      settings.rows.map((r) => [r.name, maskSecrets(r.unit ? `${r.setting} ${r.unit}` : r.setting)]),
    ),
  };
}

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
}

async function columnsOf(client: pg.Client, schema: string): Promise<string[]> {
  const r = await client.query<ColumnRow>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = ANY($2) ORDER BY table_name, ordinal_position`,
    [schema, TUTORIAL_TABLES],
  );
  return r.rows.map((c) => `${c.table_name}.${c.column_name} ${c.data_type}`);
}

export type SchemaAction = 'created' | 'reused' | 'reset';

/**
 * Columns the rollup strategies add to the tutorial tables (the tutorial itself
 * adds the HLL and JSONB ones with ALTER TABLE; incremental adds event_id).
 */
const ROLLUP_ADDED_COLUMNS = new Set([
  'http_request.event_id bigint',
  'http_request_1min.distinct_ip_addresses USER-DEFINED',
  'http_request_1min.country_counters jsonb',
  'http_request_1min.response_time_msec_sum bigint',
]);

/**
 * Make sure the tutorial tables exist with the tutorial's shape, in the first
 * schema of the search_path. Tables of another shape are a UsageError unless
 * `reset` is set; with `reset` the tables are dropped and recreated. Never
 * drops anything otherwise.
 */
export async function ensureSchema(client: pg.Client, reset: boolean, partition: PartitionChoice = 'none'): Promise<SchemaAction> {
  // --partition hour|day: the same tables with http_request range-partitioned on ingest_time (partitions come later).
  const ddl = await readFile(sqlPath(partition === 'none' ? 'schema.sql' : 'schema-partitioned.sql'), 'utf8');
  // Several load generators (--instance) may start at once on an empty database:
  // one creates the tables, the others then find them.
  await client.query('SELECT pg_advisory_lock(hashtext($1))', ['rtbench:schema']);
  try {
    const action = await ensureSchemaLocked(client, ddl, reset);
    if (action === 'reused') {
      const found = await currentPartitioning(client);
      const bad = found === 'absent' ? null : partitioningMismatch(found, partition);
      if (bad) throw bad;
    }
    return action;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['rtbench:schema']).catch(() => undefined);
  }
}

async function ensureSchemaLocked(client: pg.Client, ddl: string, reset: boolean): Promise<SchemaAction> {
  const schemaName = (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s;
  if (!schemaName) throw new UsageError('no schema to create the tables in: the search_path is empty');
  const existing = await columnsOf(client, schemaName);
  const present = new Set(existing.map((c) => c.split('.')[0]));

  if (reset) {
    await inTransaction(client, async () => {
      for (const t of [...TUTORIAL_TABLES].reverse()) await client.query(`DROP TABLE IF EXISTS ${quoteIdent(t)} CASCADE`);
      await client.query(ddl);
    });
    return 'reset';
  }
  if (present.size === 0) {
    await inTransaction(client, () => client.query(ddl));
    return 'created';
  }

  // Compare against the shape the DDL produces, built in a scratch schema that is rolled back.
  const scratch = `rtbench_shape_${process.pid}_${Date.now()}`;
  let expected: string[];
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA ${quoteIdent(scratch)}`);
    await client.query(`SET LOCAL search_path = ${quoteIdent(scratch)}`);
    await client.query(ddl);
    expected = (await columnsOf(client, scratch));
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
  const missing = expected.filter((c) => !existing.includes(c));
  const extra = existing.filter((c) => !expected.includes(c) && !ROLLUP_ADDED_COLUMNS.has(c));
  if (missing.length > 0 || extra.length > 0) {
    const detail = [...missing.slice(0, 3).map((c) => `missing ${c}`), ...extra.slice(0, 3).map((c) => `unexpected ${c}`)].join(', ');
    throw new UsageError(
      `tables ${TUTORIAL_TABLES.join(', ')} in schema ${schemaName} exist with another shape (${detail}); ` +
        'rerun with --reset to drop and recreate them (their rows are deleted), or use another database',
    );
  }
  return 'reused';
}


/** Run `fn` in a transaction: committed when it resolves, rolled back when it throws. */
async function inTransaction(client: pg.Client, fn: () => Promise<unknown>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Sites whose rows a run writes: [offset, offset + count). */
export interface SiteRange {
  readonly offset: number;
  readonly count: number;
}

/**
 * count(*) of http_request rows of the run's sites: leaves out the freshness
 * markers (site −1) and, with several load generators, the other instances' rows.
 */
export async function countRows(client: pg.Client, sites: SiteRange): Promise<number> {
  const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM http_request WHERE site_id >= $1 AND site_id < $2', [sites.offset, sites.offset + sites.count]);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Count rows after a run, retrying while the server restarts (a run may have
 * survived an outage). Returns null when the server stays away for `waitMs`.
 */
/**
 * {@link connect}, retried with backoff (250 ms doubling to 4 s) while the server is away
 * (a restart), for up to `waitMs`; each failure goes to `onError`. Throws the last error after that.
 */
export async function connectRetrying(url: string, applicationName: string, waitMs = 30_000, onError?: (err: unknown) => void): Promise<pg.Client> {
  const deadline = Date.now() + waitMs;
  for (let backoff = 250; ; backoff = Math.min(4000, backoff * 2)) {
    try {
      return await connect(url, applicationName);
    } catch (err) {
      onError?.(err);
      if (Date.now() + backoff > deadline) throw err;
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}

export async function countRowsWithRetry(url: string, waitMs: number, sites: SiteRange, onError?: (err: unknown) => void): Promise<number | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const c = await connect(url, 'rtbench-audit');
      try {
        return await countRows(c, sites);
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (err) {
      onError?.(err);
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
