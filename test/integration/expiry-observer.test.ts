/**
 * Expiry during the measure phase (ExpiryObserver) against a real
 * PostgreSQL: on a schedule, each run timed with rows / partitions removed
 * and WAL; the rows of the run's sites removed (for acked vs table); the
 * cutoff the audit starts after; ingest intervals split by overlap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { validateConfig } from '../../src/config/validate.js';
import type { RunConfig } from '../../src/config/types.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';
import { encodeHistogram, newHistogram } from '../../src/metrics/histogram.js';
import { preload } from '../../src/rollup/preload.js';
import { installRollup, runRollupOnce } from '../../src/rollup/strategies.js';
import { ExpiryObserver, type ExpiryDuringMeasure } from '../../src/runner/expiry-observer.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensurePartitions } from '../../src/targets/partitions.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { databaseUrl } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15)';
const DAY_MS = 86_400_000;

function row(i: number, phase: 'warmup' | 'measure', us: number): IntervalRow {
  const h = newHistogram();
  for (let k = 0; k < 50; k++) h.recordValue(us);
  return { index: i, startMs: i * 1000, endMs: (i + 1) * 1000, phase, encoded: { response: encodeHistogram(h), service: encodeHistogram(h), lag: encodeHistogram(h) } } as unknown as IntervalRow;
}

async function setUp(cluster: LocalCluster, db: string, partition: 'none' | 'hour'): Promise<string> {
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const url = databaseUrl(cluster.url, db);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await ensureSchema(c, false, partition);
    const installed = await installRollup(c, { strategy: 'incremental', granularityMin: 1, hll: false });
    if (partition === 'hour') await ensurePartitions(c, { partition: 'hour', from: new Date(Date.now() - 2 * DAY_MS - 3_600_000), to: new Date(Date.now() + 3_600_000), citus: false });
    await preload(c, { rows: 20_000, spanMs: 2 * DAY_MS, seed: 9, sites: 32 });
    await runRollupOnce(c, installed);
  } finally {
    await c.end();
  }
  return url;
}

async function observe(url: string, config: RunConfig): Promise<{ out: ExpiryDuringMeasure; rowsRemoved: number; notes: readonly string[]; floor: number | null }> {
  const obs = new ExpiryObserver(config.dashboard.expiry!, 'http_request_1min');
  const step = { index: 0, runId: 't', config };
  const startEpochMs = Date.now();
  await obs.stepStart(step, { config, url, targetKind: 'url', server: {} as never, rowsAtSetup: 0 });
  obs.phase('warmup', 0, step);
  obs.interval(row(0, 'warmup', 500));
  obs.phase('measure', 1000, step);
  // Intervals as the load would post them, once a second; slow ones while expiry ran are what the split must find.
  for (let i = 1; i <= 4; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    obs.interval(row(i, 'measure', 1000));
  }
  await obs.stepDrained();
  const floor = obs.expiredBefore();
  const c = await obs.stepEnd(step, { startEpochMs: startEpochMs - 1000, measureStartMs: 1000, measureEndMs: 5000, interrupted: false });
  return { out: (c.summary as { expiryDuringMeasure: ExpiryDuringMeasure }).expiryDuringMeasure, rowsRemoved: c.rowsRemoved ?? 0, notes: c.notes ?? [], floor };
}

function configOf(raw: Record<string, unknown>): RunConfig {
  const r = validateConfig({ rollup: 'incremental', duration: '5s', minSamples: 1, ...raw }, { seed: 1, resultsDir: 'results' });
  assert.deepEqual(r.problems, []);
  return r.config!;
}

describe('expiry during the measure phase', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('delete: runs on its schedule, removes the rows past the retention (all of the run\'s sites), reports WAL, the audit floor and a note', async () => {
    const url = await setUp(cluster, 'exp_delete', 'none');
    const { out, rowsRemoved, notes, floor } = await observe(url, configOf({ expire: 'delete', retention: '1d', expireEvery: '1s' }));
    // What the observer saw, for any assertion below that fails.
    const seen = `\nruns: ${JSON.stringify(out.runs)}\nerrors: ${out.errors.join('; ')}\nnotes: ${notes.join('\n')}`;
    assert.ok(out.runs.length >= 1 && out.runs.length <= 4, `${out.runs.length} expiries in a 4 s measure phase every 1 s${seen}`);
    const first = out.runs[0]!;
    assert.ok(first.rawRowsRemoved > 9_000 && first.rawRowsRemoved < 11_000, `${first.rawRowsRemoved} of 20,000 rows over 2 days are older than 1 day${seen}`);
    assert.equal(first.rawRowsRemovedOfSites, first.rawRowsRemoved, seen);
    assert.ok(first.walBytes > 0 && first.durationMs > 0, seen);
    assert.equal(rowsRemoved, out.totals.rawRowsRemoved, seen);
    assert.ok(floor !== null && Math.abs(floor - (Date.now() - DAY_MS)) < 60_000, `the audit starts after the last cutoff: ${floor}${seen}`);
    assert.ok(out.ingestResponse.duringExpiry.count + out.ingestResponse.rest.count === 4 * 50, `every measure interval on one side${seen}`);
    assert.ok(notes.some((n) => /^expiry \(delete, retention 24 h, every 1 s\): \d runs/.test(n)), notes.join('\n'));
    assert.ok(notes.some((n) => /left out of the audit by design/.test(n)), seen);
    assert.ok(Object.keys(out.dashboard).includes('rollup-minutes@1h'), seen);
  });

  test('drop-partitions: whole hourly partitions past the retention go, their rows counted exactly', async () => {
    const url = await setUp(cluster, 'exp_drop', 'hour');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const before = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM http_request WHERE ingest_time < date_trunc('hour', now() - interval '1 day')`)).rows[0]?.n);
    await c.end();
    const { out, rowsRemoved } = await observe(url, configOf({ expire: 'drop-partitions', partition: 'hour', retention: '1d', expireEvery: '1s' }));
    const first = out.runs[0]!;
    assert.ok(first.partitionsDropped >= 23 && first.partitionsDropped <= 26, `${first.partitionsDropped} partitions dropped`);
    // A row may have crossed the hour boundary between the count above and the expiry: allow for the hour's rows at the edge.
    assert.ok(Math.abs(first.rawRowsRemoved - before) <= 450, `${first.rawRowsRemoved} vs ${before}`);
    // Within one hour nothing more is due; a test that straddles the turn of the hour may see one more partition go.
    const HOUR_MS = 3_600_000;
    const turns = Math.floor(out.runs[out.runs.length - 1]!.endEpochMs / HOUR_MS) - Math.floor(first.startEpochMs / HOUR_MS);
    const later = out.runs.slice(1).reduce((a, r) => a + r.partitionsDropped, 0);
    assert.ok(later <= turns, `${later} more partitions dropped by later runs, ${turns} turns of the hour meanwhile`);
    assert.equal(rowsRemoved, out.totals.rawRowsRemoved);
    assert.ok(first.rawExpiredBefore !== null && new Date(first.rawExpiredBefore).getUTCMinutes() === 0, 'the floor is a partition boundary');
  });
});
