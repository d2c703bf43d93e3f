import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { EnvironmentError, UsageError } from '../../src/errors.js';
import { CITUS_MISSING, citusInstalled, startCitusCluster } from '../../src/targets/citus-cluster.js';
import { activeWorkers, citusInfo, distributeTables, ensureHllOnAllNodes, isCitus } from '../../src/targets/citus.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { findPgBinDir } from '../../src/targets/local-cluster.js';
import { CITUS_SKIP, freshSchema, withCitus, type CitusHandle } from '../helpers/citus.js';
import { pgAvailable } from '../helpers/cluster.js';
import { loadProbes } from '../../src/probe/loader.js';
import { probeParams, renderProbe } from '../../src/probe/definition.js';
import { selectRunnable } from '../../src/probe/requirements.js';
import { probeRouting } from '../../src/probe/routing.js';
import { tableSizes } from '../../src/probe/sizes.js';

const citusUrl = process.env.CITUS_URL;
const local = citusInstalled();
const EVENT_TABLES = ['http_request', 'http_request_1min'] as const;

if (!citusUrl && !local) {
  test('citus', { skip: CITUS_SKIP }, () => {});
} else {
  describe(`citus target (${citusUrl ? 'CITUS_URL' : 'local cluster, 2 workers'})`, () => {
    let handle: CitusHandle;
    let client: pg.Client;
    let schema: string;

    before(async () => {
      handle = await withCitus({ workers: 2 });
      client = new pg.Client({ connectionString: handle.url });
      await client.connect();
      schema = await freshSchema(client);
      await ensureSchema(client, false);
    });

    after(async () => {
      if (client) {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await client.end().catch(() => undefined);
      }
      await handle?.stop();
    });

    test('the coordinator is Citus and has its active workers', async () => {
      assert.equal(await isCitus(client), true);
      const workers = await activeWorkers(client);
      if (handle.cluster) {
        assert.equal(workers.length, 2);
        // Registered by socket directory: no TCP, no password.
        assert.deepEqual(workers.map((w) => w.name).sort(), handle.cluster.workers.map((w) => w.rootDir).sort());
      } else {
        assert.ok(workers.length >= 1);
      }
    });

    test('distributes the tutorial tables colocated with 8 shards, idempotently', async () => {
      await distributeTables(client, EVENT_TABLES, { shardCount: 8 });
      await distributeTables(client, EVENT_TABLES, { shardCount: 8 }); // no-op
      await distributeTables(client, EVENT_TABLES, {}); // no-op: any shard count will do
      const info = await citusInfo(client, EVENT_TABLES);
      const workers = await activeWorkers(client);
      assert.match(info.version, /^\d+\.\d+/);
      assert.equal(info.workerCount, workers.length);
      assert.equal(info.shardCount, 8);
      assert.equal(info.tables.http_request?.shardCount, 8);
      assert.equal(info.tables.http_request_1min?.shardCount, 8);
      assert.equal(info.tables.http_request?.colocationId, info.colocationId);
      assert.equal(info.tables.http_request_1min?.colocationId, info.colocationId);
      assert.equal(Object.keys(info.shardsPerNode).length, workers.length);
      assert.equal(Object.values(info.shardsPerNode).reduce((a, b) => a + b, 0), 8);
      // Both tables: every worker holds shards, 8 in all.
      const perTable = await client.query<{ t: string; nodes: string; shards: string }>(
        `SELECT table_name::text AS t, count(DISTINCT (nodename, nodeport)) AS nodes, count(*) AS shards
           FROM citus_shards WHERE table_name IN ('http_request'::regclass, 'http_request_1min'::regclass) GROUP BY 1 ORDER BY 1`,
      );
      assert.deepEqual(perTable.rows.map((r) => [r.t, Number(r.nodes), Number(r.shards)]), [
        ['http_request', workers.length, 8],
        ['http_request_1min', workers.length, 8],
      ]);
      if (handle.cluster) assert.deepEqual(info.hllMissingOn, []);
      assert.deepEqual(await ensureHllOnAllNodes(client), info.hllMissingOn);

      await assert.rejects(distributeTables(client, EVENT_TABLES, { shardCount: 4 }), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /http_request is already distributed with 8 shards, not 4/);
        return true;
      });
    });

    test('a distributed count(*) sees rows of all 32 sites on every worker', async () => {
      await distributeTables(client, EVENT_TABLES, { shardCount: 8 });
      await client.query(
        `INSERT INTO http_request (site_id, url, request_country, ip_address, status_code, response_time_msec)
         SELECT g % 32, 'http://example.com/' || md5(g::text), 'USA', '10.0.0.' || (g % 250 + 2), 200, 5 + g % 150
           FROM generate_series(0, 319) g`,
      );
      const total = await client.query<{ n: string }>('SELECT count(*) AS n FROM http_request');
      assert.equal(Number(total.rows[0]?.n), 320);
      const perSite = await client.query<{ sites: string }>('SELECT count(DISTINCT site_id) AS sites FROM http_request');
      assert.equal(Number(perSite.rows[0]?.sites), 32);
      // Counted on the shards themselves: every worker holds some of the rows.
      const perNode = await client.query<{ node: string; n: string }>(
        `SELECT nodename || ':' || nodeport AS node, sum(result::bigint) AS n
           FROM run_command_on_placements('http_request', 'SELECT count(*) FROM %s') WHERE success GROUP BY 1`,
      );
      const workers = await activeWorkers(client);
      assert.equal(perNode.rows.length, workers.length);
      assert.ok(perNode.rows.every((r) => Number(r.n) > 0), JSON.stringify(perNode.rows));
      assert.equal(perNode.rows.reduce((a, r) => a + Number(r.n), 0), 320);
    });

    test('sizes are the distributed tables\' (the sum of citus_shards.shard_size), not the coordinator shell; tenant panels are router queries', async () => {
      await distributeTables(client, EVENT_TABLES, { shardCount: 8 });
      await client.query(
        `INSERT INTO http_request (site_id, url, request_country, ip_address, status_code, response_time_msec)
         SELECT g % 32, 'http://example.com/' || md5(g::text), 'USA', '10.0.' || (g % 200) || '.' || (g % 250 + 2), 200, 5 + g % 150
           FROM generate_series(0, 19999) g`,
      );
      const sizes = await tableSizes(client, 'http_request_1min');
      const shard = async (table: string): Promise<number> => Number((await client.query<{ n: string }>(
        'SELECT sum(shard_size)::bigint AS n FROM citus_shards WHERE table_name = to_regclass($1)', [table])).rows[0]?.n);
      const shell = Number((await client.query<{ n: string }>(`SELECT pg_total_relation_size('http_request') AS n`)).rows[0]?.n);
      const rawShards = await shard('http_request');
      assert.equal(sizes.rawTableBytes, rawShards, `raw ${sizes.rawTableBytes} vs Σ citus_shards.shard_size ${rawShards}`);
      assert.equal(sizes.rollupTableBytes, await shard('http_request_1min'));
      assert.ok(sizes.rawTableBytes > 1_000_000 && sizes.rawTableBytes > 10 * shell, `shards ${sizes.rawTableBytes} B, coordinator shell ${shell} B`);

      // The rollup's columns the probes read (installRollup adds them in a run).
      await client.query('ALTER TABLE http_request_1min ADD COLUMN IF NOT EXISTS country_counters jsonb');
      const hll = (await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'hll'`)).rowCount === 1;
      if (hll) await client.query('ALTER TABLE http_request_1min ADD COLUMN IF NOT EXISTS distinct_ip_addresses hll');
      const probes = await loadProbes();
      const { runnable } = await selectRunnable(client, probes, 'http_request_1min');
      const routing = await probeRouting(client, runnable, 'http_request_1min');
      for (const p of runnable) assert.equal(routing[p.name], p.tenant ? 'router' : 'multi-shard', `${p.name}: ${routing[p.name]}`);
      assert.ok(runnable.filter((p) => p.tenant).length >= 5, 'the tenant panels run (tenant-distinct-hll needs hll)');
      // The tenant panels run on Citus and read the one site they are given.
      const tenantRaw = runnable.find((p) => p.name === 'tenant-raw-minutes')!;
      const r = await client.query<{ request_count: string }>(renderProbe(tenantRaw, 'http_request_1min'), probeParams(tenantRaw, '1 hour', 7));
      assert.equal(r.rows.reduce((n, x) => n + Number(x.request_count), 0), 20_000 / 32 + 10, 'site 7: 625 of the rows above and 10 of the first insert');
    });

    test('a table distributed by another column is a UsageError', async () => {
      await client.query('CREATE TABLE by_other (id int, site_id int)');
      await client.query(`SELECT create_distributed_table('by_other', 'id', shard_count := 4)`);
      await assert.rejects(distributeTables(client, ['by_other'], {}), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /by_other is distributed by id, not by site_id/);
        return true;
      });
      await assert.rejects(distributeTables(client, ['no_such_table'], {}), /table no_such_table does not exist/);
    });

    test('tables that are not colocated are a UsageError naming them', async () => {
      await client.query('CREATE TABLE apart_a (site_id int); CREATE TABLE apart_b (site_id int)');
      await client.query(`SELECT create_distributed_table('apart_a', 'site_id', colocate_with := 'none')`);
      await client.query(`SELECT create_distributed_table('apart_b', 'site_id', colocate_with := 'none')`);
      await assert.rejects(citusInfo(client, ['apart_a', 'apart_b']), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /not colocated: apart_a \(colocation \d+\), apart_b \(colocation \d+\)/);
        return true;
      });
      await assert.rejects(citusInfo(client, ['latest_rollup']), /latest_rollup is not distributed/);
    });
  });
}

describe('local Citus cluster lifecycle', { skip: local ? false : CITUS_SKIP }, () => {
  test('stop() removes every node and is idempotent', async () => {
    const cluster = await startCitusCluster({ workers: 1, settings: { fsync: 'off' } });
    const dirs = [cluster.rootDir, cluster.coordinator.rootDir, ...cluster.workers.map((w) => w.rootDir)];
    try {
      assert.equal(statSync(cluster.rootDir).mode & 0o777, 0o700);
      assert.ok(!/password|:[^/@]*@/.test(cluster.url), `no secret in ${cluster.url}`);
      const c = new pg.Client({ connectionString: cluster.url });
      await c.connect();
      try {
        const preload = await c.query<{ s: string }>('SELECT current_setting($1) AS s', ['shared_preload_libraries']);
        assert.match(preload.rows[0]?.s ?? '', /^citus\b/);
        assert.equal((await activeWorkers(c)).length, 1);
      } finally {
        await c.end();
      }
    } finally {
      await cluster.stop();
    }
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
    await cluster.stop(); // idempotent
    cluster.stopSync(); // and so is the synchronous one
  });

  test('a cluster that fails to start is removed', async () => {
    const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-base-'));
    await fs.chmod(baseDir, 0o755); // as root, the postgres user must reach it
    try {
      await assert.rejects(startCitusCluster({ workers: 1, baseDir, settings: { shared_buffers: 'bogus' } }), /invalid value for parameter "shared_buffers"/);
      assert.deepEqual(await fs.readdir(baseDir), []);
      await assert.rejects(startCitusCluster({ workers: 0, baseDir }), UsageError);
      assert.deepEqual(await fs.readdir(baseDir), []);
    } finally {
      await fs.rm(baseDir, { recursive: true, force: true });
    }
  });
});

describe('without Citus', { skip: pgAvailable() ? false : 'PostgreSQL server binaries not installed' }, () => {
  test('a server without citus.so: citusInstalled() is false and startCitusCluster says what to do', async () => {
    // A bin dir with initdb and pg_ctl but no pg_config: its ../lib has no citus.so.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-nocitus-'));
    const bin = path.join(dir, 'bin');
    await fs.mkdir(bin);
    const real = findPgBinDir();
    for (const f of ['initdb', 'pg_ctl']) await fs.symlink(path.join(real, f), path.join(bin, f));
    const saved = process.env.RTBENCH_PG_BIN;
    process.env.RTBENCH_PG_BIN = bin;
    try {
      assert.equal(citusInstalled(bin), false);
      await assert.rejects(startCitusCluster({ workers: 2 }), (err: unknown) => {
        assert.ok(err instanceof EnvironmentError);
        assert.equal(err.message, CITUS_MISSING);
        assert.equal(err.message.split('\n').length, 1);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.RTBENCH_PG_BIN;
      else process.env.RTBENCH_PG_BIN = saved;
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
