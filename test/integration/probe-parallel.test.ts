/**
 * Shard-parallel speedup against real servers: single-node PostgreSQL 15 with
 * hll (a day of tutorial rows and a 1-minute rollup, as probe-run.test.ts
 * builds them), and a Citus coordinator when CITUS_URL names one (its tables
 * go into a fresh schema that is dropped afterwards).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { loadProbes } from '../../src/probe/loader.js';
import { measureParallelSpeedup } from '../../src/probe/parallel.js';
import type { ParallelResult } from '../../src/results/run-record.js';
import { DEFAULT_WINDOWS } from '../../src/probe/windows.js';
import type { ProbeDef } from '../../src/probe/definition.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';
import { fillRollupSql, insertRawSql } from '../helpers/probe-data.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-hll)';
/**
 * Enough rows (≈ 40 MB of heap, 5× min_parallel_table_scan_size's default 8 MB)
 * that the planner picks parallel scans for the raw probes with the server's
 * defaults, so no planner setting needs lowering: the test measures what a
 * user's default server does.
 */
const RAW_ROWS = 300_000;
const ITERATIONS = 3;

/**
 * Schema, the rollup's HLL and JSONB columns, rows, rollup, ANALYZE, on `c`
 * (in the first schema of its search_path). With `distribute`, the two event
 * tables are distributed by site_id and colocated before any row goes in.
 */
async function prepare(c: pg.Client, opts: { hll: boolean; rows: number; distribute?: boolean }): Promise<void> {
  await ensureSchema(c, false);
  await c.query(`ALTER TABLE http_request_1min ${opts.hll ? 'ADD COLUMN distinct_ip_addresses hll, ' : ''}ADD COLUMN country_counters jsonb`);
  if (opts.distribute) {
    await c.query(`SELECT create_distributed_table('http_request', 'site_id')`);
    await c.query(`SELECT create_distributed_table('http_request_1min', 'site_id', colocate_with => 'http_request')`);
  }
  await c.query(insertRawSql(opts.rows));
  await c.query(fillRollupSql(opts.hll));
  await c.query('ANALYZE http_request; ANALYZE http_request_1min');
}

function report(t: TestContext, r: ParallelResult): void {
  t.diagnostic(`${r.kind}: serial "${r.serialSetting}" vs parallel "${r.parallelSetting}", workers ${r.workers}, shards ${r.shards ?? '—'}`);
  for (const f of r.byProbe) {
    const launched = f.parallelWorkersLaunched === undefined ? '' : ` workers launched ${f.serialWorkersLaunched ?? '—'}/${f.parallelWorkersLaunched}`;
    const shards = f.shards === undefined ? '' : ` shards ${f.shards}`;
    t.diagnostic(
      `  ${f.probe} ${f.window}: serial p50 ${f.serialP50Us} µs p99 ${f.serialP99Us} µs | parallel p50 ${f.parallelP50Us} µs p99 ${f.parallelP99Us} µs | speedup ${f.speedup?.toFixed(2) ?? '—'}${launched}${shards}`,
    );
  }
  for (const line of [...r.skipped, ...r.errors]) t.diagnostic(`  ${line}`);
}

/** Every probe × window has a figure with both p50s > 0 and the samples asked for. */
function assertComplete(r: ParallelResult, probes: readonly ProbeDef[]): void {
  const skippedNames = new Set(r.skipped.map((l) => /^skipped: probe (\S+)/.exec(l)?.[1]));
  const expected = DEFAULT_WINDOWS.flatMap((w) => probes.filter((p) => !skippedNames.has(p.name)).map((p) => `${p.name} ${w.label}`)).sort();
  assert.deepEqual(r.byProbe.map((f) => `${f.probe} ${f.window}`).sort(), expected);
  for (const f of r.byProbe) {
    assert.ok(f.serialP50Us > 0 && f.parallelP50Us > 0, `${f.probe} ${f.window}: p50s ${f.serialP50Us} / ${f.parallelP50Us}`);
    assert.ok(f.serialP99Us >= f.serialP50Us && f.parallelP99Us >= f.parallelP50Us);
    assert.equal(f.serialCount, ITERATIONS);
    assert.equal(f.parallelCount, ITERATIONS);
    // ITERATIONS is below the default --min-samples: the figure is marked and its speedup is null, never a number.
    assert.equal(f.insufficient, ITERATIONS < 20);
    if (ITERATIONS < 20) assert.ok(f.speedup === null && f.speedupCi95 === null, `${f.probe} ${f.window}: speedup ${f.speedup}`);
    else assert.ok(typeof f.speedup === 'number' && Number.isFinite(f.speedup) && f.speedup > 0);
  }
}

