/**
 * The server sampler end to end: `rtbench run --url … --rollup incremental`
 * while this test holds an ACCESS EXCLUSIVE lock on http_request for 3 s in
 * the middle of the measure phase. The wait samples of those seconds
 * (server.csv) show the load workers waiting on Lock; summary.json carries
 * server.waits.ingest["Lock:relation"], statements by role (pg_stat_statements
 * installed in the database, as a user would have it), WAL bytes per row;
 * the console prints the server block. With --sample-interval 0 there is no
 * server section.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { runCli, sleep, startCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-telemetry-');

async function onlyRunDir(resultsDir: string): Promise<string> {
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, `one run dir, got ${entries.join(', ')}`);
  return path.join(resultsDir, entries[0]!);
}

/** The schedule origin (ms since the epoch) from intervals.hlog's StartTime header. */
async function originEpochMs(dir: string): Promise<number> {
  const hlog = await fs.readFile(path.join(dir, 'intervals.hlog'), 'utf8');
  const m = /#\[StartTime: ([\d.]+)/.exec(hlog);
  assert.ok(m, 'StartTime in intervals.hlog');
  return Number(m[1]) * 1000;
}

describe('server telemetry (e2e)', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.end();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('a session holding a lock on http_request mid-run is found in the wait samples of that time', async () => {
    const resultsDir = path.join(area.base, 'lock');
    const cli = startCli(['run', '--url', cluster.url, '--rate', '200', '--workers', '1', '--connections', '2', '--duration', '12s', '--warmup', '2s',
      '--rollup', 'incremental', '--rollup-interval', '2s', '--no-probes', '--progress', '1', '--results-dir', resultsDir],
    { env: { TMPDIR: area.tmpDir }, timeoutMs: 120_000 });
    // Wait for the measure phase to be 3 s old, then hold the lock for 3 s.
    for (let i = 0; i < 600 && !/progress: \d+\.\d s \[measure[^\n]*\n[^\n]*progress: \d+\.\d s \[measure[^\n]*\n[^\n]*progress: \d+\.\d s \[measure/.test(cli.stderr()); i++) await sleep(100);
    const locker = new pg.Client({ connectionString: cluster.url, application_name: 'e2e-locker' });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE http_request IN ACCESS EXCLUSIVE MODE');
    const lockFrom = Date.now();
    await sleep(3000);
    const lockTo = Date.now();
    await locker.query('COMMIT');
    await locker.end();
    const r = await cli.done;
    assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
    const dir = await onlyRunDir(resultsDir);
    const origin = await originEpochMs(dir);
    const summary = JSON.parse(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')) as Summary;
    const server = summary.server;
    assert.ok(server, 'summary.json has a server section');

    const csv = (await fs.readFile(path.join(dir, 'server.csv'), 'utf8')).trim().split('\n');
    const cols = csv[0]!.split(',');
    const lockCol = cols.indexOf('ingest_Lock');
    assert.ok(lockCol > 0, `an ingest_Lock column: ${csv[0]}`);
    const inside: number[] = [];
    for (let s = Math.ceil((lockFrom - origin) / 1000); (s + 1) * 1000 <= lockTo - origin; s++) inside.push(s);
    assert.ok(inside.length >= 2, `seconds inside the lock: ${inside}`);
    for (const s of inside) {
      const row = csv.find((l) => l.startsWith(`${s},`))?.split(',');
      assert.ok(row, `server.csv has second ${s}`);
      // Two connections at 200 rows/s: both are stuck on the lock for the whole second.
      assert.ok(Number(row[lockCol]) >= 1, `second ${s}: ingest_Lock ${row[lockCol]} (${csv[0]})`);
    }
    // Seconds well before the lock have no ingest lock wait of that size.
    const early = csv.slice(1).map((l) => l.split(',')).filter((c) => c[1] === 'measure' && Number(c[0]) * 1000 + 1000 < lockFrom - origin - 500);
    assert.ok(early.length >= 1 && early.every((c) => Number(c[lockCol] || 0) < 1), 'no lock before the lock');

    // Outside the test's lock the only locker is the incremental rollup (LOCK … IN EXCLUSIVE MODE):
    // a second with ingest lock waits has the rollup active in it or next to it.
    const rollupCols = cols.map((c, i) => (c.startsWith('rollup_') ? i : -1)).filter((i) => i >= 0);
    const bySecond = new Map(csv.slice(1).map((l) => l.split(',')).map((c) => [Number(c[0]), c]));
    const rollupActive = (s: number): boolean => [s - 1, s, s + 1].some((t) => rollupCols.some((i) => Number(bySecond.get(t)?.[i] || 0) > 0));
    for (const [s, c] of bySecond) {
      const outside = (s + 1) * 1000 < lockFrom - origin - 1000 || s * 1000 > lockTo - origin + 1000;
      if (outside && Number(c[lockCol] || 0) > 0) assert.ok(rollupActive(s), `second ${s}: ingest lock waits with no rollup running (${c.join(',')})`);
    }
    assert.ok((server.waits.ingest?.shares['Lock:relation'] ?? 0) > 0.1, JSON.stringify(server.waits));
    assert.ok(server.perRow.walBytes !== null && server.perRow.walBytes > 50, `WAL/row ${server.perRow.walBytes}`);
    // WAL per row over one window: the sampler's boundary snapshots are taken at the measure window's start and end
    // (not at the end of its first interval, which made WAL/row low by about 1/duration), and the rows are that window's.
    const c = server.counters!;
    // The rows written in the measure window: its intervals' (an operation due in the warm-up that ends in the window counts there).
    const ts = (await fs.readFile(path.join(dir, 'timeseries.csv'), 'utf8')).trim().split('\n');
    const rowsCol = ts[0]!.split(',').indexOf('rows');
    const measureRowsWritten = ts.slice(1).map((l) => l.split(',')).filter((x) => x[1] === 'measure').reduce((a, x) => a + Number(x[rowsCol]), 0);
    assert.equal(c.rowsIngested, measureRowsWritten);
    assert.ok(Math.abs(c.measureMs - 12_000) <= 500, `the counters span ${c.measureMs} ms of the 12 s measure window`);
    assert.equal(server.perRow.walBytes, c.walBytes / c.rowsIngested);
    const ins = server.statements?.find((st) => /^INSERT INTO http_request\b/.test(st.query));
    assert.equal(ins?.role, 'ingest', JSON.stringify(server.statements?.slice(0, 5)));
    const roll = server.statements?.find((st) => /rollup_http_request/.test(st.query));
    assert.equal(roll?.role, 'rollup');
    assert.ok(server.rollupWalBytesPerRun !== null && server.rollupWalBytesPerRun > 0);
    assert.match(r.stdout, /^server \(pg_stat_activity every 100 ms/m);
    assert.match(r.stdout, /^\s+ingest\s+\d\.\d\d active: .*Lock:relation/m);
    assert.match(r.stdout, /^\s+WAL\s+\d+ B\/row/m);
  });

  test('--sample-interval 0: no sampler, no server section; a bad value is one line, exit 2', async () => {
    const resultsDir = path.join(area.base, 'off');
    const r = await runCli(['run', '--url', cluster.url, '--rate', '100', '--duration', '2s', '--warmup', '0s', '--sample-interval', '0', '--progress', '0', '--results-dir', resultsDir],
      { env: { TMPDIR: area.tmpDir }, timeoutMs: 60_000 });
    assert.ok(r.code === 0 || r.code === 3, r.stderr);
    const dir = await onlyRunDir(resultsDir);
    const summary = JSON.parse(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')) as Summary;
    assert.equal(summary.server, undefined);
    await assert.rejects(fs.access(path.join(dir, 'server.csv')));
    const bad = await runCli(['run', '--url', cluster.url, '--sample-interval', '5'], { env: { TMPDIR: area.tmpDir } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sample-interval: must be 0 \(off\) or from 10 ms to 60 s/);
    assert.ok(!/\n\s+at /.test(bad.stderr), 'no stack trace');
  });
});
