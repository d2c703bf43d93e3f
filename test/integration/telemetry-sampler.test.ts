/**
 * The server sampler against a real PostgreSQL 15, driven as a session's step
 * would drive it: two "load workers" (application_name rtbench-w1, -w2)
 * insert rows; mid-measure another session holds an ACCESS EXCLUSIVE lock on
 * http_request for 2 s. The wait samples of those seconds show ingest in
 * Lock:relation; WAL bytes per row agree with pg_wal_lsn_diff over the
 * measure phase divided by the rows ingested; the INSERT is attributed to
 * ingest; every raw panel gets a plan.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { validateConfig } from '../../src/config/validate.js';
import type { SessionInfo, StepInfo, StepContribution } from '../../src/runner/observer.js';
import type { ServerSummary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { ServerSampler } from '../../src/telemetry/sampler.js';
import { dashboardPanels } from '../../src/telemetry/explain.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15)';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const INSERT = `INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec)
  VALUES (trunc(random()*32), clock_timestamp(), concat('http://example.com/', md5(random()::text)), 'USA', '10.0.0.1', 200, 5)`;

async function client(url: string, app: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: app });
  await c.connect();
  return c;
}

/** A stand-in for one load worker: inserts every `everyMs`, counting acks while `counting()`. */
function ingestLoop(c: pg.Client, everyMs: number, state: { stop: boolean; counting: boolean; rows: number }): Promise<void> {
  return (async () => {
    while (!state.stop) {
      await c.query(INSERT);
      if (state.counting) state.rows += 1;
      await sleep(everyMs);
    }
  })();
}

