/**
 * The rollup driver against real servers: pg_cron scheduling (a real job run
 * read back from cron.job_run_details), the fallbacks to the harness timer,
 * and a harness that survives failing runs and a killed connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { RollupDriver } from '../../src/rollup/driver.js';
import { installRollup, type InstalledRollup } from '../../src/rollup/strategies.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl, withClient } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-cron)';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setUp(url: string): Promise<InstalledRollup> {
  return withClient(url, async (c) => {
    await ensureSchema(c, false);
    return installRollup(c, { strategy: 'tutorial', granularityMin: 1, hll: false });
  });
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

describe('rollup driver', { skip }, () => {
  /** pg_cron preloaded, jobs on background workers (no libpq connection needed). */
  let cronCluster: LocalCluster;
  /** pg_cron installed but not preloaded. */
  let plainCluster: LocalCluster;
  before(async () => {
    [cronCluster, plainCluster] = await Promise.all([
      startTestCluster({ settings: { 'cron.use_background_workers': 'on' } }),
      startTestCluster({ settings: { shared_preload_libraries: '' } }),
    ]);
  });
  after(async () => {
    await Promise.all([cronCluster?.stop(), plainCluster?.stop()]);
  });

  test('cron without pg_cron preloaded falls back to the harness timer and says so', async () => {
    const installed = await setUp(plainCluster.url);
    const driver = new RollupDriver({ url: plainCluster.url, installed, scheduler: 'cron', intervalMs: 200 });
    await driver.start();
    assert.equal(driver.scheduler, 'harness');
    assert.deepEqual(driver.notes, ['skipped: pg_cron scheduler (pg_cron is not in shared_preload_libraries); using the harness timer']);
    await sleep(700);
    const r = await driver.stop();
    assert.equal(r.scheduler, 'harness');
    assert.ok(r.runs >= 2, `${r.runs} runs`);
    assert.equal(r.durationHistogram.totalCount, r.runs);
    assert.deepEqual(r.errorsBySqlstate, {});
  });

  test('cron in a database other than cron.database_name falls back too', async () => {
    await withClient(cronCluster.url, (c) => c.query('CREATE DATABASE elsewhere'));
    const url = databaseUrl(cronCluster.url, 'elsewhere');
    const installed = await setUp(url);
    const driver = new RollupDriver({ url, installed, scheduler: 'cron', intervalMs: 60_000 });
    await driver.start();
    assert.equal(driver.scheduler, 'harness');
    assert.match(driver.notes[0] ?? '', /^skipped: pg_cron scheduler \(pg_cron runs in database rtbench \(cron.database_name\), not elsewhere\); using the harness timer$/);
    const r = await driver.stop();
    assert.equal(r.runs, 1, 'the harness runs at once');
  });

  test('pg_cron runs the rollup every minute; durations come from cron.job_run_details; stop unschedules', { timeout: 150_000 }, async () => {
    const installed = await setUp(cronCluster.url);
    // pg_cron 1.4 has no second schedules: a 5 s interval cannot be scheduled there.
    const version = await withClient(cronCluster.url, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_cron');
      return (await c.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'pg_cron'`)).rows[0]?.v ?? '';
    });
    if (/^1\.[0-4]\b/.test(version)) {
      const fast = new RollupDriver({ url: cronCluster.url, installed, scheduler: 'cron', intervalMs: 5_000 });
      await fast.start();
      assert.equal(fast.scheduler, 'harness');
      assert.match(fast.notes[0] ?? '', /^skipped: pg_cron scheduler \(pg_cron 1\.4\S* has no second schedules \(1\.5\+ does\)\); using the harness timer$/);
      await fast.stop();
    }

    const driver = new RollupDriver({ url: cronCluster.url, installed, scheduler: 'cron', intervalMs: 60_000 });
    await driver.start();
    assert.equal(driver.scheduler, 'cron');
    assert.deepEqual(driver.notes, []);
    const jobs = await withClient(cronCluster.url, (c) => c.query<{ jobid: string; schedule: string; command: string }>(`SELECT jobid::text, schedule, command FROM cron.job`));
    assert.equal(jobs.rowCount, 1);
    assert.equal(jobs.rows[0]?.schedule, '* * * * *');
    assert.equal(jobs.rows[0]?.command, 'SELECT rollup_http_request()');
    const jobId = jobs.rows[0]?.jobid;
    await waitFor('a finished pg_cron run', 80_000, () =>
      withClient(cronCluster.url, async (c) => {
        const r = await c.query(`SELECT 1 FROM cron.job_run_details WHERE jobid = $1::bigint AND status IN ('succeeded', 'failed')`, [jobId]);
        return (r.rowCount ?? 0) > 0;
      }),
    );
    const r = await driver.stop();
    console.log(`pg_cron ${version}: ${r.runs} run(s), max ${(r.durationHistogram.maxValue / 1000).toFixed(1)} ms, errors ${JSON.stringify(r.errorsBySqlstate)}`);
    assert.equal(r.scheduler, 'cron');
    assert.ok(r.runs >= 1);
    assert.deepEqual(r.errorsBySqlstate, {}, r.notes.join('; '));
    assert.equal(r.durationHistogram.totalCount, r.runs);
    assert.ok(r.durationHistogram.maxValue > 0);
    const latest = await withClient(cronCluster.url, (c) => c.query<{ minute: Date }>('SELECT minute FROM latest_rollup'));
    assert.ok((latest.rows[0]?.minute.getFullYear() ?? 0) > 2000, 'the job moved latest_rollup');
    const left = await withClient(cronCluster.url, (c) => c.query('SELECT 1 FROM cron.job'));
    assert.equal(left.rowCount, 0, 'unscheduled');
  });

  test('harness: failing runs are counted by SQLSTATE; a killed connection is replaced; runs go on', async () => {
    await withClient(plainCluster.url, (c) => c.query('CREATE DATABASE harness'));
    const url = databaseUrl(plainCluster.url, 'harness');
    const installed = await setUp(url);
    const driver = new RollupDriver({ url, installed, scheduler: 'harness', intervalMs: 100 });
    await driver.start();
    await sleep(300);
    await withClient(url, async (c) => {
      // Missing table: the function fails with 42P01 until it is back.
      await c.query('ALTER TABLE http_request RENAME TO http_request_away');
      await sleep(300);
      await c.query('ALTER TABLE http_request_away RENAME TO http_request');
      const killed = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rtbench-rollup' AND datname = 'harness'`);
      assert.equal(killed.rowCount, 1);
    });
    await sleep(500);
    const r = await driver.stop();
    const errors = r.errorsBySqlstate;
    const lost = (errors['57P01'] ?? 0) + (errors['08006'] ?? 0);
    assert.ok((errors['42P01'] ?? 0) >= 1, JSON.stringify(errors));
    assert.equal(lost, 1, JSON.stringify(errors));
    const failed = Object.values(errors).reduce((a, b) => a + b, 0);
    assert.equal(r.runs, r.durationHistogram.totalCount + failed);
    assert.ok(r.durationHistogram.totalCount >= 5, `successful runs before and after: ${r.durationHistogram.totalCount}`);
    const conns = await withClient(url, (c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'rtbench-rollup'`));
    assert.equal(conns.rowCount, 0, 'stop() closed the connection');
  });
});
