/**
 * History at scale end to end (issue 17): the built CLI, the same scenario on
 * an unpartitioned and an hourly-partitioned http_request, both audited with
 * 0 lost / 0 duplicated and acked = rows in table; on the partitioned one,
 * drop-partitions expiry during the measure phase (history over 2 days,
 * retention 1 day), reported with its cost, and the scale section (density,
 * sizes, cache hit ratio) in summary.json.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Summary } from '../../src/results/run-record.js';
import type { ExpiryDuringMeasure } from '../../src/runner/expiry-observer.js';
import type { ScaleSummary } from '../../src/runner/scale-observer.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl } from '../helpers/db.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-scale-');
const out = (r: CliResult): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
type S = Summary & { scale?: ScaleSummary; expiryDuringMeasure?: ExpiryDuringMeasure };

async function run(cluster: LocalCluster, db: string, extra: readonly string[]): Promise<{ r: CliResult; s: S }> {
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const resultsDir = await fs.mkdtemp(path.join(area.base, 'results-'));
  const r = await runCli([
    'run', '--url', databaseUrl(cluster.url, db), '--progress', '0', '--rollup', 'incremental', '--rollup-interval', '5s',
    '--duration', '20', '--warmup', '2', '--rate', '300', '--preload-rows', '40000', '--preload-span', '2d', '--viewers', '1', '--refresh', '2s',
    '--min-samples', '3', '--no-idle-baseline', '--no-parallel', ...extra, '--results-dir', resultsDir,
  ], { env: { TMPDIR: area.tmpDir }, timeoutMs: 150_000 });
  assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}\n${out(r)}`);
  const [dir] = await fs.readdir(resultsDir);
  return { r, s: JSON.parse(await fs.readFile(path.join(resultsDir, dir!, 'summary.json'), 'utf8')) as S };
}

describe('rtbench run: partitioned vs unpartitioned, expiry during the measure phase', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster({ baseDir: area.tmpDir });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('same scenario, --partition none and hour (with drop-partitions expiry): both audits clean, acked = rows in table', { timeout: 320_000 }, async () => {
    const plain = await run(cluster, 'scale_none', []);
    const parted = await run(cluster, 'scale_hour', ['--partition', 'hour', '--expire', 'drop-partitions', '--retention', '1d', '--expire-every', '5s']);
    for (const [name, { r, s }] of [['none', plain], ['hour', parted]] as const) {
      assert.equal(s.audit?.lostEvents, 0, `${name}: ${out(r)}`);
      assert.equal(s.audit?.duplicatedEvents, 0, name);
      assert.ok((s.audit?.periodsChecked ?? 0) >= 0);
      assert.equal(s.audit?.rowsInTable, s.audit?.acked, `${name}: acked vs table (expired rows added back)`);
      assert.ok(s.scale && s.scale.density.historyEventsPerSiteMinute !== null && s.scale.storage.raw.rows > 0, name);
      assert.ok(s.scale.cacheHitRatio === null || (s.scale.cacheHitRatio > 0 && s.scale.cacheHitRatio <= 1));
    }
    assert.equal(plain.s.scale?.storage.partitions, undefined);
    assert.ok((parted.s.scale?.storage.partitions?.length ?? 0) >= 20, 'per-partition sizes');
    const e = parted.s.expiryDuringMeasure;
    assert.ok(e && e.runs.length >= 2, JSON.stringify(e));
    assert.ok(e.totals.partitionsDropped >= 23 && e.totals.rawRowsRemoved > 15_000, JSON.stringify(e.totals));
    assert.match(parted.r.stderr + parted.r.stdout, /expiry \(drop-partitions, retention 24 h, every 5 s\)/);
    assert.match(parted.r.stderr + parted.r.stdout, /density: history/);
  });
});
