/**
 * compare-targets on two throwaway single nodes (always), and the Citus path
 * (`run --citus-workers`, `compare-targets --b local-citus:2`) when the citus
 * extension is installed here; without it, `--citus-workers` must fail in one
 * line with exit 2.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { citusInstalled } from '../../src/targets/citus-cluster.js';

const haveCitus = citusInstalled();
let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-citus-'));
  // Clusters go under it (TMPDIR): as root they run as postgres, which must traverse it.
  await chmod(tmp, 0o711);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function onlyDir(dir: string): Promise<string> {
  const entries = (await readdir(dir)).filter((e) => !e.startsWith('.'));
  assert.equal(entries.length, 1, `one entry in ${dir}: ${entries.join(', ')}`);
  return path.join(dir, entries[0]!);
}

describe('compare-targets', () => {
  test('local vs local: one side-by-side table, both result sets and comparison.json', { timeout: 180_000 }, async () => {
    const results = path.join(tmp, 'cmp-local');
    const r = await runCli(['compare-targets', '--a', 'local', '--b', 'local', '--duration', '3', '--warmup', '1', '--rate', '200',
      '--seed', '5', '--progress', '0', '--results-dir', results], { timeoutMs: 170_000, env: { TMPDIR: tmp } });
    assert.ok(r.code === 0 || r.code === 3, out(r));
    assert.match(r.stdout, /b\/a/);
    assert.match(r.stdout, /ingest achieved rate/);
    const dir = await onlyDir(results);
    const cmp = JSON.parse(await readFile(path.join(dir, 'comparison.json'), 'utf8')) as { seed: number; rows: Array<{ figure: string; a: number; b: number; ratio: number | null }> };
    assert.equal(cmp.seed, 5);
    const rate = cmp.rows.find((x) => x.figure === 'ingest achieved rate');
    assert.ok(rate && rate.a > 150 && rate.b > 150, JSON.stringify(rate));
    // Open loop at 200 rows/s: both sides send on schedule; a stall of the shared box near one side's end (its
    // operations left queued) may cost it a few percent, not a quarter.
    assert.ok(rate.ratio !== null && Math.abs(rate.ratio - 1) < 0.25, `same rate on both sides: ${JSON.stringify(rate)}`);
    const runs = (await readdir(dir)).filter((e) => /^[ab]-/.test(e)).sort();
    assert.equal(runs.length, 2, runs.join(', '));
    for (const run of runs) {
      const s = JSON.parse(await readFile(path.join(dir, run, 'summary.json'), 'utf8')) as { ingest: { acked: number; rowsInTable: number } };
      assert.equal(s.ingest.acked, s.ingest.rowsInTable);
      const ri = JSON.parse(await readFile(path.join(dir, run, 'run.json'), 'utf8')) as { seed: number };
      assert.equal(ri.seed, 5, 'same seed on both targets');
    }
  });

  test('bad targets are one line and exit 2', { timeout: 30_000 }, async () => {
    for (const args of [['--a', 'nowhere', '--b', 'local'], ['--a', 'local', '--b', 'local-citus:0'], ['--a', 'local']]) {
      const r = await runCli(['compare-targets', ...args, '--results-dir', path.join(tmp, 'bad')], { timeoutMs: 25_000 });
      assert.equal(r.code, 2, out(r));
      assert.equal(r.stderr.trim().split('\n').length, 1, out(r));
    }
  });
});

describe('Citus', { skip: haveCitus ? false : 'Citus not installed here: only the one-line refusal is checked' }, () => {
  test('run --citus-workers 2: distributed, colocated, parallel speedup measured, cluster removed', { timeout: 300_000 }, async () => {
    const results = path.join(tmp, 'citus-run');
    const r = await runCli(['run', '--citus-workers', '2', '--shard-count', '8', '--rollup', 'incremental', '--rollup-interval', '5s',
      '--duration', '8', '--warmup', '1', '--rate', '200', '--preload-rows', '20000', '--preload-span', '2h', '--viewers', '2', '--refresh', '1s',
      '--min-samples', '5', '--progress', '0', '--results-dir', results], { timeoutMs: 290_000, env: { TMPDIR: tmp } });
    assert.ok(r.code === 0 || r.code === 3, out(r));
    const dir = await onlyDir(results);
    const run = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as { citus?: { workerCount: number; shardCount: number; colocationId: number; tables: Record<string, { colocationId: number; shardCount: number }>; shardsPerNode: Record<string, number> } };
    assert.ok(run.citus, 'run.json has citus');
    assert.equal(run.citus.workerCount, 2);
    assert.equal(run.citus.shardCount, 8);
    const tables = Object.values(run.citus.tables);
    assert.equal(tables.length, 2);
    assert.ok(tables.every((t) => t.colocationId === run.citus!.colocationId && t.shardCount === 8), JSON.stringify(run.citus.tables));
    assert.equal(Object.values(run.citus.shardsPerNode).reduce((a, b) => a + b, 0), 8);
    const s = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as {
      ingest: { acked: number; rowsInTable: number }; audit: { lostEvents: number; duplicatedEvents: number };
      parallel: { asSpecified: { kind: string; shards: number; workers: number; byProbe: unknown[] } } | null;
      probes: { routing?: Record<string, string>; byProbe: Record<string, Record<string, { count: number }>>; sizes?: { rawTableBytes: number } } | null;
    };
    // Tenant panels run on Citus as router queries; the fleet-wide ones fan out to every shard.
    assert.ok(s.probes, 'summary.probes');
    assert.equal(s.probes.routing?.['tenant-raw-minutes'], 'router', JSON.stringify(s.probes.routing));
    assert.equal(s.probes.routing?.['raw-minutes'], 'multi-shard', JSON.stringify(s.probes.routing));
    assert.ok((s.probes.byProbe['tenant-raw-minutes']?.['1h']?.count ?? 0) > 0, JSON.stringify(s.probes.byProbe['tenant-raw-minutes']));
    assert.ok((s.probes.sizes?.rawTableBytes ?? 0) > 1_000_000, `distributed raw size ${s.probes.sizes?.rawTableBytes}`);
    assert.match(r.stdout, /tenant-raw-minutes \[router\]/);
    assert.equal(s.ingest.acked, s.ingest.rowsInTable);
    assert.equal(s.audit.lostEvents, 0);
    assert.equal(s.audit.duplicatedEvents, 0);
    assert.ok(s.parallel, 'parallel measured');
    assert.equal(s.parallel.asSpecified.kind, 'citus');
    assert.equal(s.parallel.asSpecified.workers, 2);
    assert.ok(s.parallel.asSpecified.shards > 0 && s.parallel.asSpecified.byProbe.length > 0);
    assert.deepEqual((await readdir(tmp)).filter((e) => e.startsWith('rtbench-citus-')), [], 'the local Citus cluster is removed');
  });

  test('compare-targets --a local --b local-citus:2', { timeout: 400_000 }, async () => {
    const results = path.join(tmp, 'citus-cmp');
    const r = await runCli(['compare-targets', '--a', 'local', '--b', 'local-citus:2', '--rollup', 'closed-minute', '--rollup-interval', '5s',
      '--duration', '6', '--warmup', '1', '--rate', '200', '--no-parallel', '--no-idle-baseline', '--progress', '0', '--results-dir', results],
      { timeoutMs: 390_000, env: { TMPDIR: tmp } });
    assert.ok(r.code === 0 || r.code === 3, out(r));
    assert.match(r.stdout, /local-citus:2/);
    assert.match(r.stdout, /rollup-minutes 1h p50/);
    assert.match(r.stdout, /b\/a \[95% CI\]/);
    assert.match(r.stdout, /b vs a \(n a\/b\)/);
    const dir = await onlyDir(results);
    const cmp = JSON.parse(await readFile(path.join(dir, 'comparison.json'), 'utf8')) as { b: { target: string } };
    assert.equal(cmp.b.target, 'local-citus:2');
  });
});

describe('without Citus', { skip: haveCitus ? 'Citus is installed here' : false }, () => {
  test('run --citus-workers 2 says Citus is missing in one line, exit 2', { timeout: 30_000 }, async () => {
    const r = await runCli(['run', '--citus-workers', '2', '--results-dir', path.join(tmp, 'nocitus')], { timeoutMs: 25_000 });
    assert.equal(r.code, 2, out(r));
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('rtbench:') && /citus/i.test(l));
    assert.equal(lines.length, 1, out(r));
  });
});
