/**
 * `rtbench merge`: two load generators (--instance 1/2, 2/2 --group) launched
 * 5 s apart against one server meet in it, start their schedules together, and
 * merge into one result dir shaped like a single run. Also: the rendezvous
 * timeout and a refused second claim, from the CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Summary } from '../../src/results/run-record.js';
import type { MergedSummary } from '../../src/merge/merge.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { lines, runCli, sleep, startCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

let base: string;
let cluster: LocalCluster | undefined;
before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-merge-'));
});
after(async () => {
  await cluster?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The one run directory in `resultsDir`. */
async function onlyRunDir(resultsDir: string): Promise<string> {
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, `exactly one entry in ${resultsDir}, got ${entries.join(', ')}`);
  return path.join(resultsDir, entries[0]!);
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

async function measureRows(dir: string): Promise<number> {
  const text = await fs.readFile(path.join(dir, 'timeseries.csv'), 'utf8');
  return text.split('\n').filter((l) => l.split(',')[1] === 'measure').length;
}

/** Exit 0, or 3 only because this machine could not keep up (client-limited), never for anything else. */
async function assertFinished(r: CliResult, dir: string, what: string): Promise<void> {
  if (r.code === 3) {
    const s = await readJson<Summary>(path.join(dir, 'summary.json'));
    for (const reason of s.invalidReasons) assert.match(reason, /client-limited/, `${what}: invalid for a reason other than the client: ${reason}\n${out(r)}`);
    return;
  }
  assert.equal(r.code, 0, `${what}\n${out(r)}`);
}

