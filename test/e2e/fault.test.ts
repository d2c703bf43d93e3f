/**
 * The database dies during a run. The run must go on (counting errors by SQLSTATE and
 * reconnecting), finish on time, write its results and exit 1.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { sleep, startCli, type CliResult, type StartedCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

let base: string;
before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-fault-'));
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

async function readSummary(resultsDir: string): Promise<Summary> {
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, `one run dir, got ${entries.join(', ')}`);
  return JSON.parse(await fs.readFile(path.join(resultsDir, entries[0]!, 'summary.json'), 'utf8')) as Summary;
}

async function readTimeseries(resultsDir: string): Promise<Array<Record<string, string>>> {
  const [entry] = await fs.readdir(resultsDir);
  const text = await fs.readFile(path.join(resultsDir, entry!, 'timeseries.csv'), 'utf8');
  const [header, ...rows] = text.trim().split('\n');
  const cols = header!.split(',');
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [cols[i], v])));
}

/** Seconds since the schedule start of the newest progress line, or -1. */
function lastProgressS(stderr: string): number {
  const all = [...stderr.matchAll(/progress: ([\d.]+) s/g)];
  return all.length ? Number(all[all.length - 1]![1]) : -1;
}

async function waitForProgress(cli: StartedCli, atLeastS: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (lastProgressS(cli.stderr()) < atLeastS && Date.now() < deadline && cli.child.exitCode === null) await sleep(100);
  assert.ok(lastProgressS(cli.stderr()) >= atLeastS, `progress reached ${atLeastS} s\n${cli.stderr()}`);
}

async function postmasterPid(dataDir: string): Promise<number> {
  const first = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
  const pid = Number(first);
  assert.ok(Number.isInteger(pid) && pid > 1, `postmaster pid ${first}`);
  return pid;
}

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;


interface Outcome {
  r: CliResult;
  s: Summary;
  /** Schedule time (s) of the last progress line when the server was back. */
  restartedAtS: number;
  ts: Array<Record<string, string>>;
}

describe('postmaster killed mid-run and restarted', { skip }, () => {
  let outcome: Promise<Outcome>;
  let restartTookMs = -1;
  before(() => {
    outcome = (async () => {
      // synchronous_commit on: an acknowledged commit must survive the crash (the test default turns it off).
      const cluster: LocalCluster = await startTestCluster({ settings: { synchronous_commit: 'on' } });
      const resultsDir = path.join(base, 'results-restart');
      const cli = startCli(
        // 20 s: the server is back some seconds after the kill (more on a loaded box), and a connection
        // retries with a backoff of up to 5 s; the run must outlast both to show that it resumed.
        ['run', '--url', cluster.url, '--rate', '300', '--duration', '20', '--warmup', '1', '--workers', '1', '--connections', '4', '--results-dir', resultsDir],
        { timeoutMs: 80_000 },
      );
      try {
        await waitForProgress(cli, 4, 30_000);
        process.kill(await postmasterPid(cluster.dataDir), 'SIGKILL');
        await sleep(1_500);
        const t0 = Date.now();
        await cluster.start();
        restartTookMs = Date.now() - t0;
        const restartedAtS = lastProgressS(cli.stderr());
        const r = await cli.done;
        const s = await readSummary(resultsDir).catch((err: unknown) => assert.fail(`${String(err)}\n${out(r)}`));
        return { r, s, restartedAtS, ts: await readTimeseries(resultsDir) };
      } finally {
        cli.signal('SIGKILL');
        await cli.done.catch(() => undefined);
        await cluster.stop();
      }
    })();
    outcome.catch(() => undefined); // reported by the tests
  });

  test('the run finishes, reconnects, resumes after the restart and audits the table', { timeout: 90_000 }, async () => {
    const { r, s, restartedAtS, ts } = await outcome;
    const why = `server back ${restartTookMs} ms after the restart began, at progress ${restartedAtS} s\n${s.notes.join('\n')}\n${out(r)}`;
    assert.equal(r.code, 1, `finished with database errors\n${why}`);
    assert.ok(s.ingest.reconnects >= 1, `reconnects ${s.ingest.reconnects}; ${why}`);
    assert.equal(typeof s.ingest.rowsInTable, 'number', why);
    // A row may commit without its acknowledgement arriving, never the reverse.
    assert.ok(s.ingest.acked <= s.ingest.rowsInTable!, `acked ${s.ingest.acked} <= rowsInTable ${s.ingest.rowsInTable}`);
    const afterRestart = ts.filter((row) => row['phase'] === 'measure' && Number(row['start_s']) >= restartedAtS + 1);
    assert.ok(afterRestart.some((row) => Number(row['rows']) > 0),
      `rows measured after the restart (${restartedAtS} s): ${JSON.stringify(ts.map((x) => [x['start_s'], x['rows'], x['errors']]))}`);
    assert.match(r.stderr, new RegExp(`progress: ${Math.floor(restartedAtS) + 2}\\.`), 'progress lines go on after the restart');
  });

  test('the outage is counted as database errors by SQLSTATE, reported on stderr, exit 1', { timeout: 90_000 }, async () => {
    const { r, s } = await outcome;
    const states = Object.keys(s.ingest.errorsBySqlstate);
    assert.ok(s.ingest.errors > 0, `errors ${s.ingest.errors}`);
    assert.ok(states.every((k) => /^[0-9A-Z]{5}$/.test(k)), `SQLSTATE keys: ${states.join(', ')}`);
    assert.ok(states.some((k) => k.startsWith('08') || k.startsWith('57P')), `connection-loss SQLSTATE among ${states.join(', ')}`);
    assert.match(r.stderr, /database errors|reconnect|re-established/i);
    assert.equal(r.code, 1, out(r));
  });
});

describe('server stopped mid-run for good', { skip }, () => {
  const durationS = 6;
  let outcome: Promise<{ r: CliResult; s: Summary; elapsedS: number }>;
  before(() => {
    outcome = (async () => {
      const cluster: LocalCluster = await startTestCluster();
      const resultsDir = path.join(base, 'results-gone');
      const startedAt = Date.now();
      const cli = startCli(
        ['run', '--url', cluster.url, '--rate', '300', '--duration', String(durationS), '--warmup', '1', '--workers', '1', '--connections', '4', '--results-dir', resultsDir],
        { timeoutMs: 85_000 },
      );
      try {
        await waitForProgress(cli, 3, 30_000);
        await cluster.stop({ keep: true });
        const r = await cli.done;
        const elapsedS = (Date.now() - startedAt) / 1000;
        const s = await readSummary(resultsDir).catch((err: unknown) => assert.fail(`${String(err)}\n${out(r)}`));
        return { r, s, elapsedS };
      } finally {
        cli.signal('SIGKILL');
        await cli.done.catch(() => undefined);
        await cluster.stop();
      }
    })();
    outcome.catch(() => undefined);
  });

  test('the run still finishes on time and writes results; rows cannot be counted', { timeout: 90_000 }, async () => {
    const { r, s, elapsedS } = await outcome;
    assert.ok(elapsedS < durationS + 1 + 40, `finished after ${elapsedS.toFixed(1)} s`);
    assert.ok(r.code === 1 || r.code === 3, out(r));
    assert.equal(s.ingest.rowsInTable, null);
    assert.ok(s.notes.some((n) => /could not be counted/.test(n)), s.notes.join('; '));
  });

  test('exit 1 (finished with database errors)', { timeout: 90_000 }, async () => {
    const { r, s } = await outcome;
    assert.ok(s.ingest.errors > 0, `errors ${s.ingest.errors}`);
    assert.equal(r.code, 1, out(r));
  });
});
