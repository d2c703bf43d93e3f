/**
 * Probes against a real PostgreSQL 15 with hll: a day of tutorial rows, a
 * 1-minute rollup filled from them, the probe runner under its cadence, the
 * idle baseline, the HLL accuracy check, and the figures. Then a database
 * without hll, where distinct-hll is skipped and the rest runs, and where a
 * killed probe connection is counted and reopened.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { measureHllError } from '../../src/probe/accuracy.js';
import { probeFigures } from '../../src/probe/figures.js';
import type { ProbeFigures } from '../../src/results/run-record.js';
import { idleBaseline, type IdleBaseline } from '../../src/probe/idle.js';
import { loadProbes } from '../../src/probe/loader.js';
import { ProbeRunner, type ProbeResults } from '../../src/probe/runner.js';
import { tableSizes } from '../../src/probe/sizes.js';
import { DEFAULT_WINDOWS } from '../../src/probe/windows.js';
import { parseProbeFile, type ProbeDef } from '../../src/probe/definition.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';
import { fillRollupSql, insertRawSql } from '../helpers/probe-data.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-hll)';
const RAW_ROWS = 200_000;
/** 3σ of HLL's relative error at log2m=11 (1.04/√2048 ≈ 2.3%). */
const HLL_3_SIGMA = 0.069;
/** The figures' minimum samples per cell: a ratio of p50s on fewer is not built. */
const MIN_SAMPLES = 2;

