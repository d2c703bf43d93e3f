/**
 * `rtbench merge`: two load generators (--instance 1/2, 2/2) run concurrently
 * against one server, then merge into one result dir shaped like a single run.
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
import { lines, runCli, type CliResult } from '../helpers/cli.js';
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
  test('two concurrent instances merge into one run: sums, histograms, same files', { timeout: 120_000 }, async () => {
    cluster = await startTestCluster();
    const runArgs = (i: number): string[] => [
      'run', '--url', cluster!.url, '--instance', `${i}/2`, '--rate', '400', '--duration', '4', '--warmup', '1', '--seed', '3',
      '--workers', '1', '--connections', '2', '--progress', '0', '--results-dir', path.join(base, `i${i}`),
    ];
    const [r1, r2] = await Promise.all([runCli(runArgs(1), { timeoutMs: 80_000 }), runCli(runArgs(2), { timeoutMs: 80_000 })]);
    const d1 = await onlyRunDir(path.join(base, 'i1'));
    const d2 = await onlyRunDir(path.join(base, 'i2'));
    await assertFinished(r1!, d1, 'instance 1/2');
    await assertFinished(r2!, d2, 'instance 2/2');
    const s1 = await readJson<Summary>(path.join(d1, 'summary.json'));
    const s2 = await readJson<Summary>(path.join(d2, 'summary.json'));

    const mergedResults = path.join(base, 'merged');
    const m = await runCli(['merge', d1, d2, '--results-dir', mergedResults], { timeoutMs: 30_000 });
    const dm = await onlyRunDir(mergedResults);
    await assertFinished(m, dm, 'merge');
    assert.equal(m.code === 3, !(s1.valid && s2.valid), 'merge is invalid exactly when an instance is');
    assert.match(m.stdout, /rows acked \/ in table/);
    assert.match(m.stdout, new RegExp(`results: .*${path.basename(dm)}`));
    assert.match(path.basename(dm), /^\d{8}-\d{6}-merged-adhoc-[0-9a-f]{4}$/);

    // The same files as a single run (instance 1's dir is one).
    assert.deepEqual((await fs.readdir(dm)).sort(), (await fs.readdir(d1)).sort());

    const s = await readJson<MergedSummary>(path.join(dm, 'summary.json'));
    assert.equal(s.ingest.targetRateHz, 400);
    assert.equal(s1.ingest.targetRateHz, 200);
    assert.equal(s.ingest.acked, s1.ingest.acked + s2.ingest.acked);
    assert.equal(s.ingest.rowsInTable, (s1.ingest.rowsInTable ?? NaN) + (s2.ingest.rowsInTable ?? NaN));
    assert.equal(s.ingest.acked, s.ingest.rowsInTable);
    assert.equal(s.ingest.response.count, s1.ingest.response.count + s2.ingest.response.count);
    assert.equal(s.ingest.lag.count, s1.ingest.lag.count + s2.ingest.lag.count);
    assert.ok(s.ingest.response.count > 0);
    assert.deepEqual(s.merged.instances.map((i) => [i.index, i.runId]), [[1, s1.runId], [2, s2.runId]]);

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
});