describe('rtbench merge', { skip }, () => {
  test('two instances launched 5 s apart start together and merge into one run: sums, histograms, same files', { timeout: 120_000 }, async () => {
    cluster = await startTestCluster();
    const runArgs = (i: number): string[] => [
      'run', '--url', cluster!.url, '--instance', `${i}/2`, '--group', 'e2e-merge', '--rate', '400', '--duration', '4', '--warmup', '1', '--seed', '3',
      '--workers', '1', '--connections', '2', '--progress', '0', '--results-dir', path.join(base, `i${i}`),
    ];
    const first = startCli(runArgs(1), { timeoutMs: 80_000 });
    await sleep(5000);
    const r2 = await runCli(runArgs(2), { timeoutMs: 80_000 });
    const r1 = await first.done;
    const d1 = await onlyRunDir(path.join(base, 'i1'));
    const d2 = await onlyRunDir(path.join(base, 'i2'));
    await assertFinished(r1, d1, 'instance 1/2');
    await assertFinished(r2, d2, 'instance 2/2');
    const s1 = await readJson<Summary>(path.join(d1, 'summary.json'));
    const s2 = await readJson<Summary>(path.join(d2, 'summary.json'));

    // One common start, recorded alike by both; instance 1 waited for instance 2.
    type Rdv = { index: number; count: number; group: string; startEpochMs: number; clockOffsetMs: number; clockRoundTripMs: number; registeredAtEpochMs: number; lateStartMs: number; firstSentMs: number | null };
    const rdv1 = (await readJson<{ instance: Rdv }>(path.join(d1, 'run.json'))).instance;
    const rdv2 = (await readJson<{ instance: Rdv }>(path.join(d2, 'run.json'))).instance;
    assert.equal(rdv1.startEpochMs, rdv2.startEpochMs, 'equal startEpochMs');
    assert.deepEqual([rdv1.index, rdv1.count, rdv1.group, rdv2.index, rdv2.group], [1, 2, 'e2e-merge', 2, 'e2e-merge']);
    assert.ok(rdv2.registeredAtEpochMs - rdv1.registeredAtEpochMs >= 4000, `registered ${rdv2.registeredAtEpochMs - rdv1.registeredAtEpochMs} ms apart`);
    assert.ok(rdv1.startEpochMs > rdv2.registeredAtEpochMs, 'the start comes after the last registration');
    for (const r of [rdv1, rdv2]) assert.ok(Math.abs(r.clockOffsetMs) <= r.clockRoundTripMs / 2 + 1, `same machine, offset ~0: ${JSON.stringify(r)}`);
    assert.match(r1.stderr, /rendezvous: group e2e-merge: instance 1\/2 registered; waiting for the others/);
    assert.match(r1.stderr, /rendezvous: group e2e-merge: all 2 registered; common start/);

    const mergedResults = path.join(base, 'merged');
    const m = await runCli(['merge', d1, d2, '--results-dir', mergedResults], { timeoutMs: 30_000 });
    const dm = await onlyRunDir(mergedResults);
    await assertFinished(m, dm, 'merge');
    assert.equal(m.code === 3, !(s1.valid && s2.valid), 'merge is invalid exactly when an instance is');
    assert.match(m.stdout, /rows acked \/ in table/);
    assert.match(m.stdout, new RegExp(`results: .*${path.basename(dm)}`));
    assert.match(path.basename(dm), /^\d{8}-\d{6}-merged-adhoc-[0-9a-f]{4}$/);

    // The same files as a single run (instance 1's dir is one), but for the live page's event stream: an
    // instance streams its own while it runs; the merged run is made afterwards and its page is report.html.
    const instanceFiles = (await fs.readdir(d1)).sort();
    assert.ok(instanceFiles.includes('page-events.jsonl'), instanceFiles.join(', '));
    assert.deepEqual((await fs.readdir(dm)).sort(), instanceFiles.filter((f) => f !== 'page-events.jsonl'));

    const s = await readJson<MergedSummary>(path.join(dm, 'summary.json'));
    assert.equal(s.ingest.targetRateHz, 400);
    // The summed rate: each instance ran its half over the same seconds.
    assert.equal(s.ingest.achievedRateHz, s1.ingest.achievedRateHz + s2.ingest.achievedRateHz);
    if (s.valid) assert.ok(Math.abs(s.ingest.achievedRateHz - 400) <= 20, `merged achieved ${s.ingest.achievedRateHz} rows/s`);
    assert.equal(s.merged.start?.group, 'e2e-merge');
    assert.equal(s.merged.start?.startEpochMs, rdv1.startEpochMs);
    assert.ok(s.merged.start!.registeredSpreadMs >= 4000);
    // The actual start: when each instance sent its first operation after the common start.
    for (const r of [rdv1, rdv2]) assert.ok(typeof r.firstSentMs === 'number' && r.firstSentMs >= 0, JSON.stringify(r));
    assert.equal(s.merged.start!.startSpreadMs, Math.abs(rdv1.firstSentMs! - rdv2.firstSentMs!));
    assert.match(m.stdout, /note: group e2e-merge: 2 instances registered \d+\.\d s apart and started their schedules \d+\.\d\d ms apart/);
    assert.equal(s1.ingest.targetRateHz, 200);
    assert.equal(s.ingest.acked, s1.ingest.acked + s2.ingest.acked);
    assert.equal(s.ingest.rowsInTable, (s1.ingest.rowsInTable ?? NaN) + (s2.ingest.rowsInTable ?? NaN));
    assert.equal(s.ingest.acked, s.ingest.rowsInTable);
    assert.equal(s.ingest.response.count, s1.ingest.response.count + s2.ingest.response.count);
    assert.equal(s.ingest.lag.count, s1.ingest.lag.count + s2.ingest.lag.count);
    assert.ok(s.ingest.response.count > 0);
    assert.deepEqual(s.merged.instances.map((i) => [i.index, i.runId]), [[1, s1.runId], [2, s2.runId]]);

    // The server's figures are the server's: an instance does not divide them by its own rows (one line says so),
    // merge keeps them and divides the WAL by the measure rows of both instances.
    for (const x of [s1, s2]) {
      assert.ok(x.server?.counters, 'each instance sampled the server');
      assert.equal(x.server.perRow.walBytes, null, 'no WAL per row from one instance\'s rows');
      assert.equal(x.server.unavailable.filter((l) => /^per-row figures not given: the server's figures are the whole server's, shared by the 2 instances of group e2e-merge/.test(l)).length, 1);
    }
    assert.ok(s.server?.counters, 'merge keeps summary.server');
    // The rows every instance's sampler counted in the measure window (rows written then, whatever their due time).
    assert.equal(s.server.counters.rowsIngested, (s1.server!.counters!.rowsIngested) + (s2.server!.counters!.rowsIngested));
    assert.ok(s.server.perRow.walBytes !== null && s.server.perRow.walBytes > 0);
    assert.equal(s.server.perRow.walBytes, s.server.counters.walBytes / s.server.counters.rowsIngested);
    assert.equal(s.notes.filter((n) => /^server: the figures of instance 1\/2's sampler/.test(n)).length, 1, s.notes.join('\n'));

    const run = await readJson<{ config: Record<string, unknown>; machine: { instances: unknown[] } }>(path.join(dm, 'run.json'));
    assert.equal(run.config['instance'], null);
    assert.equal(run.machine.instances.length, 2);

    assert.equal(await measureRows(dm), Math.max(await measureRows(d1), await measureRows(d2)));
    assert.match(await fs.readFile(path.join(dm, 'intervals.hlog'), 'utf8'), /^Tag=response,/m);

    // Each instance wrote only its own half of the sites.
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      const q = await client.query<{ low: string; high: string; outside: string }>(
        `SELECT count(*) FILTER (WHERE site_id BETWEEN 0 AND 15) AS low,
                count(*) FILTER (WHERE site_id BETWEEN 16 AND 31) AS high,
                count(*) FILTER (WHERE site_id NOT BETWEEN 0 AND 31) AS outside
           FROM http_request`,
      );
      const row = q.rows[0]!;
      assert.ok(Number(row.low) > 0 && Number(row.high) > 0, JSON.stringify(row));
      assert.equal(Number(row.low), s1.ingest.rowsInTable);
      assert.equal(Number(row.high), s2.ingest.rowsInTable);
      assert.equal(Number(row.outside), 0);
    } finally {
      await client.end();
    }

    // Intervals by time: with one common start, each merged measure interval holds both halves of the rate.
    const csv = (await fs.readFile(path.join(dm, 'timeseries.csv'), 'utf8')).split('\n').filter((l) => l.split(',')[1] === 'measure');
    assert.ok(csv.slice(0, 3).every((l) => l.split(',')[4] === '400'), csv.join('\n'));

    // A dir from another group: exit 2, one line naming both, nothing written.
    const other = path.join(base, 'other-group');
    await fs.cp(d2, other, { recursive: true });
    const otherRun = await readJson<{ instance: Rdv }>(path.join(other, 'run.json'));
    otherRun.instance.group = 'another-launch';
    await fs.writeFile(path.join(other, 'run.json'), JSON.stringify(otherRun));
    const mixed = await runCli(['merge', d1, other, '--results-dir', path.join(base, 'never')], { timeoutMs: 30_000 });
    assert.equal(mixed.code, 2, out(mixed));
    assert.deepEqual(lines(mixed.stderr), [`rtbench: the runs belong to different groups: ${d1} is group e2e-merge, ${other} is group another-launch`]);
    await assert.rejects(fs.access(path.join(base, 'never')), 'nothing written');

    // A single run that is not an instance: exit 2, one line.
    const plain = path.join(base, 'plain');
    await fs.cp(d1, plain, { recursive: true });
    const runJson = await readJson<{ config: Record<string, unknown> }>(path.join(plain, 'run.json'));
    runJson.config['instance'] = null;
    await fs.writeFile(path.join(plain, 'run.json'), JSON.stringify(runJson));
    const bad = await runCli(['merge', plain, '--results-dir', path.join(base, 'never')], { timeoutMs: 30_000 });
    assert.equal(bad.code, 2, out(bad));
    assert.equal(bad.stdout, '');
    assert.deepEqual(lines(bad.stderr), [`rtbench: ${plain}: run ${s1.runId} is not an instance run (its run.json has no --instance i/N)`]);
    await assert.rejects(fs.access(path.join(base, 'never')), 'nothing written');
  });

  test('rendezvous from the CLI: a second claim is refused in one line; a missing instance times out naming it; nothing written', { timeout: 60_000 }, async () => {
    cluster ??= await startTestCluster();
    const args = (dir: string): string[] => [
      'run', '--url', cluster!.url, '--instance', '1/2', '--group', 'e2e-alone', '--rendezvous-timeout', '4s', '--rate', '100', '--duration', '2',
      '--warmup', '0', '--workers', '1', '--connections', '1', '--progress', '0', '--results-dir', path.join(base, dir),
    ];
    const waiting = startCli(args('alone'), { timeoutMs: 40_000 });
    for (let i = 0; i < 200 && !/registered; waiting/.test(waiting.stderr()); i++) await sleep(50);
    assert.match(waiting.stderr(), /instance 1\/2 registered; waiting for the others \(up to 4 s\)/);

    const dup = await runCli(args('dup'), { timeoutMs: 30_000 });
    assert.equal(dup.code, 2, out(dup));
    assert.equal(dup.stdout, '');
    const dupLines = lines(dup.stderr);
    assert.equal(dupLines.length, 1, out(dup));
    assert.match(dupLines[0]!, /^rtbench: rendezvous: group e2e-alone: instance 1\/2 is already claimed by .+ \(pid \d+\) since .+; a second claim is refused$/);

    const alone = await waiting.done;
    assert.equal(alone.code, 2, out(alone));
    assert.equal(alone.stdout, '');
    assert.equal(lines(alone.stderr).at(-1), 'rtbench: rendezvous: group e2e-alone: instance 2/2 did not register within 4 s (--rendezvous-timeout); nothing was run');
    assert.doesNotMatch(alone.stderr, /internal error|\n\s+at /);
    for (const d of ['alone', 'dup']) assert.deepEqual(await fs.readdir(path.join(base, d)).catch(() => []), [], `${d}: no run dir`);

    // A killed instance leaves its row; its session is gone, so the next claim of the same instance takes it over.
    const registered = async (c: ReturnType<typeof startCli>): Promise<void> => {
      for (let i = 0; i < 200 && !/registered; waiting/.test(c.stderr()); i++) await sleep(50);
      assert.match(c.stderr(), /registered; waiting/, c.stderr());
    };
    const killed = startCli(args('killed'), { timeoutMs: 40_000 });
    await registered(killed);
    killed.signal('SIGKILL');
    assert.equal((await killed.done).signal, 'SIGKILL');
    await sleep(300); // the server notices the closed connection
    const again = startCli(args('again'), { timeoutMs: 40_000 });
    await registered(again);
    assert.match(again.stderr(), /rendezvous: group e2e-alone: removed 1 stale registration\(s\) of instances no longer connected/);
    // Ctrl-C while waiting: the load had not started, so it quits at once.
    again.signal('SIGINT');
    const interrupted = await again.done;
    assert.equal(interrupted.code, 130, out(interrupted));
    assert.match(interrupted.stderr, /SIGINT: quitting \(the load had not started\)/);
    for (const d of ['killed', 'again']) assert.deepEqual(await fs.readdir(path.join(base, d)).catch(() => []), [], `${d}: no run dir`);
  });
});