const lsn = async (c: pg.Client): Promise<string> => (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;

describe('server sampler', { skip }, () => {
  let cluster: LocalCluster;
  let contribution: StepContribution;
  let server: ServerSummary;
  let lsnDiffPerRow: number;
  let lockSeconds: number[];
  let measure: { startMs: number; endMs: number };

  before(async () => {
    cluster = await startTestCluster();
    const admin = await client(cluster.url, 'rtbench-setup');
    await ensureSchema(admin, false);
    const raw = validateConfig({}, { seed: 1, resultsDir: 'results' });
    assert.ok(raw.config, JSON.stringify(raw.problems));
    const config = raw.config;
    const session: SessionInfo = { config, url: cluster.url, targetKind: 'embedded', server: {} as never, rowsAtSetup: 0 };
    const step: StepInfo = { index: 0, runId: 'test', config };
    const sampler = new ServerSampler({ sampleIntervalMs: 50, panels: (c) => dashboardPanels(c, { ...config, dashboard: { ...config.dashboard, probes: true } }) });
    const workers = [await client(cluster.url, 'rtbench-w1'), await client(cluster.url, 'rtbench-w2')];
    const locker = await client(cluster.url, 'psql');
    const state = { stop: false, counting: false, rows: 0 };
    try {
      await sampler.stepStart(step, session);
      const origin = Date.now();
      sampler.phase('warmup', 0, step);
      const loops = workers.map((w) => ingestLoop(w, 4, state));
      await sleep(1000);
      // Measure: the test reads the WAL position itself, beside the sampler's boundary snapshot.
      const lsnBefore = await lsn(admin);
      state.counting = true;
      const measureStartMs = Date.now() - origin;
      sampler.phase('measure', measureStartMs, step);
      await sleep(2000);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE http_request IN ACCESS EXCLUSIVE MODE');
      const lockFrom = Date.now() - origin;
      await sleep(2000);
      const lockTo = Date.now() - origin;
      await locker.query('COMMIT');
      await sleep(2500);
      state.counting = false;
      const measureEndMs = Date.now() - origin;
      const lsnAfter = await lsn(admin);
      sampler.phase('drain', measureEndMs, step);
      const diff = await admin.query<{ d: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS d', [lsnAfter, lsnBefore]);
      lsnDiffPerRow = Number(diff.rows[0]!.d) / state.rows;
      sampler.interval({ phase: 'measure', rows: state.rows } as IntervalRow, step);
      state.stop = true;
      await Promise.all(loops);
      // The seconds wholly inside the lock.
      lockSeconds = [];
      for (let s = Math.ceil(lockFrom / 1000); (s + 1) * 1000 <= lockTo; s++) lockSeconds.push(s);
      measure = { startMs: measureStartMs, endMs: measureEndMs };
      contribution = await sampler.stepEnd(step, { startEpochMs: origin, measureStartMs, measureEndMs, interrupted: false });
      server = (contribution.summary as { server: ServerSummary }).server;
      if (process.env.TELEMETRY_DUMP) (await import('node:fs')).writeFileSync(process.env.TELEMETRY_DUMP, JSON.stringify(contribution, null, 1));
    } finally {
      state.stop = true;
      await Promise.all([...workers, locker, admin].map((c) => c.end().catch(() => undefined)));
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the held lock shows as ingest Lock:relation in the samples of its seconds', () => {
    assert.ok(lockSeconds.length >= 1, `lock seconds ${lockSeconds}`);
    const csv = contribution.files?.['server.csv'] ?? '';
    const [header, ...rows] = csv.trim().split('\n');
    const cols = header!.split(',');
    const lockCol = cols.indexOf('ingest_Lock');
    assert.ok(lockCol > 0, `an ingest_Lock column in ${header}`);
    for (const s of lockSeconds) {
      const row = rows.find((r) => r.startsWith(`${s},`))!.split(',');
      // Both workers wait on the lock the whole second.
      assert.ok(Number(row[lockCol]) > 1.5, `second ${s}: ingest_Lock ${row[lockCol]}`);
    }
    const ingest = server.waits.ingest!;
    assert.ok((ingest.shares['Lock:relation'] ?? 0) > 0.2, JSON.stringify(ingest));
    // Never the sampler itself, and the locker (idle in transaction) is not active.
    assert.equal(server.waits.harness, undefined);
    assert.ok(server.samplesSkipped < 10, `skipped ${server.samplesSkipped}`);
  });

  test('WAL bytes per row agree with pg_wal_lsn_diff over the measure phase / rows ingested', () => {
    const c = server.counters!;
    assert.ok(c.rowsIngested > 500, `rows ${c.rowsIngested}`);
    const walPerRow = server.perRow.walBytes!;
    assert.ok(Math.abs(walPerRow - lsnDiffPerRow) / lsnDiffPerRow < 0.03, `sampler ${walPerRow.toFixed(1)} vs lsn diff ${lsnDiffPerRow.toFixed(1)} B/row`);
    // pg_stat_wal counts the same WAL, flushed by the backends at most once a second.
    const stat = server.perRow.statWalBytes!;
    assert.ok(Math.abs(stat - walPerRow) / walPerRow < 0.25, `pg_stat_wal ${stat.toFixed(1)} vs ${walPerRow.toFixed(1)} B/row`);
    assert.ok(server.tables.http_request!.inserted > 0);
    assert.equal(c.measureMs > 0, true);
    assert.ok(Math.abs(c.measureMs - (measure.endMs - measure.startMs)) < 500);
  });

  test('the INSERT is attributed to ingest from the samples', () => {
    assert.ok(server.statements, JSON.stringify(server.unavailable));
    const ins = server.statements.find((s) => /^INSERT INTO http_request/.test(s.query));
    assert.ok(ins, JSON.stringify(server.statements.map((s) => s.query)));
    assert.equal(ins.role, 'ingest');
    assert.equal(ins.roleBy, 'samples');
    assert.ok(ins.walBytes > 0 && ins.calls > 500);
    assert.ok(!server.statements.some((s) => s.query.includes('rtbench-sampler')), 'the sampler\'s own statements are left out');
  });

  test('a plan per raw panel and window, saved under plans/', () => {
    const raw = server.plans.filter((p) => p.probe === 'raw-minutes');
    assert.deepEqual(raw.map((p) => p.window).sort(), ['1d', '1h', '5m']);
    for (const p of server.plans) assert.ok(contribution.files?.[p.file], p.file);
    assert.ok(server.plans.some((p) => p.probe === 'tenant-raw-minutes'), 'tenant panels bind the site');
    assert.ok(server.plans.every((p) => p.scans.some((s) => /http_request/.test(s))), JSON.stringify(server.plans.map((p) => p.scans)));
  });

  test('on --url without pg_stat_statements: one line naming what to install, the rest is measured', async () => {
    const admin = await client(cluster.url, 'rtbench-setup');
    await admin.query('CREATE DATABASE nostatements');
    await admin.end();
    const u = new URL(cluster.url);
    u.pathname = '/nostatements';
    const config = validateConfig({}, { seed: 1, resultsDir: 'results' }).config!;
    const step: StepInfo = { index: 0, runId: 'url', config };
    const sampler = new ServerSampler({ sampleIntervalMs: 50 });
    await sampler.stepStart(step, { config, url: u.toString(), targetKind: 'url', server: {} as never, rowsAtSetup: 0 });
    const origin = Date.now();
    sampler.phase('warmup', 0, step);
    sampler.phase('measure', 0, step);
    await sleep(1200);
    sampler.phase('drain', 1200, step);
    const c = await sampler.stepEnd(step, { startEpochMs: origin, measureStartMs: 0, measureEndMs: 1200, interrupted: false });
    const s = (c.summary as { server: ServerSummary }).server;
    assert.equal(s.statements, null);
    assert.deepEqual(s.unavailable, ['pg_stat_statements not installed: statements by role skipped (add pg_stat_statements to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements)']);
    assert.ok(c.notes?.some((n) => /pg_stat_statements not installed/.test(n)));
    assert.ok(s.counters !== null && s.counters.walBytes >= 0);
    const ext = await client(u.toString(), 'rtbench-setup');
    const n = await ext.query(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'pg_stat_statements'`);
    await ext.end();
    assert.equal(n.rows[0].n, 0, 'never created on a user\'s database');
  });

  test('a sampler that cannot connect costs a note, not the run', async () => {
    const config = validateConfig({}, { seed: 1, resultsDir: 'results' }).config!;
    const step: StepInfo = { index: 0, runId: 'noconn', config };
    const sampler = new ServerSampler({ connect: async () => { throw new Error('too many connections for role "x"'); } });
    await sampler.stepStart(step, { config, url: cluster.url, targetKind: 'url', server: {} as never, rowsAtSetup: 0 });
    const c = await sampler.stepEnd(step, { startEpochMs: Date.now(), measureStartMs: 0, measureEndMs: 1, interrupted: false });
    assert.deepEqual(c.notes, ['server: the sampler could not connect: too many connections for role "x"']);
  });

  test('on this host: the server\'s CPU and the CPU pressure', () => {
    const m = server.machine;
    assert.ok(m, 'the embedded server is local');
    assert.ok(m.serverCores !== null && m.serverCores > 0, JSON.stringify(m));
    if (m.cpuPressure !== null) assert.ok(m.cpuPressure >= 0 && m.cpuPressure <= 1.0001);
  });
});