describe('parallel speedup on single-node PostgreSQL', { skip }, () => {
  let cluster: LocalCluster;
  let probes: ProbeDef[];

  before(async () => {
    cluster = await startTestCluster();
    probes = await loadProbes();
    await withClient(cluster.url, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS hll');
      await prepare(c, { hll: true, rows: RAW_ROWS });
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('serial vs default max_parallel_workers_per_gather: a figure per probe × window; the raw scan of a day runs in parallel', async (t) => {
    const r = await measureParallelSpeedup(cluster.url, probes, { kind: 'postgres', iterations: ITERATIONS });
    report(t, r);
    assert.equal(r.kind, 'postgres');
    assert.equal(r.shards, null);
    assert.equal(r.serialSetting, 'max_parallel_workers_per_gather = 0');
    assert.equal(r.parallelSetting, 'max_parallel_workers_per_gather = 2 (default)');
    assert.equal(r.workers, 2);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.errors, []);
    assertComplete(r, probes);
    for (const f of r.byProbe) assert.equal(f.serialWorkersLaunched, 0, `${f.probe} ${f.window}: no workers with max_parallel_workers_per_gather = 0`);
    const day = r.byProbe.find((f) => f.probe === 'raw-minutes' && f.window === '1d');
    assert.ok(day, 'raw-minutes 1d measured');
    assert.ok((day.parallelWorkersLaunched ?? 0) >= 1, `raw-minutes 1d ran with parallel workers (launched ${day.parallelWorkersLaunched})`);
  });

  test('kind citus on a database without Citus is a UsageError naming it', async () => {
    await assert.rejects(measureParallelSpeedup(cluster.url, probes, { kind: 'citus', iterations: 1 }), { name: 'UsageError', message: /not a Citus coordinator/ });
  });

  test('bad iteration counts are rejected before connecting', async () => {
    await assert.rejects(measureParallelSpeedup(cluster.url, probes, { kind: 'postgres', iterations: 0 }), RangeError);
    await assert.rejects(measureParallelSpeedup(cluster.url, probes, { kind: 'postgres', warmupIterations: 1.5 }), RangeError);
  });
});

const citusUrl = process.env.CITUS_URL;
if (citusUrl === undefined || citusUrl === '') {
  test('citus parallel speedup', { skip: 'Citus not available: set CITUS_URL to a coordinator' }, () => {});
} else {
  describe('parallel speedup on Citus (CITUS_URL)', () => {
    const schema = `rtbench_parallel_${process.pid}`;
    let url: string;
    let probes: ProbeDef[];

    before(async () => {
      probes = await loadProbes();
      await withClient(citusUrl, async (c) => {
        const hll = await c.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'hll'`);
        if (hll.rowCount !== 0) await c.query('CREATE EXTENSION IF NOT EXISTS hll'); // Citus creates it on the workers too
        await c.query(`CREATE SCHEMA ${schema}`);
        await c.query(`SET search_path = ${schema}, public`);
        await prepare(c, { hll: hll.rowCount !== 0, rows: RAW_ROWS, distribute: true });
      });
      // The probes name their tables unqualified: the measuring connection finds them through its search_path.
      // Appended as text: `new URL` rejects libpq forms such as postgresql://user@/db?host=/socket/dir.
      url = `${citusUrl}${citusUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
    });
    after(async () => {
      await withClient(citusUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => undefined);
    });

    test('citus parallel speedup', async (t) => {
      const r = await measureParallelSpeedup(url, probes, { kind: 'citus', iterations: ITERATIONS });
      report(t, r);
      assert.equal(r.kind, 'citus');
      assert.ok(r.shards !== null && r.shards > 0, `shards ${r.shards}`);
      assert.ok(r.workers >= 1, `workers ${r.workers}`);
      assert.match(r.serialSetting, /citus\.max_adaptive_executor_pool_size = 1/);
      assert.match(r.parallelSetting, /citus\.force_max_query_parallelization = on/);
      assert.deepEqual(r.errors, []);
      assertComplete(r, probes);
      for (const f of r.byProbe) assert.ok((f.shards ?? 0) > 0, `${f.probe} reads a distributed table`);
    });

    test('citus parallel speedup with the parallel connections cached between queries', async (t) => {
      const r = await measureParallelSpeedup(url, probes, { kind: 'citus', iterations: ITERATIONS, citusCacheParallelConnections: true });
      report(t, r);
      assert.match(r.serialSetting, /citus\.max_cached_conns_per_worker = \d+/);
      assert.match(r.parallelSetting, /citus\.max_cached_conns_per_worker = \d+/);
      assert.deepEqual(r.errors, []);
      assertComplete(r, probes);
    });
  });
}
