/**
 * The time-partitioned raw table (--partition hour|day): schema, partitions
 * ahead of the load, and every rollup strategy, every probe, the audit, the
 * acked-vs-table count and both expiries working on it unchanged — on
 * PostgreSQL, and on Citus when one is available (test/helpers/citus.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { TUTORIAL_WORKLOAD } from '../../src/config/types.js';
import { sqlPath } from '../../src/paths.js';
import { loadProbes } from '../../src/probe/loader.js';
import { probeParams, renderProbe } from '../../src/probe/definition.js';
import { selectRunnable } from '../../src/probe/requirements.js';
import { audit } from '../../src/rollup/audit.js';
import { expire } from '../../src/rollup/expiry.js';
import { preload } from '../../src/rollup/preload.js';
import { coveredUntil, hllAvailable, installRollup, runRollupOnce, ROLLUP_STRATEGIES, type InstalledRollup, type RollupStrategy } from '../../src/rollup/strategies.js';
import { distributeTables } from '../../src/targets/citus.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { currentPartitioning, dropExpiredPartitions, ensurePartitions, listPartitions, partitionWindow } from '../../src/targets/partitions.js';
import { countRows, ensureSchema } from '../../src/targets/postgres.js';
import { tutorialInsert } from '../../src/workload/statements.js';
import { CITUS_SKIP, citusSource, freshSchema, withCitus, type CitusHandle } from '../helpers/citus.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-hll)';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

type Client = pg.Client;

/** Schema, rollup, partitions, 40k rows of history on 2 connections, 500 live rows, one rollup run. */
async function loadPartitioned(c: Client, open: () => Promise<Client>, strategy: RollupStrategy, citus: boolean): Promise<{ installed: InstalledRollup; acked: number }> {
  assert.equal(await ensureSchema(c, false, 'hour'), 'created');
  const hll = await hllAvailable(c);
  if (hll) await c.query('CREATE EXTENSION IF NOT EXISTS hll');
  const installed = await installRollup(c, { strategy, granularityMin: 1, hll, ...(strategy === 'closed-minute' ? { graceS: 0 } : {}) });
  if (citus) await distributeTables(c, ['http_request', installed.table], { shardCount: 4 });
  const nowMs = Date.now();
  const w = partitionWindow({ partition: 'hour', nowMs, preloadSpanMs: DAY_MS, runMs: 60_000 });
  const made = await ensurePartitions(c, { partition: 'hour', from: new Date(w.fromMs), to: new Date(w.toMs), citus });
  assert.ok(made.total >= 25 && made.total <= 28, `${made.total} hourly partitions cover a day plus margins`);
  assert.equal(await currentPartitioning(c), 'hour');
  await preload(c, { rows: 40_000, spanMs: DAY_MS, seed: 5, sites: 32, chunkRows: 10_000, connections: 2, openConnection: open });
  // Live rows, as the load writes them (ingest_time = now).
  const insert = tutorialInsert(readFileSync(sqlPath('workload', 'tutorial-insert.sql'), 'utf8'), TUTORIAL_WORKLOAD, 50);
  for (let i = 0; i < 10; i++) await c.query(insert);
  await runRollupOnce(c, installed);
  return { installed, acked: 40_000 + 500 };
}

async function checkUnchanged(c: Client, installed: InstalledRollup, acked: number, strategy: RollupStrategy): Promise<void> {
  const table = installed.table;
  assert.equal(await countRows(c, { offset: 0, count: 32 }), acked, 'acked vs table: every row landed in a partition');
  const to = await coveredUntil(c, installed) ?? new Date(Date.now() - 3 * 60_000);
  const a = await audit(c, { table, granularityMin: 1, from: new Date(Date.now() - DAY_MS), to });
  assert.ok(a.periodsChecked > 1000, `${strategy}: ${a.periodsChecked} closed minutes audited`);
  assert.deepEqual([a.lostEvents, a.duplicatedEvents], [0, 0], `${strategy}: no event lost or duplicated on the partitioned table`);
  const { runnable, skipped } = await selectRunnable(c, await loadProbes(), table);
  assert.ok(runnable.length >= 8, `probes runnable: ${runnable.map((p) => p.name).join(', ')}; skipped: ${skipped.join('; ')}`);
  for (const p of runnable) {
    const r = await c.query(renderProbe(p, table), probeParams(p, '1 day', 3));
    assert.ok((r.rowCount ?? 0) >= 1, `probe ${p.name} returns rows on the partitioned table`);
  }
  // raw and rollup panels agree over closed history (the 1 h window's oldest minutes)
  const raw = await c.query<{ n: string }>(`SELECT count(*) AS n FROM http_request WHERE ingest_time >= now() - interval '20 hours' AND ingest_time < now() - interval '10 hours'`);
  const rolled = await c.query<{ n: string }>(
    `SELECT sum(request_count) AS n FROM ${table} WHERE ingest_time >= date_trunc('minute', now() - interval '19 hours') AND ingest_time < date_trunc('minute', now() - interval '11 hours')`,
  );
  assert.ok(Number(rolled.rows[0]?.n) > 0 && Number(rolled.rows[0]?.n) < Number(raw.rows[0]?.n));
}

