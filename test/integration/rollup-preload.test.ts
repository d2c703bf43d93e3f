/**
 * History preload (server-side generation in chunks), its speed against one
 * plain INSERT … SELECT, its reproducibility, the rollup of the history, and
 * expiry by age.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { expire } from '../../src/rollup/expiry.js';
import { preload, preloadBaseline } from '../../src/rollup/preload.js';
import { installRollup, runRollupOnce } from '../../src/rollup/strategies.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15)';

const DAY_MS = 86_400_000;

async function withDatabase<T>(cluster: LocalCluster, name: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const c = new pg.Client({ connectionString: databaseUrl(cluster.url, name) });
  await c.connect();
  try {
    await ensureSchema(c, false);
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Order-independent fingerprint of the generated columns, and ingest_time relative to the newest row. */
const FINGERPRINT = `
  SELECT md5(string_agg(concat_ws('|', site_id, url, request_country, ip_address, status_code, response_time_msec,
                                   extract(epoch FROM (SELECT max(ingest_time) FROM http_request) - ingest_time)), ',' ORDER BY url)) AS f
    FROM http_request`;

describe('rollup preload and expiry', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('200k rows over a day: all present, spread uniformly over [now − 1 day, now − 2 min), rolled up; speed vs plain INSERT … SELECT', async () => {
    await withDatabase(cluster, 'preload_day', async (c) => {
      const installed = await installRollup(c, { strategy: 'closed-minute', granularityMin: 1, hll: false });
      const progress: number[] = [];
      const res = await preload(c, { rows: 200_000, spanMs: DAY_MS, seed: 42, sites: 32, onProgress: (done) => progress.push(done) });
      assert.equal(res.rows, 200_000);
      assert.deepEqual(progress, [100_000, 200_000]);
      const r = await c.query<{ n: string; lo_h: number; hi_m: number; hours: string; min_h: string; max_h: string; sites: string; countries: string; codes: string }>(
        `SELECT count(*)::text AS n,
                (extract(epoch FROM now() - min(ingest_time)) / 3600)::float8 AS lo_h,
                (extract(epoch FROM now() - max(ingest_time)) / 60)::float8 AS hi_m,
                count(DISTINCT site_id)::text AS sites, count(DISTINCT request_country)::text AS countries,
                count(DISTINCT status_code)::text AS codes,
                (SELECT count(*) FROM (SELECT date_trunc('hour', ingest_time) FROM http_request GROUP BY 1) h)::text AS hours,
                (SELECT min(n) FROM (SELECT count(*) AS n FROM http_request
                                      WHERE ingest_time >= date_trunc('hour', now() - interval '22 hours')
                                        AND ingest_time < date_trunc('hour', now() - interval '1 hour')
                                      GROUP BY date_trunc('hour', ingest_time)) h)::text AS min_h,
                (SELECT max(n) FROM (SELECT count(*) AS n FROM http_request
                                      WHERE ingest_time >= date_trunc('hour', now() - interval '22 hours')
                                        AND ingest_time < date_trunc('hour', now() - interval '1 hour')
                                      GROUP BY date_trunc('hour', ingest_time)) h)::text AS max_h
           FROM http_request`,
      );
      const row = r.rows[0]!;
      assert.equal(row.n, '200000');
      // This now() is a little later than the preload's, hence the slack on the far side.
      assert.ok(row.lo_h > 23.99 && row.lo_h < 24.02, `oldest row ${row.lo_h} h ago`);
      assert.ok(row.hi_m >= 2 && row.hi_m < 2.5, `newest row ${row.hi_m} min ago`);
      assert.equal(row.sites, '32');
      assert.equal(row.countries, '4');
      assert.equal(row.codes, '2');
      // Uniform: 200k / 23.97 h ≈ 8,345 rows per full hour.
      assert.ok(Number(row.min_h) > 8000 && Number(row.max_h) < 8700, `rows per hour ${row.min_h}..${row.max_h}`);

      await runRollupOnce(c, installed);
      const rolled = await c.query<{ n: string }>(`SELECT sum(request_count)::text AS n FROM ${installed.table}`);
      assert.equal(rolled.rows[0]?.n, '200000', 'the first rollup covers the whole history');

      const base = await preloadBaseline(c, 200_000, { seed: 42 });
      const again = await c.query<{ n: string }>('SELECT count(*)::text AS n FROM http_request');
      assert.equal(again.rows[0]?.n, '200000', 'the baseline leaves http_request alone');
      console.log(
        `preload 200k rows: ${res.rowsPerS} rows/s (${res.ms.toFixed(0)} ms); plain INSERT … SELECT: ${base.rowsPerS} rows/s (${base.ms.toFixed(0)} ms); ratio ${(res.rowsPerS / base.rowsPerS).toFixed(2)}`,
      );
    });
  });

  test('same seed and chunking, same rows; another seed, other rows', async () => {
    const opts = { rows: 20_000, spanMs: DAY_MS, sites: 32, chunkRows: 7_000 };
    const a = await withDatabase(cluster, 'preload_a', async (c) => {
      await preload(c, { ...opts, seed: 7 });
      return (await c.query<{ f: string }>(FINGERPRINT)).rows[0]?.f;
    });
    const b = await withDatabase(cluster, 'preload_b', async (c) => {
      const progress: number[] = [];
      await preload(c, { ...opts, seed: 7, onProgress: (d) => progress.push(d) });
      assert.deepEqual(progress, [7_000, 14_000, 20_000]);
      return (await c.query<{ f: string }>(FINGERPRINT)).rows[0]?.f;
    });
    const other = await withDatabase(cluster, 'preload_c', async (c) => {
      await preload(c, { ...opts, seed: 8 });
      return (await c.query<{ f: string }>(FINGERPRINT)).rows[0]?.f;
    });
    assert.ok(a);
    assert.equal(a, b);
    assert.notEqual(a, other);
  });

  test('parallel chunks: 1 and 3 connections give the same rows (same seed, chunking and end time); progress has rate and time left', async () => {
    const now = new Date(Date.now() - 60_000);
    const opts = { rows: 50_000, spanMs: DAY_MS, sites: 32, chunkRows: 7_000, seed: 11, now };
    const exact = `SELECT md5(string_agg(concat_ws('|', site_id, url, request_country, ip_address, status_code, response_time_msec,
                          extract(epoch FROM ingest_time)), ',' ORDER BY url)) AS f, count(*)::int AS n FROM http_request`;
    const one = await withDatabase(cluster, 'preload_par1', async (c) => {
      await preload(c, opts);
      return (await c.query<{ f: string; n: number }>(exact)).rows[0];
    });
    const three = await withDatabase(cluster, 'preload_par3', async (c) => {
      const seen: { done: number; eta: number | null; rate: number }[] = [];
      const res = await preload(c, {
        ...opts, connections: 3,
        openConnection: async () => {
          const x = new pg.Client({ connectionString: databaseUrl(cluster.url, 'preload_par3') });
          await x.connect();
          return x;
        },
        onProgress: (done, _t, p) => seen.push({ done, eta: p.etaMs, rate: p.rowsPerS }),
      });
      assert.equal(res.connections, 3);
      assert.equal(seen.length, 8, 'one progress call per chunk');
      assert.equal(seen.at(-1)?.done, 50_000);
      assert.equal(seen.at(-1)?.eta, 0);
      assert.ok(seen.every((s) => s.rate > 0));
      assert.ok(res.hostCpuCores !== undefined && res.hostCpuCores >= 0);
      return (await c.query<{ f: string; n: number }>(exact)).rows[0];
    });
    assert.equal(one?.n, 50_000);
    assert.deepEqual(three, one);
  });

  test('bad options are one UsageError listing every problem', async () => {
    await withDatabase(cluster, 'preload_bad', async (c) => {
      await assert.rejects(preload(c, { rows: -1, spanMs: 60_000, seed: 1, sites: 0 }), (e: Error & { problems?: string[] }) => {
        assert.equal(e.name, 'UsageError');
        assert.equal(e.problems?.length, 3);
        return true;
      });
    });
  });

  test('expiry deletes raw rows older than a day and rollup rows older than the rollup retention', async () => {
    await withDatabase(cluster, 'expiry', async (c) => {
      const installed = await installRollup(c, { strategy: 'incremental', granularityMin: 15, hll: false });
      await preload(c, { rows: 30_000, spanMs: 3 * DAY_MS, seed: 3, sites: 32 });
      await runRollupOnce(c, installed);
      const before = await c.query<{ raw_old: string; roll_old: string; raw: string; roll: string }>(
        `SELECT (SELECT count(*) FROM http_request WHERE ingest_time < now() - interval '1 day')::text AS raw_old,
                (SELECT count(*) FROM http_request)::text AS raw,
                (SELECT count(*) FROM ${installed.table} WHERE ingest_time < now() - interval '2 days')::text AS roll_old,
                (SELECT count(*) FROM ${installed.table})::text AS roll`,
      );
      const b = before.rows[0]!;
      const res = await expire(c, { rollupTable: installed.table, rawRetention: '1 day', rollupRetention: '2 days' });
      console.log(`expiry: ${res.rawRowsRemoved} raw rows and ${res.rollupRowsRemoved} rollup rows removed in ${res.ms.toFixed(1)} ms`);
      // Rows are 8.6 s apart on average: none sits in the few ms between the two now()s.
      assert.ok(Math.abs(res.rawRowsRemoved - Number(b.raw_old)) <= 1, `${res.rawRowsRemoved} vs ${b.raw_old}`);
      assert.ok(res.rawRowsRemoved > 19_000 && res.rawRowsRemoved < 21_000);
      assert.ok(Math.abs(res.rollupRowsRemoved - Number(b.roll_old)) <= 32);
      const after = await c.query<{ raw: string; raw_old: string; roll: string }>(
        `SELECT (SELECT count(*) FROM http_request)::text AS raw,
                (SELECT count(*) FROM http_request WHERE ingest_time < now() - interval '1 day')::text AS raw_old,
                (SELECT count(*) FROM ${installed.table})::text AS roll`,
      );
      assert.equal(Number(after.rows[0]?.raw), Number(b.raw) - res.rawRowsRemoved);
      assert.equal(after.rows[0]?.raw_old, '0');
      assert.equal(Number(after.rows[0]?.roll), Number(b.roll) - res.rollupRowsRemoved);
      const none = await expire(c, { rollupTable: installed.table });
      assert.deepEqual([none.rawRowsRemoved, none.rollupRowsRemoved], [0, 0], 'defaults: 1 day and 1 month; nothing left to expire');
      await assert.rejects(expire(c, { rollupTable: installed.table, rawRetention: '1 fortnight' }), { code: '22007' });
    });
  });
});
