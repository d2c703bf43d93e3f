/**
 * HLL accuracy of every strategy's rollup, and every strategy without hll
 * (what a server lacking postgresql-15-hll gets). One cluster, a database per case.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { hllAvailable, HLL_SKIPPED, installRollup, ROLLUP_STRATEGIES, runRollupOnce, type RollupStrategy } from '../../src/rollup/strategies.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl, withClient } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-hll)';

const ROWS = 100_000;
const DISTINCT_IPS = 50_000;
/** log2m = 11: σ = 1.04/√2048 ≈ 2.3 %; three σ. */
const MAX_RELATIVE_ERROR = 3 * (1.04 / Math.sqrt(2048));

/**
 * ROWS rows over 5 minutes that end at least 5 minutes before the current
 * 5-minute period (so every strategy's first run covers them, at 1 or 5 minutes), each of DISTINCT_IPS addresses twice,
 * spread over 32 sites.
 */
const INSERT_HISTORY = `
  INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec)
  SELECT i % 32,
         date_bin('5 minutes', now(), TIMESTAMPTZ 'epoch') - interval '10 minutes' + i * interval '3 milliseconds',
         'http://example.com/' || md5(i::text),
         ('{China,India,USA,Indonesia}'::text[])[1 + i % 4],
         '10.' || (i % ${DISTINCT_IPS}) / 65536 || '.' || (i % ${DISTINCT_IPS}) / 256 % 256 || '.' || (i % ${DISTINCT_IPS}) % 256,
         ('{200,404}'::int[])[1 + (i / 7) % 2],
         5 + i % 150
    FROM generate_series(0, ${ROWS - 1}) AS i`;

async function freshDatabase(cluster: LocalCluster, name: string): Promise<string> {
  await withClient(cluster.url, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = databaseUrl(cluster.url, name);
  await withClient(url, async (c) => {
    await ensureSchema(c, false);
  });
  return url;
}

describe('rollup HLL', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('hll_union_agg over the rollup estimates the distinct IPs within 3σ, for every strategy', async (t) => {
    if (!(await withClient(cluster.url, hllAvailable))) {
      t.skip(HLL_SKIPPED);
      return;
    }
    const estimates: number[] = [];
    for (const strategy of ROLLUP_STRATEGIES) {
      const url = await freshDatabase(cluster, `hll_${strategy.replace('-', '_')}`);
      await withClient(url, async (c) => {
        const installed = await installRollup(c, { strategy, granularityMin: 1, hll: true });
        await c.query(INSERT_HISTORY);
        await runRollupOnce(c, installed);
        const r = await c.query<{ exact: string; estimate: number; rows: string; roll: string }>(
          `SELECT (SELECT count(DISTINCT ip_address) FROM http_request)::text AS exact,
                  (SELECT hll_cardinality(hll_union_agg(distinct_ip_addresses)) FROM ${installed.table}) AS estimate,
                  (SELECT count(*) FROM http_request)::text AS rows,
                  (SELECT sum(request_count) FROM ${installed.table})::text AS roll`,
        );
        const row = r.rows[0]!;
        const exact = Number(row.exact);
        const error = (row.estimate - exact) / exact;
        console.log(`${strategy}: exact ${exact} distinct IPs, HLL ${Math.round(row.estimate)}, relative error ${(100 * error).toFixed(2)} % (limit ±${(100 * MAX_RELATIVE_ERROR).toFixed(1)} %)`);
        assert.equal(exact, DISTINCT_IPS);
        assert.equal(Number(row.roll), ROWS, `${strategy}: every row rolled up`);
        assert.ok(Math.abs(error) <= MAX_RELATIVE_ERROR, `${strategy}: relative error ${error}`);
        estimates.push(row.estimate);
      });
    }
    // Unions are lossless, so however the rows were grouped the estimate is the same.
    assert.equal(new Set(estimates).size, 1, `same estimate from every strategy: ${estimates.join(', ')}`);
  });

  for (const strategy of ROLLUP_STRATEGIES) {
    test(`${strategy} without hll: no HLL column, no extension, counts complete; installing again keeps the position`, async () => {
      const url = await freshDatabase(cluster, `nohll_${strategy.replace('-', '_')}`);
      await withClient(url, async (c) => {
        const installed = await installRollup(c, { strategy: strategy as RollupStrategy, granularityMin: 5, hll: false });
        assert.equal(installed.table, 'http_request_5min');
        await c.query(INSERT_HISTORY);
        await runRollupOnce(c, installed);
        await installRollup(c, { strategy, granularityMin: 5, hll: false });
        await runRollupOnce(c, installed);
        const cols = await c.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
          [installed.table],
        );
        const names = cols.rows.map((r) => r.column_name);
        assert.ok(!names.includes('distinct_ip_addresses'), names.join(', '));
        assert.ok(names.includes('country_counters'));
        const ext = await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'hll'`);
        assert.equal(ext.rowCount, 0, 'hll extension not created');
        const sums = await c.query<{ roll: string; usa: string; ok: string }>(
          `SELECT sum(request_count)::text AS roll, sum((country_counters->>'USA')::int)::text AS usa, sum(success_count)::text AS ok FROM ${installed.table}`,
        );
        // Every period of the history is closed and past the grace, so all strategies roll it all up, once.
        assert.equal(Number(sums.rows[0]?.roll), ROWS, `${strategy}: all rows, once`);
        assert.equal(Number(sums.rows[0]?.usa), ROWS / 4);
        const ok = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM http_request WHERE status_code = 200`);
        assert.equal(sums.rows[0]?.ok, ok.rows[0]?.n);
        const check = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${installed.table} WHERE ingest_time <> date_bin('5 minutes', ingest_time, TIMESTAMPTZ 'epoch')`);
        assert.equal(check.rows[0]?.n, '0', 'periods are 5-minute aligned');
      });
    });
  }
});