async function checkExpiry(c: Client, table: string): Promise<void> {
  // drop-partitions: every partition wholly older than 12 h goes, with its rows counted exactly.
  const olderThan = new Date(Date.now() - 12 * HOUR_MS);
  const expected = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM http_request WHERE ingest_time < date_trunc('hour', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`, [olderThan]);
  const before = (await listPartitions(c)).length;
  const dropped = await dropExpiredPartitions(c, olderThan);
  assert.ok(dropped.partitionsDropped >= 11 && dropped.partitionsDropped <= 14, `${dropped.partitionsDropped} partitions dropped`);
  assert.equal(dropped.rowsRemoved, Number(expected.rows[0]?.n));
  assert.equal((await listPartitions(c)).length, before - dropped.partitionsDropped);
  assert.equal((await dropExpiredPartitions(c, olderThan)).partitionsDropped, 0, 'nothing left to drop');
  // delete: the tutorial's DELETE works on the partitioned table too.
  const res = await expire(c, { rollupTable: table, rawRetention: '6 hours', rollupRetention: '1 month' });
  assert.ok(res.rawRowsRemoved > 8_000 && res.rawRowsRemoved < 12_000, `${res.rawRowsRemoved} rows deleted`);
  const sizes = await listPartitions(c);
  assert.ok(sizes.every((p) => p.bytes > 0 && p.to.getTime() - p.from.getTime() === HOUR_MS));
}

describe('partitioned http_request on PostgreSQL', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const strategy of ROLLUP_STRATEGIES) {
    test(`${strategy}: rollup, audit (0 lost / 0 duplicated), every probe, acked vs table, drop-partitions and delete expiry`, async () => {
      const db = `part_${strategy.replace('-', '_')}`;
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      const url = databaseUrl(cluster.url, db);
      const open = async (): Promise<Client> => {
        const x = new pg.Client({ connectionString: url });
        await x.connect();
        return x;
      };
      const c = await open();
      try {
        const { installed, acked } = await loadPartitioned(c, open, strategy, false);
        await checkUnchanged(c, installed, acked, strategy);
        await checkExpiry(c, installed.table);
        // The same tables asked for unpartitioned, or by day: refused, naming --reset.
        await assert.rejects(ensureSchema(c, false, 'none'), /partitioned by hour, but --partition none .*--reset/);
        await assert.rejects(ensureSchema(c, false, 'day'), /--partition day/);
        assert.equal(await ensureSchema(c, true, 'none'), 'reset');
        assert.equal(await currentPartitioning(c), 'none');
      } finally {
        await c.end();
      }
    });
  }
});

const citusSkip = citusSource() ? false : CITUS_SKIP;

describe('partitioned http_request on Citus (distributed partitioned table, create_time_partitions)', { skip: citusSkip }, () => {
  let citus: CitusHandle;
  before(async () => {
    citus = await withCitus({ workers: 2 });
  });
  after(async () => {
    await citus?.stop();
  });

  test('incremental: rollup, audit, every probe, acked vs table, both expiries', async () => {
    const open = async (): Promise<Client> => {
      const x = new pg.Client({ connectionString: citus.url });
      await x.connect();
      await x.query(`SET search_path TO ${schema}, public`);
      return x;
    };
    const c = new pg.Client({ connectionString: citus.url });
    await c.connect();
    const schema = await freshSchema(c);
    try {
      const { installed, acked } = await loadPartitioned(c, open, 'incremental', true);
      const placement = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_dist_partition WHERE logicalrelid::text LIKE 'http_request_p%'`);
      assert.ok(Number(placement.rows[0]?.n) >= 25, 'the partitions are distributed too');
      await checkUnchanged(c, installed, acked, 'incremental');
      await checkExpiry(c, installed.table);
    } finally {
      await c.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await c.end();
    }
  });
});
