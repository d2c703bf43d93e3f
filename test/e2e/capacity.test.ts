/**
 * rtbench capacity against a server whose capacity is known: every insert
 * sleeps a fixed server time in a trigger, on a fixed number of connections,
 * so the database sustains at most connections / service time rows/s. The
 * search must bracket that rate; an SLO no rate can meet exits 99 naming it;
 * a client-limited search says harness-bound (exit 3).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import type { CapacityResult } from '../../src/capacity/result.js';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-capacity-');
const out = (r: CliResult): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

const SLEEP_S = 0.02;
const CONNECTIONS = 4;

async function readCapacity(resultsDir: string): Promise<{ dir: string; c: CapacityResult; entries: string[] }> {
  const entries = (await fs.readdir(resultsDir)).filter((e) => !e.startsWith('.'));
  assert.equal(entries.length, 1, `one capacity dir, got ${entries.join(', ')}`);
  const dir = path.join(resultsDir, entries[0]!);
  const c = JSON.parse(await fs.readFile(path.join(dir, 'capacity.json'), 'utf8')) as CapacityResult;
  return { dir, c, entries: await fs.readdir(dir) };
}

describe('rtbench capacity on a server of known capacity', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
    await withClient(cluster.url, async (c: pg.Client) => {
      await ensureSchema(c, false);
      await c.query(`CREATE FUNCTION rtbench_test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${SLEEP_S}); RETURN NEW; END $$`);
      await c.query('CREATE TRIGGER rtbench_test_sleep BEFORE INSERT ON http_request FOR EACH ROW EXECUTE FUNCTION rtbench_test_sleep()');
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  const common = ['--workers', '1', '--connections', String(CONNECTIONS), '--step-warmup', '1s', '--step-duration', '4s', '--progress', '0'];

  test('the bracket contains connections / service time', { timeout: 300_000 }, async () => {
    const resultsDir = path.join(area.base, 'found');
    const r = await runCli(['capacity', '--url', cluster.url, ...common, '--start', '50', '--max', '2000', '--late-threshold-ms', '50',
      '--slo', 'ingest.response.p99 <= 100ms', '--results-dir', resultsDir], { timeoutMs: 280_000 });
    assert.equal(r.code, 0, out(r));
    const { dir, c, entries } = await readCapacity(resultsDir);
    assert.equal(c.end, 'found', out(r));
    const [passHz, failHz] = c.bracket;
    assert.ok(passHz !== null && failHz !== null);
    assert.equal(c.capacityHz, passHz);
    // The arithmetic: each connection serves one insert per service time, at least the trigger's sleep, so the database
    // cannot sustain more than connections / sleep rows/s (a pass above it is impossible); with the insert's own time (the
    // service p50 at the lowest passing step) it sustains about connections / service time. Near that rate the service
    // time's spread queues arrivals and the p99 SLO breaks a little before it: the fail end may sit up to 15% under.
    const lowest = c.steps.find((s) => s.verdict === 'pass')!;
    const step = JSON.parse(await fs.readFile(path.join(dir, lowest.dir, 'summary.json'), 'utf8')) as Summary;
    const serviceS = step.ingest.service.p50Us / 1e6;
    assert.ok(serviceS >= SLEEP_S, `service ${serviceS} s includes the ${SLEEP_S} s sleep`);
    const ceilingHz = CONNECTIONS / SLEEP_S;
    const predictedHz = CONNECTIONS / serviceS;
    assert.ok(passHz <= ceilingHz * 1.01, `pass ${passHz} ≤ connections / sleep = ${ceilingHz} rows/s: ${c.headline}`);
    assert.ok(failHz >= predictedHz * 0.85, `fail ${failHz} ≥ predicted ${predictedHz.toFixed(0)} × 0.85: ${c.headline}`);
    assert.ok(failHz / passHz - 1 <= 0.05 + 1e-9, 'within --precision 5%');
    // Confirmed: two passes at the capacity, two fails at the rate above.
    assert.ok(c.steps.filter((s) => s.rateHz === passHz && s.verdict === 'pass').length >= 2);
    assert.ok(c.steps.filter((s) => s.rateHz === failHz && s.verdict === 'fail').length >= 2);
    // The binding limit names the SLO or the rate, with the failing rate.
    assert.ok(c.binding, 'binding limit');
    assert.match(c.binding.line, /(ingest\.response\.p99 .* > 100\.00 ms|achieved .* off the target .*) at /);
    // Each step has its own result dir beside capacity.json, and the state between steps is recorded.
    for (const s of c.steps) {
      assert.ok(entries.includes(s.dir), `step dir ${s.dir}`);
      assert.ok(s.rawRows !== null && s.rawRows > 0 && s.rawBytes !== null && s.rawBytes > 0);
      // --between-steps remove (the default): each step's rows are gone before the next, so every step starts from the same table.
      assert.equal(s.removedRows, s.ackedRows, `step ${s.index + 1}: removed what it acked`);
      assert.equal(s.rawRows, s.ackedRows, `step ${s.index + 1}: the table held only this step's rows`);
    }
    assert.equal(await withClient(cluster.url, async (cl) => Number((await cl.query<{ n: string }>('SELECT count(*) AS n FROM http_request')).rows[0]!.n)), 0,
      'the search leaves the table as it found it');
    assert.ok(entries.includes('report.html'));
    const html = await fs.readFile(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, /capacity bracket/);
    assert.match(r.stdout, /capacity \d[\d,]* rows\/s, bracket \[/);
    assert.match(r.stderr, /capacity step 1 \(about \d+ more after it\)/);
  });

  test('with a rollup: each step\'s rows are removed and the rollup rebuilt; every step audits exact', { timeout: 180_000 }, async () => {
    const resultsDir = path.join(area.base, 'rollup');
    const r = await runCli(['capacity', '--url', cluster.url, ...common, '--start', '50', '--max-steps', '3', '--late-threshold-ms', '50',
      '--rollup', 'incremental', '--rollup-interval', '1s', '--viewers', '0', '--slo', 'ingest.response.p99 <= 100ms', '--results-dir', resultsDir], { timeoutMs: 170_000 });
    assert.equal(r.code, 0, out(r));
    const { dir, c } = await readCapacity(resultsDir);
    assert.equal(c.steps.length, 3);
    for (const s of c.steps) {
      const step = JSON.parse(await fs.readFile(path.join(dir, s.dir, 'summary.json'), 'utf8')) as Summary;
      assert.equal(step.audit?.lostEvents, 0, `step ${s.index + 1}: no event lost`);
      assert.equal(step.audit?.duplicatedEvents, 0, `step ${s.index + 1}: none duplicated`);
      assert.equal(s.removedRows !== null && s.removedRows >= s.ackedRows, true, `step ${s.index + 1}: its rows (and markers) removed`);
    }
    const left = await withClient(cluster.url, async (cl) => (await cl.query<{ raw: string; rolled: string | null }>(
      'SELECT (SELECT count(*) FROM http_request) AS raw, (SELECT sum(request_count) FROM http_request_1min) AS rolled')).rows[0]!);
    assert.equal(Number(left.raw), 0);
    assert.equal(Number(left.rolled ?? 0), 0, 'the rollup was rebuilt from the emptied raw table');
  });

  test('an SLO no rate can meet: exit 99, naming the SLO of the lowest step', { timeout: 120_000 }, async () => {
    const resultsDir = path.join(area.base, 'none');
    const r = await runCli(['capacity', '--url', cluster.url, ...common, '--start', '100', '--min', '50', '--late-threshold-ms', '50',
      '--slo', 'ingest.response.p99 <= 1ms', '--results-dir', resultsDir], { timeoutMs: 110_000 });
    assert.equal(r.code, 99, out(r));
    const { c } = await readCapacity(resultsDir);
    assert.equal(c.end, 'no-pass');
    assert.equal(c.capacityHz, null);
    assert.match(r.stdout, /no passing rate down to 50 rows\/s: ingest\.response\.p99 .* > 1\.00 ms/);
  });

  test('a client-limited search is harness-bound, never a capacity of the database (exit 3)', { timeout: 120_000 }, async () => {
    const resultsDir = path.join(area.base, 'harness');
    // A lateness threshold no timer can meet: every step is client-limited.
    const r = await runCli(['capacity', '--url', cluster.url, ...common, '--start', '100', '--min', '50', '--late-threshold-ms', '0.0001',
      '--slo', 'ingest.response.p99 <= 100ms', '--results-dir', resultsDir], { timeoutMs: 110_000 });
    assert.equal(r.code, 3, out(r));
    const { c } = await readCapacity(resultsDir);
    assert.equal(c.end, 'harness-bound');
    assert.equal(c.harnessBound.value, true);
    assert.match(c.harnessBound.reason ?? '', /client-limited: .*timer lateness/);
    assert.match(r.stdout, /harness-bound: the client could not drive even 50 rows\/s \(client-limited: .*timer lateness .*--workers/);
  });

  test('bad capacity flags: one line each, exit 2, nothing run', async () => {
    const r = await runCli(['capacity', '--url', cluster.url, '--slo', 'ingest.response.p99 <= +10%', '--precision', 'x', '--start', '5000', '--max', '100']);
    assert.equal(r.code, 2, out(r));
    assert.match(r.stderr, /--slo "ingest.response.p99 <= \+10%": an SLO needs an absolute limit/);
    assert.match(r.stderr, /--precision: must be a number/);
    assert.match(r.stderr, /--start 5000 is above --max 100/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  });
});
