/**
 * What a blocked server leaves unserved is counted, never silently omitted (issue 22): a run
 * with one load connection, a viewer refreshing every second and the incremental rollup, while
 * this test holds an ACCESS EXCLUSIVE lock on http_request from the middle of the measure
 * window until well after its end. The operations still queued when the schedule ended are
 * dropped and counted as such (`ingest.droppedAtEnd`), the viewer's refreshes that never
 * started are misses in each panel cell, the viewer stops at the end of the measure window
 * (not through the 2–3 s drain), and the verdict lines name all of it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { sleep, startCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-not-served-');
const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The latest `progress: X s` of the run's stderr, s. */
const progressS = (stderr: string): number => {
  const all = [...stderr.matchAll(/progress: (\d+\.\d) s \[/g)];
  return all.length > 0 ? Number(all[all.length - 1]![1]) : 0;
};

describe('a server blocked past the end of the measure window', { skip }, () => {
  let cluster: LocalCluster;
  let r: CliResult;
  let s: Summary;
  const DURATION_S = 6;
  const WARMUP_S = 1;
  before(async () => {
    cluster = await startTestCluster();
    const resultsDir = path.join(area.base, 'results');
    const cli = startCli(['run', '--url', cluster.url, '--rate', '100', '--duration', `${DURATION_S}`, '--warmup', `${WARMUP_S}`, '--workers', '1', '--connections', '1',
      '--rollup', 'incremental', '--rollup-interval', '1s', '--viewers', '1', '--refresh', '1s', '--no-idle-baseline', '--no-parallel', '--sample-interval', '0',
      '--progress', '1', '--results-dir', resultsDir], { env: { TMPDIR: area.tmpDir }, timeoutMs: 180_000 });
    // Two seconds into the measure window, lock the raw table until 2.5 s after the schedule's end.
    for (let i = 0; i < 1200 && progressS(cli.stderr()) < WARMUP_S + 2; i++) await sleep(100);
    const locker = new pg.Client({ connectionString: cluster.url, application_name: 'e2e-locker' });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE http_request IN ACCESS EXCLUSIVE MODE');
    const endS = WARMUP_S + DURATION_S;
    for (let i = 0; i < 200 && progressS(cli.stderr()) < endS + 1; i++) await sleep(100);
    await sleep(1500);
    await locker.query('COMMIT');
    await locker.end();
    r = await cli.done;
    const entries = await fs.readdir(resultsDir);
    assert.equal(entries.length, 1, out(r));
    s = JSON.parse(await fs.readFile(path.join(resultsDir, entries[0]!, 'summary.json'), 'utf8')) as Summary;
  });
  after(async () => {
    await cluster?.stop();
  });

  test('operations still queued at the end are dropped and counted as such, beside the percentiles', { timeout: 200_000 }, () => {
    const ing = s.ingest;
    // About 4 s of a 100 rows/s schedule fell due behind the blocked connection.
    assert.ok((ing.droppedAtEnd ?? 0) >= 100, `droppedAtEnd ${ing.droppedAtEnd}\n${out(r)}`);
    assert.ok(ing.dropped >= (ing.droppedAtEnd ?? 0));
    assert.ok((ing.censored?.count ?? 0) >= (ing.droppedAtEnd ?? 0), JSON.stringify(ing.censored));
    assert.equal(ing.rowsInTable, ing.acked, 'every acknowledged row is in the table');
    assert.match(s.notes.join('\n'), /operations were never sent \(.*\d+ were still queued when the schedule ended/);
  });

  test('the viewer stopped at the end of the measure window; its refreshes that never started are misses per cell', { timeout: 200_000 }, () => {
    const v = s.probes?.viewers;
    assert.ok(v, JSON.stringify(s.probes));
    // Due over the 6 s window (1 s refreshes), not over the window and the 2.5 s+ drain.
    assert.ok(v.due <= DURATION_S + 1, `refreshes due ${v.due}: the viewer ran past the measure window`);
    assert.ok((v.neverStarted ?? 0) >= 2, `never started ${v.neverStarted} of ${v.due}`);
    assert.equal(v.neverStarted, v.due - v.started);
    const cells = Object.values(s.probes!.byProbe).flatMap((w) => Object.values(w));
    assert.ok(cells.length > 0);
    for (const c of cells) {
      assert.ok((c.missed ?? 0) >= (v.neverStarted ?? 0), `a cell with ${c.missed} missed, ${v.neverStarted} refreshes never started`);
      assert.equal(c.count + c.errors + (c.missed ?? 0), v.due, 'every execution due is a sample, an error or a miss');
    }
    assert.match(s.notes.join('\n'), /dashboard: \d+ panel executions due in the measure window never ran \(\d+ of \d+ refreshes due never started/);
  });

  test('the verdict names what the percentiles leave out', { timeout: 200_000 }, () => {
    assert.match(r.stdout, /- not in the percentiles: [\d,]+ operations never sent \([^)]*[\d,]+ still queued when the schedule ended\); .*[\d,]+ dashboard panel executions missed \([\d,]+ refreshes never started/);
  });
});
