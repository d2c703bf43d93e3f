/**
 * kill -9 of a running `rtbench run` (what the OOM killer, a node crash or a Kubernetes eviction
 * does): the throwaway cluster and its temp dir are gone within seconds (the watchdog), an
 * orphan whose watchdog died too is removed by the next run with one line, and the results
 * streamed so far are on disk for `rtbench recover`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { runCli, sleep, startCli, type CliResult, type StartedCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';
import { citusInstalled } from '../../src/targets/citus-cluster.js';

const noPg = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-kill-');

/** Command lines of live processes that mention `needle` (postgres -D <dir>, the watchdog). */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Wait until `pred` holds, polling; false after `timeoutMs`. */
export async function waitUntil(pred: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The one run dir under `resultsDir`, once it exists. */
async function runDirOf(resultsDir: string, timeoutMs = 60_000): Promise<string> {
  assert.ok(await waitUntil(() => existsSync(resultsDir) && readdirSync(resultsDir).filter((e) => !e.startsWith('.')).length === 1, timeoutMs), `no run dir in ${resultsDir}`);
  return path.join(resultsDir, readdirSync(resultsDir).filter((e) => !e.startsWith('.'))[0]!);
}

/** Data rows of a streamed timeseries.csv (whole lines only). */
function streamedRows(dir: string): Array<{ index: number; endS: number }> {
  const text = readFileSync(path.join(dir, 'timeseries.csv'), 'utf8');
  return text.slice(0, text.lastIndexOf('\n')).split('\n').slice(1).filter((l) => l !== '').map((l) => {
    const f = l.split(',');
    return { index: Number(f[0]), endS: Number(f[3]) };
  });
}

/** The interval log's StartTime, ms since the epoch. */
function hlogStartMs(dir: string): number {
  const m = /#\[StartTime: ([0-9.]+)/.exec(readFileSync(path.join(dir, 'intervals.hlog'), 'utf8'));
  assert.ok(m, 'intervals.hlog has a StartTime');
  return Number(m[1]) * 1000;
}

/**
 * Kill -9 a run `afterS` seconds into its schedule (by its progress lines), then return what
 * was on disk: the streamed rows, the seconds of load lost (kill time − end of the last
 * durable interval), and the dir.
 */
async function killRunAt(cli: StartedCli, resultsDir: string, afterS: number): Promise<{ dir: string; rows: number; lostS: number; killedAtS: number }> {
  const pattern = new RegExp(`progress: ${afterS}\\.0 s`);
  assert.ok(await waitUntil(() => pattern.test(cli.stderr()), 90_000, 20), cli.stderr());
  const dir = await runDirOf(resultsDir);
  await sleep(300); // a moment into the next interval
  const killedAtMs = Date.now();
  kill9(cli);
  const r = await cli.done;
  assert.equal(r.signal, 'SIGKILL', out(r));
  const rows = streamedRows(dir);
  const last = rows[rows.length - 1];
  assert.ok(last, 'intervals were streamed');
  const originMs = hlogStartMs(dir);
  const killedAtS = (killedAtMs - originMs) / 1000;
  const lostS = killedAtS - last.endS;
  const run = readJson<{ status: string; owner: { pid: number }; recovery: { syncEveryMs: number } }>(path.join(dir, 'run.json'));
  assert.equal(run.status, 'running');
  assert.equal(run.owner.pid, cli.child.pid);
  assert.ok(!existsSync(path.join(dir, 'summary.json')), 'no final file of a dead run');
  // The bound docs/crash-safety.md states: the interval in progress plus one sync period.
  assert.ok(lostS <= 1 + run.recovery.syncEveryMs / 1000 + 0.5, `lost ${lostS.toFixed(2)} s of load (rows up to ${last.endS} s, killed at ${killedAtS.toFixed(2)} s)`);
  process.stderr.write(`# kill -9 at ${killedAtS.toFixed(2)} s of the schedule: ${rows.length} intervals on disk (to ${last.endS} s), ${lostS.toFixed(2)} s of load lost\n`);
  return { dir, rows: rows.length, lostS, killedAtS };
}

async function recover(dir: string, extra: string[] = []): Promise<{ r: CliResult; summary: Summary }> {
  const r = await runCli(['recover', dir, ...extra], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, out(r));
  const said = r.stderr.split('\n').filter((l) => l.startsWith('rtbench: recovered'));
  assert.equal(said.length, 1, out(r));
  const summary = readJson<Summary>(path.join(dir, 'summary.json'));
  assert.equal(summary.valid, false);
  assert.match(summary.invalidReasons[0]!, /^interrupted: the load generator stopped at \d{4}-\d\d-\d\dT[0-9:.]+Z; last interval \d+ of \d+$/);
  assert.equal(readJson<{ status: string }>(path.join(dir, 'run.json')).status, 'recovered');
  for (const f of ['report.html', 'report.md', 'ingest-response.hgrm', 'histograms.json']) assert.ok(existsSync(path.join(dir, f)), f);
  return { r, summary };
}

const clusterDirs = (tmpDir: string): string[] => readdirSync(tmpDir).filter((e) => e.startsWith('rtbench-pg-') || e.startsWith('rtbench-citus-'));

/** SIGKILL the CLI process alone (not its group), as the OOM killer would. */
function kill9(cli: StartedCli): void {
  assert.ok(cli.child.pid !== undefined);
  process.kill(cli.child.pid, 'SIGKILL');
}

describe('kill -9 of rtbench run', { skip: noPg }, () => {
  test('the throwaway cluster and its temp dir are gone within 5 s', { timeout: 120_000 }, async () => {
    const tmpDir = path.join(area.tmpDir);
    const results = path.join(area.base, 'r1');
    const cli = startCli(['run', '--rate', '200', '--duration', '60', '--warmup', '1', '--results-dir', results],
      { env: { TMPDIR: tmpDir }, timeoutMs: 110_000 });
    assert.ok(await waitUntil(() => /progress: 2\.0 s/.test(cli.stderr()), 60_000), cli.stderr());
    assert.equal(clusterDirs(tmpDir).length, 1, 'one cluster while it runs');
    assert.ok(processesMentioning(tmpDir).some((p) => /postgres -D/.test(p)), 'its postgres runs');
    const { dir, rows } = await killRunAt(cli, results, 6);
    const t0 = Date.now();
    const clean = await waitUntil(() => clusterDirs(tmpDir).length === 0 && processesMentioning(tmpDir).length === 0, 5_000);
    assert.ok(clean, `left behind: ${clusterDirs(tmpDir).join(', ')} ${processesMentioning(tmpDir).join('; ')}`);
    process.stderr.write(`# cluster gone ${Date.now() - t0} ms after the kill\n`);
    const { summary } = await recover(dir);
    assert.equal(summary.ingest.rowsInTable, null, 'the throwaway database is gone with the run');
    const rowsStreamed = readJson<{ recovered: { intervals: number } }>(path.join(dir, 'run.json')).recovered.intervals;
    assert.ok(rowsStreamed >= rows - 1 && rowsStreamed <= rows, `recovered ${rowsStreamed} of ${rows} streamed intervals`);
    assert.ok(summary.ingest.acked > 0);
    process.stderr.write(`# recovered ${rowsStreamed} intervals, ${summary.ingest.acked} rows acknowledged\n`);
    // A tool meeting a recovered dir reads it as it is; a second recover is refused in one line.
    const again = await runCli(['recover', dir], { timeoutMs: 30_000 });
    assert.equal(again.code, 2, out(again));
    assert.match(again.stderr, /is recovered: nothing to recover/);
  });

  test('an orphan whose watchdog died too is removed by the next run, with one line', { timeout: 120_000 }, async () => {
    const tmpDir = path.join(area.base, 'tmp2');
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(tmpDir);
    await chmod(tmpDir, 0o1777);
    const cli = startCli(['run', '--rate', '100', '--duration', '60', '--warmup', '1', '--results-dir', path.join(area.base, 'r2')],
      { env: { TMPDIR: tmpDir }, timeoutMs: 110_000 });
    assert.ok(await waitUntil(() => /progress: 1\.0 s/.test(cli.stderr()), 60_000), cli.stderr());
    const [dir] = clusterDirs(tmpDir);
    const owner = JSON.parse(readFileSync(path.join(tmpDir, dir!, 'rtbench-owner.json'), 'utf8')) as { pid: number; watchdogPid: number };
    assert.equal(owner.pid, cli.child.pid);
    process.kill(owner.watchdogPid, 'SIGKILL');
    kill9(cli);
    await cli.done;
    await sleep(1000);
    assert.deepEqual(clusterDirs(tmpDir), [dir], 'with its watchdog gone the cluster stays');
    const next = await runCli(['run', '--rate', '100', '--duration', '1', '--warmup', '0.5', '--progress', '0', '--results-dir', path.join(area.base, 'r2')],
      { env: { TMPDIR: tmpDir }, timeoutMs: 100_000 });
    assert.ok(next.code === 0 || next.code === 3, next.stderr);
    const said = next.stderr.split('\n').filter((l) => l.includes('orphaned'));
    assert.equal(said.length, 1, next.stderr);
    assert.match(said[0]!, new RegExp(`removed the orphaned throwaway cluster .*${dir}: its rtbench \\(pid ${owner.pid}`));
    assert.deepEqual(clusterDirs(tmpDir), []);
    // The next run's own watchdog, disarmed, exits a moment after it.
    assert.ok(await waitUntil(() => processesMentioning(tmpDir).length === 0, 3_000), processesMentioning(tmpDir).join('; '));
  });

  test('--rollup incremental with viewers: streamed, recovered by compare (one line), cluster gone', { timeout: 180_000 }, async () => {
    const tmpDir = path.join(area.base, 'tmp3');
    await fs.mkdir(tmpDir);
    await fs.chmod(tmpDir, 0o1777);
    const results = path.join(area.base, 'r3');
    const cli = startCli(['run', '--rate', '200', '--duration', '60', '--warmup', '1', '--rollup', 'incremental', '--rollup-interval', '2s',
      '--viewers', '2', '--refresh', '2s', '--no-parallel', '--no-idle-baseline', '--results-dir', results],
    { env: { TMPDIR: tmpDir }, timeoutMs: 170_000 });
    const { dir } = await killRunAt(cli, results, 5);
    assert.ok(await waitUntil(() => clusterDirs(tmpDir).length === 0 && processesMentioning(tmpDir).length === 0, 5_000), 'cluster gone');
    // A tool that reads run dirs recovers it first and says so in one line.
    const r = await runCli(['export', dir, '--format', 'bmf'], { timeoutMs: 60_000 });
    assert.ok(r.code === 3, out(r));
    const said = r.stderr.split('\n').filter((l) => /^rtbench: recovered /.test(l));
    assert.equal(said.length, 1, out(r));
    const s = readJson<Summary>(path.join(dir, 'summary.json'));
    assert.equal(s.valid, false);
    assert.ok(s.notes.some((n) => /dashboard/.test(n)), 'says the dashboard is not recovered');
  });

  test('a dir whose owner lives is refused in one line', { timeout: 120_000 }, async () => {
    const tmpDir = path.join(area.base, 'tmp4');
    await fs.mkdir(tmpDir);
    await fs.chmod(tmpDir, 0o1777);
    const results = path.join(area.base, 'r4');
    const cli = startCli(['run', '--rate', '100', '--duration', '30', '--warmup', '1', '--results-dir', results], { env: { TMPDIR: tmpDir }, timeoutMs: 110_000 });
    try {
      assert.ok(await waitUntil(() => /progress: 2\.0 s/.test(cli.stderr()), 90_000), cli.stderr());
      const dir = await runDirOf(results);
      for (const args of [['recover', dir], ['check', dir, '--threshold', 'ingest.response.p99 < 10s']]) {
        const r = await runCli(args, { timeoutMs: 30_000 });
        assert.equal(r.code, 2, out(r));
        const errLines = r.stderr.trim().split('\n');
        assert.equal(errLines.length, 1, out(r));
        assert.match(errLines[0]!, new RegExp(`still running \\(rtbench pid ${cli.child.pid}\\)`));
      }
    } finally {
      kill9(cli);
      await cli.done;
    }
  });
});

describe('kill -9 of rtbench run --citus-workers 2', { skip: noPg || (citusInstalled() ? false : 'the citus extension is not installed') }, () => {
  test('the coordinator, both workers and the cluster dir are gone within 5 s; the run recovers', { timeout: 240_000 }, async () => {
    const tmpDir = path.join(area.base, 'tmp6');
    await fs.mkdir(tmpDir);
    await fs.chmod(tmpDir, 0o1777);
    const results = path.join(area.base, 'c1');
    const cli = startCli(['run', '--citus-workers', '2', '--rate', '100', '--duration', '60', '--warmup', '1', '--results-dir', results],
      { env: { TMPDIR: tmpDir }, timeoutMs: 230_000 });
    assert.ok(await waitUntil(() => /progress: 2\.0 s/.test(cli.stderr()), 200_000), cli.stderr());
    // Distinct data dirs, not processes: a backend just forked carries the postmaster's command line until it sets its title.
    const dataDirs = new Set(processesMentioning(tmpDir).map((p) => /postgres -D (\S+)/.exec(p)?.[1]).filter((d) => d !== undefined));
    assert.equal(dataDirs.size, 3, `three servers run: ${[...dataDirs].join(', ')}`);
    const { dir } = await killRunAt(cli, results, 3);
    const t0 = Date.now();
    assert.ok(await waitUntil(() => clusterDirs(tmpDir).length === 0 && processesMentioning(tmpDir).length === 0, 5_000),
      `left behind: ${clusterDirs(tmpDir).join(', ')} ${processesMentioning(tmpDir).join('; ')}`);
    process.stderr.write(`# Citus cluster (3 servers) gone ${Date.now() - t0} ms after the kill\n`);
    await recover(dir);
  });
});

describe('kill -9 with --url targets', { skip: noPg }, () => {
  let cluster: LocalCluster | undefined;
  after(async () => {
    await cluster?.stop();
  });

  test('recover --url holds the acked rows up to the last durable interval against the table', { timeout: 150_000 }, async () => {
    cluster = await startTestCluster({ baseDir: area.tmpDir });
    const results = path.join(area.base, 'u1');
    const cli = startCli(['run', '--url', cluster.url, '--rate', '300', '--duration', '60', '--warmup', '1', '--reset', '--results-dir', results], { timeoutMs: 140_000 });
    const { dir, lostS } = await killRunAt(cli, results, 6);
    const { summary } = await recover(dir, ['--url', cluster.url]);
    const { acked, rowsInTable } = summary.ingest;
    assert.ok(rowsInTable !== null && rowsInTable >= acked, `acked ${acked} up to the last durable interval, ${String(rowsInTable)} in the table`);
    const unknown = rowsInTable - acked;
    assert.ok(summary.notes.some((n) => new RegExp(`${unknown} rows are in the table beyond the ${acked} acknowledged .*unknown .*not lost`).test(n)) || unknown === 0, summary.notes.join('\n'));
    // About the rate times the seconds lost (the interval in progress and the writes in flight).
    assert.ok(unknown <= 300 * (lostS + 1), `unknown ${unknown} rows for ${lostS.toFixed(2)} s lost`);
    process.stderr.write(`# --url: ${acked} rows acked up to the last durable interval, ${rowsInTable} in the table, ${unknown} unknown (after it)\n`);
  });

  test('one instance of a two-instance group killed: merge says so and marks the merged run invalid', { timeout: 180_000 }, async () => {
    cluster ??= await startTestCluster({ baseDir: area.tmpDir });
    const runArgs = (i: number): string[] => [
      'run', '--url', cluster!.url, '--instance', `${i}/2`, '--group', 'e2e-kill', '--rate', '200', '--duration', '12', '--warmup', '1', '--seed', '4',
      '--workers', '1', '--connections', '2', '--results-dir', path.join(area.base, `g${i}`),
    ];
    const c1 = startCli(runArgs(1), { timeoutMs: 150_000 });
    const c2 = startCli(runArgs(2), { timeoutMs: 150_000 });
    const { dir: d2 } = await killRunAt(c2, path.join(area.base, 'g2'), 4);
    const r1 = await c1.done;
    assert.ok(r1.code === 0 || r1.code === 3, out(r1));
    const d1 = await runDirOf(path.join(area.base, 'g1'));
    const m = await runCli(['merge', d1, d2, '--results-dir', path.join(area.base, 'gm')], { timeoutMs: 60_000 });
    assert.equal(m.code, 3, out(m));
    assert.equal(m.stderr.split('\n').filter((l) => /^rtbench: recovered /.test(l)).length, 1, out(m));
    assert.match(m.stderr, /rtbench: merge: .* was recovered \(\d+ s of its 12 s measure phase\): the merged run is marked invalid/);
    const merged = readJson<Summary>(path.join(await runDirOf(path.join(area.base, 'gm')), 'summary.json'));
    assert.equal(merged.valid, false);
    assert.match(merged.invalidReasons[0]!, /^instance 2\/2 was recovered after its load generator stopped: it covered \d+ s of its 12 s measure phase \(\d+%\)/);
  });
});

describe('results disk full mid-run', { skip: noPg }, () => {
  const canMount = process.getuid?.() === 0 && (() => {
    try {
      execFileSync('mount', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('a full tmpfs stops the run with one line, exit 2; the synced intervals stay, no final file', { skip: canMount ? false : 'needs root to mount a small tmpfs', timeout: 150_000 }, async () => {
    const mnt = path.join(area.base, 'small');
    await fs.mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      const results = path.join(mnt, 'res');
      const tmpDir = path.join(area.base, 'tmp5');
      await fs.mkdir(tmpDir);
      await fs.chmod(tmpDir, 0o1777);
      const cli = startCli(['run', '--rate', '200', '--duration', '60', '--warmup', '1', '--results-dir', results], { env: { TMPDIR: tmpDir }, timeoutMs: 140_000 });
      assert.ok(await waitUntil(() => /progress: 3\.0 s/.test(cli.stderr()), 90_000), cli.stderr());
      const dir = await runDirOf(results);
      // Fill the file system: the next interval's write fails.
      await fs.writeFile(path.join(mnt, 'filler'), Buffer.alloc(4 << 20)).catch(() => undefined);
      const r = await cli.done;
      assert.equal(r.code, 2, out(r));
      const said = r.stderr.split('\n').filter((l) => /ENOSPC/.test(l));
      assert.equal(said.length, 1, out(r));
      assert.match(said[0]!, /^rtbench: results dir .*: no space left on the device \(ENOSPC\) while writing the run's intervals; the load was stopped; intervals up to \d+ s are on disk$/);
      assert.equal(readJson<{ status: string }>(path.join(dir, 'run.json')).status, 'running');
      for (const f of ['summary.json', 'report.html', 'report.md', 'histograms.json']) assert.ok(!existsSync(path.join(dir, f)), `no ${f}`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
      assert.ok(streamedRows(dir).length >= 3, 'the intervals synced before stay');
      assert.ok(await waitUntil(() => clusterDirs(tmpDir).length === 0, 5_000), 'cluster removed');
      // Space freed: recover rebuilds it.
      await fs.rm(path.join(mnt, 'filler'), { force: true });
      await recover(dir);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