/** Schema, the tutorial's ALTERs for the rollup's HLL and JSONB columns, rows, rollup, ANALYZE. */
async function prepareDatabase(url: string, opts: { hll: boolean; rows: number }): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    if (opts.hll) await c.query('CREATE EXTENSION IF NOT EXISTS hll');
    await ensureSchema(c, false);
    await c.query(`ALTER TABLE http_request_1min ${opts.hll ? 'ADD COLUMN distinct_ip_addresses hll, ' : ''}ADD COLUMN country_counters jsonb`);
    await c.query(insertRawSql(opts.rows));
    await c.query(fillRollupSql(opts.hll));
    await c.query('ANALYZE http_request; ANALYZE http_request_1min');
  } finally {
    await c.end();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sleep at least `minMs`, then until `done()` or `maxMs` in all (then the assertions say what is missing). */
async function waitFor(done: () => boolean, minMs: number, maxMs: number): Promise<void> {
  const t0 = Date.now();
  await sleep(minMs);
  while (!done() && Date.now() - t0 < maxMs) await sleep(100);
}

function fmt(x: number | null | undefined): string {
  return x === undefined ? '—' : x === null ? 'insufficient' : x.toFixed(3);
}

describe('probes on PostgreSQL', { skip }, () => {
  let cluster: LocalCluster;
  let probes: ProbeDef[];
  let idle: IdleBaseline | undefined;
  let results: ProbeResults | undefined;

  before(async () => {
    cluster = await startTestCluster();
    probes = await loadProbes();
    await prepareDatabase(cluster.url, { hll: true, rows: RAW_ROWS });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('idle baseline: a p50 for every probe × window', async () => {
    idle = await idleBaseline(cluster.url, probes, DEFAULT_WINDOWS, { timeMs: 100, iterations: 3 });
    assert.deepEqual(idle.skipped, []);
    assert.equal(idle.tasks.length, probes.length * DEFAULT_WINDOWS.length);
    for (const t of idle.tasks) {
      assert.equal(t.error, undefined, `${t.probe} ${t.window}: ${t.error ?? ''}`);
      assert.ok(t.p50Us !== null && t.p50Us > 0, `${t.probe} ${t.window} has a p50`);
      assert.ok(t.samples >= 3);
    }
  });

  test('viewers: every probe × window measured on each viewer\'s own connection, no errors, tenant panels included', async () => {
    const runner = new ProbeRunner({ url: cluster.url, probes, viewers: 3, refreshMs: 1000, applicationName: 'rtbench-probe-viewers' });
    await runner.start();
    const conns = await withClient(cluster.url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'rtbench-probe-viewers' AND backend_type = 'client backend'`)).rows[0]?.n);
    assert.equal(conns, 3, 'one connection per viewer');
    // At least 4 s and two finished refreshes per viewer (every cell then has MIN_SAMPLES or more):
    // on a loaded 2-core box a refresh of every panel can take several seconds, so a fixed sleep left cells with 0–1 samples.
    await waitFor(() => runner.finishedRefreshes >= 3 * MIN_SAMPLES, 4_000, 90_000);
    results = await runner.stop();
    assert.ok(probes.some((p) => p.tenant), 'the tenant panels are loaded');
    const v = results.refreshes;
    assert.equal(v.viewers, 3);
    // A refresh of every panel can take longer than 1 s here: then refreshes start late (counted), never skipped.
    assert.ok(v.started >= 3 && v.started <= v.due, `refreshes started ${v.started}, due ${v.due}`);
    assert.equal(v.response.count, v.started - v.unfinished);
    if (v.response.p50Us > 1_500_000) assert.ok(v.late > 0, `refreshes of ${v.response.p50Us} µs with R = 1 s must be late: ${JSON.stringify(v)}`);
    assert.ok(v.response.count > 0 && v.response.p50Us > 0);
    assert.deepEqual(results.skipped, []);
    assert.equal(results.tasks.length, probes.length * DEFAULT_WINDOWS.length);
    for (const t of results.tasks) {
      assert.ok(t.summary.count > 0, `${t.probe} ${t.window} ran`);
      assert.equal(t.summary.errors, 0, `${t.probe} ${t.window}: ${JSON.stringify(t.summary.errorsBySqlstate)}`);
      assert.equal(t.histogram.totalCount, t.summary.count);
      assert.ok((t.summary.lastRowCount ?? 0) > 0, `${t.probe} ${t.window} read a non-empty window`);
      assert.ok(t.summary.responseP50Us >= t.summary.p50Us, `${t.probe} ${t.window}: response (from the due time) ≥ service`);
      assert.ok(t.summary.lagP99Us <= t.summary.responseP99Us, `${t.probe} ${t.window}: lag (due → send) ≤ response (due → result)`);
    }
    // Every refresh runs every panel: the cells of one viewer differ by at most the unfinished refreshes.
    const counts = results.tasks.map((t) => t.summary.count);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= v.unfinished, `counts ${counts.join(',')}`);
    assert.deepEqual(results.connectionErrorsBySqlstate, {});
    assert.equal(results.reconnects, 0);
  });

  test('figures: the rollup beats raw over a day; HLL within 3σ of exact', async (t) => {
    assert.ok(results, 'needs the probe run');
    const { hllError, sizes } = await withClient(cluster.url, async (c) => ({
      hllError: await measureHllError(c, 'http_request_1min', DEFAULT_WINDOWS),
      sizes: await tableSizes(c, 'http_request_1min'),
    }));
    const f: ProbeFigures = probeFigures({ results, idle, hllError, sizes, probes, minSamples: MIN_SAMPLES });

    for (const m of hllError) t.diagnostic(`hll ${m.window}: exact ${m.exact}, hll ${Math.round(m.hll)}, error ${fmt(m.relativeError ?? undefined)} over [${m.lower}, ${m.upper})`);
    for (const w of f.windows) {
      t.diagnostic(`${w}: rollupSpeedup ${fmt(f.rollupSpeedup?.[w])} countrySpeedup ${fmt(f.countrySpeedup?.[w])} hllSpeedup ${fmt(f.hllSpeedup?.[w])}`);
      for (const [name, byWindow] of Object.entries(f.byProbe)) {
        const x = byWindow[w];
        if (x) t.diagnostic(`  ${name} ${w}: p50 ${x.p50Us} µs p99 ${x.p99Us} µs n ${x.count} idle p50 ${x.idleP50Us ?? '—'} µs load/idle ${fmt(x.loadOverIdle)}`);
      }
    }
    t.diagnostic(`sizes: ${JSON.stringify(f.sizes)}`);

    assert.equal(hllError.length, DEFAULT_WINDOWS.length);
    const day = hllError.find((m) => m.window === '1d');
    assert.ok(day && day.exact > 100_000, `a day holds most of the ${RAW_ROWS} distinct IPs (${day?.exact})`);
    assert.ok(f.hllRelativeError?.['1d'] !== undefined);
    assert.ok(Math.abs(f.hllRelativeError['1d']) <= HLL_3_SIGMA, `HLL relative error ${f.hllRelativeError['1d']} within ±${HLL_3_SIGMA}`);

    assert.deepEqual([...(f.tenantPanels ?? [])].sort(), probes.filter((p) => p.tenant).map((p) => p.name).sort());
    for (const w of f.windows) {
      for (const name of Object.keys(f.byProbe)) assert.ok(f.byProbe[name]?.[w]?.idleP50Us !== undefined, `${name} ${w} has an idle p50`);
    }
    assert.ok(f.sizes && f.sizes.rawTableBytes > 0 && (f.sizes.rollupTableBytes ?? 0) > 0 && (f.sizes.hllColumnBytes ?? 0) > 0);
    assert.deepEqual(f.skipped, []);

    // The speedups are ratios of two cells' p50s; a cell with fewer samples than the minimum gives
    // no ratio (null, with a note), by design. On a loaded 2-core box a refresh of every panel can
    // take longer than the 1 s cadence, so the viewers phase may leave a 1-day cell with one sample:
    // that is a skip with its n, not a failure (the ratio is not judged on too few samples).
    const cells = ['raw-minutes', 'rollup-minutes', 'tenant-raw-minutes', 'tenant-rollup-minutes'].map((p) => [p, f.byProbe[p]?.['1d']?.count ?? 0] as const);
    const short = cells.filter(([, n]) => n < MIN_SAMPLES);
    if (short.length > 0) {
      t.skip(`speedups not judged: ${short.map(([p, n]) => `${p} @ 1d n=${n} < ${MIN_SAMPLES}`).join(', ')} (the viewers phase gave too few samples on this machine)`);
      return;
    }
    const day1 = f.rollupSpeedup?.['1d'];
    assert.ok(typeof day1 === 'number', `rollupSpeedup for 1d: ${day1} (n ${f.byProbe['raw-minutes']?.['1d']?.count})`);
    assert.ok(day1 > 1, `the rollup must beat raw over a day: raw/rollup p50 = ${day1}`);
    const ci = f.rollupSpeedupCi95?.['1d'];
    assert.ok(ci && ci[0] <= day1 && day1 <= ci[1], `the interval ${JSON.stringify(ci)} holds the ratio ${day1}`);
    const tenant = f.speedups?.['tenant-raw-minutes/tenant-rollup-minutes']?.['1d'];
    assert.ok(typeof tenant === 'number' && tenant > 0, `tenant panel speedup ${tenant}: ${f.notes?.join('; ') ?? ''}`);
  });

  test('stop() cancels a long-running probe query after the grace period; that is no probe error', async () => {
    const parsed = parseProbeFile('sleepy.sql', '-- probe: sleepy\n-- reads: raw\n-- result: scalar\nSELECT pg_sleep(30), $1::interval;\n');
    assert.equal(parsed.status, 'ok');
    if (parsed.status !== 'ok') return;
    const runner = new ProbeRunner({ url: cluster.url, probes: [parsed.probe], windows: DEFAULT_WINDOWS.slice(0, 1), stopGraceMs: 100, applicationName: 'rtbench-probe-sleepy' });
    await runner.start();
    await sleep(300);
    const t0 = Date.now();
    const r = await runner.stop();
    assert.ok(Date.now() - t0 < 10_000, 'stop did not wait for the 30 s query');
    assert.deepEqual(r.tasks.map((t) => [t.probe, t.summary.count, t.summary.errors]), [['sleepy', 0, 0]]);
    assert.deepEqual(r.connectionErrorsBySqlstate, {});
    const left = await withClient(cluster.url, async (c) => (await c.query(`SELECT state FROM pg_stat_activity WHERE application_name = 'rtbench-probe-sleepy' AND state = 'active'`)).rows);
    assert.deepEqual(left, [], 'the server is not still running it');
  });

  test('an unreachable server: start() does not throw, failures are counted, stop() returns', async () => {
    const runner = new ProbeRunner({ url: 'postgresql://nobody@127.0.0.1:1/rtbench', probes, refreshMs: 100 });
    await runner.start();
    await sleep(300);
    const r = await runner.stop();
    assert.deepEqual(r.tasks, []);
    assert.ok((r.connectionErrorsBySqlstate['08001'] ?? 0) >= 2, JSON.stringify(r.connectionErrorsBySqlstate));
  });

  describe('a database without hll', () => {
    let url: string;
    before(async () => {
      await withClient(cluster.url, (c) => c.query('CREATE DATABASE rtbench_nohll'));
      const u = new URL(cluster.url);
      u.pathname = '/rtbench_nohll';
      url = u.toString();
      await prepareDatabase(url, { hll: false, rows: 20_000 });
    });

    test('distinct-hll is skipped with its message; the others run; a killed connection is counted and reopened', async () => {
      const runner = new ProbeRunner({ url, probes, refreshMs: 200, applicationName: 'rtbench-probe-nohll' });
      await runner.start();
      assert.deepEqual(runner.skipped, ['skipped: probe distinct-hll (install postgresql-15-hll)', 'skipped: probe tenant-distinct-hll (install postgresql-15-hll)']);
      await waitFor(() => runner.finishedRefreshes >= 1, 1_000, 60_000);
      const killed = await withClient(url, async (c) =>
        (await c.query<{ ok: boolean }>(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'rtbench-probe-nohll'`)).rows,
      );
      assert.equal(killed.length, 1, 'one probe connection');
      // A refresh after the kill (on the reopened connection) runs every probe again.
      const before = runner.finishedRefreshes;
      await waitFor(() => runner.finishedRefreshes >= before + 2, 1_500, 60_000);
      const r = await runner.stop();

      assert.deepEqual(r.skipped, ['skipped: probe distinct-hll (install postgresql-15-hll)', 'skipped: probe tenant-distinct-hll (install postgresql-15-hll)']);
      assert.equal(r.tasks.length, (probes.length - 2) * DEFAULT_WINDOWS.length);
      assert.ok(!r.tasks.some((t) => t.probe.endsWith('distinct-hll')));
      for (const t of r.tasks) assert.ok(t.summary.count > 0, `${t.probe} ${t.window} ran`);
      const taskErrors = r.tasks.reduce((n, t) => n + t.summary.errors, 0);
      const connErrors = Object.values(r.connectionErrorsBySqlstate).reduce((n, x) => n + x, 0);
      assert.equal(taskErrors + connErrors, 1, `the kill is counted once: ${JSON.stringify(r.tasks.map((t) => t.summary.errorsBySqlstate))} ${JSON.stringify(r.connectionErrorsBySqlstate)}`);
      assert.equal(r.reconnects, 1);

      const idleNoHll = await idleBaseline(url, probes, DEFAULT_WINDOWS.slice(0, 1), { timeMs: 0, iterations: 1 });
      assert.deepEqual(idleNoHll.skipped, ['skipped: probe distinct-hll (install postgresql-15-hll)', 'skipped: probe tenant-distinct-hll (install postgresql-15-hll)']);
      assert.ok(idleNoHll.tasks.every((t) => t.p50Us !== null));
      const sizes = await withClient(url, (c) => tableSizes(c, 'http_request_1min'));
      assert.equal(sizes.hllColumnBytes, null);
    });
  });
});
